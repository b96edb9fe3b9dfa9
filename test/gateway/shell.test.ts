// The /shell WebSocket bridged to a real local pseudo-terminal (node-pty) playing the core's
// openShell; the gateway is target-agnostic, so this is the code path a sandbox shell takes.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import type { ShellProcess } from '../../src/gateway/targets.js';
import { ptyShell } from './support/pty-shell.js';
import { rig } from './support/setup.js';

/** Collects terminal output and control frames. */
function collect(ws: WebSocket) {
  const state = { out: '', controls: [] as Array<Record<string, unknown>> };
  ws.on('message', (data: Buffer, binary: boolean) => {
    if (binary) state.out += data.toString('utf8');
    else state.controls.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>);
  });
  return state;
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a shell token opens a terminal: input, output, resize, Ctrl-C and the exit frame', async (t) => {
  const r = await rig(t);
  const opened: Array<{ cols: number; rows: number }> = [];
  const procs: ShellProcess[] = [];
  r.targets.shell = async (_id, size) => {
    opened.push(size);
    const p = ptyShell(['/bin/sh'], size);
    procs.push(p);
    return p;
  };
  t.after(() => {
    for (const p of procs) p.kill('SIGKILL');
  });
  const ws = new WebSocket(
    `ws://127.0.0.1:${r.port}/shell?cols=100&rows=30`,
    [`lambda-microvms.authentication.${r.token({ kind: 'shell' })}`],
    { headers: { host: r.host() } },
  );
  t.after(() => ws.terminate());
  const s = collect(ws);
  await once(ws, 'open');
  assert.deepEqual(opened, [{ cols: 100, rows: 30 }]);

  ws.send(Buffer.from('stty size; echo mark-$((6*7))\n'));
  await until(() => s.out.includes('mark-42'), 'command output');
  assert.match(s.out, /30 100/);

  ws.send(JSON.stringify({ type: 'resize', cols: 120, rows: 40 }));
  ws.send(Buffer.from('stty size\n'));
  await until(() => s.out.includes('40 120'), 'resized terminal');

  ws.send(JSON.stringify({ type: 'bogus' }));
  await until(() => s.controls.some((c) => c.type === 'error'), 'error frame');

  // Ctrl-C typed as a byte reaches the terminal's line discipline and interrupts the job.
  ws.send(Buffer.from('sleep 30\n'));
  await new Promise((res) => setTimeout(res, 200));
  ws.send(Buffer.from([3]));
  ws.send(Buffer.from('echo after-$((1+1))\n'));
  await until(() => s.out.includes('after-2'), 'shell alive after SIGINT');

  ws.send(Buffer.from('exit 7\n'));
  const [code] = (await once(ws, 'close')) as [number];
  assert.equal(code, 1000);
  const exit = s.controls.find((c) => c.type === 'exit');
  assert.deepEqual(exit, { type: 'exit', code: 7, signal: null });
  await until(() => r.targets.busy('vm1') === 0, 'ws-close');
  assert.deepEqual(
    r.targets.events.map((e) => e.kind),
    ['ws-open', 'ws-close'],
  );
  assert.equal(r.app.hits.length, 0, 'the app never saw /shell');
});

test('a signal control frame reaches the shell process', async (t) => {
  const r = await rig(t);
  let proc: ShellProcess | undefined;
  r.targets.shell = async (_id, size) =>
    (proc = ptyShell(['/bin/sh', '-c', 'trap "echo got-int; exit 3" INT; echo ready; while :; do sleep 0.05; done'], size));
  t.after(() => proc?.kill('SIGKILL'));
  const ws = new WebSocket(`ws://127.0.0.1:${r.port}/shell`, [`lambda-microvms.authentication.${r.token({ kind: 'shell' })}`], {
    headers: { host: r.host() },
  });
  t.after(() => ws.terminate());
  const s = collect(ws);
  await once(ws, 'open');
  await until(() => s.out.includes('ready'), 'trap set');
  ws.send(JSON.stringify({ type: 'signal', signal: 'SIGINT' }));
  await once(ws, 'close');
  assert.match(s.out, /got-int/);
  assert.deepEqual(
    s.controls.find((c) => c.type === 'exit'),
    { type: 'exit', code: 3, signal: null },
  );
});

test('closing the WebSocket hangs the shell up', async (t) => {
  const r = await rig(t);
  let proc: (ShellProcess & { pid: number }) | undefined;
  r.targets.shell = async (_id, size) => (proc = ptyShell(['/bin/sh'], size));
  t.after(() => proc?.kill('SIGKILL'));
  const ws = new WebSocket(`ws://127.0.0.1:${r.port}/shell`, [`lambda-microvms.authentication.${r.token({ kind: 'shell' })}`], {
    headers: { host: r.host() },
  });
  await once(ws, 'open');
  ws.close();
  const status = await Promise.race([proc!.exit, new Promise((res) => setTimeout(() => res('still running'), 3000).unref())]);
  assert.notEqual(status, 'still running');
});

test('/shell refuses endpoint tokens (401) and reports a failed openShell as 502', async (t) => {
  const r = await rig(t);
  const refuse = async (protocols: string[]) => {
    const ws = new WebSocket(`ws://127.0.0.1:${r.port}/shell`, protocols, { headers: { host: r.host() } });
    ws.on('error', () => {});
    const [req, res] = (await once(ws, 'unexpected-response')) as [import('node:http').ClientRequest, import('node:http').IncomingMessage];
    req.destroy();
    return res.statusCode;
  };
  assert.equal(await refuse([`lambda-microvms.authentication.${r.token()}`]), 401);
  assert.equal(await refuse([]), 401);
  r.targets.shell = async () => {
    throw new Error('no tty in this microVM');
  };
  assert.equal(await refuse([`lambda-microvms.authentication.${r.token({ kind: 'shell' })}`]), 502);
});
