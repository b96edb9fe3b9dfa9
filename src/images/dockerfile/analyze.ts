/**
 * What Cubby needs to know of a Dockerfile before building it: its single FROM, and the config it
 * declares (ENTRYPOINT/CMD in exec or shell form, ENV, WORKDIR, USER, EXPOSE). Also refuses what
 * would let a build reach outside its sandbox: other images (COPY --from, multi-stage), URLs
 * fetched by the builder on the host (ADD http://...), and RUN flags (--mount, --network, ...).
 */
import { dockerfileError, parseDockerfile, type Instruction } from './parse.js';
import { splitWords } from './words.js';

export interface FromClause {
  /** The image named, e.g. "debian-12-python". */
  image: string;
  /** The tag, when given ("debian-12-python:1.0" -> "1.0"). */
  tag?: string;
  alias?: string;
  line: number;
  endLine: number;
}

export interface DockerfileSummary {
  from: FromClause;
  entrypoint?: string[];
  cmd?: string[];
  env: Record<string, string>;
  workdir?: string;
  user?: string;
  exposedPorts: number[];
  instructions: Instruction[];
}

export function analyzeDockerfile(text: string): DockerfileSummary {
  const { instructions, escape } = parseDockerfile(text);
  const froms = instructions.filter((x) => x.keyword === 'FROM');
  if (froms.length === 0) throw dockerfileError(1, 'no FROM instruction');
  if (froms.length > 1) {
    throw dockerfileError(froms[1]?.line ?? 1, `multi-stage builds are not supported (${froms.length} FROM instructions)`);
  }
  const out: DockerfileSummary = { from: readFrom(froms[0] as Instruction), env: {}, exposedPorts: [], instructions };
  let shell = ['/bin/sh', '-c'];
  let seenFrom = false;
  for (const ins of instructions) {
    if (!seenFrom && ins.keyword !== 'FROM' && ins.keyword !== 'ARG') throw dockerfileError(ins.line, `${ins.keyword} before FROM`);
    switch (ins.keyword) {
      case 'FROM': seenFrom = true; break;
      case 'RUN':
        if (ins.flags.length > 0) throw dockerfileError(ins.line, `RUN flags are not supported (${ins.flags.join(' ')})`);
        break;
      case 'COPY':
      case 'ADD':
        checkCopy(ins);
        break;
      case 'SHELL': shell = execForm(ins) ?? fail(ins, 'SHELL needs the JSON (exec) form'); break;
      case 'ENTRYPOINT':
        out.entrypoint = command(ins, shell);
        // As in Docker: setting ENTRYPOINT resets a CMD set earlier.
        delete out.cmd;
        break;
      case 'CMD': out.cmd = command(ins, shell); break;
      case 'ENV': Object.assign(out.env, keyValues(ins, escape)); break;
      case 'WORKDIR': out.workdir = nonEmpty(ins); break;
      case 'USER': out.user = nonEmpty(ins); break;
      case 'EXPOSE': out.exposedPorts.push(...ports(ins, escape)); break;
      default: break;
    }
  }
  out.exposedPorts = [...new Set(out.exposedPorts)].sort((a, b) => a - b);
  return out;
}

function readFrom(ins: Instruction): FromClause {
  if (ins.flags.length > 0) throw dockerfileError(ins.line, `FROM flags are not supported (${ins.flags.join(' ')})`);
  const parts = ins.args.split(/\s+/).filter(Boolean);
  if (parts.length === 3 && parts[1]?.toUpperCase() === 'AS') parts.splice(1, 1);
  else if (parts.length !== 1) throw dockerfileError(ins.line, `FROM takes one image name (optionally "AS name"): FROM ${ins.args}`);
  const ref = parts[0] as string;
  if (ref.includes('$')) throw dockerfileError(ins.line, 'FROM must name the managed image literally (no variables)');
  const m = /^([a-z0-9][a-z0-9._/-]*)(?::([A-Za-z0-9._-]+))?$/.exec(ref);
  if (!m) throw dockerfileError(ins.line, `FROM names an invalid image reference: ${ref}`);
  return { image: m[1] as string, ...(m[2] ? { tag: m[2] } : {}), ...(parts[1] ? { alias: parts[1] } : {}), line: ins.line, endLine: ins.endLine };
}

function checkCopy(ins: Instruction): void {
  for (const f of ins.flags) {
    if (f.startsWith('--from')) throw dockerfileError(ins.line, `${ins.keyword} --from is not supported (single-stage builds only)`);
  }
  if (ins.keyword === 'ADD' && /(^|\s)(https?:\/\/|git@|git:\/\/|ssh:\/\/)/i.test(ins.args)) {
    throw dockerfileError(ins.line, 'ADD from a URL is not supported: put the file in the artifact');
  }
}

/** The JSON array form, or undefined when the arguments are not one (then they are shell form). */
function execForm(ins: Instruction): string[] | undefined {
  const a = ins.args.trim();
  if (!a.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(a);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch { /* Docker treats a malformed array as shell form */ }
  return undefined;
}

function command(ins: Instruction, shell: string[]): string[] {
  const exec = execForm(ins);
  if (exec) return exec;
  const a = ins.args.trim();
  return a === '' ? [] : [...shell, a];
}

function keyValues(ins: Instruction, escape: string): Record<string, string> {
  let words: string[];
  try { words = splitWords(ins.args, escape); } catch (e) { return fail(ins, (e as Error).message); }
  if (words.length === 0) fail(ins, `${ins.keyword} needs arguments`);
  const out: Record<string, string> = {};
  if (!(words[0] as string).includes('=')) {
    // Legacy form: ENV KEY rest of the line
    const [key] = words;
    out[key as string] = ins.args.trim().slice((key as string).length).trim();
    return out;
  }
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq <= 0) fail(ins, `expected KEY=value, got "${w}"`);
    out[w.slice(0, eq)] = w.slice(eq + 1);
  }
  return out;
}

function ports(ins: Instruction, escape: string): number[] {
  const out: number[] = [];
  for (const w of splitWords(ins.args, escape)) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(w);
    const from = Number(m?.[1]);
    const to = m?.[2] ? Number(m[2]) : from;
    if (!m || from < 1 || to > 65535 || to < from || to - from > 1000) fail(ins, `invalid port "${w}"`);
    for (let p = from; p <= to; p++) out.push(p);
  }
  return out;
}

function nonEmpty(ins: Instruction): string {
  const a = ins.args.trim();
  if (a === '') fail(ins, `${ins.keyword} needs an argument`);
  return a;
}

function fail(ins: Instruction, msg: string): never {
  throw dockerfileError(ins.line, msg);
}
