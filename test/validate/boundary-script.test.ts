/**
 * The boundary probe script run by the host's own /bin/sh, where everything IS visible: it must
 * report the marked process, the host path, open and closed ports and the default gateway as
 * they are, and say "none" when the tools it needs are missing. (Inside a microVM the same
 * script must find none of them: test/validate/validate.test.ts.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { boundaryScript, parseBoundaryOutput } from '../../src/validate/boundary-script.js';
import { runCommand } from '../../src/util/command.js';

function sh(script: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-s'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    child.stdin.end(script);
  });
}

async function listen(): Promise<net.Server> {
  const s = net.createServer((c) => c.destroy());
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return s;
}

test('on the host the script sees the marked process, the path, open and closed ports, the gateway; without tools it says so', async (t) => {
  const marker = `cubbyvalidate${randomBytes(6).toString('hex')}`;
  const proc = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', marker], { stdio: 'ignore' });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-probe-'));
  const open = await listen();
  const closed = await listen();
  const closedPort = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  t.after(async () => {
    proc.kill('SIGKILL');
    open.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  const openPort = (open.address() as net.AddressInfo).port;
  const script = boundaryScript({
    marker,
    hostPath: dir,
    gatewayPorts: [],
    hostTargets: [`127.0.0.1:${openPort}`, `127.0.0.1:${closedPort}`],
    egressTarget: `127.0.0.1:${openPort}`,
  });

  const f = parseBoundaryOutput(await sh(script, { PATH: process.env.PATH ?? '/usr/bin:/bin' }));
  assert.equal(f.complete, true);
  assert.equal(f.processes?.markerSeen, true, 'the marked process is visible on the host');
  assert.ok((f.processes?.count ?? 0) > 2);
  assert.equal(f.hostFileSeen, true);
  assert.equal(f.tool, 'bash');
  assert.deepEqual(
    f.net.sort((a, b) => a.target.localeCompare(b.target)),
    [
      { target: `127.0.0.1:${closedPort}`, open: false },
      { target: `127.0.0.1:${openPort}`, open: true },
    ].sort((a, b) => a.target.localeCompare(b.target)),
  );
  assert.deepEqual(f.egress, [{ target: `127.0.0.1:${openPort}`, open: true }]);
  const route = await runCommand('ip', ['-4', 'route', 'show', 'default']);
  assert.equal(f.gateway, /via (\S+)/.exec(route.stdout)?.[1] ?? 'none', 'default gateway decoded from /proc/net/route');

  // A PATH with the basics but neither bash nor nc: the network probes are not testable.
  const bin = path.join(dir, 'bin');
  await fs.mkdir(bin);
  for (const tool of ['cat', 'uname', 'id', 'timeout', 'sleep']) {
    const where = (await runCommand('sh', ['-c', `command -v ${tool}`])).stdout.trim();
    if (where) await fs.symlink(where, path.join(bin, tool));
  }
  const g = parseBoundaryOutput(await sh(script, { PATH: bin }));
  assert.equal(g.complete, true);
  assert.equal(g.tool, 'none');
  assert.deepEqual(g.net, []);
  assert.deepEqual(g.egress, []);
  assert.equal(g.hostFileSeen, true);
});

test('the parser finds markers behind prompts and ignores echoed script lines', () => {
  const f = parseBoundaryOutput(
    [
      '# CUBBY_PROBE begin',
      'r() { echo "$P $*"; }',
      'CUBBY_PROBE procs 3 no ,python3,sh,bash',
      'CUBBY_PROBE hostfile absent',
      'CUBBY_PROBE tool nc',
      'CUBBY_PROBE net 10.0.0.1:80 closed',
      '$ CUBBY_PROBE egress 1.1.1.1:443 open',
      'CUBBY_PROBE end',
    ].join('\n'),
  );
  assert.deepEqual(f, {
    complete: true,
    processes: { count: 3, markerSeen: false, names: ['python3', 'sh', 'bash'] },
    hostFileSeen: false,
    tool: 'nc',
    net: [{ target: '10.0.0.1:80', open: false }],
    egress: [{ target: '1.1.1.1:443', open: true }],
  });
  assert.equal(parseBoundaryOutput('CUBBY_PROBE begin\n').complete, false, 'no end: incomplete');
});
