/**
 * What Cubby needs to know of a Dockerfile before building it, read the way the builder reads it
 * (parse.ts) with ARG/ENV expansion as the builder does it (expand.ts): its single FROM, and the
 * config it declares (ENTRYPOINT/CMD in exec or shell form, ENV, WORKDIR, USER, EXPOSE; values
 * expanded, a reference that cannot be known here left as written).
 *
 * It refuses what would let a build reach outside its sandbox, and what Cubby cannot judge:
 * - ADD/COPY from a URL of any scheme (the builder would fetch it on the host), after expansion,
 *   in shell or JSON form; ADD/COPY sources or flags using a variable whose value is not certain
 *   (undeclared, ARG without a value, base-image ENV, syntax other than $V, ${V}, ${V:-w}, ${V:+w});
 *   ADD --checksum/--keep-git-dir, COPY --from, multi-stage builds;
 * - RUN flags (--mount, --network, ...), unknown flags on any instruction, ONBUILD, unknown
 *   instructions, and heredocs (the builder, buildah 1.28, would read their lines as instructions).
 * The build args passed in must be exactly those the builder is given; the managed base image's
 * own ENV (which overrides an ARG of the same name) is trusted not to name URLs.
 */
import posix from 'node:path/posix';
import { expandWord, type Expanded, type Lookup } from './expand.js';
import { dockerfileError, parseDockerfile, type Instruction } from './parse.js';
import { checkCopy, HEREDOCS } from './sources.js';
import { ARG_SPACE, jsonArgs, splitRaw } from './words.js';

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

export interface AnalyzeOptions {
  /** The build args the builder is given (--build-arg); they override ARG defaults. */
  buildArgs?: Readonly<Record<string, string>>;
}

const KEYWORDS = new Set([
  'FROM',
  'RUN',
  'CMD',
  'LABEL',
  'MAINTAINER',
  'EXPOSE',
  'ENV',
  'ADD',
  'COPY',
  'ENTRYPOINT',
  'VOLUME',
  'USER',
  'WORKDIR',
  'ARG',
  'ONBUILD',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
]);
const HEALTHCHECK_FLAGS = new Set(['interval', 'timeout', 'start-period', 'start-interval', 'retries']);
/** ARGs the builder may fill in itself (proxies from its environment, platforms): never certain. */
const PREDEFINED_ARGS = new Set([
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
  'TARGETPLATFORM',
  'TARGETOS',
  'TARGETARCH',
  'TARGETVARIANT',
  'BUILDPLATFORM',
  'BUILDOS',
  'BUILDARCH',
  'BUILDVARIANT',
]);

