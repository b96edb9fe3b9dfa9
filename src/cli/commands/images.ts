/** `cubby image ...`: images through the signed API (the same calls the AWS client makes). */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import {
  CreateMicrovmImageCommand,
  DeleteMicrovmImageCommand,
  GetMicrovmImageCommand,
  GetMicrovmImageVersionCommand,
  ListManagedMicrovmImagesCommand,
  ListMicrovmImageBuildsCommand,
  ListMicrovmImageVersionsCommand,
  ListMicrovmImagesCommand,
  UpdateMicrovmImageCommand,
  type CreateMicrovmImageRequest,
} from '@aws-sdk/client-lambda-microvms';
import { apiClient } from '../../client/api-client.js';
import { allPages } from '../pages.js';
import { print, progress, progressDone } from '../output.js';
import { zipDirectory } from '../zip-dir.js';
import { cubbyExtension, uploadArtifact } from '../../client/extension.js';
import { withCubbyMembers } from '../../client/cubby-members.js';
import { buildLogFollower } from '../follow-build-log.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface CreateOpts {
  from?: string;
  zip?: string;
  uri?: string;
  base: string;
  memory?: string;
  hooks?: string;
  hookPort?: string;
  env?: string[];
  egress?: string[];
  description?: string;
  wait: boolean;
  json?: boolean;
  timeout: string;
  buildDisk?: string;
  buildMemory?: string;
  buildNetwork?: string;
  /** false with --no-cache. */
  cache?: boolean;
  /** false with --no-logs. */
  logs?: boolean;
  disk?: string;
  maxProcesses?: string;
  addressSpace?: string;
}

