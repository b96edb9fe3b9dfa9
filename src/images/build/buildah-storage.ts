/**
 * Cubby's own buildah storage, never the host's default (/var/lib/containers):
 *   <storageDir>/shared/{root,run}   managed base images, imported once and shared by every build
 *   <storageDir>/builds/<id>/        one build: its own graph root (the shared one mounted as a
 *                                    read-only additional image store), tmp, runsc state, wrapper
 * A build's intermediate containers, layers and result image live only in its own directory, so
 * removing that directory removes everything the build made, even after a crash.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { streamCommand, type StreamOptions, type StreamResult } from '../util/stream-command.js';

export interface StorageLayout { root: string; run: string; conf: string; tmp: string }

const REGISTRIES_CONF = [
  '# Cubby builds never pull: no registry is searched for short names.',
  'unqualified-search-registries = []',
  'short-name-mode = "disabled"',
  '',
].join('\n');

function storageConf(root: string, run: string, additional?: string): string {
  return [
    '[storage]',
    'driver = "overlay"',
    `graphroot = ${JSON.stringify(root)}`,
    `runroot = ${JSON.stringify(run)}`,
    '[storage.options]',
    `additionalimagestores = [${additional ? JSON.stringify(additional) : ''}]`,
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

export async function buildLayout(buildDir: string, shared: StorageLayout): Promise<StorageLayout> {
  const l = { root: path.join(buildDir, 'root'), run: path.join(buildDir, 'run'), conf: path.join(buildDir, 'storage.conf'), tmp: path.join(buildDir, 'tmp') };
  await fs.mkdir(l.tmp, { recursive: true, mode: 0o700 });
  await fs.writeFile(l.conf, storageConf(l.root, l.run, shared.root));
  return l;
}

export interface BuildahRunner {
  run(layout: StorageLayout, args: string[], opts?: Pick<StreamOptions, 'onLine' | 'timeoutMs'>): Promise<StreamResult>;
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
      return streamCommand(binary, args, { env, timeoutMs: opts.timeoutMs ?? 5 * 60_000, onLine: opts.onLine });
    },
  };
}
