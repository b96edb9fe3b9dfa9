/** First-answer probes: poll a GET on a fresh connection until it answers 200. */
import http from 'node:http';

export interface Probe {
  host: string;
  port: number;
  path: string;
  headers?: Record<string, string>;
}

function getOnce(p: Probe, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: p.host, port: p.port, path: p.path, headers: p.headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Milliseconds until the first 200 (retrying refused connections and non-200 answers). */
export async function untilOk(p: Probe, timeoutMs = 30_000): Promise<number> {
  const t0 = performance.now();
  const deadline = t0 + timeoutMs;
  let last = '';
  while (performance.now() < deadline) {
    try {
      const status = await getOnce(p, Math.max(1, deadline - performance.now()));
      if (status === 200) return performance.now() - t0;
      last = `status ${status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`http://${p.host}:${p.port}${p.path} gave no 200 within ${timeoutMs} ms: ${last}`);
}

/** The probe for a microVM's app port through the gateway (Host routing + token). */
export function gatewayProbe(gatewayPort: number, domain: string, id: string, token: string, path = '/state'): Probe {
  return { host: '127.0.0.1', port: gatewayPort, path, headers: { host: `${id}.${domain}:${gatewayPort}`, 'x-aws-proxy-auth': token } };
}
