/**
 * What the E2B benches (e2b.bench.ts, code-interpreter.bench.ts) share: a test daemon with an
 * E2B key (restartable on its data directory with a warm pool), the SDK options, waiting for the
 * warm pool to refill, and the clean-up their `finally` runs.
 */
import { promises as fs } from 'node:fs';
import { Sandbox } from 'e2b';
import { startTestDaemon, type TestDaemon } from '../../test/support/daemon.js';
import type { RawRunsc } from './raw-runsc.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface E2bCtx {
  d: TestDaemon;
  key: string;
  tenantId: string;
}

/** A raw runsc clone (the floor) still to destroy. */
export interface RawClone {
  id: string;
  ns: string;
  idx: number;
}

export const sdkOpts = (c: E2bCtx) => ({
  apiKey: c.key,
  apiUrl: c.d.apiUrl,
  domain: c.d.config.domain,
  sandboxUrl: c.d.gatewayUrl,
  requestTimeoutMs: 120_000,
});

/** A daemon with tenant `tenant` and its E2B key; `prev`: restart on its data directory, keeping tenant, key and built templates. */
export async function e2bDaemon(tenant: string, warmPool: number, prev?: E2bCtx): Promise<E2bCtx> {
  if (prev) return { ...prev, d: await startTestDaemon({ warmPool, dataDir: prev.d.dataDir }) };
  const d = await startTestDaemon({ warmPool });
  const t = await d.tenant(tenant);
  return { d, key: (await d.store.createE2bKey(t.tenantId)).apiKey, tenantId: t.tenantId };
}

/** Waits until the warm pool holds a sandbox again. */
export async function untilPoolRefilled(c: E2bCtx, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (c.d.core.launcher.pooledIds().length < 1) {
    if (Date.now() > deadline) throw new Error(`the warm pool did not refill within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}

/** The benches' `finally`: kill the live sandbox, destroy raw clones, stop the daemon, remove `work`. */
export async function endE2bBench(
  c: E2bCtx | undefined,
  live: string | undefined,
  raw: RawRunsc | undefined,
  rawLive: RawClone[],
  work: string,
): Promise<void> {
  if (c && live) await Sandbox.kill(live, sdkOpts(c)).catch((e: unknown) => console.error(`kill ${live}: ${String(e)}`));
  for (const r of rawLive) await raw?.destroy(r.id, r.ns, r.idx);
  await raw?.close();
  if (c) await c.d.destroy();
  await fs.rm(work, { recursive: true, force: true });
}
