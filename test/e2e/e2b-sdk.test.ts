/**
 * The data plane end to end with the REAL `e2b` SDK (2.51.0) against a real daemon, in both ways
 * the SDK reaches sandboxes: header routing over plain HTTP (E2B_SANDBOX_URL = the gateway) and
 * host routing over TLS (`https://<port>-<id>.<domain>` from the create response, the daemon's
 * `--tls self-signed` CA trusted, those names resolved to 127.0.0.1 in-process; HTTP/2 by ALPN).
 * One case table runs in both modes on one sandbox per mode: create and commands with envVars,
 * files, signed upload/download URLs, a watch, a PTY, an app port through getHost, a background
 * process that keeps its PID across pause and connect, connect-then-run repeated (a resumed
 * sandbox answers at once), and kill. Header mode alone (routing does not matter there): the
 * tenant's `base` built once for concurrent creates, sudo, tokens of another tenant refused, a
 * sandbox killed mid-command, and the README's example run as written.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CommandExitError, Sandbox } from 'e2b';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { runReadmeExample, terminateTenantMicrovms } from './support.js';
import { ensureTestBaseImage } from '../support/base-image.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { trustLocalDaemon } from './support-e2b-tls.js';

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

interface Mode {
  name: string;
  tls: boolean;
}

const MODES: Mode[] = [
  { name: 'header routing over plain HTTP', tls: false },
  { name: 'host routing over TLS with the self-signed CA', tls: true },
];

const ENVD = '49983';
const tokenOf = (s: Sandbox) => (s as unknown as { envdAccessToken?: string }).envdAccessToken;

describe('E2B data plane with the real e2b SDK', { timeout: 1_200_000 }, () => {
  let baseline: Set<string>;
  before(async () => {
    baseline = await hostResources();
    await ensureTestBaseImage('debian-12-e2b');
  });
  after(() => assertNoLeaks(baseline, [], 10_000));

  for (const mode of MODES) {
    describe(mode.name, () => {
      let d: TestDaemon;
      let key = '';
      let untrust: (() => void) | undefined;
      const created = new Set<string>();
      let sbx: Sandbox;
      // Host mode names no sandbox URL: the SDK builds https://<port>-<id>.<domain> from the
      // create response's domain (the daemon's domain with the gateway's port).
      const opts = () => ({
        apiKey: key,
        apiUrl: d.apiUrl,
        requestTimeoutMs: 120_000,
        ...(mode.tls ? { domain: `${d.config.domain}:${d.gatewayPort}` } : { domain: d.config.domain, sandboxUrl: d.gatewayUrl }),
      });
      // What a browser or curl does with the SDK's URLs: as they are in host mode; in header mode
      // the URL is the gateway's, so the routing headers go along.
      const routed = (s: Sandbox, port: string, init: RequestInit = {}): RequestInit =>
        mode.tls
          ? init
          : { ...init, headers: { ...(init.headers as Record<string, string>), 'E2b-Sandbox-Id': s.sandboxId, 'E2b-Sandbox-Port': port } };
      const appUrl = (s: Sandbox, port: number, p: string) => (mode.tls ? `https://${s.getHost(port)}${p}` : `${d.gatewayUrl}${p}`);

      before(async () => {
        d = await startTestDaemon(mode.tls ? { tls: 'self-signed' } : {});
        if (mode.tls) {
          assert.ok(d.tlsCaPath, 'the daemon made its CA');
          untrust = trustLocalDaemon(d.tlsCaPath, d.config.domain);
        }
        const t = await d.tenant('e2b-sdk');
        key = (await d.store.createE2bKey(t.tenantId)).apiKey;
      });

      after(async () => {
        for (const id of created) await Sandbox.kill(id, opts()).catch((e: unknown) => console.error(`kill ${id}: ${String(e)}`));
        // Whatever else the tenant still runs (the README example's, a failed test's) ends too.
        await terminateTenantMicrovms(d, key);
        await d?.destroy();
        untrust?.();
      });

      test('Sandbox.create() on base runs commands with envVars, the user, cwd and exit codes', async () => {
        // Header mode: a concurrent second create shares the one build of the tenant's base.
        const [s, other] = await Promise.all([
          Sandbox.create({ ...opts(), envs: { GREETING: 'from-create' }, timeoutMs: 600_000 }),
          mode.tls ? undefined : Sandbox.create({ ...opts(), timeoutMs: 600_000 }),
        ]);
        sbx = s;
        created.add(s.sandboxId);
        if (mode.tls) {
          const envdUrl = (s as unknown as { envdApiUrl: string }).envdApiUrl;
          assert.equal(envdUrl, `https://${ENVD}-${s.sandboxId}.${d.config.domain}:${d.gatewayPort}`, 'host routing over TLS');
        }
        const r = await s.commands.run('echo hi');
        assert.equal(r.stdout, 'hi\n');
        assert.equal(r.exitCode, 0);
        assert.equal(
          (await s.commands.run('echo $GREETING; whoami; pwd; shopt -q login_shell && echo login')).stdout,
          'from-create\nuser\n/home/user\nlogin\n',
        );
        assert.equal((await s.commands.run('pwd; echo $X', { cwd: '/tmp', envs: { X: 'y' } })).stdout, '/tmp\ny\n');
        assert.equal((await s.commands.run('whoami', { user: 'root' })).stdout, 'root\n');
        await assert.rejects(s.commands.run('exit 3'), (e: unknown) => e instanceof CommandExitError && e.exitCode === 3);
        assert.equal((await s.commands.run('echo out; echo err >&2')).stderr, 'err\n');
        if (other) {
          created.add(other.sandboxId);
          const owner = await d.store.getE2bKeyForAuth(key);
          assert.ok(owner);
          const versions = await d.core.services.images.listVersions({ tenant: owner.tenant }, 'base', {});
          assert.equal(versions.items.length, 1, 'one build of base');
          assert.equal((await other.commands.run('echo ${GREETING:-unset}')).stdout, 'unset\n');
          const tools = await s.commands.run('python3 --version && node --version && git --version && curl --version | head -1');
          assert.match(tools.stdout, /Python 3\.11[\s\S]*v18[\s\S]*git version[\s\S]*curl/);
          await Sandbox.kill(other.sandboxId, opts());
          created.delete(other.sandboxId);
        }
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

      test('signed uploadUrl and downloadUrl work as plain HTTP requests', async () => {
        const up = await sbx.uploadUrl('/home/user/up/u.txt');
        const down = await sbx.downloadUrl('/home/user/up/u.txt');
        if (mode.tls) for (const u of [up, down]) assert.ok(u.startsWith(`https://${ENVD}-${sbx.sandboxId}.`), u);
        const form = new FormData();
        form.append('file', new Blob(['uploaded bytes']), 'u.txt');
        const put = await fetch(up, routed(sbx, ENVD, { method: 'POST', body: form }));
        assert.equal(put.status, 200, await put.clone().text());
        const got = await fetch(down, routed(sbx, ENVD));
        assert.equal(got.status, 200);
        assert.equal(await got.text(), 'uploaded bytes');
        assert.equal(await sbx.files.read('/home/user/up/u.txt'), 'uploaded bytes');
        // Without its signature (and without the envd token) the same URL is refused.
        const bare = new URL(down);
        bare.search = `?path=${encodeURIComponent('/home/user/up/u.txt')}`;
        const refused = await fetch(bare, routed(sbx, ENVD));
        assert.ok(refused.status === 401 || refused.status === 403, `status ${refused.status}`);
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

      test("getHost(port) reaches an app's port in the sandbox", async () => {
        await sbx.files.write('/home/user/www/hello.txt', 'hello from the app port');
        const app = await sbx.commands.run('exec python3 -m http.server 8000 --bind 0.0.0.0 --directory /home/user/www', {
          background: true,
          timeoutMs: 0,
        });
        try {
          const host = sbx.getHost(8000);
          assert.equal(
            host,
            `8000-${sbx.sandboxId}.${d.config.domain}:${d.gatewayPort}`,
            'the gateway (not on 443) is named with its port',
          );
          const body = await until(
            'the app to answer',
            async () => {
              const r = await fetch(appUrl(sbx, 8000, '/hello.txt'), routed(sbx, '8000')).catch(() => undefined);
              return r?.status === 200 ? r.text() : undefined;
            },
            30_000,
          );
          assert.equal(body, 'hello from the app port');
        } finally {
          await app.kill();
        }
      });

      // Two pauses: after a gVisor restore an epoll registration made before the checkpoint is
      // deaf (gVisor issue 13920), which hit every other round when the agent read a process's
      // pipes or terminal through Go's netpoller.
      test('a background process and a terminal keep their PIDs and output across pause and connect; files survive', async () => {
        const h = await sbx.commands.run('for i in $(seq 1 100000); do echo tick $i; sleep 0.2; done', { background: true, timeoutMs: 0 });
        const pid = h.pid;
        let term = '';
        const pty = await sbx.pty.create({
          cols: 80,
          rows: 24,
          onData: (b) => void (term += Buffer.from(b).toString('utf8')),
          timeoutMs: 0,
        });
        await until('ticks', async () => (h.stdout.includes('tick 3') ? true : undefined));
        await h.disconnect();
        await pty.disconnect();
        for (let round = 0; round < 2; round++) {
          assert.equal(await sbx.pause(), true);
          assert.equal(await sbx.isRunning(), false);
          const again = await Sandbox.connect(sbx.sandboxId, opts());
          sbx = again;
          const listed = await again.commands.list();
          assert.ok(
            listed.some((p) => p.pid === pid) && listed.some((p) => p.pid === pty.pid),
            `pids ${pid} and ${pty.pid} listed after resume ${round}: ${JSON.stringify(listed.map((p) => p.pid))}`,
          );
          const re = await again.commands.connect(pid, { timeoutMs: 0, requestTimeoutMs: 30_000 });
          const before = re.stdout.length;
          await until(`new ticks after resume ${round}`, async () =>
            re.stdout.length > before && /tick \d+/.test(re.stdout) ? true : undefined,
          );
          await re.disconnect();
          term = '';
          const t = await again.pty.connect(pty.pid, { onData: (b) => void (term += Buffer.from(b).toString('utf8')), timeoutMs: 0 });
          await again.pty.sendInput(pty.pid, new TextEncoder().encode(`echo term-$((${round}+40))\n`));
          await until(`terminal output after resume ${round}`, async () => (term.includes(`term-${round + 40}`) ? true : undefined));
          await t.disconnect();
        }
        assert.equal(await sbx.commands.kill(pid), true);
        assert.equal(await sbx.pty.kill(pty.pid), true);
        assert.equal(await sbx.files.read('/home/user/keep/sub/b.txt'), 'kept');
        assert.equal(await sbx.files.exists('/home/user/keep/sub'), true);
      });

      test('commands.run right after Sandbox.connect answers at once, round after round', async () => {
        for (let i = 0; i < 3; i++) {
          // Connections the gateway pooled to the sandbox before the pause must not be reused.
          assert.equal((await sbx.commands.run('echo warm')).stdout, 'warm\n');
          assert.equal(await sbx.files.exists('/home/user/keep'), true);
          assert.equal(await sbx.pause(), true);
          sbx = await Sandbox.connect(sbx.sandboxId, opts());
          const t0 = Date.now();
          const r = await sbx.commands.run(`echo round ${i}`, { timeoutMs: 20_000, requestTimeoutMs: 20_000 });
          assert.equal(r.stdout, `round ${i}\n`);
          assert.ok(Date.now() - t0 < 15_000, `round ${i}: ${Date.now() - t0} ms`);
        }
      });

      if (!mode.tls) {
        test('passwordless sudo for `user` (through the agent: gVisor never honours setuid)', async () => {
          assert.equal((await sbx.commands.run('sudo -n id -u')).stdout, '0\n');
          const r = await sbx.commands.run(
            'echo secret | sudo tee /root/owned >/dev/null && sudo stat -c %U /root/owned && sudo cat /root/owned',
          );
          assert.equal(r.stdout, 'root\nsecret\n');
          await assert.rejects(
            sbx.commands.run('sudo -n sh -c "exit 5"'),
            (e: unknown) => e instanceof CommandExitError && e.exitCode === 5,
          );
          // Outside the sudo group: refused (the agent checks the caller's kernel-checked credentials).
          await assert.rejects(
            sbx.commands.run('su -s /bin/sh nobody -c "sudo -n id -u"', { user: 'root' }),
            (e: unknown) => e instanceof CommandExitError && e.exitCode === 1 && /not in the sudoers/.test(e.stderr),
          );
        });

        test("tenant B's envd token (from B's own sandbox, B's own base) is refused on tenant A's sandbox, and A's on B's", async () => {
          const tb = await d.tenant('e2b-sdk-b');
          const keyB = (await d.store.createE2bKey(tb.tenantId)).apiKey;
          const b = await Sandbox.create({ ...opts(), apiKey: keyB, timeoutMs: 600_000 });
          try {
            const tokenB = tokenOf(b);
            const tokenA = tokenOf(sbx);
            assert.ok(tokenA && tokenB && tokenA !== tokenB);
            const health = (id: string, token: string) =>
              fetch(`${d.gatewayUrl}/health`, { headers: { 'E2b-Sandbox-Id': id, 'E2b-Sandbox-Port': ENVD, 'X-Access-Token': token } });
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
                'E2b-Sandbox-Port': ENVD,
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
          const token = tokenOf(victim);
          assert.ok(token, 'the SDK keeps the envd token');
          const r = await fetch(`${d.gatewayUrl}/health`, {
            headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': ENVD, 'X-Access-Token': token },
          });
          assert.ok(r.status === 401 || r.status === 403, `status ${r.status}`);
          const running = victim.commands.run('sleep 60', { timeoutMs: 0 });
          await sleep(1500);
          await Sandbox.kill(victim.sandboxId, opts());
          created.delete(victim.sandboxId);
          await assert.rejects(running, /killed|end of life/i);
        });

        test("the README's E2B example runs as written", async () => {
          const { code, out } = await runReadmeExample('e2b-example', d, key);
          assert.equal(code, 0, out);
          assert.match(out, /hello from Cubby/);
          assert.match(out, /\[ 'a\.txt' \]|a\.txt/);
        });
      }

      test('kill: the sandbox answers 502 (isRunning false) and cannot be connected', async () => {
        const id = sbx.sandboxId;
        assert.equal(await sbx.kill(), true);
        created.delete(id);
        assert.equal(await sbx.isRunning(), false);
        await assert.rejects(Sandbox.connect(id, opts()), /not found/i);
        assert.equal(await Sandbox.kill(id, opts()), false);
      });
    });
  }
});