/** Cubby's build caps and microVM limits, sent as extension members (see src/client/cubby-members.ts). */
function buildCapMembers(o: CreateOpts): Record<string, unknown> {
  const num = (v: string | undefined, flag: string, min = 1): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} ${v}: expected a whole number >= ${min}`);
    return n;
  };
  if (o.buildNetwork !== undefined && o.buildNetwork !== 'internet' && o.buildNetwork !== 'none')
    throw new Error(`--build-network ${o.buildNetwork}: expected internet or none`);
  return {
    cubbyBuildDiskMiB: num(o.buildDisk, '--build-disk'),
    cubbyBuildMemoryMiB: num(o.buildMemory, '--build-memory'),
    cubbyBuildNetwork: o.buildNetwork,
    cubbyBuildNoCache: o.cache === false ? true : undefined,
    cubbyDiskMiB: num(o.disk, '--disk'),
    cubbyMaxProcesses: num(o.maxProcesses, '--max-processes'),
    cubbyAddressSpaceMiB: num(o.addressSpace, '--address-space', 0),
  };
}

/** --uri passes through; --zip and --from (zipped here) are uploaded to the daemon first. */
async function artifactUri(o: CreateOpts): Promise<string> {
  if (o.uri) return o.uri;
  if (o.zip) return uploadArtifact(path.resolve(o.zip));
  if (!o.from) throw new Error('give --from DIR, --zip FILE or --uri URI');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-artifact-'));
  try {
    const zip = path.join(dir, 'artifact.zip');
    const n = await zipDirectory(path.resolve(o.from), zip);
    const uri = await uploadArtifact(zip);
    if (!o.json) progressDone(`uploaded ${n} files from ${o.from}`);
    return uri;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function settings(o: CreateOpts, uri: string): Omit<CreateMicrovmImageRequest, 'name'> {
  const hooksOn = new Set(
    (o.hooks ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const state = (h: string) => (hooksOn.has(h) ? ('ENABLED' as const) : ('DISABLED' as const));
  const env = Object.fromEntries(
    (o.env ?? []).map((kv) => {
      const i = kv.indexOf('=');
      if (i <= 0) throw new Error(`--env ${kv}: expected KEY=VALUE`);
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
  return {
    baseImageArn: o.base,
    buildRoleArn: 'arn:aws:iam::000000000000:role/cubby-build',
    description: o.description,
    codeArtifact: { uri },
    environmentVariables: env,
    egressNetworkConnectors: o.egress,
    resources: o.memory ? [{ minimumMemoryInMiB: Number(o.memory) }] : undefined,
    hooks: hooksOn.size
      ? {
          port: o.hookPort ? Number(o.hookPort) : 9000,
          microvmHooks: { run: state('run'), resume: state('resume'), suspend: state('suspend'), terminate: state('terminate') },
          microvmImageHooks: { ready: state('ready'), validate: state('validate') },
        }
      : undefined,
  };
}

/**
 * The version's final state (SUCCESSFUL or FAILED), or its state when the wait timed out. Unless
 * `json` or `quiet`, the build log is printed (stderr) as the build goes, step by step.
 */
async function waitForVersion(name: string, version: string, timeoutS: number, json?: boolean, quiet?: boolean): Promise<string> {
  const client = apiClient();
  const deadline = Date.now() + timeoutS * 1000;
  const follow = json || quiet ? undefined : buildLogFollower(name, version, (l) => progressDone(l));
  let last = '';
  while (Date.now() < deadline) {
    const v = await client.send(new GetMicrovmImageVersionCommand({ imageIdentifier: name, imageVersion: version }));
    await follow?.();
    if (!json && v.state !== last) progress(`image ${name} ${version}: ${v.state}`);
    last = v.state ?? '';
    if (v.state === 'SUCCESSFUL' || v.state === 'FAILED') {
      if (!json) progressDone(`image ${name} ${version}: ${v.state}${v.stateReason ? ` (${v.stateReason})` : ''}`);
      return v.state;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  progressDone(`image ${name} ${version}: still ${last} after ${timeoutS} s`);
  return last;
}

/** Versions are <major>.<minor>, numbered upwards: the latest is the highest, whatever the list order. */
async function latestVersion(name: string): Promise<string | undefined> {
  const client = apiClient();
  const all = (
    await allPages((nextToken) => client.send(new ListMicrovmImageVersionsCommand({ imageIdentifier: name, maxResults: 50, nextToken })))
  )
    .map((i) => i.imageVersion ?? '')
    .filter(Boolean);
  const key = (v: string) => v.split('.').map(Number);
  return all
    .sort((x, y) => {
      const [a, b] = [key(x), key(y)];
      return (a[0] ?? 0) - (b[0] ?? 0) || (a[1] ?? 0) - (b[1] ?? 0);
    })
    .at(-1);
}

export function registerImages(program: Command): void {
  const image = program.command('image').description('build and manage images (Dockerfile -> snapshot)');
  const createLike = (cmd: Command) =>
    cmd
      .option('--from <dir>', 'a directory with a Dockerfile at its root (zipped for you)')
      .option('--zip <file>', 'a zip with a Dockerfile at its root')
      .option(
        '--uri <uri>',
        "a code artifact URI, passed as is (cubby-artifact://<id>, http(s)://..., or file:///abs.zip under the daemon's --artifact-roots)",
      )
      .option('--base <image>', 'managed base image', 'debian-12-python')
      .option('--memory <MiB>', 'baseline memory')
      .option('--build-disk <MiB>', "disk cap of the build (default 8192, within the host's maximum)")
      .option('--build-memory <MiB>', "memory cap of each RUN step (default 2048, within the host's maximum)")
      .option('--build-network <mode>', 'network of RUN steps: internet (default: public addresses and DNS) or none')
      .option('--no-cache', 'build every Dockerfile step afresh instead of reusing the layer cache')
      .option('--no-logs', 'do not print the build log while waiting')
      .option('--disk <MiB>', "each microVM's own disk (default 4096)")
      .option('--max-processes <n>', 'processes and threads per microVM (default: one per 16 MiB of memory, 16-1024)')
      .option('--address-space <MiB>', 'per-process address-space limit (default 3/4 of memory; 0 = none, for Node/JVM apps)')
      .option('--hooks <list>', 'enabled hooks, e.g. ready,run,resume')
      .option('--hook-port <port>', 'port the hooks listen on', '9000')
      .option('--env <KEY=VALUE>', 'environment variable (repeatable)', collect)
      .option('--egress <connector>', 'egress: internet, allow:<cidr>[:<ports>] (repeatable; default closed)', collect)
      .option('--description <text>')
      .option('--no-wait', 'return once the build has started')
      .option('--timeout <seconds>', 'how long to wait for the build', '1800')
      .option('--json', 'machine-readable output');

  createLike(image.command('create <name>').description('create an image and build its first version')).action(
    async (name: string, o: CreateOpts) => {
      const caps = buildCapMembers(o);
      const r = await apiClient().send(
        withCubbyMembers(new CreateMicrovmImageCommand({ name, ...settings(o, await artifactUri(o)) }), caps),
      );
      const state = o.wait ? await waitForVersion(name, r.imageVersion ?? '1.0', Number(o.timeout), o.json, o.logs === false) : r.state;
      if (o.wait && state !== 'SUCCESSFUL') process.exitCode = 1;
      print({ name: r.name, imageArn: r.imageArn, imageVersion: r.imageVersion, state }, o);
    },
  );
  createLike(image.command('update <name>').description('build a new version of an image')).action(async (name: string, o: CreateOpts) => {
    const caps = buildCapMembers(o);
    const r = await apiClient().send(
      withCubbyMembers(new UpdateMicrovmImageCommand({ imageIdentifier: name, ...settings(o, await artifactUri(o)) }), caps),
    );
    const state = o.wait ? await waitForVersion(name, r.imageVersion ?? '', Number(o.timeout), o.json, o.logs === false) : r.state;
    if (o.wait && state !== 'SUCCESSFUL') process.exitCode = 1;
    print({ name: r.name, imageVersion: r.imageVersion, state }, o);
  });
  image
    .command('list')
    .description('list your images')
    .option('--json')
    .action(async (o: { json?: boolean }) => {
      const items = await allPages((nextToken) => apiClient().send(new ListMicrovmImagesCommand({ nextToken })));
      print(
        items.map((i) => ({
          name: i.name,
          state: i.state,
          latest: i.latestActiveImageVersion,
          failed: i.latestFailedImageVersion,
          createdAt: i.createdAt,
        })),
        o,
      );
    });
  image
    .command('show <name>')
    .option('--json')
    .action(async (name: string, o: { json?: boolean }) =>
      print(await apiClient().send(new GetMicrovmImageCommand({ imageIdentifier: name })), o),
    );
  image
    .command('versions <name>')
    .option('--json')
    .action(async (name: string, o: { json?: boolean }) => {
      const items = await allPages((nextToken) =>
        apiClient().send(new ListMicrovmImageVersionsCommand({ imageIdentifier: name, nextToken })),
      );
      print(
        items.map((v) => ({ version: v.imageVersion, state: v.state, status: v.status, reason: v.stateReason, createdAt: v.createdAt })),
        o,
      );
    });
  image
    .command('builds <name> <version>')
    .option('--json')
    .action(async (name: string, version: string, o: { json?: boolean }) => {
      const items = await allPages((nextToken) =>
        apiClient().send(new ListMicrovmImageBuildsCommand({ imageIdentifier: name, imageVersion: version, nextToken })),
      );
      print(
        items.map((b) => ({ buildId: b.buildId, state: b.buildState, reason: b.stateReason, createdAt: b.createdAt })),
        o,
      );
    });
  image
    .command('logs <name> [version]')
    .description('the build log of a version (default: the latest)')
    .action(async (name: string, version: string | undefined) => {
      const v = version ?? (await latestVersion(name));
      if (!v) throw new Error(`image ${name} has no versions`);
      process.stdout.write(
        await cubbyExtension('GET', `/cubby/v1/images/${encodeURIComponent(name)}/versions/${encodeURIComponent(v)}/log`),
      );
    });
  image
    .command('delete <name>')
    .option('--json')
    .action(async (name: string, o: { json?: boolean }) =>
      print(await apiClient().send(new DeleteMicrovmImageCommand({ imageIdentifier: name })), o),
    );
  image
    .command('base')
    .description('list managed base images')
    .option('--json')
    .action(async (o: { json?: boolean }) => {
      const items = await allPages((nextToken) => apiClient().send(new ListManagedMicrovmImagesCommand({ nextToken })));
      print(
        items.map((i) => ({ imageArn: i.imageArn, createdAt: i.createdAt })),
        o,
      );
    });
}
