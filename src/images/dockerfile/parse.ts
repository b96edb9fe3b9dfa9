/**
 * A Dockerfile reader: enough of the syntax to find each instruction reliably (parser directives,
 * comments, line continuations with the escape character, heredocs), not an interpreter.
 */
import { CubbyError } from '../../errors/index.js';

export interface Instruction {
  /** Upper-cased keyword, e.g. "RUN". */
  keyword: string;
  /** `--name=value` flags given before the arguments (FROM, RUN, COPY, ADD). */
  flags: string[];
  /** The arguments, continuation lines joined with a space, heredoc bodies after a newline. */
  args: string;
  /** 1-based first and last line of the instruction in the file. */
  line: number;
  endLine: number;
}

export interface ParsedDockerfile { instructions: Instruction[]; escape: string }

const FLAGGED = new Set(['FROM', 'RUN', 'COPY', 'ADD']);
const HEREDOC = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

export function parseDockerfile(text: string): ParsedDockerfile {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let escape = '\\';
  let i = 0;
  // Parser directives: `# key=value` lines at the very top.
  for (; i < lines.length; i++) {
    const m = /^\s*#\s*([a-zA-Z]+)\s*=\s*(.*?)\s*$/.exec(lines[i] ?? '');
    if (!m) break;
    if (m[1]?.toLowerCase() === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') throw invalid(i + 1, `escape directive must be \\ or \``);
      escape = m[2];
    }
  }
  const instructions: Instruction[] = [];
  while (i < lines.length) {
    const first = lines[i] ?? '';
    if (/^\s*(#|$)/.test(first)) { i++; continue; }
    const start = i;
    let joined = '';
    // Continuations: a line ending in the escape character goes on; comment lines inside are dropped.
    for (;;) {
      const raw = lines[i] ?? '';
      i++;
      const trimmed = raw.replace(/\s+$/, '');
      if (trimmed.endsWith(escape) && i < lines.length) {
        joined += trimmed.slice(0, -1);
        while (i < lines.length && /^\s*#/.test(lines[i] ?? '')) i++;
        continue;
      }
      joined += trimmed;
      break;
    }
    const m = /^\s*([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(joined);
    if (!m || !m[1]) throw invalid(start + 1, `cannot read instruction: ${joined.slice(0, 60)}`);
    const keyword = m[1].toUpperCase();
    let rest = (m[2] ?? '').trim();
    const flags: string[] = [];
    if (FLAGGED.has(keyword)) {
      let f: RegExpExecArray | null;
      while ((f = /^(--[A-Za-z-]+(?:=(?:"[^"]*"|\S*))?)\s*/.exec(rest))) { flags.push(f[1] as string); rest = rest.slice(f[0].length); }
    }
    // Heredocs (`RUN <<EOF` ... `EOF`): their bodies are part of the instruction, not instructions.
    if (keyword === 'RUN' || keyword === 'COPY' || keyword === 'ADD') {
      for (const h of rest.matchAll(HEREDOC)) {
        const word = h[3] as string;
        const body: string[] = [];
        for (;;) {
          if (i >= lines.length) throw invalid(start + 1, `heredoc ${word} is not terminated`);
          const l = lines[i] ?? '';
          i++;
          if ((h[1] ? l.trim() : l) === word) break;
          body.push(l);
        }
        rest += '\n' + body.join('\n');
      }
    }
    instructions.push({ keyword, flags, args: rest, line: start + 1, endLine: i });
  }
  return { instructions, escape };
}

function invalid(line: number, msg: string): CubbyError {
  return new CubbyError('DOCKERFILE_INVALID', `Dockerfile line ${line}: ${msg}`, { details: { line } });
}

export { invalid as dockerfileError };
