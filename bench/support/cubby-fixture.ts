/**
 * A real Cubby daemon with the counter image built once per benchmark run: every benchmark
 * starts its own daemon (with its own warm-pool size) on the same data directory, so the image
 * is built once and each daemon sees it. The tenant's keys outlive daemon restarts.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CreateMicrovmImageCommand,
  LambdaMicrovmsClient,
  RunMicrovmCommand,
  TerminateMicrovmCommand,
} from '@aws-sdk/client-lambda-microvms';
import { fixtureArtifact, startTestDaemon, type TestDaemon } from '../../test/support/daemon.js';
import { waitForVersion } from '../../test/e2e/support.js';
import type { Caller } from '../../src/core/services.js';
import type { SandboxRuntime } from '../../src/core/ports/runtime.js';
import type { HooksPort } from '../../src/core/ports/hooks.js';
import type { NetworkPort } from '../../src/core/ports/network.js';
import type { ImageVersion } from '../../src/core/model.js';

export const IMAGE = 'counter';
/** The counter app at 8 GiB: 4 vCPUs of CPU quota, more than this host has, so never throttled. */
export const UNTHROTTLED = { name: 'counter-4vcpu', memoryMiB: 8192 } as const;
const HOOKS = {
  port: 9000,
  microvmHooks: { run: 'ENABLED', resume: 'ENABLED', suspend: 'ENABLED', terminate: 'ENABLED' },
  microvmImageHooks: { ready: 'ENABLED', readyTimeoutInSeconds: 60, validate: 'ENABLED' },
} as const;

export interface BenchDaemon {
  d: TestDaemon;
  client: LambdaMicrovmsClient;
  caller: Caller;
  version: ImageVersion;
  /** The daemon's own adapters, reached for timing breakdowns and sandbox addresses (bench only). */
  runtime: SandboxRuntime;
  hooks: HooksPort;
  network: NetworkPort;
  /**
   * Builds (once per benchmark run) another image of the counter app with a different size;
   * the API gives 1 vCPU per 2 GiB of memory, at least 0.25. Returns its version 1.0.
   */
  image(name: string, memoryMiB: number): Promise<ImageVersion>;
  /** RunMicrovm through the official client (the counter image unless extra names another); returns the id. */
  run(extra?: Record<string, unknown>): Promise<string>;
  /** An endpoint token for port 8080, minted in-process (no API round trip). */
  token(id: string): Promise<string>;
  /** The sandbox address of a RUNNING microVM. */
  address(id: string): Promise<string>;
  /** Terminates every microVM it launched that is not terminated yet, then stops the daemon. */
  stop(): Promise<void>;
}

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
  tenantId: string;
}

let shared: { dataDir: string; artifacts: string; keys: Keys } | undefined;

/** The managed parts the core was assembled with (private fields, reached on purpose). */
interface Internals {
  d: { runtime: SandboxRuntime; hooks: HooksPort };
}

export async function benchDaemon(warmPool: number): Promise<BenchDaemon> {
  let d: TestDaemon;
  let keys: Keys;
  if (!shared) {
    const artifacts = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-bench-art-'));
    d = await startTestDaemon({ warmPool });
    try {
      const t = await d.tenant('bench');
      keys = { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey, tenantId: t.tenantId };
      await fixtureArtifact('counter', artifacts);
      shared = { dataDir: d.dataDir, artifacts, keys };
      await buildCounter(t.client, IMAGE, 512);
    } catch (e) {
      await d.destroy();
      await fs.rm(artifacts, { recursive: true, force: true });
      shared = undefined;
      throw e;
    }
  } else {
    d = await startTestDaemon({ dataDir: shared.dataDir, warmPool });
    keys = shared.keys;
  }
  const client = new LambdaMicrovmsClient({
    endpoint: d.apiUrl,
    region: 'local',
    maxAttempts: 1,
    credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey },
  });
  const tenant = await d.store.getTenant(keys.tenantId);
  const image = await d.store.getImageByName(keys.tenantId, IMAGE);
  const version = image && (await d.store.getVersion(keys.tenantId, image.id, '1.0'));
  if (!tenant || !version) {
    await d.stop();
    throw new Error('bench tenant or counter image missing from the store');
  }
  const caller: Caller = { tenant };
  const internals = d.core.manager as unknown as Internals;
  const runtime = internals.d.runtime;
  const network = (runtime as unknown as { opts: { network: NetworkPort } }).opts.network;
  const launched = new Set<string>();
  return {
    d,
    client,
    caller,
    version,
    runtime,
    network,
    hooks: internals.d.hooks,
    async image(name, memoryMiB) {
      if (!(await d.store.getImageByName(keys.tenantId, name))) await buildCounter(client, name, memoryMiB);
      const img = await d.store.getImageByName(keys.tenantId, name);
      const v = img && (await d.store.getVersion(keys.tenantId, img.id, '1.0'));
      if (!v) throw new Error(`image ${name} missing after its build`);
      return v;
    },
    async run(extra = {}) {
      const m = await client.send(new RunMicrovmCommand({ imageIdentifier: IMAGE, ...extra }));
      if (!m.microvmId || m.state !== 'RUNNING') throw new Error(`RunMicrovm answered ${m.state}`);
      launched.add(m.microvmId);
      return m.microvmId;
    },
    async token(id) {
      return (await d.core.services.tokens.createAuthToken(caller, id, 30, [{ from: 8080, to: 8080 }])).token;
    },
    async address(id) {
      // Read from the runtime's sandbox record, not runtime.get (a runsc round trip that would
      // also count in the gateway's address-lookup timing).
      const meta = path.join(d.config.dataDir, 'runtime', 'sandboxes', id, 'meta.json');
      const rec = JSON.parse(await fs.readFile(meta, 'utf8')) as { network?: { sandboxAddress?: string } };
      if (!rec.network?.sandboxAddress) throw new Error(`microVM ${id} has no running sandbox`);
      return rec.network.sandboxAddress;
    },
    async stop() {
      for (const id of launched) {
        const m = await d.store.getMicrovmAny(id);
        if (m && m.state !== 'TERMINATED') await client.send(new TerminateMicrovmCommand({ microvmIdentifier: id })).catch(() => undefined);
      }
      await d.stop();
    },
  };
}

async function buildCounter(client: LambdaMicrovmsClient, name: string, memoryMiB: number): Promise<void> {
  const t0 = performance.now();
  await client.send(
    new CreateMicrovmImageCommand({
      name,
      baseImageArn: 'debian-12-python',
      buildRoleArn: 'arn:aws:iam::000000000000:role/build',
      codeArtifact: { uri: `file://${path.join(shared?.artifacts ?? '', 'counter.zip')}` },
      hooks: HOOKS,
      resources: [{ minimumMemoryInMiB: memoryMiB }],
    }),
  );
  const v = await waitForVersion(client, name, '1.0');
  if (v.state !== 'SUCCESSFUL') throw new Error(`image ${name} build failed: ${v.stateReason}`);
  console.log(`(image ${name}, counter app with ${memoryMiB} MiB, built in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

/** Removes the shared data directory (after every bench daemon stopped). */
export async function closeBenchFixture(): Promise<void> {
  if (!shared) return;
  await fs.rm(shared.dataDir, { recursive: true, force: true });
  await fs.rm(shared.artifacts, { recursive: true, force: true });
  shared = undefined;
}
