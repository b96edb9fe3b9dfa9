/**
 * The agent as PID 1 of a real gVisor sandbox (raw runsc, --network=none, the binary bind-mounted
 * read-only at /.cubby/bin/cubby-agent), driven from inside with `runsc exec`: a process started
 * through it survives checkpoint + restore into a new container with the same pid and keeps
 * producing output. Also measures the agent's idle RSS and CPU inside the sandbox.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { openSync, closeSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildOciSpec } from '../../src/runtime/gvisor/oci-spec.js';
import { runCommand } from '../../src/util/command.js';
import { testRootfs } from '../support/rootfs.js';
import { agentBinary, output, sleep, type Json } from './agent-harness.js';
import { PY_CLIENT } from './in-sandbox-client.js';

// Fixed-length ids: runsc matches container ids by prefix.
const tag = `${process.pid}`.padStart(7, '0');
const first = `cubby-agt-a-${tag}`;
const second = `cubby-agt-b-${tag}`;
const CGROUP_PARENT = 'cubby-agent-test';

describe('cubby-agent inside a gVisor sandbox', { timeout: 300_000 }, () => {
  let dir = '';
  let flags: string[] = [];
  const runsc = async (args: string[], timeoutMs = 120_000) => {
    const r = await runCommand('runsc', [...flags, ...args], { timeoutMs });
    assert.equal(r.code, 0, `runsc ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  // run/restore -detach leave the sandbox holding the command's stdio: give them a file, not pipes.
  const detached = async (args: string[]) => {
    const logPath = path.join(dir, 'runsc-detached.log');
    const fd = openSync(logPath, 'a');
    const code = await new Promise<number | null>((resolve, reject) => {
      const c = spawn('runsc', [...flags, ...args], { stdio: ['ignore', fd, fd] });
      const t = setTimeout(() => c.kill('SIGKILL'), 180_000);
      c.on('error', reject);
      c.on('exit', (n) => {
        clearTimeout(t);
        resolve(n);
      });
    }).finally(() => closeSync(fd));
    assert.equal(code, 0, `runsc ${args.join(' ')}: ${await fs.readFile(logPath, 'utf8')}`);
  };
  const inside = async (id: string, args: string[]): Promise<Json> => {
    const out = await runsc(['exec', id, 'python3', '-c', PY_CLIENT, ...args], 60_000);
    return JSON.parse(out) as Json;
  };
  const bundle = async (id: string, rootfs: string) => {
    const b = path.join(dir, 'bundles', id);
    await fs.mkdir(b, { recursive: true });
    const spec = buildOciSpec({
      rootfs,
      process: { args: ['/.cubby/bin/cubby-agent', '--default-user', 'root'], cwd: '/' },
      netnsPath: '',
      cgroupsPath: `/${CGROUP_PARENT}/${id}`,
    }) as Json;
    spec.linux.namespaces = (spec.linux.namespaces as Json[]).map((n) => (n.type === 'network' ? { type: 'network' } : n));
    (spec.mounts as Json[]).push({ destination: '/.cubby/bin/cubby-agent', type: 'bind', source: agentBinary(), options: ['bind', 'ro'] });
    await fs.writeFile(path.join(b, 'config.json'), JSON.stringify(spec));
    return b;
  };

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-agent-sbx-'));
    flags = [`--root=${path.join(dir, 'root')}`, '--platform=systrap', '--network=none', '--net-disconnect-ok', '--overlay2=root:memory'];
  });

  after(async () => {
    for (const id of [first, second]) {
      await runCommand('runsc', [flags[0] ?? '', 'delete', '-force', id], { timeoutMs: 60_000 }).catch(() => undefined);
      for (const c of ['memory', 'cpu', 'cpuacct', 'pids'])
        await fs.rmdir(`/sys/fs/cgroup/${c}/${CGROUP_PARENT}/${id}`).catch(() => undefined);
    }
    for (const c of ['memory', 'cpu', 'cpuacct', 'pids']) await fs.rmdir(`/sys/fs/cgroup/${c}/${CGROUP_PARENT}`).catch(() => undefined);
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('keeps a process (same pid, still producing output) across checkpoint and restore; idle cost is small', async () => {
    const rootfs = await testRootfs();
    await detached(['run', '-detach', `-bundle=${await bundle(first, rootfs)}`, first]);

    // Up and serving as PID 1.
    let health: Json | undefined;
    for (let i = 0; i < 50 && health?.status !== 200; i++) {
      health = await inside(first, ['unary', '/process.Process/List', '{}']).catch(() => undefined);
      if (health?.status !== 200) await sleep(200);
    }
    assert.equal(health?.status, 200, 'the agent answers inside the sandbox');

    // Idle cost of the agent (PID 1), nothing running through it.
    await sleep(2000);
    const u0 = await inside(first, ['usage']);
    const t0 = Date.now();
    await sleep(5000);
    const u1 = await inside(first, ['usage']);
    const cpuMsPerS = (((u1.ticks as number) - (u0.ticks as number)) * 10) / ((Date.now() - t0) / 1000);
    const mib = (k: unknown) => ((k as number) / 1024).toFixed(1);
    console.log(
      `# cubby-agent idle inside gVisor: VmRSS ${mib(u1.rssKiB)} MiB (anonymous ${mib(u1.anonKiB)} MiB; the rest is the ` +
        `binary's mapping, which gVisor faults in whole), CPU ${cpuMsPerS.toFixed(2)} ms/s (10 ms tick resolution)`,
    );
    // The budget is 10 MiB; measured here: anonymous 9.1-10.3 MiB (gVisor backs anonymous
    // memory in 2 MiB units, so it moves in steps) plus the whole 5 MiB binary mapping. The bounds
    // below are today's figures with one step of margin, so a regression fails; meeting the budget
    // itself is open work (a smaller binary or a leaner runtime set-up), see the README.
    assert.ok((u1.anonKiB as number) <= 12 * 1024, `idle anonymous RSS ${u1.anonKiB} KiB is over 12 MiB`);
    assert.ok((u1.rssKiB as number) <= 18 * 1024, `idle VmRSS ${u1.rssKiB} KiB is over 18 MiB`);
    assert.ok(cpuMsPerS <= 4, `idle CPU ${cpuMsPerS} ms/s`);

    // A long-running process through the agent; the client reads a little, then leaves.
    const cmd = 'i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done';
    const started = await inside(first, [
      'stream',
      '/process.Process/Start',
      JSON.stringify({ process: { cmd: '/bin/bash', args: ['-l', '-c', cmd], envs: {} } }),
      '4',
    ]);
    const msgs = started.messages as Json[];
    const pid = msgs[0]?.event?.start?.pid as number;
    assert.ok(pid > 1, JSON.stringify(started));
    assert.match(output(msgs, 'stdout'), /tick0/);

    const image = path.join(dir, 'image');
    await fs.mkdir(image);
    await runsc(['checkpoint', `-image-path=${image}`, '-compression=none', first], 180_000);
    await detached(['restore', '-detach', `-image-path=${image}`, `-bundle=${await bundle(second, rootfs)}`, second]);

    const list = await inside(second, ['unary', '/process.Process/List', '{}']);
    assert.equal(list.status, 200);
    assert.ok(
      (list.json.processes as Json[]).some((p) => p.pid === pid),
      `pid ${pid} listed after restore: ${JSON.stringify(list.json)}`,
    );
    const again = await inside(second, ['stream', '/process.Process/Connect', JSON.stringify({ process: { pid } }), '4']);
    const after = again.messages as Json[];
    assert.deepEqual(after[0], { event: { start: { pid } } });
    const ticks = [...output(after, 'stdout').matchAll(/tick(\d+)/g)].map((m) => Number(m[1]));
    const before = Math.max(...[...output(msgs, 'stdout').matchAll(/tick(\d+)/g)].map((m) => Number(m[1])));
    assert.ok(ticks.length > 0 && Math.min(...ticks) > before, `still ticking after restore: ${JSON.stringify(after)}`);
  });
});
