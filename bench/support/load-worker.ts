/**
 * The load generator, run as its own process (so it never shares the daemon's event loop):
 * `node load-worker.js '<LoadSpec JSON>'` sends `requests` GETs, `concurrency` at a time over
 * keep-alive connections, after `warmup` untimed ones, and prints one JSON LoadResult line.
 */
import http from 'node:http';

export interface LoadSpec {
  host: string;
  port: number;
  path: string;
  headers?: Record<string, string>;
  requests: number;
  concurrency: number;
  warmup: number;
}

export interface LoadResult {
  ms: number;
  ok: number;
  errors: number;
  latencies: number[];
  firstError?: string;
}

function get(agent: http.Agent, s: LoadSpec): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: s.host, port: s.port, path: s.path, headers: s.headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function load(
  s: LoadSpec,
  count: number,
  latencies: number[] | undefined,
): Promise<{ ok: number; errors: number; firstError?: string }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: s.concurrency });
  let next = 0;
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  const lane = async () => {
    while (next < count) {
      next++;
      const t0 = performance.now();
      try {
        const status = await get(agent, s);
        if (status === 200) ok++;
        else {
          errors++;
          firstError ??= `status ${status}`;
        }
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
      }
      latencies?.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: s.concurrency }, lane));
  agent.destroy();
  return { ok, errors, firstError };
}

async function main(): Promise<void> {
  const s = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  await load(s, s.warmup, undefined);
  const latencies: number[] = [];
  const t0 = performance.now();
  const r = await load(s, s.requests, latencies);
  const out: LoadResult = { ms: performance.now() - t0, ...r, latencies };
  process.stdout.write(JSON.stringify(out) + '\n');
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await main();
