/**
 * ADD and COPY: their sources and flags, expanded as the builder expands them, must be certain
 * literals, and no source may be a URL. The builder fetches URL sources itself, as root and from
 * the host's network (loopback-only services, cloud metadata), so none may reach it.
 */
import { dockerfileError, type Instruction } from './parse.js';
import { expandWord, type Lookup } from './expand.js';
import { ARG_SPACE, jsonArgs } from './words.js';

const FLAGS: Record<string, ReadonlySet<string>> = { COPY: new Set(['chown', 'chmod']), ADD: new Set(['chown', 'chmod']) };

/** Refuses the ADD/COPY instruction unless every source is a local path Cubby can name for sure. */
export function checkCopy(ins: Instruction, lookup: Lookup, escape: string): void {
  const fail = (msg: string): never => {
    throw dockerfileError(ins.line, msg);
  };
  const kw = ins.keyword;
  if (ins.heredocs.length > 0) fail(HEREDOCS);
  for (const f of ins.flags) {
    const name = /^--([^=]*)/.exec(f)?.[1] ?? f;
    if (name === 'from') fail(`${kw} --from is not supported (single-stage builds only)`);
    if (kw === 'ADD' && (name === 'checksum' || name === 'keep-git-dir'))
      fail(`ADD --${name} is not supported (it is only for files fetched from a URL)`);
    if (!FLAGS[kw]?.has(name)) fail(`unknown flag --${name} on ${kw} (supported: --chown, --chmod)`);
    if (!f.includes('=')) fail(`${kw} --${name} needs a value`);
    certain(f.slice(f.indexOf('=') + 1), `flag --${name}`);
  }
  const json = jsonArgs(ins.args);
  if (json.form === 'not-strings') fail(`${kw} in JSON form takes strings only`);
  if (json.form === 'json' && json.trailing) fail(`unexpected text after the JSON array: ${json.trailing.slice(0, 60)}`);
  if (json.form === 'shell' && ins.args.startsWith('[')) fail(`${kw} arguments starting with "[" must be a valid JSON array of strings`);
  const words = json.form === 'json' ? json.values : ins.args.split(ARG_SPACE).filter(Boolean);
  if (words.length < 2) fail(`${kw} needs at least one source and a destination`);
  // The destination too: it is never a URL in a sound Dockerfile, and checking it costs nothing.
  for (const raw of words) {
    const value = certain(raw, `argument ${JSON.stringify(raw)}`);
    if (isRemote(raw) || isRemote(value))
      fail(`${kw} from a URL is not supported: put the file in the code artifact (or fetch it in a RUN step)`);
  }

  function certain(raw: string, what: string): string {
    let r;
    try {
      r = expandWord(raw, lookup, escape);
    } catch (e) {
      return fail(`${kw} ${what}: ${(e as Error).message}`);
    }
    if (r.unsure.length > 0) {
      fail(
        `${kw} ${what} uses ${r.unsure.join(', ')}, which Cubby cannot resolve with certainty before the build; ` +
          'give the value literally, or declare it earlier with ARG NAME=value or ENV NAME=value (only $NAME, ${NAME}, ${NAME:-word} and ${NAME:+word} are read)',
      );
    }
    return r.value;
  }
}

export const HEREDOCS =
  'heredocs (<<EOF) are not supported: the builder would read their lines as Dockerfile instructions; put the content in a file in the code artifact';

/** A URL of any scheme, a scp-like git address (git@host:repo), or a GitHub shorthand. */
export function isRemote(source: string): boolean {
  return source.includes('://') || /^git@/i.test(source) || /^[\w.+-]+@[\w.-]+:/.test(source) || /^github\.com\//i.test(source);
}
