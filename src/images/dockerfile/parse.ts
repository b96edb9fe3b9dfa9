/**
 * A Dockerfile reader that finds instructions exactly where the builder (buildah, with Docker's
 * classic parser) finds them: the escape directive, comments, line continuations (comment and
 * blank lines inside them dropped), flags, and heredocs (read as Docker reads them, so their
 * bodies are never taken for instructions; whether they are allowed is analyze.ts's call).
 */
import { CubbyError } from '../../errors/index.js';
import { ARG_SPACE, extractFlags, isSpace, splitRaw } from './words.js';

export interface Heredoc {
  /** The terminator word, quotes removed. */
  name: string;
  /** `<<-`: leading tabs are stripped. */
  chomp: boolean;
  body: string;
}

export interface Instruction {
  /** Upper-cased keyword, e.g. "RUN". */
  keyword: string;
  /** `--name=value` words given before the arguments, quotes removed. */
  flags: string[];
  /** The arguments after the flags; continuation lines joined as the builder joins them. */
  args: string;
  heredocs: Heredoc[];
  /** 1-based first and last line of the instruction in the file (heredoc bodies included). */
  line: number;
  endLine: number;
}

export interface ParsedDockerfile {
  instructions: Instruction[];
  escape: string;
}

const HEREDOC_KEYWORDS = new Set(['RUN', 'COPY', 'ADD']);
const ESCAPE_LIKE = /^\s*#[ \t]*escape[ \t]*=/i;

export function parseDockerfile(text: string): ParsedDockerfile {
  const lines = text
    .replace(/^\uFEFF/, '')
    .replace(/\r\n/g, '\n')
    .split('\n');
  const escape = escapeDirective(lines);
  const continued = new RegExp(`${escape === '\\' ? '\\\\' : escape}[ \\t]*$`);
  const cont = (l: string): [string, boolean] => (continued.test(l) ? [l.replace(continued, ''), true] : [l, false]);
  const instructions: Instruction[] = [];
  let i = 0;
  while (i < lines.length) {
    const start = i;
    const first = trimLeft(lines[i++] ?? '');
    if (first.startsWith('#')) continue;
    let [line, more] = cont(first);
    if (!more && line === '') continue;
    while (more && i < lines.length) {
      const l = lines[i++] ?? '';
      // Inside a continuation, comment lines and blank lines are skipped, not ends.
      if (trimLeft(l).startsWith('#') || trimLeft(l) === '') continue;
      let part: string;
      [part, more] = cont(l);
      line += part;
    }
    const m = new RegExp(`^([^\\t\\v\\f\\r ]+)(?:${ARG_SPACE.source}([\\s\\S]*))?$`).exec(line.trim());
    if (!m) throw invalid(start + 1, 'empty instruction');
    const keyword = (m[1] as string).toUpperCase();
    const { flags, rest } = extractFlags(m[2] ?? '');
    const heredocs: Heredoc[] = [];
    if (HEREDOC_KEYWORDS.has(keyword)) {
      for (const h of heredocMarkers(m[2] ?? '', start + 1)) {
        const body: string[] = [];
        for (;;) {
          if (i >= lines.length) throw invalid(start + 1, `heredoc ${h.name} is not terminated`);
          const l = lines[i++] ?? '';
          if ((h.chomp ? l.replace(/^\t+/, '') : l) === h.name) break;
          body.push(h.chomp ? l.replace(/^\t+/, '') : l);
        }
        heredocs.push({ ...h, body: body.join('\n') + (body.length ? '\n' : '') });
      }
    }
    instructions.push({ keyword, flags, args: rest.trim(), heredocs, line: start + 1, endLine: i });
  }
  return { instructions, escape };
}

/**
 * The escape character. The builder reads the directive only on the first line (a `# syntax=`
 * line before it ends directives there, unlike BuildKit), so one anywhere else is refused rather
 * than guessed at: the two readings would split the file into different instructions.
 */
function escapeDirective(lines: string[]): string {
  let escape = '\\';
  const first = lines[0] ?? '';
  if (ESCAPE_LIKE.test(first)) {
    const m = /^\s*#[ \t]*escape[ \t]*=[ \t]*([\\`])[ \t]*$/i.exec(first);
    if (!m) throw invalid(1, 'the escape directive must be \\ or `');
    escape = m[1] as string;
  }
  for (let i = 1; i < lines.length; i++) {
    if (ESCAPE_LIKE.test(lines[i] ?? ''))
      throw invalid(i + 1, 'an escape directive is only read on the first line of the Dockerfile; move it there');
  }
  return escape;
}

/** Heredoc markers (`<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF`) among the words of an instruction. */
function heredocMarkers(args: string, line: number): Array<Omit<Heredoc, 'body'>> {
  const out: Array<Omit<Heredoc, 'body'>> = [];
  for (const word of splitRaw(args, '\\')) {
    const m = /^\d*<<(-?)([^<]*)$/.exec(word);
    if (!m) continue;
    const quoted = /^(["'])(.*)\1$/.exec(m[2] as string);
    const name = quoted ? (quoted[2] as string) : (m[2] as string);
    if (name === '' || /["'\\\s]/.test(name)) throw invalid(line, `cannot read the heredoc marker ${word}`);
    out.push({ name, chomp: m[1] === '-' });
  }
  return out;
}

function trimLeft(s: string): string {
  let i = 0;
  while (i < s.length && isSpace(s[i] as string)) i++;
  return s.slice(i);
}

function invalid(line: number, msg: string): CubbyError {
  return new CubbyError('DOCKERFILE_INVALID', `Dockerfile line ${line}: ${msg}`, { details: { line } });
}

export { invalid as dockerfileError };
