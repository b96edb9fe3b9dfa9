/**
 * Building one image version: unpack the artifact, build the Dockerfile on the managed base,
 * start the result, wait until the app is ready, snapshot it, optionally validate a test
 * microVM restored from that snapshot, and only then mark the version SUCCESSFUL. Any failure
 * marks it FAILED with the reason and the log, and leaves no sandbox or half-written files.
 */
import type { ImageBuild, ImageSettings, ImageVersion } from '../model.js';
import type { Store } from '../ports/store.js';
import type { ResourceLimits, SandboxRuntime } from '../ports/runtime.js';
import type { HooksPort } from '../ports/hooks.js';
import type { DiskPort } from '../ports/disk.js';
import type { ArtifactUnpacker, ImageBuilder, ImageConfig, ManagedImageStore } from '../ports/images.js';
import type { Logger } from '../ports/observer.js';
import { asCubbyError, CubbyError } from '../../errors/index.js';
import { callHook } from '../hooks.js';
import { newMicrovmId } from '../ids.js';
import { AGENT_CAPABILITIES, AGENT_PATH, agentArgs, agentDefaultUser, agentMount, withoutAddressSpace } from './agent.js';
import { buildCaps, type BuildCapLimits } from './build-caps.js';
import { agentRecordPath, buildLogPath, failVersion, versionDir } from './version-files.js';
import { BUILD_ROLE_MEMBER, buildRoleSecrets } from '../roles/build.js';
import { CREDENTIALS_ENV } from '../roles/types.js';

export interface PipelineDeps {
  store: Store;
  runtime: SandboxRuntime;
  hooks: HooksPort;
  disk: DiskPort;
  managed: ManagedImageStore;
  unpacker: ArtifactUnpacker;
  builder: ImageBuilder;
  log: Logger;
  /** <dataDir>/images: one directory per image version. */
  imagesRoot: string;
  /** Waiting for an app without a ready hook to accept connections. */
  defaultReadySeconds?: number;
  /** The operator's maximum build caps (default: build-caps.ts). */
  buildLimits?: BuildCapLimits;
  /** Host path of the in-sandbox agent binary, for images with settings.agent. */
  agentBinary?: string;
}

/** The builder resolves a Dockerfile USER to "uid:gid" against the image's own /etc/passwd. */
function userIds(user: string | undefined): { uid: number; gid: number } {
  if (!user) return { uid: 0, gid: 0 };
  const [u, g] = user.split(':');
  const uid = Number(u);
  if (!Number.isInteger(uid)) throw new CubbyError('DOCKERFILE_INVALID', `USER ${user} could not be resolved to a numeric uid`);
  return { uid, gid: g !== undefined && Number.isInteger(Number(g)) ? Number(g) : uid };
}

/** How far above its vCPU baseline a microVM may burst (the model: up to 4x). */
export const CPU_BURST = 4;

function appPort(config: ImageConfig): number {
  return config.exposedPorts[0] ?? 8080;
}

export class BuildPipeline {
  constructor(private readonly d: PipelineDeps) {}

