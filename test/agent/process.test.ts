/** process.Process against a real cubby-agent on the host (raw Connect-JSON calls). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConnectStream, endOf, output, sleep, startAgent, unary, type Json, type RunningAgent } from './agent-harness.js';

const bash = (cmd: string, extra: Json = {}) => ({ process: { cmd: '/bin/bash', args: ['-l', '-c', cmd], envs: {} }, ...extra });
const pidOf = (msgs: Json[]) => msgs[0]?.event?.start?.pid as number;

describe('cubby-agent process service', () => {
  let ag: RunningAgent;
  before(async () => {
    ag = await startAgent();
  });
  after(async () => {
    await ag.stop();
  });

  it('Start streams start{pid} first, then stdout/stderr, then end with the exit code', async () => {
    const s = await ConnectStream.open(ag.port, 'process.Process/Start', bash('echo out; echo err >&2; exit 3'));
    assert.equal(s.status, 200);
    assert.equal(s.contentType, 'application/connect+json');
    const msgs = await s.until((m) => !!endOf(m));
    assert.ok(pidOf(msgs) > 0, JSON.stringify(msgs[0]));
    assert.equal(output(msgs, 'stdout'), 'out\n');
    assert.equal(output(msgs, 'stderr'), 'err\n');
    assert.deepEqual(endOf(msgs), { exitCode: 3, exited: true, status: 'exit status 3' });
    assert.equal(await s.waitEnd(), undefined);
  });

  it('runs in the given cwd with the given env, and fails cleanly for a missing cwd', async () => {
    const s = await ConnectStream.open(ag.port, 'process.Process/Start', {
      process: { cmd: '/bin/sh', args: ['-c', 'pwd; echo $FOO'], envs: { FOO: 'bar' }, cwd: ag.dir },
    });
    const msgs = await s.until((m) => !!endOf(m));
    assert.equal(output(msgs, 'stdout'), `${ag.dir}\nbar\n`);
    const bad = await ConnectStream.open(ag.port, 'process.Process/Start', { process: { cmd: '/bin/true', cwd: '/nonexistent/x' } });
    assert.equal(bad.status, 200);
    const err = await bad.waitEnd();
    assert.equal(err?.code, 'invalid_argument');
  });

  it('stdin: SendInput reaches the process and CloseStdin ends its input', async () => {
    const s = await ConnectStream.open(ag.port, 'process.Process/Start', bash('cat; echo done', { stdin: true }));
    const pid = pidOf(await s.until((m) => m.length >= 1));
    const send = await unary(ag.port, 'process.Process/SendInput', {
      process: { pid },
      input: { stdin: Buffer.from('hello\n').toString('base64') },
    });
    assert.equal(send.status, 200, JSON.stringify(send.json));
    await s.until((m) => output(m, 'stdout').includes('hello\n'));
    assert.equal((await unary(ag.port, 'process.Process/CloseStdin', { process: { pid } })).status, 200);
    const msgs = await s.until((m) => !!endOf(m));
    assert.equal(output(msgs, 'stdout'), 'hello\ndone\n');
    assert.equal(endOf(msgs)?.exitCode, 0);
  });

  it('commands.run from a pre-started login shell behaves as `bash -l -c`; new env vars retire it', async () => {
    const run = async (cmd: string, extra: Json = {}) => {
      const msgs = await (await ConnectStream.open(ag.port, 'process.Process/Start', bash(cmd, extra))).until((m) => !!endOf(m));
      return { pid: pidOf(msgs), out: output(msgs, 'stdout'), end: endOf(msgs) };
    };
    // The shell's own descriptors, listed by the shell itself (a pipeline would race its pipe's close).
    const probe =
      'shopt -q login_shell && echo login; echo "$0|${__cubby_cmd-unset}|${__cubby_in-unset}|$SANDBOX_VAR"; fds=(/proc/$$/fd/*); echo ${#fds[@]}';
    const seen = new Set<number>();
    // The first start forks; later ones find a login shell ready (given a moment to start it).
    let forked = '';
    for (let i = 0; i < 3; i++) {
      const r = await run(probe);
      // Round 0 forks `bash -l -c`; the ready shells after it must leave the command the same descriptors.
      forked ||= r.out;
      assert.match(forked, /^login\n\/bin\/bash\|unset\|unset\|\n[3-5]\n$/, 'fds 0-2, the glob directory, one of bash');
      assert.equal(r.out, forked, `round ${i}`);
      assert.equal(r.end?.exitCode, 0);
      seen.add(r.pid);
      await sleep(500);
    }
    assert.equal(seen.size, 3, 'each command is its own process');
    assert.deepEqual((await run('exit 7')).end, { exitCode: 7, exited: true, status: 'exit status 7' });
    await sleep(500);
    assert.equal((await run('cat; echo eof', { stdin: false })).out, 'eof\n');
    await sleep(500);
    // The run hook's env vars reach commands started after it (the ready shell is replaced).
    const hook = await fetch(`http://127.0.0.1:${ag.port}/aws/lambda-microvms/runtime/v1/run`, {
      method: 'POST',
      body: JSON.stringify({ microvmId: 'm', runHookPayload: JSON.stringify({ envVars: { SANDBOX_VAR: 'set' } }) }),
    });
    assert.equal(hook.status, 200);
    for (let i = 0; i < 2; i++) {
      assert.match((await run(probe)).out, /\|set\n/, `round ${i} after the hook`);
      await sleep(500);
    }
  });

  it('stdin off: the process reads EOF at once', async () => {
    const s = await ConnectStream.open(ag.port, 'process.Process/Start', bash('cat; echo eof', { stdin: false }));
    const msgs = await s.until((m) => !!endOf(m));
    assert.equal(output(msgs, 'stdout'), 'eof\n');
  });

  it('PTY: input goes through the terminal, and Update resizes it', async () => {
    const s = await ConnectStream.open(ag.port, 'process.Process/Start', {
      process: { cmd: '/bin/bash', args: ['--norc', '--noprofile', '-i'], envs: { TERM: 'xterm', PS1: '$ ' } },
      pty: { size: { cols: 80, rows: 24 } },
    });
    const pid = pidOf(await s.until((m) => m.length >= 1));
    const type = (text: string) =>
      unary(ag.port, 'process.Process/SendInput', { process: { pid }, input: { pty: Buffer.from(text).toString('base64') } });
    assert.equal((await type('stty size; tty\n')).status, 200);
    await s.until((m) => /24 80/.test(output(m, 'pty')) && /\/dev\/pts\/\d+/.test(output(m, 'pty')));
    const upd = await unary(ag.port, 'process.Process/Update', { process: { pid }, pty: { size: { cols: 120, rows: 40 } } });
    assert.equal(upd.status, 200, JSON.stringify(upd.json));
    await type('stty size\n');
    await s.until((m) => /40 120/.test(output(m, 'pty')));
    await type('exit 7\n');
    const msgs = await s.until((m) => !!endOf(m));
    assert.equal(endOf(msgs)?.exitCode, 7);
  });

  it('SendSignal kills a process (SIGKILL and SIGTERM); an unknown pid is not_found', async () => {
    for (const [signal, status] of [
      ['SIGNAL_SIGKILL', 'signal: killed'],
      ['SIGNAL_SIGTERM', 'signal: terminated'],
    ] as const) {
      const s = await ConnectStream.open(ag.port, 'process.Process/Start', { process: { cmd: 'sleep', args: ['60'] } });
      const pid = pidOf(await s.until((m) => m.length >= 1));
      const r = await unary(ag.port, 'process.Process/SendSignal', { process: { pid }, signal });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      const msgs = await s.until((m) => !!endOf(m));
      assert.deepEqual(endOf(msgs), { exitCode: -1, exited: false, status });
    }
    const r = await unary(ag.port, 'process.Process/SendSignal', { process: { pid: 999_999 }, signal: 'SIGNAL_SIGKILL' });
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 'not_found');
  });

  it('a process outlives its client; Connect re-attaches (several at once) and List shows it', async () => {
    const cmd = 'i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done';
    const s = await ConnectStream.open(ag.port, 'process.Process/Start', bash(cmd, { tag: 'ticker' }));
    const pid = pidOf(await s.until((m) => output(m, 'stdout').includes('tick1')));
    s.close();
    await sleep(1500); // detached: its output keeps being drained meanwhile

    const list = await unary(ag.port, 'process.Process/List', {});
    assert.equal(list.status, 200);
    const mine = (list.json.processes as Json[]).find((p) => p.pid === pid);
    assert.ok(mine, JSON.stringify(list.json));
    assert.equal(mine.tag, 'ticker');
    assert.deepEqual(mine.config.args, ['-l', '-c', cmd]);

    const a = await ConnectStream.open(ag.port, 'process.Process/Connect', { process: { pid } });
    const b = await ConnectStream.open(ag.port, 'process.Process/Connect', { process: { pid } });
    for (const c of [a, b]) {
      const msgs = await c.until((m) => /tick\d+/.test(output(m, 'stdout')));
      assert.deepEqual(msgs[0], { event: { start: { pid } } });
      const n = Number(/tick(\d+)/.exec(output(msgs, 'stdout'))?.[1]);
      assert.ok(n >= 5, `live output after the gap, got tick${n}`); // it kept running while detached
    }
    await unary(ag.port, 'process.Process/SendSignal', { process: { pid }, signal: 'SIGNAL_SIGKILL' });
    for (const c of [a, b]) assert.equal(endOf(await c.until((m) => !!endOf(m)))?.status, 'signal: killed');
    const gone = await ConnectStream.open(ag.port, 'process.Process/Connect', { process: { pid } });
    assert.equal((await gone.waitEnd())?.code, 'not_found');
  });

  it('a detached process writing a lot never blocks on a full pipe', async () => {
    // 4 MiB of output with nobody attached, then a marker file: it must get there.
    const marker = `${ag.dir}/flood-done`;
    const s = await ConnectStream.open(ag.port, 'process.Process/Start', bash(`head -c 4194304 /dev/zero; touch ${marker}; sleep 30`));
    const pid = pidOf(await s.until((m) => m.length >= 1));
    s.close();
    const deadline = Date.now() + 15_000;
    for (;;) {
      const st = await unary(ag.port, 'filesystem.Filesystem/Stat', { path: marker });
      if (st.status === 200) break;
      assert.ok(Date.now() < deadline, 'the detached process stalled on its output');
      await sleep(100);
    }
    await unary(ag.port, 'process.Process/SendSignal', { process: { pid }, signal: 'SIGNAL_SIGKILL' });
  });

  it('keepalives follow the Keepalive-Ping-Interval header', async () => {
    const s = await ConnectStream.open(
      ag.port,
      'process.Process/Start',
      { process: { cmd: 'sleep', args: ['3'] } },
      { 'keepalive-ping-interval': '1' },
    );
    const msgs = await s.until((m) => m.filter((x) => x.event?.keepalive).length >= 2, 10_000);
    assert.deepEqual(
      msgs.find((x) => x.event?.keepalive),
      { event: { keepalive: {} } },
    );
    await s.until((m) => !!endOf(m));
  });

  it('Connect-Timeout-Ms on Start kills the process and ends with deadline_exceeded', async () => {
    const s = await ConnectStream.open(
      ag.port,
      'process.Process/Start',
      { process: { cmd: 'sleep', args: ['60'] } },
      { 'connect-timeout-ms': '700' },
    );
    const pid = pidOf(await s.until((m) => m.length >= 1));
    assert.equal((await s.waitEnd())?.code, 'deadline_exceeded');
    await sleep(300);
    const list = await unary(ag.port, 'process.Process/List', {});
    assert.ok(!(list.json.processes as Json[]).some((p) => p.pid === pid), 'the timed-out process is gone');
  });

  it('runs processes as the Basic-auth user; an unknown user is unauthenticated', async () => {
    const s = await ConnectStream.open(ag.port, 'process.Process/Start', bash('id -un'), {
      authorization: `Basic ${Buffer.from('root:').toString('base64')}`,
    });
    assert.equal(output(await s.until((m) => !!endOf(m)), 'stdout'), 'root\n');
    const bad = await ConnectStream.open(ag.port, 'process.Process/Start', bash('true'), {
      authorization: `Basic ${Buffer.from('no-such-user-xyz:').toString('base64')}`,
    });
    assert.equal((await bad.waitEnd())?.code, 'unauthenticated');
  });
});
