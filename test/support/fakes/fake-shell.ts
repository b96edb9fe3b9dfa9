/**
 * The few shell commands the fake runtime "runs" (so the runtime contract's semantic part can
 * observe files and output the same way on a real driver and on the fake): `echo TEXT`,
 * `echo TEXT > FILE`, `echo TEXT >&2`, `cat FILE`, `true`, `false`, `sleep N` (ignored), `exit N`,
 * separated by `;`. Either a bare program (`true`, `cat FILE`) or `sh -c 'SCRIPT'`. Test-only.
 */
export interface ShellResult {
  code: number;
  stdout: string;
  stderr: string;
}

function unquote(s: string): string {
  const t = s.trim();
  return (t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'")) ? t.slice(1, -1) : t;
}

export function scriptOf(args: string[]): string {
  if (args[0] === 'sh' && args[1] === '-c') return args[2] ?? '';
  return args.join(' ');
}

/** Runs the script against the sandbox's private files (mutated in place). */
export function runScript(script: string, files: Map<string, string>, input = ''): ShellResult {
  let stdout = '';
  let stderr = '';
  for (const raw of script.split(/;|\n/)) {
    const cmd = raw.trim();
    if (!cmd) continue;
    const [prog = '', ...rest] = cmd.split(/\s+/);
    const arg = cmd.slice(prog.length).trim();
    switch (prog) {
      case 'true':
      case 'sleep':
      case 'while':
      case 'do':
      case 'done':
      case 'trap':
        break;
      case 'false':
        return { code: 1, stdout, stderr };
      case 'exit':
        return { code: Number(rest[0] ?? 0), stdout, stderr };
      case 'cat':
        if (!arg) {
          stdout += input;
          break;
        }
        if (!files.has(arg)) {
          stderr += `cat: ${arg}: No such file or directory\n`;
          return { code: 1, stdout, stderr };
        }
        stdout += files.get(arg);
        break;
      case 'echo': {
        const toErr = /\s*>&2\s*$/.exec(arg);
        const toFile = /^(.*?)\s*>\s*(\S+)\s*$/.exec(arg);
        if (toErr) stderr += `${unquote(arg.slice(0, toErr.index))}\n`;
        else if (toFile) files.set(toFile[2] ?? '', `${unquote(toFile[1] ?? '')}\n`);
        else stdout += `${unquote(arg)}\n`;
        break;
      }
      default:
        stderr += `sh: ${prog}: not found\n`;
        return { code: 127, stdout, stderr };
    }
  }
  return { code: 0, stdout, stderr };
}

/** What the main process writes to the console when it starts (its echo lines). */
export function startupOutput(args: string[]): string {
  const r = runScript(
    scriptOf(args)
      .split(/;|\n/)
      .filter((c) => /^\s*echo\b/.test(c) && !/>\s*\S/.test(c.replace('>&2', '')))
      .join(';'),
    new Map(),
  );
  return r.stdout + r.stderr;
}