  async run(version: ImageVersion, build: ImageBuild): Promise<void> {
    const d = this.d;
    const dir = versionDir(d, version.imageId, version.version);
    const logPath = buildLogPath(d, build);
    const log = (line: string) => void d.disk.append(logPath, `${new Date().toISOString()} ${line}\n`).catch(() => undefined);
    const tenantId = version.tenantId;
    let sandboxId: string | undefined;
    const started = Date.now();
    try {
      await d.store.updateBuild(tenantId, build.id, { state: 'IN_PROGRESS', logPath });
      await d.store.updateVersion(tenantId, version.imageId, version.version, { state: 'IN_PROGRESS' });
      await d.disk.remove(dir);
      await d.disk.ensureDir(dir);
      const s = version.settings;
      log(`building ${version.version} on ${s.baseImage}${s.baseImageVersion ? ':' + s.baseImageVersion : ''}`);

      log('preparing the managed base image');
      await d.managed.ensure(s.baseImage, s.baseImageVersion, (p) => {
        if (p.line) log(`[base] ${p.line}`);
      });

      log(`unpacking ${s.codeArtifactUri}`);
      const ctx = await d.unpacker.unpack(s.codeArtifactUri, d.disk.join(dir, 'context'), { tenantId });
      log(`unpacked ${ctx.files} files, ${ctx.bytes} bytes`);

      const caps = buildCaps(s.build, d.buildLimits);
      // The build role's secrets, for RUN steps only (never in the image).
      const secrets = await buildRoleSecrets(d.store, tenantId, s);
      if (secrets) log(`build role ${String(s.extra[BUILD_ROLE_MEMBER])}: ${Object.keys(secrets).length} secret(s) for RUN steps`);
      else if (typeof s.extra.buildRoleArn === 'string')
        log(`buildRoleArn ${s.extra.buildRoleArn} names no role of this account: no build secrets`);
      const built = await d.builder.build({
        ...(secrets ? { secrets } : {}),
        contextDir: ctx.dir,
        base: { name: s.baseImage, version: s.baseImageVersion },
        outputDir: d.disk.join(dir, 'rootfs'),
        // RUN steps reach the network under the image's build policy (default: public internet
        // and DNS, never the host, other sandboxes or private ranges; `none`: no network).
        network: s.build?.network ?? 'internet',
        // The tenant's own layer cache; --no-cache builds every step (and still fills it).
        cacheScope: tenantId,
        ...(s.build?.noCache ? { noCache: true } : {}),
        // The agent's mount point is part of the version (starting a sandbox then writes nothing into it).
        ...(s.agent ? { mountPoints: [AGENT_PATH] } : {}),
        memoryBytes: caps.memoryMiB * 1024 * 1024,
        diskBytes: caps.diskMiB * 1024 * 1024,
        onLog: (line) => log(`[build] ${line}`),
      });
      await d.disk.remove(ctx.dir);
      log(`built rootfs (${built.sizeBytes} bytes) in ${built.durationMs} ms`);

      const app = [...built.config.entrypoint, ...built.config.cmd];
      if (app.length === 0 && !s.agent)
        throw new CubbyError('DOCKERFILE_INVALID', 'the Dockerfile sets neither ENTRYPOINT nor CMD: there is no app to start');
      if (s.agent && !d.agentBinary)
        throw new CubbyError(
          'BUILD_FAILED',
          'this image asks for the in-sandbox agent, but this host has no cubby-agent binary (scripts/build-agent.sh)',
        );
      // Under the agent the first process is the agent, as root (it starts commands as any user);
      // the app is its child and inherits that.
      const limits = sandboxLimits(s);
      const args = s.agent ? agentArgs(agentDefaultUser(s.baseImage), app) : app;
      const { uid, gid } = s.agent ? { uid: 0, gid: 0 } : userIds(built.config.user);
      sandboxId = newMicrovmId();
      log(`starting the app: ${JSON.stringify(args)}`);
      const sb = await d.runtime.create({
        id: sandboxId,
        rootfs: built.rootfs,
        ...(s.agent && d.agentBinary ? { mounts: [agentMount(d.agentBinary)] } : {}),
        process: {
          args,
          env: { ...CREDENTIALS_ENV, ...built.config.env, ...s.environment },
          cwd: built.config.workdir || '/',
          uid,
          gid,
          ...(s.agent ? { capabilities: AGENT_CAPABILITIES } : {}),
        },
        // The model's baselines burst to 4x: the quota is 4x the baseline vCPUs, so a small
        // microVM is not throttled to a crawl while it restores or answers a burst of requests.
        limits: s.agent ? withoutAddressSpace(limits) : limits,
        egress: s.egress,
        labels: { purpose: 'image-build', image: version.imageId, version: version.version },
      });
      await this.waitReady(sb.address, version, built.config, log);

      log('snapshotting the running app');
      const snapshot = d.disk.join(dir, 'snapshot');
      const ck = await d.runtime.checkpoint(sandboxId, snapshot);
      await d.runtime.destroy(sandboxId);
      sandboxId = undefined;
      log(`snapshot written: ${ck.sizeBytes} bytes`);
      if (s.agent && d.agentBinary) {
        // The snapshot restores with this very binary: record it (managed templates follow the host's agent).
        await d.disk.append(agentRecordPath(d, version.imageId, version.version), `${d.agentBinary}\n`);
        log(`snapshotted with the agent ${d.agentBinary}`);
      }

      if (s.hooks.enabled.validate) await this.validate(snapshot, version, log);

      await d.store.tx(async (t) => {
        await t.updateBuild(tenantId, build.id, {
          state: 'SUCCESSFUL',
          stateReason: null,
          memorySnapshotBytes: ck.sizeBytes,
          diskSnapshotBytes: built.sizeBytes,
          codeInstallBytes: ctx.bytes,
        });
        await t.updateVersion(tenantId, version.imageId, version.version, {
          state: 'SUCCESSFUL',
          stateReason: null,
          rootfsPath: built.rootfs,
          snapshotPath: snapshot,
        });
        const img = await t.getImage(tenantId, version.imageId);
        if (img)
          await t.updateImage(tenantId, img.id, {
            state: img.state === 'CREATING' ? 'CREATED' : 'UPDATED',
            latestActiveVersion: version.version,
          });
      });
      log(`version ${version.version} SUCCESSFUL in ${Date.now() - started} ms`);
    } catch (e) {
      const err = asCubbyError(e, 'BUILD_FAILED');
      log(`FAILED: ${err.message}`);
      if (sandboxId) {
        const out = await d.runtime.logs(sandboxId).catch(() => Buffer.alloc(0));
        if (out.length) log(`app output (last ${Math.min(out.length, 4096)} bytes):\n${out.subarray(-4096).toString('utf8')}`);
        await d.runtime.destroy(sandboxId).catch(() => undefined);
      }
      // Keep the log; drop everything else the build wrote.
      await failVersion(d, build, err.message).catch((se: unknown) => d.log.error({ err: String(se) }, 'could not record a failed build'));
      d.log.warn({ image: version.imageId, version: version.version, err: err.message }, 'image build failed');
    }
  }

