/**
 * Runs commands inside a microVM the way a user (or an attacker holding a shell token) does:
 * through the gateway's /shell WebSocket. The command travels base64-encoded and its output is
 * cut out between markers, so the terminal's echo, prompt and line discipline do not matter.
 */
import { CreateMicrovmShellAuthTokenCommand, type LambdaMicrovmsClient } from '@aws-sdk/client-lambda-microvms';
import { WebSocket } from 'ws';

export interface ShellTarget {
  gatewayPort: number;
  domain: string;
}
export interface ShellResult {
  output: string;
  code: number;
}

export async function shellToken(client: LambdaMicrovmsClient, id: string, minutes = 10): Promise<string> {
  const r = await client.send(new CreateMicrovmShellAuthTokenCommand({ microvmIdentifier: id, expirationInMinutes: minutes }));
  const t = r.authToken?.['X-aws-proxy-auth'];
  if (!t) throw new Error('no shell token');
  return t;
}

const BEGIN = '@@CUBBY-BEGIN@@';
const END = /@@CUBBY-END:(\d+)@@/;

/** Runs `command` with /bin/sh in the microVM; resolves with its output (stdout+stderr) and exit code. */
export function shellExec(target: ShellTarget, id: string, token: string, command: string, timeoutMs = 30_000): Promise<ShellResult> {
  const b64 = Buffer.from(command, 'utf8').toString('base64');
  // The markers are split by quotes on the typed line, so only the shell's output contains them whole.
  const line = `printf '%s\\n' "@@CUBBY-""BEGIN@@"; sh -c "$(echo ${b64} | base64 -d)" </dev/null 2>&1; printf '\\n@@CUBBY-''END:%s@@\\n' $?; exit\n`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${target.gatewayPort}/shell?cols=1000&rows=50`, [`lambda-microvms.authentication.${token}`], {
      headers: { host: `${id}.${target.domain}:${target.gatewayPort}` },
    });
    let out = '';
    let done = false;
    const finish = (err: Error | undefined, r?: ShellResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (ws.readyState === WebSocket.OPEN) ws.close();
      else ws.terminate();
      if (err) reject(err);
      else resolve(r as ShellResult);
    };
    const timer = setTimeout(() => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'signal', signal: 'SIGKILL' }));
      finish(new Error(`shell command timed out after ${timeoutMs} ms; output so far:\n${out.slice(-2000)}`));
    }, timeoutMs);
    ws.on('unexpected-response', (_req, res) => finish(new Error(`shell refused: HTTP ${res.statusCode}`)));
    ws.on('error', (e) => finish(e));
    ws.on('open', () => ws.send(Buffer.from(line)));
    ws.on('message', (data: Buffer, binary: boolean) => {
      if (!binary) return;
      out += data.toString('utf8');
      const text = out.replace(/\r/g, '');
      const b = text.indexOf(`${BEGIN}\n`);
      const m = b >= 0 ? END.exec(text.slice(b)) : null;
      if (b >= 0 && m) {
        const body = text.slice(b + BEGIN.length + 1, b + m.index);
        finish(undefined, { output: body.replace(/\n$/, ''), code: Number(m[1]) });
      }
    });
    ws.on('close', () => finish(new Error(`shell closed before the command finished; output:\n${out.slice(-2000)}`)));
  });
}

/** Runs a Python program in the microVM (python3 -c, passed base64-encoded). */
export function sandboxPython(target: ShellTarget, id: string, token: string, program: string, timeoutMs = 30_000): Promise<ShellResult> {
  const b64 = Buffer.from(program, 'utf8').toString('base64');
  return shellExec(target, id, token, `python3 -c "import base64; exec(base64.b64decode('${b64}'))"`, timeoutMs);
}
