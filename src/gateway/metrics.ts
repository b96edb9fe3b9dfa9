/** Gateway counters: answers by status and the latency the gateway adds in front of the app. */
import { Counter, Histogram, type Registry } from 'prom-client';

export type ExchangeKind = 'http' | 'websocket' | 'shell';

export interface GatewayMetrics {
  /** One finished exchange; status is what the client got (101 for an accepted upgrade). */
  exchange(kind: ExchangeKind, status: number): void;
  /** Time spent in the gateway before the request left for the app (resume waits excluded). */
  addedLatency(seconds: number): void;
  /** Time a request was held while its microVM resumed. */
  resumeWait(seconds: number): void;
}

export const noMetrics: GatewayMetrics = { exchange() {}, addedLatency() {}, resumeWait() {} };

export function promGatewayMetrics(registry: Registry): GatewayMetrics {
  const exchanges = new Counter({
    name: 'cubby_gateway_requests_total',
    help: 'Requests answered by the endpoint gateway, by kind and status',
    labelNames: ['kind', 'status'] as const,
    registers: [registry],
  });
  const added = new Histogram({
    name: 'cubby_gateway_added_latency_seconds',
    help: 'Time from request arrival to dispatch to the app, resume waits excluded',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
    registers: [registry],
  });
  const resume = new Histogram({
    name: 'cubby_gateway_resume_wait_seconds',
    help: 'Time requests were held while their microVM resumed',
    buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 60],
    registers: [registry],
  });
  return {
    exchange: (kind, status) => exchanges.inc({ kind, status: String(status) }),
    addedLatency: (s) => added.observe(s),
    resumeWait: (s) => resume.observe(s),
  };
}
