/**
 * The data plane end to end with the REAL `e2b` SDK (2.51.0) against a real daemon: the tenant's
 * `base` template built on first use (Debian 12 + the in-sandbox agent), commands, a background
 * process that keeps its PID and output across pause and connect, files and a directory that
 * survive pause, a watch, a PTY, envVars, a sandbox killed mid-command, another sandbox's envd
 * token refused, and the README's example run as written. Header routing over plain HTTP
 * (E2B_SANDBOX_URL = the gateway).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CommandExitError, Sandbox } from 'e2b';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { ensureTestBaseImage } from '../support/base-image.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe('E2B data plane with the real e2b SDK', { timeout: 900_000 }, () => {
  let d: TestDaemon;
  let key = '';
  let baseline: Set<string>;
  const created = new Set<string>();
  const opts = () => ({ apiKey: key, apiUrl: d.apiUrl, domain: d.config.domain, sandboxUrl: d.gatewayUrl, requestTimeoutMs: 120_000 });
  let sbx: Sandbox;

  before(async () => {
    baseline = await hostResources();
    await ensureTestBaseImage('debian-12-e2b');
    d = await startTestDaemon();
    const t = await d.tenant('e2b-sdk');
    key = (await d.store.createE2bKey(t.tenantId)).apiKey;
  });

  after(async () => {
    for (const id of created) await Sandbox.kill(id, opts()).catch((e: unknown) => console.error(`kill ${id}: ${String(e)}`));
    // Whatever else the tenant still runs (the README example's, a failed test's) ends too.
    const owner = key ? await d?.store.getE2bKeyForAuth(key) : undefined;
    if (owner) {
      const caller = { tenant: owner.tenant };
      const page = await d.core.services.microvms.list(caller, { maxResults: 100 });
      for (const m of page.items) {
        if (m.state !== 'TERMINATED')
          await d.core.services.microvms.terminate(caller, m.id).catch((e: unknown) => console.error(`terminate ${m.id}: ${String(e)}`));
      }
    }
    await d?.destroy();
    await assertNoLeaks(baseline, [], 10_000);
  });

  test('Sandbox.create() on base (built on first use, concurrent creates share it) runs commands with envVars', async () => {
    const [s, other] = await Promise.all([
      Sandbox.create({ ...opts(), envs: { GREETING: 'from-create' }, timeoutMs: 600_000 }),
      Sandbox.create({ ...opts(), timeoutMs: 600_000 }),
    ]);
    sbx = s;
    created.add(s.sandboxId).add(other.sandboxId);
    const owner = await d.store.getE2bKeyForAuth(key);
    assert.ok(owner);
    const versions = await d.core.services.images.listVersions({ tenant: owner.tenant }, 'base', {});
    assert.equal(versions.items.length, 1, 'one build of base');
    const r = await s.commands.run('echo hi');
    assert.equal(r.stdout, 'hi\n');
    assert.equal(r.exitCode, 0);
    assert.equal((await s.commands.run('echo $GREETING; whoami; pwd')).stdout, 'from-create\nuser\n/home/user\n');
    assert.equal((await other.commands.run('echo ${GREETING:-unset}')).stdout, 'unset\n');
    await assert.rejects(s.commands.run('exit 3'), (e: unknown) => e instanceof CommandExitError && e.exitCode === 3);
    const tools = await s.commands.run('python3 --version && node --version && git --version && curl --version | head -1');
    assert.match(tools.stdout, /Python 3\.11[\s\S]*v18[\s\S]*git version[\s\S]*curl/);
    await Sandbox.kill(other.sandboxId, opts());
    created.delete(other.sandboxId);
  });

  test('passwordless sudo for `user` (through the agent: gVisor never honours setuid)', async () => {
    assert.equal((await sbx.commands.run('sudo -n id -u')).stdout, '0\n');
    const r = await sbx.commands.run(
      'echo secret | sudo tee /root/owned >/dev/null && sudo stat -c %U /root/owned && sudo cat /root/owned',
    );
    assert.equal(r.stdout, 'root\nsecret\n');
    await assert.rejects(sbx.commands.run('sudo -n sh -c "exit 5"'), (e: unknown) => e instanceof CommandExitError && e.exitCode === 5);
    // Outside the sudo group: refused (the agent checks the caller's kernel-checked credentials).
    await assert.rejects(
      sbx.commands.run('su -s /bin/sh nobody -c "sudo -n id -u"', { user: 'root' }),
      (e: unknown) => e instanceof CommandExitError && e.exitCode === 1 && /not in the sudoers/.test(e.stderr),
    );
  });

  test('files: write, read, list, exists, remove, makeDir', async () => {
    const info = await sbx.files.write('notes/a.txt', 'hello file');
    assert.equal(info.path, '/home/user/notes/a.txt');
    assert.equal(await sbx.files.read('notes/a.txt'), 'hello file');
    assert.equal(await sbx.files.read('/home/user/notes/a.txt'), 'hello file');
    assert.equal(await sbx.files.makeDir('/home/user/keep/sub'), true);
    await sbx.files.write('/home/user/keep/sub/b.txt', 'kept');
    const names = (await sbx.files.list('/home/user/notes')).map((e) => e.name);
    assert.deepEqual(names, ['a.txt']);
    assert.equal(await sbx.files.exists('/home/user/notes/a.txt'), true);
    await sbx.files.remove('/home/user/notes/a.txt');
    assert.equal(await sbx.files.exists('/home/user/notes/a.txt'), false);
    assert.equal((await sbx.commands.run('stat -c %U /home/user/keep/sub/b.txt')).stdout, 'user\n');
  });

  test('watchDir sees a write', async () => {
    const seen: string[] = [];
    const h = await sbx.files.watchDir('/home/user/keep', (e) => void seen.push(`${e.type}:${e.name}`), { recursive: true });
    try {
      await sbx.files.write('/home/user/keep/watched.txt', 'x');
      await until('a watch event', async () => (seen.some((s) => s.endsWith(':watched.txt')) ? true : undefined));
    } finally {
      await h.stop();
    }
  });

  test('PTY: create, sendInput, resize', async () => {
    let out = '';
    const pty = await sbx.pty.create({
      cols: 80,
      rows: 24,
      onData: (b) => void (out += Buffer.from(b).toString('utf8')),
      timeoutMs: 60_000,
    });
    await sbx.pty.sendInput(pty.pid, new TextEncoder().encode('echo pty-$((40+2))\n'));
    await until('PTY output', async () => (out.includes('pty-42') ? true : undefined));
    await sbx.pty.resize(pty.pid, { cols: 100, rows: 30 });
    await sbx.pty.sendInput(pty.pid, new TextEncoder().encode('stty size\n'));
    await until('the new size', async () => (out.includes('30 100') ? true : undefined));
    await sbx.pty.kill(pty.pid);
  });

  test('a background process keeps its PID and output across pause and connect; files and a directory survive', async () => {
    const h = await sbx.commands.run('for i in $(seq 1 100000); do echo tick $i; sleep 0.2; done', { background: true, timeoutMs: 0 });
    const pid = h.pid;
    await until('ticks', async () => (h.stdout.includes('tick 3') ? true : undefined));
    await h.disconnect();
    assert.equal(await sbx.pause(), true);
    assert.equal(await sbx.isRunning(), false);
    const again = await Sandbox.connect(sbx.sandboxId, opts());
    sbx = again;
    const listed = await again.commands.list();
    assert.ok(
      listed.some((p) => p.pid === pid),
      `pid ${pid} listed after resume: ${JSON.stringify(listed.map((p) => p.pid))}`,
    );
    const re = await again.commands.connect(pid, { timeoutMs: 0 });
    const before = re.stdout.length;
    await until('new ticks after resume', async () => (re.stdout.length > before && /tick \d+/.test(re.stdout) ? true : undefined));
    assert.equal(await again.commands.kill(pid), true);
    assert.equal(await again.files.read('/home/user/keep/sub/b.txt'), 'kept');
    assert.equal(await again.files.exists('/home/user/keep/sub'), true);
  });

  test("tenant B's envd token (from B's own sandbox, B's own base) is refused on tenant A's sandbox, and A's on B's", async () => {
    const tb = await d.tenant('e2b-sdk-b');
    const keyB = (await d.store.createE2bKey(tb.tenantId)).apiKey;
    const b = await Sandbox.create({ ...opts(), apiKey: keyB, timeoutMs: 600_000 });
    try {
      const tokenB = (b as unknown as { envdAccessToken?: string }).envdAccessToken;
      const tokenA = (sbx as unknown as { envdAccessToken?: string }).envdAccessToken;
      assert.ok(tokenA && tokenB && tokenA !== tokenB);
      const health = (id: string, token: string) =>
        fetch(`${d.gatewayUrl}/health`, { headers: { 'E2b-Sandbox-Id': id, 'E2b-Sandbox-Port': '49983', 'X-Access-Token': token } });
      // Each token opens its own sandbox (so the refusals below are about the token, not the route).
      assert.equal((await health(b.sandboxId, tokenB)).status, 204);
      assert.equal((await health(sbx.sandboxId, tokenA)).status, 204);
      for (const [id, token] of [
        [sbx.sandboxId, tokenB],
        [b.sandboxId, tokenA],
      ] as const) {
        const r = await health(id, token);
        assert.ok(r.status === 401 || r.status === 403, `status ${r.status}`);
      }
      // A command through B's token on A's sandbox: refused as well.
      const run = await fetch(`${d.gatewayUrl}/process.Process/List`, {
        method: 'POST',
        headers: {
          'E2b-Sandbox-Id': sbx.sandboxId,
          'E2b-Sandbox-Port': '49983',
          'X-Access-Token': tokenB,
          'Content-Type': 'application/json',
        },
        body: '{}',
      });
      assert.ok(run.status === 401 || run.status === 403, `status ${run.status}`);
      // B's API key does not reach A's sandbox either.
      await assert.rejects(Sandbox.connect(sbx.sandboxId, { ...opts(), apiKey: keyB }));
    } finally {
      await Sandbox.kill(b.sandboxId, { ...opts(), apiKey: keyB });
    }
  });

  test("another sandbox's envd token is refused; a sandbox killed mid-command is reported killed", async () => {
    const victim = await Sandbox.create({ ...opts(), timeoutMs: 600_000 });
    created.add(victim.sandboxId);
    // The victim's token on sbx's envd: refused by the gateway.
    const token = (victim as unknown as { envdAccessToken?: string }).envdAccessToken;
    assert.ok(token, 'the SDK keeps the envd token');
    const r = await fetch(`${d.gatewayUrl}/health`, {
      headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49983', 'X-Access-Token': token },
    });
    assert.ok(r.status === 401 || r.status === 403, `status ${r.status}`);
    const running = victim.commands.run('sleep 60', { timeoutMs: 0 });
    await sleep(1500);
    await Sandbox.kill(victim.sandboxId, opts());
    created.delete(victim.sandboxId);
    await assert.rejects(running, /killed|end of life/i);
  });

  test("the README's E2B example runs as written", async () => {
    const readme = await fs.readFile(path.join(ROOT, 'README.md'), 'utf8');
    const m = /<!-- e2b-example -->\s*```js\n([\s\S]*?)```/.exec(readme);
    assert.ok(m, 'README has the e2b example');
    const child = spawn(process.execPath, ['--input-type=module', '-e', m[1]!], {
      cwd: ROOT,
      env: { ...process.env, E2B_API_KEY: key, E2B_API_URL: d.apiUrl, E2B_SANDBOX_URL: d.gatewayUrl, E2B_DOMAIN: d.config.domain },
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((res) => child.on('close', res));
    assert.equal(code, 0, out);
    assert.match(out, /hello from Cubby/);
    assert.match(out, /\[ 'a\.txt' \]|a\.txt/);
  });
});
