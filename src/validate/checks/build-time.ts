/**
 * Check a: cold build-to-snapshot time. Reads the latest active version's timings (version
 * created -> its SUCCESSFUL build started -> version SUCCESSFUL, i.e. build, start, ready hook,
 * snapshot and validate), or with --rebuild builds a new version with the same settings and
 * times it from the UpdateMicrovmImage call.
 */
import {
  GetMicrovmImageBuildCommand,
  GetMicrovmImageCommand,
  GetMicrovmImageVersionCommand,
  ListMicrovmImageBuildsCommand,
  UpdateMicrovmImageCommand,
  type GetMicrovmImageVersionCommandOutput,
} from '@aws-sdk/client-lambda-microvms';
import type { Session } from '../session.js';
import type { Probe } from '../types.js';
import { ms } from '../format.js';

export interface BuildData extends Record<string, unknown> {
  version?: string;
  buildId?: string;
  queuedMs?: number;
  buildMs?: number;
  totalMs?: number;
  snapshot?: { memoryBytes?: number; diskBytes?: number; codeBytes?: number };
  rebuild?: { fromVersion: string; version: string; wallMs: number; state: string };
}

async function waitBuilt(s: Session, version: string, timeoutMs: number): Promise<GetMicrovmImageVersionCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await s.client.send(new GetMicrovmImageVersionCommand({ imageIdentifier: s.opts.image, imageVersion: version }));
    if (v.state === 'SUCCESSFUL' || v.state === 'FAILED' || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function rebuild(s: Session, from: string, probes: Probe[], data: BuildData): Promise<string | undefined> {
  const v = await s.client.send(new GetMicrovmImageVersionCommand({ imageIdentifier: s.opts.image, imageVersion: from }));
  const t0 = Date.now();
  const r = await s.client.send(
    new UpdateMicrovmImageCommand({
      imageIdentifier: s.opts.image,
      baseImageArn: v.baseImageArn,
      baseImageVersion: v.baseImageVersion,
      buildRoleArn: v.buildRoleArn,
      description: v.description,
      codeArtifact: v.codeArtifact,
      logging: v.logging,
      egressNetworkConnectors: v.egressNetworkConnectors,
      cpuConfigurations: v.cpuConfigurations,
      resources: v.resources,
      additionalOsCapabilities: v.additionalOsCapabilities,
      hooks: v.hooks,
      environmentVariables: v.environmentVariables,
    }),
  );
  const version = r.imageVersion ?? '';
  const done = await waitBuilt(s, version, s.opts.buildTimeoutSeconds * 1000);
  const wallMs = Date.now() - t0;
  data.rebuild = { fromVersion: from, version, wallMs, state: done.state ?? '' };
  const ok = done.state === 'SUCCESSFUL';
  probes.push({
    name: 'rebuild',
    status: ok ? 'PASS' : 'FAIL',
    detail: ok
      ? `version ${version} built from the call to SUCCESSFUL in ${ms(wallMs)} (wall clock)`
      : `version ${version} is ${done.state} after ${ms(wallMs)}${done.stateReason ? `: ${done.stateReason}` : ''}`,
  });
  return ok ? version : undefined;
}

export async function checkBuildTime(s: Session): Promise<{ probes: Probe[]; data: BuildData }> {
  const probes: Probe[] = [];
  const data: BuildData = {};
  const image = await s.client.send(new GetMicrovmImageCommand({ imageIdentifier: s.opts.image }));
  // A named version (the console validates the one its page shows) is never rebuilt.
  if (s.opts.version) return timings(s, s.opts.version, probes, data);
  let version = image.latestActiveImageVersion;
  if (!version) {
    probes.push({
      name: 'latest version',
      status: 'FAIL',
      detail: `image ${s.opts.image} has no successful active version${image.latestFailedImageVersion ? ` (latest failed: ${image.latestFailedImageVersion})` : ''}`,
    });
    return { probes, data };
  }
  if (s.opts.rebuild) {
    const built = await rebuild(s, version, probes, data);
    if (!built) return { probes, data };
    version = built;
  }
  return timings(s, version, probes, data);
}

async function timings(s: Session, version: string, probes: Probe[], data: BuildData): Promise<{ probes: Probe[]; data: BuildData }> {
  data.version = version;
  const v = await s.client.send(new GetMicrovmImageVersionCommand({ imageIdentifier: s.opts.image, imageVersion: version }));
  const builds =
    (await s.client.send(new ListMicrovmImageBuildsCommand({ imageIdentifier: s.opts.image, imageVersion: version }))).items ?? [];
  const build = builds.filter((b) => b.buildState === 'SUCCESSFUL').at(-1);
  if (v.state !== 'SUCCESSFUL' || !build?.buildId || !v.createdAt || !v.updatedAt || !build.createdAt) {
    probes.push({
      name: 'latest version',
      status: 'FAIL',
      detail: `version ${version} is ${v.state} without a SUCCESSFUL build with timings`,
    });
    return { probes, data };
  }
  data.buildId = build.buildId;
  data.queuedMs = Math.max(0, build.createdAt.getTime() - v.createdAt.getTime());
  data.buildMs = Math.max(0, v.updatedAt.getTime() - build.createdAt.getTime());
  data.totalMs = Math.max(0, v.updatedAt.getTime() - v.createdAt.getTime());
  const b = await s.client.send(
    new GetMicrovmImageBuildCommand({ imageIdentifier: s.opts.image, imageVersion: version, buildId: build.buildId }),
  );
  data.snapshot = {
    memoryBytes: b.snapshotBuild?.memorySnapshotSizeInBytes,
    diskBytes: b.snapshotBuild?.diskSnapshotSizeInBytes,
    codeBytes: b.snapshotBuild?.codeInstallSizeInBytes,
  };
  probes.push({
    name: 'build to snapshot',
    status: 'PASS',
    detail: `version ${version}: ${ms(data.buildMs)} from build start to SUCCESSFUL (build, start, ready, snapshot, validate), ${ms(data.totalMs)} including ${ms(data.queuedMs)} queued`,
  });
  return { probes, data };
}