export function analyzeDockerfile(text: string, opts: AnalyzeOptions = {}): DockerfileSummary {
  const { instructions, escape } = parseDockerfile(text);
  const froms = instructions.filter((x) => x.keyword === 'FROM');
  if (froms.length === 0) throw dockerfileError(1, 'no FROM instruction');
  if (froms.length > 1) {
    throw dockerfileError(froms[1]?.line ?? 1, `multi-stage builds are not supported (${froms.length} FROM instructions)`);
  }
  const out: DockerfileSummary = { from: readFrom(froms[0] as Instruction), env: {}, exposedPorts: [], instructions };
  const buildArgs = opts.buildArgs ?? {};
  // Values known for certain, or undefined when not; ENV wins over an ARG of the same name.
  const globalArgs = new Map<string, string | undefined>();
  const args = new Map<string, string | undefined>();
  const env = new Map<string, string | undefined>();
  const lookup: Lookup = (name) => (env.has(name) ? env.get(name) : args.get(name));
  let shell = ['/bin/sh', '-c'];
  let seenFrom = false;
  for (const ins of instructions) {
    const kw = ins.keyword;
    if (kw === 'ONBUILD') fail(ins, 'ONBUILD is not supported (its instructions would run in later builds, unchecked)');
    if (!KEYWORDS.has(kw)) fail(ins, `unknown instruction ${kw}`);
    if (!seenFrom && kw !== 'FROM' && kw !== 'ARG') fail(ins, `${kw} before FROM`);
    if (kw !== 'COPY' && kw !== 'ADD') checkFlags(ins);
    const expand = (raw: string): Expanded => {
      try {
        return expandWord(raw, lookup, escape);
      } catch (e) {
        return fail(ins, (e as Error).message);
      }
    };
    switch (kw) {
      case 'FROM':
        seenFrom = true;
        break;
      case 'ARG':
        if (seenFrom) declareArgs(ins, escape, args, lookup, buildArgs, globalArgs);
        else declareArgs(ins, escape, globalArgs, (n) => globalArgs.get(n), buildArgs);
        break;
      case 'RUN':
        if (ins.heredocs.length > 0) fail(ins, HEREDOCS);
        break;
      case 'COPY':
      case 'ADD':
        checkCopy(ins, lookup, escape);
        break;
      case 'SHELL':
        shell = execForm(ins) ?? fail(ins, 'SHELL needs the JSON (exec) form');
        break;
      case 'ENTRYPOINT':
        out.entrypoint = command(ins, shell);
        // As in Docker: setting ENTRYPOINT resets a CMD set earlier.
        delete out.cmd;
        break;
      case 'CMD':
        out.cmd = command(ins, shell);
        break;
      case 'ENV':
        // Every pair is expanded with the environment as it was before this line, as in Docker.
        for (const [key, value] of envPairs(ins, escape).map(([k, v]) => [literalName(ins, k, expand), expand(v)] as const)) {
          out.env[key] = value.value;
          env.set(key, value.unsure.length ? undefined : value.value);
        }
        break;
      case 'WORKDIR': {
        const dir = nonEmpty(ins, expand(ins.args).value);
        out.workdir = dir.startsWith('/') || !out.workdir ? dir : posix.join(out.workdir, dir);
        break;
      }
      case 'USER':
        out.user = nonEmpty(ins, expand(ins.args).value);
        break;
      case 'EXPOSE':
        out.exposedPorts.push(...ports(ins, expand));
        break;
      default:
        break;
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
  return {
    image: m[1] as string,
    ...(m[2] ? { tag: m[2] } : {}),
    ...(parts[1] ? { alias: parts[1] } : {}),
    line: ins.line,
    endLine: ins.endLine,
  };
}

function checkFlags(ins: Instruction): void {
  if (ins.flags.length === 0) return;
  if (ins.keyword === 'RUN') fail(ins, `RUN flags are not supported (${ins.flags.join(' ')})`);
  if (ins.keyword === 'FROM') return; // readFrom names them
  for (const f of ins.flags) {
    const name = /^--([^=]*)/.exec(f)?.[1] ?? f;
    if (ins.keyword !== 'HEALTHCHECK' || !HEALTHCHECK_FLAGS.has(name)) fail(ins, `unknown flag --${name} on ${ins.keyword}`);
  }
}

/** ARG NAME[=default] ...: a build arg wins over the default; a stage's bare ARG takes the global one. */
function declareArgs(
  ins: Instruction,
  escape: string,
  scope: Map<string, string | undefined>,
  lookup: Lookup,
  buildArgs: Readonly<Record<string, string>>,
  globals?: ReadonlyMap<string, string | undefined>,
): void {
  const words = splitRaw(ins.args, escape);
  if (words.length === 0) fail(ins, 'ARG needs a name');
  for (const w of words) {
    if (w.split('=')[0]?.includes('$')) fail(ins, 'ARG names must be written literally');
    let e: Expanded;
    try {
      e = expandWord(w, lookup, escape);
    } catch (err) {
      return fail(ins, (err as Error).message);
    }
    const eq = e.value.indexOf('=');
    const name = eq < 0 ? e.value : e.value.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(ins, `invalid ARG name "${name}"`);
    let value: string | undefined;
    if (PREDEFINED_ARGS.has(name)) value = undefined;
    else if (Object.hasOwn(buildArgs, name)) value = buildArgs[name];
    else if (eq >= 0) value = e.unsure.length ? undefined : e.value.slice(eq + 1);
    else value = globals?.get(name);
    scope.set(name, value);
  }
}

/** ENV KEY=value ... or the legacy ENV KEY value, raw (expansion is the caller's). */
function envPairs(ins: Instruction, escape: string): Array<[string, string]> {
  const words = splitRaw(ins.args, escape);
  if (words.length === 0) fail(ins, 'ENV needs arguments');
  if (!(words[0] as string).includes('=')) {
    const m = new RegExp(`^(\\S+)${ARG_SPACE.source}([\\s\\S]+)$`).exec(ins.args);
    if (!m) fail(ins, 'ENV needs a name and a value');
    return [[m[1] as string, m[2] as string]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) fail(ins, `expected KEY=value, got "${w}"`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function literalName(ins: Instruction, raw: string, expand: (raw: string) => Expanded): string {
  if (raw.includes('$')) fail(ins, `${ins.keyword} names must be written literally`);
  return nonEmpty(ins, expand(raw).value);
}

/** The JSON array form, or undefined when the arguments are not one (then they are shell form). */
function execForm(ins: Instruction): string[] | undefined {
  const j = jsonArgs(ins.args);
  if (j.form === 'not-strings') fail(ins, `${ins.keyword} in JSON form takes strings only`);
  return j.form === 'json' ? j.values : undefined;
}

function command(ins: Instruction, shell: string[]): string[] {
  const exec = execForm(ins);
  if (exec) return exec;
  const a = ins.args.trim();
  return a === '' ? [] : [...shell, a];
}

function ports(ins: Instruction, expand: (raw: string) => Expanded): number[] {
  const out: number[] = [];
  for (const raw of ins.args.split(ARG_SPACE).filter(Boolean)) {
    const e = expand(raw);
    if (e.unsure.length) fail(ins, `EXPOSE ${raw}: the port must be known before the build`);
    for (const w of e.value.split(/\s+/).filter(Boolean)) {
      const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(w);
      const from = Number(m?.[1]);
      const to = m?.[2] ? Number(m[2]) : from;
      if (!m || from < 1 || to > 65535 || to < from || to - from > 1000) fail(ins, `invalid port "${w}"`);
      for (let p = from; p <= to; p++) out.push(p);
    }
  }
  return out;
}

function nonEmpty(ins: Instruction, value: string): string {
  const a = value.trim();
  if (a === '') fail(ins, `${ins.keyword} needs an argument`);
  return a;
}

function fail(ins: Instruction, msg: string): never {
  throw dockerfileError(ins.line, msg);
}
