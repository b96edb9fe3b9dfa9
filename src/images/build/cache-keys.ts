/**
 * Layer cache keys: one per Dockerfile instruction after FROM, chained, so a step's key names
 * everything its result can depend on: the cache scope (tenant), the base image (name, version
 * and build time), the build's network mode, build args and secrets, every earlier instruction,
 * the instruction's own text, and for COPY/ADD the bytes, modes and names of what it reads from
 * the context (plus .dockerignore, which decides what a COPY takes). A changed input changes
 * that key and every later one, so reuse is exact. What the keys cannot name for sure (a source
 * with a variable or a wildcard) hashes the whole context: a needless rebuild, never a wrong reuse.
 */
import { createHash, type Hash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Instruction } from '../dockerfile/parse.js';
import { ARG_SPACE, jsonArgs } from '../dockerfile/words.js';

export interface KeyInputs {
  scope: string;
  base: { ref: string; createdAt: string };
  network: string;
  buildArgs: Readonly<Record<string, string>>;
  secrets?: Readonly<Record<string, string>>;
  contextDir: string;
}

export interface StepKey {
  /** Index in the Dockerfile's instruction list. */
  index: number;
  instruction: Instruction;
  key: string;
}

const sha = (...parts: string[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex');
};

const sorted = (o: Readonly<Record<string, string>> | undefined): string =>
  JSON.stringify(Object.entries(o ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** Feeds a file tree into `h`: names, types, modes, link targets and file bytes, in a fixed order. */
async function hashTree(h: Hash, root: string, rel: string): Promise<void> {
  const p = path.join(root, rel);
  const st = await fs.lstat(p).catch(() => undefined);
  if (!st) {
    h.update(`missing ${rel}\0`);
    return;
  }
  h.update(`${rel}\0${st.mode}\0${st.uid}:${st.gid}\0`);
  if (st.isSymbolicLink()) h.update(`link ${await fs.readlink(p)}\0`);
  else if (st.isFile()) {
    h.update(`file ${st.size}\0`);
    const fh = await fs.open(p, 'r');
    try {
      for await (const chunk of fh.createReadStream()) h.update(chunk as Buffer);
    } finally {
      await fh.close().catch(() => undefined);
    }
  } else if (st.isDirectory()) {
    const names = (await fs.readdir(p)).sort();
    for (const n of names) await hashTree(h, root, rel === '' ? n : `${rel}/${n}`);
  }
}

/** The sources of a COPY/ADD (every word but the destination), or undefined when unsure. */
function copySources(ins: Instruction): string[] | undefined {
  const j = jsonArgs(ins.args);
  const words = j.form === 'json' ? j.values : ins.args.split(ARG_SPACE).filter(Boolean);
  const sources = words.slice(0, -1);
  // Variables, wildcards, escapes: what buildah would read is not known here for sure.
  if (sources.length === 0 || sources.some((s) => /[$*?[\]\\{}]/.test(s))) return undefined;
  return sources;
}

/** What a COPY/ADD reads from the context, hashed. */
async function copyDigest(ins: Instruction, contextDir: string): Promise<string> {
  const h = createHash('sha256');
  const ignore = await fs.readFile(path.join(contextDir, '.dockerignore')).catch(() => undefined);
  h.update(ignore ? Buffer.concat([Buffer.from('ignore\0'), ignore]) : Buffer.from('no-ignore\0'));
  const sources = copySources(ins);
  const rels = sources?.map((s) => {
    const rel = path.posix.normalize(`/${s}`).slice(1);
    return rel === '.' ? '' : rel.replace(/\/$/, '');
  }) ?? [''];
  for (const rel of rels) {
    h.update(`source ${rel}\0`);
    await hashTree(h, contextDir, rel);
  }
  return h.digest('hex');
}

/** Keys of every instruction after FROM, in order. */
export async function stepKeys(instructions: readonly Instruction[], fromIndex: number, k: KeyInputs): Promise<StepKey[]> {
  let key = sha('cubby-layer-cache-v1', k.scope, k.base.ref, k.base.createdAt, k.network, sorted(k.buildArgs), sorted(k.secrets));
  const out: StepKey[] = [];
  for (let i = fromIndex + 1; i < instructions.length; i++) {
    const ins = instructions[i] as Instruction;
    const content = ins.keyword === 'COPY' || ins.keyword === 'ADD' ? await copyDigest(ins, k.contextDir) : '';
    key = sha(key, ins.keyword, JSON.stringify(ins.flags), ins.args, JSON.stringify(ins.heredocs), content);
    out.push({ index: i, instruction: ins, key });
  }
  return out;
}

/**
 * Steps whose result gets a cache entry: RUN steps (installing dependencies is what a rebuild
 * should not redo). Copying an entry in costs about what redoing a COPY does, so COPY/ADD steps
 * are not entries of their own; a later RUN's entry holds their result.
 */
export function cacheable(ins: Instruction): boolean {
  return ins.keyword === 'RUN';
}

/**
 * The Dockerfile that builds the steps after `upTo` on top of a cached image: the lines of FROM
 * through `upTo` become blank (line numbers stay), FROM names the cached image, and the earlier
 * ARG and SHELL instructions stay, since an image does not keep them (ENV, WORKDIR, USER and the
 * rest are in the cached image's config).
 */
export function resumeDockerfile(text: string, instructions: readonly Instruction[], fromIndex: number, upTo: number, ref: string): string {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  for (let i = fromIndex; i <= upTo; i++) {
    const ins = instructions[i] as Instruction;
    if (i !== fromIndex && (ins.keyword === 'ARG' || ins.keyword === 'SHELL')) continue;
    for (let l = ins.line; l <= ins.endLine; l++) lines[l - 1] = '';
  }
  const from = instructions[fromIndex] as Instruction;
  const alias = /\s+AS\s+(\S+)\s*$/i.exec(from.args)?.[1];
  lines[from.line - 1] = `FROM ${ref}${alias ? ` AS ${alias}` : ''}`;
  return lines.join('\n');
}
