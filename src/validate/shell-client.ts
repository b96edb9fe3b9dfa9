/**
 * Runs a POSIX sh script in a microVM through the endpoint's /shell WebSocket (protocol in
 * src/gateway/shell.ts). The shell is an interactive terminal, so the script is fed to a plain
 * `sh -s` with echo off, after a ready marker shows the terminal took the first line.
 */
import WebSocket from 'ws';
import { endpointTarget } from '../client/endpoint.js';

export interface ShellRun {
  /** Terminal output, carriage returns removed. */
  output: string;
  /** From the shell's exit frame; undefined when the connection ended without one. */
  exitCode?: number;
  timedOut: boolean;
}

const READY = 'CUBBY_SHELL_READY';

export function runShellScript(endpoint: string, shellToken: string, script: string, timeoutMs: number): Promise<ShellRun> {
  const t = endpointTarget(endpoint);
  const ws = new WebSocket(
    `${t.secure ? 'wss' : 'ws'}://${t.host}:${t.port}/shell?cols=200&rows=50`,
    [`lambda-microvms.authentication.${shellToken}`],
    { headers: { host: t.hostHeader }, ...(t.secure ? { servername: new URL(endpoint).hostname } : {}) },
  );
  let out = '';
  let sent = false;
  let exitCode: number | undefined;
  return new Promise((resolve, reject) => {
    let opened = false;
    const timer = setTimeout(() => finish(true), timeoutMs);
    function finish(timedOut: boolean): void {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      resolve({ output: out.replace(/\r/g, ''), ...(exitCode !== undefined ? { exitCode } : {}), timedOut });
    }
    ws.on('open', () => {
      opened = true;
      // The marker is split in the typed line so only the shell's own output carries it whole.
      ws.send(Buffer.from(`stty -echo 2>/dev/null; M=CUBBY_SHELL; echo "\${M}_READY"; exec /bin/sh -s\n`));
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) {
        const msg = JSON.parse(data.toString()) as { type?: string; code?: number };
        if (msg.type === 'exit' && typeof msg.code === 'number') exitCode = msg.code;
        return;
      }
      out += data.toString('utf8');
      if (!sent && out.includes(READY)) {
        sent = true;
        // sh on a terminal is interactive: no prompts, no job notices in the output.
        ws.send(Buffer.from(`PS1=''; PS2=''; set +m 2>/dev/null\n${script.endsWith('\n') ? script : `${script}\n`}`));
      }
    });
    ws.on('close', () => finish(false));
    ws.on('error', (e) => {
      if (!opened) {
        clearTimeout(timer);
        reject(e);
      } else finish(false);
    });
  });
}
