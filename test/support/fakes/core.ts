/**
 * The REAL core (createCore) over a temporary real SQLite store and the fakes: runs the whole
 * lifecycle in-process in milliseconds. `restart()` abandons the current core (as if the daemon
 * died: pending steps never finish) and builds a new one over the same store and fake host, which
 * the caller then start()s to reconcile. Test-only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCore, DEFAULT_CORE_CONFIG, type Core, type CoreConfig } from '../../../src/core/index.js';
import type { Store } from '../../../src/core/ports/store.js';
import type { HostMemoryPort } from '../../../src/core/ports/host.js';
import type { Caller } from '../../../src/core/services.js';
import type { ImageSettings, Tenant } from '../../../src/core/model.js';
import { silentLogger } from '../../../src/core/ports/observer.js';
import { defaultHooks } from '../../../src/core/hooks.js';
import { openSqliteStore } from '../../../src/store/sqlite/index.js';
import { FakeDisk } from './fake-disk.js';
import { FakeHooks } from './fake-hooks.js';
import { FakeBuilder, FakeManagedImages, FakeUnpacker } from './fake-images.js';
import { FakeHost, FakeRuntime } from './fake-runtime.js';
import { FakeTokens } from './fake-tokens.js';
import { MemFs } from './mem-fs.js';

export interface FakeCoreOptions {
  config?: Partial<Omit<CoreConfig, 'dataDir'>>;
  /** Tenant names to create (default: one, "alpha"). */
  tenants?: string[];
  /** The host's free memory as the idle tiers see it (absent: no memory watermark). */
  hostMemory?: HostMemoryPort;
}

export interface FakeWorld {
  fs: MemFs;
  host: FakeHost;
  store: Store;
  runtime: FakeRuntime;
  hooks: FakeHooks;
  disk: FakeDisk;
  managed: FakeManagedImages;
  unpacker: FakeUnpacker;
  builder: FakeBuilder;
  tokens: FakeTokens;
  core: Core;
  /** The first tenant's caller. */
  caller: Caller;
  tenants: Tenant[];
  config: CoreConfig;
  /** Every state change the core reported (all cores of this world), oldest first. */
  transitions: Array<{ id: string; from: string; to: string }>;
  /** Every hand-out notice (the gateway's cue to pre-connect), oldest first. */
  handedOut: Array<{ microvmId: string; address: string }>;
  /** The states one microVM went through, e.g. ['PENDING', 'RUNNING', 'SUSPENDING', ...]. */
  path(id: string): string[];
  /**
   * A new core over the same store and host, with fresh runtime/hooks/disk instances (their
   * faults cleared). The old core is abandoned unstopped; call start() on the new one.
   */
  restart(): FakeWorld;
  /** Stops the core and deletes the store. */
  close(): Promise<void>;
}

/** Image settings that build with the fakes (FAILING_ARTIFACT_MARK in the URI makes them fail). */
export function fakeSettings(over: Partial<ImageSettings> = {}): ImageSettings {
  return {
    baseImage: 'debian-12-python',
    codeArtifactUri: 'file:///srv/artifacts/app.zip',
    environment: {},
    memoryMiB: 512,
    vcpus: 1,
    hooks: { ...defaultHooks(), enabled: { ready: true, run: true, resume: true, suspend: true, terminate: true } },
    egress: { mode: 'closed' },
    extra: {},
    ...over,
  };
}

export async function startFakeCore(opts: FakeCoreOptions = {}): Promise<FakeWorld> {
  const root = mkdtempSync(join(tmpdir(), 'cubby-fakecore-'));
  const store = await openSqliteStore({ dataDir: join(root, 'store') });
  const tenants: Tenant[] = [];
  for (const name of opts.tenants ?? ['alpha']) tenants.push(await store.createTenant(name));
  const fs = new MemFs();
  const host = new FakeHost(fs);
  const config: CoreConfig = {
    ...DEFAULT_CORE_CONFIG,
    warmPoolSize: 0,
    policyTickMs: 20,
    ...opts.config,
    dataDir: '/var/lib/cubby',
  };
  const managed = new FakeManagedImages(fs);
  const stopped: Core[] = [];
  const transitions: FakeWorld['transitions'] = [];
  const handedOut: FakeWorld['handedOut'] = [];
  const observer = {
    stateChanged: (e: { microvmId: string; from: string; to: string }) => {
      transitions.push({ id: e.microvmId, from: e.from, to: e.to });
    },
    handingOut: (e: { microvmId: string; address: string }) => {
      handedOut.push({ ...e });
    },
  };
  const path = (id: string) => {
    const mine = transitions.filter((t) => t.id === id);
    return mine.length ? [mine[0]?.from ?? '', ...mine.map((t) => t.to)] : [];
  };

  const build = (): FakeWorld => {
    const runtime = new FakeRuntime(host);
    const hooks = new FakeHooks(host);
    const disk = new FakeDisk(fs);
    const unpacker = new FakeUnpacker(fs);
    const builder = new FakeBuilder(fs);
    const tokens = new FakeTokens();
    const core = createCore({
      store,
      runtime,
      hooks,
      disk,
      tokens,
      managed,
      unpacker,
      builder,
      log: silentLogger,
      observer,
      config,
      ...(opts.hostMemory ? { hostMemory: opts.hostMemory } : {}),
    });
    stopped.push(core);
    const world: FakeWorld = {
      fs,
      host,
      store,
      runtime,
      hooks,
      disk,
      managed,
      unpacker,
      builder,
      tokens,
      core,
      tenants,
      config,
      transitions,
      handedOut,
      path,
      caller: { tenant: tenants[0] as Tenant },
      restart: () => {
        core.scheduler.stop();
        return build();
      },
      async close() {
        for (const c of stopped) c.scheduler.stop();
        // Only the live core drains: an abandoned one may wait forever on a crashed step.
        await Promise.race([core.stop(), new Promise((r) => setTimeout(r, 500))]);
        await store.close();
        rmSync(root, { recursive: true, force: true });
      },
    };
    return world;
  };
  return build();
}

/** Creates an image with the fakes and waits for its build; returns the image name. */
export async function readyImage(w: FakeWorld, name = 'app', settings: Partial<ImageSettings> = {}): Promise<string> {
  await w.core.services.images.create(w.caller, { name, settings: fakeSettings(settings) });
  await w.core.images.drain();
  const v = await w.core.services.images.getVersion(w.caller, name, '1.0');
  if (v.state !== 'SUCCESSFUL') throw new Error(`fake build of ${name} ended ${v.state}: ${v.stateReason ?? ''}`);
  return name;
}

/** Polls until fn() is truthy (default 2 s). */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  what = 'condition',
  ms = 2000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
