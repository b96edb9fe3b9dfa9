/**
 * Cubby's own buildah storage, never the host's default (/var/lib/containers):
 *   <storageDir>/shared/{root,run}   managed base images, imported once and shared by every build
 *   <storageDir>/cache/oci           the layer cache (layer-cache.ts), an OCI layout
 *   <storageDir>/builds/<id>/        one build: runsc state, wrapper, logs, and on the build's own
 *     data/{root,run,tmp}            capped file system (build-disk.ts) its graph root (the shared
 *                                    one is a read-only additional image store), run root, TMPDIR
 * A build's intermediate containers, layers and result image live only in its own directory, so
 * removing that directory removes everything the build made, even after a crash.
 *
 * Every buildah call runs in a new, empty network namespace (`unshare --net`): buildah itself
 * never reaches the host's network or loopback, whatever a Dockerfile slips past the checks (an
 * ADD <url>, a pull). RUN steps are apart from that: runsc --network=none (runsc-wrapper.ts).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { streamCommand, type StreamOptions, type StreamResult } from '../util/stream-command.js';

export interface StorageLayout {
  root: string;
  run: string;
  conf: string;
  tmp: string;
}

const REGISTRIES_CONF = [
  '# Cubby builds never pull: no registry is searched for short names.',
  'unqualified-search-registries = []',
  'short-name-mode = "disabled"',
  '',
].join('\n');

function storageConf(root: string, run: string, additional: readonly string[] = []): string {
  return [
    '[storage]',
    'driver = "overlay"',
    `graphroot = ${JSON.stringify(root)}`,
    `runroot = ${JSON.stringify(run)}`,
    '[storage.options]',
    `additionalimagestores = [${additional.map((a) => JSON.stringify(a)).join(', ')}]`,
    '',
  ].join('\n');
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, file);
}

export async function sharedLayout(storageDir: string): Promise<StorageLayout> {
  const dir = path.join(storageDir, 'shared');
  const l = { root: path.join(dir, 'root'), run: path.join(dir, 'run'), conf: path.join(dir, 'storage.conf'), tmp: path.join(dir, 'tmp') };
  await fs.mkdir(l.tmp, { recursive: true, mode: 0o700 });
  await writeAtomically(l.conf, storageConf(l.root, l.run));
  await writeAtomically(path.join(storageDir, 'registries.conf'), REGISTRIES_CONF);
  return l;
}

/** `dataDir`: where the bulky parts go (the build's capped file system). */
export async function buildLayout(buildDir: string, shared: StorageLayout, dataDir: string): Promise<StorageLayout> {
  const l = {
    root: path.join(dataDir, 'root'),
    run: path.join(dataDir, 'run'),
    conf: path.join(buildDir, 'storage.conf'),
    tmp: path.join(dataDir, 'tmp'),
  };
  await fs.mkdir(l.tmp, { recursive: true, mode: 0o700 });
  await fs.writeFile(l.conf, storageConf(l.root, l.run, [shared.root]));
  return l;
}

export interface BuildahRunner {
  run(layout: StorageLayout, args: string[], opts?: Pick<StreamOptions, 'onLine' | 'timeoutMs'>): Promise<StreamResult>;
}

/** The command line that runs buildah with `args`: inside a fresh network namespace. */
export function buildahCommand(binary: string, args: readonly string[]): { cmd: string; args: string[] } {
  return { cmd: 'unshare', args: ['--net', '--', binary, ...args] };
}

export function buildahRunner(binary: string, storageDir: string): BuildahRunner {
  return {
    run(layout, args, opts = {}) {
      const env = {
        ...process.env,
        CONTAINERS_STORAGE_CONF: layout.conf,
        CONTAINERS_REGISTRIES_CONF: path.join(storageDir, 'registries.conf'),
        TMPDIR: layout.tmp,
      };
      const c = buildahCommand(binary, args);
      return streamCommand(c.cmd, c.args, { env, timeoutMs: opts.timeoutMs ?? 5 * 60_000, onLine: opts.onLine });
    },
  };
}
