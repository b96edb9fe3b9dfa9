/**
 * A real Cubby daemon for end-to-end tests: real store, runtime, network, builds, API and
 * gateway on loopback ports, a temporary data directory, and the machine's shared cache of
 * managed base images (built once for the whole suite).
 */
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { LambdaMicrovmsClient } from '@aws-sdk/client-lambda-microvms';
import { daemonConfig } from '../../src/daemon/config.js';
import { startDaemon, type Daemon } from '../../src/daemon/daemon.js';
import type { Tenant } from '../../src/core/model.js';
import { ensureTestBaseImage } from './base-image.js';
import { zipDirectory } from '../../src/cli/zip-dir.js';

export interface TestDaemon extends Daemon {
  dataDir: string;
  /** A new tenant (its name gets a random suffix) with an access key and a client that uses it. */
  tenant(name: string): Promise<{
    client: LambdaMicrovmsClient;
    tenant: Tenant;
    accountId: string;
    tenantId: string;
    accessKeyId: string;
    secretAccessKey: string;
  }>;
  /** Stops the daemon (microVMs keep running) and starts a new one on the same data directory. */
  restart(): Promise<TestDaemon>;
  /** Stops and removes the data directory (terminate microVMs first). */
  destroy(): Promise<void>;
}

/** `egressAllowPrivate`: the operator's --egress-allow-private (comma-separated CIDRs). */
export async function startTestDaemon(
  opts: {
    dataDir?: string;
    warmPool?: number;
    egressAllowPrivate?: string;
    /** --dns-upstream: where Cubby's resolver forwards (tests: a stub on 127.0.0.1, see dns-upstream.ts). */
    dnsUpstream?: string;
    api?: string;
    metricsToken?: string;
    store?: string;
    maxActive?: number;
    /** 'self-signed': API and gateway over HTTPS with a CA in <dataDir>/tls (daemon.tlsCaPath). */
    tls?: 'self-signed';
    /** The frozen tier's host default (serve --freeze-after-seconds); default 0: off in tests unless asked. */
    freezeAfterSeconds?: number;
    /** serve --launch-concurrency / --launch-queue / --launch-queue-per-tenant (launch storms). */
    launchConcurrency?: number;
    launchQueue?: number;
    launchQueuePerTenant?: number;
  } = {},
): Promise<TestDaemon> {
  await ensureTestBaseImage('debian-12-python');
  const dataDir = opts.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-e2e-')));
  const config = daemonConfig({
    dataDir,
    api: opts.api ?? '127.0.0.1:0',
    gateway: '127.0.0.1:0',
    domain: 'microvm.localhost',
    warmPool: opts.warmPool ?? 0,
    logLevel: 'warn',
    artifactRoots: os.tmpdir(),
    ...(opts.egressAllowPrivate ? { egressAllowPrivate: opts.egressAllowPrivate } : {}),
    ...(opts.dnsUpstream ? { dnsUpstream: opts.dnsUpstream } : {}),
    ...(opts.metricsToken ? { metricsToken: opts.metricsToken } : {}),
    ...(opts.store ? { store: opts.store } : {}),
    ...(opts.maxActive !== undefined ? { maxActive: opts.maxActive } : {}),
    ...(opts.tls ? { tls: opts.tls } : {}),
    freezeAfterSeconds: opts.freezeAfterSeconds ?? 0,
    ...(opts.launchConcurrency !== undefined ? { launchConcurrency: opts.launchConcurrency } : {}),
    ...(opts.launchQueue !== undefined ? { launchQueue: opts.launchQueue } : {}),
    ...(opts.launchQueuePerTenant !== undefined ? { launchQueuePerTenant: opts.launchQueuePerTenant } : {}),
  });
  const d = await startDaemon(config, { log: pino({ level: process.env.CUBBY_TEST_LOG ?? 'warn' }) });
  const td: TestDaemon = Object.assign(d, {
    dataDir,
    async tenant(name: string) {
      const t = await d.store.createTenant(`${name}-${Math.random().toString(36).slice(2, 8)}`);
      const k = await d.store.createKey(t.id);
      const client = new LambdaMicrovmsClient({
        endpoint: d.apiUrl,
        region: 'local',
        maxAttempts: 1,
        credentials: { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey },
      });
      return { client, tenant: t, accountId: t.accountId, tenantId: t.id, accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey };
    },
    async restart() {
      await d.stop();
      return startTestDaemon({ ...opts, dataDir });
    },
    async destroy() {
      await d.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  });
  return td;
}

/** Zips a fixture app directory (test/fixtures/apps/<name>) and returns a file:// URI. */
export async function fixtureArtifact(name: string, into: string): Promise<string> {
  const src = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../test/fixtures/apps', name);
  const zip = path.join(into, `${name}.zip`);
  await zipDirectory(src, zip);
  return `file://${zip}`;
}

export interface GatewayAnswer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** One request through the endpoint gateway, with Host-header routing. */
export function viaGateway(
  d: Daemon,
  id: string,
  p: string,
  opts: { token?: string; port?: number; method?: string; headers?: Record<string, string>; timeoutMs?: number; body?: string } = {},
): Promise<GatewayAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: `${id}.${d.config.domain}:${d.gatewayPort}`, ...(opts.headers ?? {}) };
    if (opts.token) headers['x-aws-proxy-auth'] = opts.token;
    if (opts.port) headers['x-aws-proxy-port'] = String(opts.port);
    const req = http.request(
      { host: '127.0.0.1', port: d.gatewayPort, path: p, method: opts.method ?? 'GET', headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      },
    );
    req.setTimeout(opts.timeoutMs ?? 30_000, () => req.destroy(new Error('gateway request timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}
