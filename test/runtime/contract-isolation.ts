/**
 * The runtime contract, isolation part: what only a real driver can show, against real
 * sandboxes: processes (exec, signals, terminals), memory carried by checkpoints, resource
 * limits, egress rules, and that nothing leaks on the host. Every real SandboxRuntime driver
 * (gVisor today; Firecracker or QEMU later) runs it beside the semantic part
 * (contract-semantic.ts), which a fake runtime passes too.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SandboxRuntime, SandboxSpec } from '../../src/core/ports/runtime.js';
import { isCubbyError } from '../../src/errors/index.js';
import { newSandboxId } from '../../src/runtime/gvisor/index.js';
import { COUNTER_APP, pythonArgs } from '../support/apps.js';
import { httpGet, waitForHttp } from '../support/http.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { collect } from '../../src/util/streams.js';
import { withTestHost } from '../support/test-host.js';
import { backgroundDestroys } from './support/background-destroys.js';

export interface RuntimeFixture {
  runtime: SandboxRuntime;
  rootfs: string;
  /** State directories the driver writes (checked by the leak check). */
  stateDirs: string[];
  /** A second instance over the same state, as after a daemon restart. */
  reopen(): Promise<SandboxRuntime>;
  /** Creates a sandbox from a separate process that is then killed with SIGKILL; returns its id. */
  createFromDoomedProcess(spec: Omit<SandboxSpec, 'id'>): Promise<string>;
  /** How often the driver trims sandbox logs to their bound (default 2000 ms). */
  logTrimIntervalMs?: number;
  close(): Promise<void>;
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isCubbyError(e), `expected a CubbyError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

/** From inside the sandbox: can it open a TCP connection to host:port within 1.5 s? */
async function canConnect(rt: SandboxRuntime, id: string, host: string, port: number): Promise<boolean> {
  const code = `import socket,sys\ns=socket.socket(); s.settimeout(1.5)\ntry:\n  s.connect((${JSON.stringify(host)}, ${port})); print('open')\nexcept Exception as e:\n  print('closed', e)`;
  const r = await rt.run(id, { args: ['python3', '-c', code], timeoutMs: 10_000 });
  return r.stdout.toString().startsWith('open');
}

function hostAddressOf(sandboxAddress: string): string {
  const p = sandboxAddress.split('.').map(Number);
  return `${p[0]}.${p[1]}.${p[2]}.${(p[3] ?? 2) - 1}`;
}

export function runRuntimeIsolationContract(name: string, make: () => Promise<RuntimeFixture>): void {
  describe(`runtime contract (isolation): ${name}`, { timeout: 600_000 }, () => {
    let fx: RuntimeFixture;
    let rt: SandboxRuntime;
    let baseline: Set<string>;
    const tmp = path.join(os.tmpdir(), `cubby-rt-${process.pid}`);

    before(async () => {
      baseline = await hostResources();
      fx = await make();
      rt = fx.runtime;
      await fs.mkdir(tmp, { recursive: true });
    });
    after(async () => {
      try {
        await drain();
      } finally {
        await Promise.all((await rt.list()).map((s) => rt.destroy(s.id).catch(() => undefined)));
        await fx.close();
        await fs.rm(tmp, { recursive: true, force: true });
        await assertNoLeaks(baseline, fx.stateDirs);
      }
    });

    const { release, drain } = backgroundDestroys(() => rt);

    const spec = (over: Partial<SandboxSpec> = {}): SandboxSpec => ({
      id: newSandboxId(),
      rootfs: fx.rootfs,
      process: { args: pythonArgs(COUNTER_APP) },
      ...over,
    });

    test('exec: output, exit code, env, cwd, uid, stdin, signals, terminal', async () => {
      const s = await rt.create(spec());
      try {
        assert.equal(await rt.address(s.id), s.address, 'address() answers from the record');
        const r = await rt.run(s.id, { args: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
        assert.equal(r.code, 3);
        assert.equal(r.stdout.toString(), 'out\n');
        assert.equal(r.stderr.toString(), 'err\n');
        const env = await rt.run(s.id, { args: ['sh', '-c', 'echo $FOO:$(pwd):$(id -u)'], env: { FOO: 'bar' }, cwd: '/tmp', uid: 1000 });
        assert.equal(env.stdout.toString().trim(), 'bar:/tmp:1000');
        const cat = await rt.run(s.id, { args: ['cat'], input: 'from stdin' });
        assert.equal(cat.stdout.toString(), 'from stdin');
        const h = await rt.exec(s.id, { args: ['sh', '-c', 'trap "echo term; exit 7" TERM; echo ready; while :; do sleep 0.05; done'] });
        const out: Buffer[] = [];
        h.stdout.on('data', (d: Buffer) => out.push(d));
        while (!Buffer.concat(out).toString().includes('ready')) await new Promise((r) => setTimeout(r, 20));
        h.kill('SIGTERM');
        const st = await h.exit;
        assert.equal(st.code, 7);
        assert.match(Buffer.concat(out).toString(), /term/);
        const t = await rt.exec(s.id, { args: ['sh', '-c', 'stty size; read x; stty size; exit 5'], tty: { cols: 100, rows: 30 } });
        const tout: Buffer[] = [];
        t.stdout.on('data', (d: Buffer) => tout.push(d));
        while (!Buffer.concat(tout).toString().includes('30 100')) await new Promise((r) => setTimeout(r, 20));
        t.resize(120, 40);
        t.stdin.write('go\r');
        assert.equal((await t.exit).code, 5);
        assert.match(Buffer.concat(tout).toString(), /40 120/);
      } finally {
        release(s.id);
      }
    });

    test('pause freezes the sandbox and resume continues it', async () => {
      const s = await rt.create(spec({ process: { args: ['sh', '-c', 'while :; do date +%s%N >> /tmp/ticks; sleep 0.05; done'] } }));
      try {
        await new Promise((r) => setTimeout(r, 500));
        await rt.pause(s.id);
        assert.equal((await rt.get(s.id))?.state, 'paused');
        await new Promise((r) => setTimeout(r, 1200));
        await rt.resume(s.id);
        await new Promise((r) => setTimeout(r, 300));
        const ticks = (await rt.run(s.id, { args: ['cat', '/tmp/ticks'] })).stdout.toString().trim().split('\n').map(Number);
        const gaps = ticks.slice(1).map((t, i) => (t - (ticks[i] ?? t)) / 1e6);
        assert.ok(Math.max(...gaps) >= 1000, `expected a >= 1 s gap while paused, max gap ${Math.max(...gaps)} ms`);
      } finally {
        release(s.id);
      }
    });

    test('checkpoint keeps memory, processes and files; clones restore privately and concurrently', async () => {
      const s = await rt.create(spec());
      const ck = path.join(tmp, 'ck1');
      const clones: string[] = [];
      try {
        await waitForHttp(`http://${s.address}:8080/peek`);
        for (let i = 0; i < 3; i++) await httpGet(`http://${s.address}:8080/`);
        await rt.run(s.id, { args: ['sh', '-c', 'echo disk-state > /root/state.txt'] });
        const info = await rt.checkpoint(s.id, ck);
        assert.ok(info.sizeBytes > 0);
        await rt.destroy(s.id);
        const restored = await Promise.all([0, 1, 2].map(() => rt.restore({ id: newSandboxId(), checkpointDir: ck })));
        clones.push(...restored.map((r) => r.id));
        assert.equal(new Set(restored.map((r) => r.address)).size, 3, 'each clone has its own address');
        for (const c of restored) {
          assert.match((await rt.logs(c.id)).toString(), /counter app listening/, 'a clone continues the console log of the checkpoint');
          assert.equal((await httpGet(`http://${c.address}:8080/`)).body, '4', 'the in-memory counter continues in every clone');
          assert.equal((await httpGet(`http://${c.address}:8080/file?p=/root/state.txt`)).body, 'disk-state\n');
        }
        const [a, b] = restored as [(typeof restored)[0], (typeof restored)[0]];
        await rt.run(a.id, { args: ['sh', '-c', 'echo mine > /root/clone.txt'] });
        await httpGet(`http://${a.address}:8080/`);
        assert.equal(
          (await httpGet(`http://${b.address}:8080/file?p=/root/clone.txt`)).status,
          404,
          "a sibling never sees another clone's files",
        );
        assert.equal((await httpGet(`http://${b.address}:8080/peek`)).body, '4', 'nor its memory');
        assert.equal((await httpGet(`http://${a.address}:8080/peek`)).body, '5');
      } finally {
        release(...clones);
      }
    });

    test('checkpoint with leaveRunning keeps the sandbox serving; a paused sandbox can be checkpointed', async () => {
      const s = await rt.create(spec());
      try {
        await waitForHttp(`http://${s.address}:8080/peek`);
        await rt.pause(s.id);
        await rt.checkpoint(s.id, path.join(tmp, 'ck2'), { leaveRunning: true });
        assert.equal((await rt.get(s.id))?.state, 'paused');
        await rt.resume(s.id);
        assert.equal((await httpGet(`http://${s.address}:8080/`)).body, '1');
      } finally {
        release(s.id);
      }
    });

    test('destroy leaves no trace', async () => {
      await drain();
      const before = await hostResources(fx.stateDirs);
      const s = await rt.create(spec());
      await rt.run(s.id, { args: ['true'] });
      await rt.destroy(s.id);
      await assertNoLeaks(before, fx.stateDirs, 5000, { ignorePooled: true });
      await expectCode(rt.exec(s.id, { args: ['true'] }), 'RUNTIME_NOT_FOUND');
      await expectCode(rt.destroy(s.id), 'RUNTIME_NOT_FOUND');
      assert.equal(await rt.address(s.id), undefined);
    });

    test('the sweep removes sandboxes whose owner was killed with SIGKILL', async () => {
      await drain();
      const before = await hostResources(fx.stateDirs);
      const id = await fx.createFromDoomedProcess({ rootfs: fx.rootfs, process: { args: ['sleep', '1000'] } });
      const again = await fx.reopen();
      try {
        assert.equal((await again.get(id))?.state, 'running', 'a restarted runtime sees the orphan');
        const report = await again.sweep(() => false);
        assert.ok(report.sandboxes.includes(id));
      } finally {
        await again.close();
      }
      await assertNoLeaks(before, fx.stateDirs, 5000, { ignorePooled: true });
    });

    test('limits: a memory hog and a fork bomb get errors; the sandbox survives', async () => {
      const s = await rt.create(
        spec({
          process: { args: ['sleep', '1000'] },
          limits: { memoryBytes: 512 << 20, pids: 256, rlimits: { addressSpaceBytes: 256 << 20, processes: 40 } },
        }),
      );
      try {
        const hog = await rt.run(s.id, { args: ['python3', '-c', 'x = bytearray(400 * 1024 * 1024)'], timeoutMs: 30_000 });
        assert.notEqual(hog.code, 0);
        assert.match(hog.stderr.toString(), /MemoryError/);
        // The sleeps hold no end of the pipe, or tail would wait the 5 s until they all exit.
        const bomb = await rt.run(s.id, {
          args: ['sh', '-c', 'i=0; while [ $i -lt 200 ]; do sleep 5 >/dev/null 2>&1 & i=$((i+1)); done 2>&1 | tail -1; echo done'],
          uid: 1000,
          timeoutMs: 60_000,
        });
        assert.match(bomb.stdout.toString() + bomb.stderr.toString(), /fork|Resource temporarily unavailable|Cannot fork/i);
        const alive = await rt.run(s.id, { args: ['echo', 'alive'] });
        assert.equal(alive.stdout.toString(), 'alive\n');
        const mem = await rt.run(s.id, { args: ['sh', '-c', "grep MemTotal /proc/meminfo | awk '{print $2}'"] });
        assert.equal(Number(mem.stdout.toString()), 512 * 1024, 'MemTotal inside equals the memory limit');
      } finally {
        release(s.id);
      }
    });

    test('egress is closed by default and opens only as the policy says', async () => {
      await withTestHost(async (host) => {
        const listener = net.createServer((c) => c.end('host-service')).listen(0, '0.0.0.0');
        await new Promise((r) => listener.once('listening', r));
        const hostPort = (listener.address() as net.AddressInfo).port;
        // Made one by one inside the try: a failed create must still close the listener and
        // destroy what was made, or the test process hangs on the open server.
        const made: string[] = [];
        const create = async (s: Parameters<typeof spec>[0]) => {
          const x = await rt.create(spec(s));
          made.push(x.id);
          return x;
        };
        try {
          const closed = await create({});
          const allow = await create({
            egress: { mode: 'allowlist', rules: [{ cidr: `${host.address}/32`, ports: [{ from: host.ports[0], to: host.ports[0] }] }] },
          });
          const internet = await create({ egress: { mode: 'internet' } });
          await Promise.all([internet, closed, allow].map((x) => waitForHttp(`http://${x.address}:8080/peek`)));
          // All at once: each refused probe waits out its 1.5 s connect timeout.
          const probes: Array<[typeof closed, string, number, boolean, string]> = [
            [internet, host.address, host.ports[1], true, 'internet: a public address is reachable'],
            [internet, hostAddressOf(internet.address), hostPort, false, 'internet: the host stays closed'],
            [internet, closed.address, 8080, false, 'internet: other sandboxes stay closed'],
            [closed, host.address, host.ports[0], false, 'closed: test host unreachable'],
            [closed, hostAddressOf(closed.address), hostPort, false, 'closed: host services unreachable'],
            [closed, allow.address, 8080, false, 'closed: other sandboxes unreachable'],
            [allow, host.address, host.ports[0], true, 'allowlist: the listed port is reachable'],
            [allow, host.address, host.ports[1], false, 'allowlist: other ports are not'],
            [allow, hostAddressOf(allow.address), hostPort, false, 'allowlist: the host stays closed'],
            [allow, closed.address, 8080, false, 'allowlist: other sandboxes stay closed'],
          ];
          const reached = await Promise.all(probes.map(([from, to, port]) => canConnect(rt, from.id, to, port)));
          probes.forEach(([, , , want, what], i) => assert.equal(reached[i], want, what));
        } finally {
          // Together: each waits ~1.6 s for its sandbox to die. Before the test host goes.
          await Promise.all(made.map((id) => rt.destroy(id).catch(() => undefined)));
          listener.close();
        }
      });
    });

    test('a flipped byte in the memory pages is caught by the digest; failed restores leak nothing', async () => {
      await drain();
      const before = await hostResources(fx.stateDirs);
      // Same size, different bytes: caught by the digest, not by the size check.
      const s2 = await rt.create(spec({ process: { args: ['sleep', '1000'] } }));
      const ck2 = path.join(tmp, 'ck-flipped');
      await rt.checkpoint(s2.id, ck2);
      await rt.destroy(s2.id);
      const img = path.join(ck2, 'checkpoint.img');
      const bytes = await fs.readFile(img);
      const mid = Math.floor(bytes.length / 2);
      bytes[mid] = (bytes[mid] ?? 0) ^ 0xff;
      await fs.writeFile(img, bytes);
      await expectCode(rt.restore({ id: newSandboxId(), checkpointDir: ck2 }), 'RUNTIME_CHECKPOINT_CORRUPT');
      await expectCode(rt.inspectCheckpoint(ck2), 'RUNTIME_CHECKPOINT_CORRUPT');
      await expectCode(rt.create(spec({ rootfs: '/nonexistent/rootfs' })), 'RUNTIME_ROOTFS_MISSING');
      await assertNoLeaks(before, fx.stateDirs, 5000, { ignorePooled: true });
    });

    test('stdout and stderr are captured to a bounded log', async () => {
      const s = await rt.create(
        spec({
          logLimitBytes: 64 * 1024,
          process: {
            args: [
              'sh',
              '-c',
              'echo first-line; i=0; while [ $i -lt 3000 ]; do echo "line $i padding padding padding padding padding padding"; i=$((i+1)); done; echo last-line >&2; sleep 1000',
            ],
          },
        }),
      );
      try {
        const deadline = Date.now() + 15_000;
        let log = '';
        while (Date.now() < deadline && !log.includes('last-line')) {
          await new Promise((r) => setTimeout(r, 200));
          log = (await rt.logs(s.id)).toString();
        }
        assert.match(log, /last-line/);
        // One trim interval and a margin: the bound holds after the driver's own trim too.
        await new Promise((r) => setTimeout(r, (fx.logTrimIntervalMs ?? 2000) + 500));
        const bounded = await rt.logs(s.id);
        assert.ok(bounded.length <= 64 * 1024, `log is ${bounded.length} bytes`);
        assert.match(bounded.toString(), /last-line/);
        assert.doesNotMatch(bounded.toString(), /first-line/);
      } finally {
        release(s.id);
      }
    });

    test('stats report memory and CPU of a running sandbox', async () => {
      const s = await rt.create(spec());
      try {
        await waitForHttp(`http://${s.address}:8080/peek`);
        const st = await rt.stats(s.id);
        assert.ok(st.memoryBytes > 1 << 20, `memory ${st.memoryBytes}`);
        assert.ok(st.cpuSeconds > 0);
        const out = await collect((await rt.exec(s.id, { args: ['echo', 'x'] })).stdout);
        assert.equal(out.toString(), 'x\n');
      } finally {
        release(s.id);
      }
    });
  });
}