  private async waitReady(address: string, version: ImageVersion, config: ImageConfig, log: (l: string) => void): Promise<void> {
    const h = version.settings.hooks;
    const port = appPort(config);
    if (h.enabled.ready) {
      log(`waiting for the ready hook on port ${h.port}`);
      try {
        await callHook(this.d.hooks, h, 'ready', address);
      } catch (e) {
        throw new CubbyError('APP_NOT_READY', `the app never got ready: ${(e as Error).message}`, { cause: e });
      }
      // Touch the app port too, when something listens there: a snapshot of a listener that has
      // served a connection restores reliably.
      await this.d.hooks.waitForPort(address, port, 2000).catch(() => undefined);
    } else {
      const seconds = this.d.defaultReadySeconds ?? 30;
      log(`no ready hook: waiting until port ${port} accepts connections (${seconds} s)`);
      try {
        await this.d.hooks.waitForPort(address, port, seconds * 1000);
      } catch (e) {
        throw new CubbyError('APP_NOT_READY', `the app never got ready: ${(e as Error).message}`, { cause: e });
      }
    }
    log('the app is ready');
  }

  private async validate(snapshot: string, version: ImageVersion, log: (l: string) => void): Promise<void> {
    const h = version.settings.hooks;
    const id = newMicrovmId();
    log('validating: restoring a test microVM from the snapshot');
    const sb = await this.d.runtime.restore({ id, checkpointDir: snapshot, labels: { purpose: 'image-validate' } });
    try {
      await callHook(this.d.hooks, h, 'validate', sb.address);
      log('validate hook answered 200');
    } catch (e) {
      throw new CubbyError('VALIDATE_FAILED', `validation failed: ${(e as Error).message}`, { cause: e });
    } finally {
      await this.d.runtime.destroy(id).catch(() => undefined);
    }
  }
}

const MIB = 1024 * 1024;

/** The sandbox's limits from the image settings; members the image leaves out get the runtime's defaults. */
export function sandboxLimits(s: ImageSettings): ResourceLimits {
  const l = s.sandbox ?? {};
  const rlimits = {
    ...(l.maxProcesses !== undefined ? { processes: l.maxProcesses } : {}),
    ...(l.addressSpaceMiB !== undefined ? { addressSpaceBytes: l.addressSpaceMiB * MIB } : {}),
  };
  return {
    memoryBytes: s.memoryMiB * MIB,
    cpus: s.vcpus * CPU_BURST,
    pids: 4096,
    ...(l.diskMiB !== undefined ? { diskBytes: l.diskMiB * MIB } : {}),
    ...(Object.keys(rlimits).length ? { rlimits } : {}),
  };
}
