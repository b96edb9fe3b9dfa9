/**
 * Tenant and sandbox boundaries, probed by an attacker: code running as root inside microVMs
 * (through the shell a shell token opens) and a second tenant holding its own valid keys. Two
 * tenants each build the counter image (same name), then run several microVMs; every probe has
 * a control that shows the probe itself works, so a silent probe cannot pass for a boundary.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import {
  CreateMicrovmAuthTokenCommand,
  CreateMicrovmImageCommand,
  CreateMicrovmShellAuthTokenCommand,
  DeleteMicrovmImageCommand,
  GetMicrovmCommand,
  GetMicrovmImageCommand,
  GetMicrovmImageVersionCommand,
  ListMicrovmImagesCommand,
  ListMicrovmsCommand,
  ListTagsCommand,
  ResourceNotFoundException,
  ResumeMicrovmCommand,
  RunMicrovmCommand,
  SuspendMicrovmCommand,
  TagResourceCommand,
  TerminateMicrovmCommand,
  UpdateMicrovmImageVersionCommand,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { fixtureArtifact, startTestDaemon, viaGateway, type TestDaemon } from '../support/daemon.js';
import { assertNoDaemonLeaks, daemonResources } from '../support/daemon-leaks.js';
import { shellExec, shellToken, type ShellResult } from '../support/sandbox-shell.js';
import { connectProbe, processProbe, selfNetwork } from '../support/sandbox-probes.js';
import { isAlive, sandboxHostPids } from '../support/runsc-probe.js';
import { TEST_HOST_RANGE, withTestHost } from '../support/test-host.js';
import { runCommand } from '../../src/util/command.js';
import { endpointToken, waitForVersion } from '../e2e/support.js';

const HOOKS = { port: 9000, microvmHooks: { run: 'ENABLED' }, microvmImageHooks: { ready: 'ENABLED', readyTimeoutInSeconds: 60 } } as const;
const IMAGE = 'counter';

interface Tenant {
  client: LambdaMicrovmsClient;
  accountId: string;
}
interface Vm {
  id: string;
  tenant: Tenant;
  token?: string;
  net?: { address: string; gateway: string };
}

const hex = (n = 8) => randomBytes(n).toString('hex');
const open = (o: { outcome: string }) => o.outcome === 'open';

describe('tenant and sandbox boundaries', { timeout: 300_000 }, () => {
  let d: TestDaemon;
  let A: Tenant;
  let B: Tenant;
  let tmp: string;
  let dataDir: string;
  let baseline: Set<string>;
  let a1: Vm;
  let a2: Vm;
  let b1: Vm;
  // A host service on every host address: the sandboxes must not reach it (nft, not luck).
  const hostHits: string[] = [];
  let hostService: net.Server;
  let hostPort = 0;
  const hostFiles: string[] = [];
  const victims: ChildProcess[] = [];

  const target = () => ({ gatewayPort: d.gatewayPort, domain: d.config.domain });
  async function sh(vm: Vm, command: string, timeoutMs?: number): Promise<ShellResult> {
    vm.token ??= await shellToken(vm.tenant.client, vm.id);
    return shellExec(target(), vm.id, vm.token, command, timeoutMs);
  }
  async function tokenOf(vm: Vm): Promise<string> {
    vm.token ??= await shellToken(vm.tenant.client, vm.id);
    return vm.token;
  }
  async function netOf(vm: Vm): Promise<{ address: string; gateway: string }> {
    vm.net ??= await selfNetwork(target(), vm.id, await tokenOf(vm));
    return vm.net;
  }
  async function launch(t: Tenant, extra: Record<string, unknown> = {}): Promise<Vm> {
    const m = await t.client.send(new RunMicrovmCommand({ imageIdentifier: IMAGE, ...extra }));
    assert.equal(m.state, 'RUNNING');
    return { id: m.microvmId ?? '', tenant: t };
  }
  const imageArn = (t: Tenant) => `arn:aws:lambda:local:${t.accountId}:microvm-image:${IMAGE}`;
  const microvmArn = (vm: Vm) => `arn:aws:lambda:local:${vm.tenant.accountId}:microvm:${vm.id}`;

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-sec-'));
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-sec-data-'));
    baseline = await daemonResources(dataDir);
    hostService = net.createServer((s) => {
      s.on('error', () => undefined);
      hostHits.push(`${s.remoteAddress}`);
      s.end('host-secret');
    });
    await new Promise<void>((r) => hostService.listen(0, '0.0.0.0', r));
    hostPort = (hostService.address() as net.AddressInfo).port;
    d = await startTestDaemon({ dataDir, egressAllowPrivate: TEST_HOST_RANGE });
    A = await d.tenant('sec-a');
    B = await d.tenant('sec-b');
    const uri = await fixtureArtifact('counter', tmp);
    for (const t of [A, B]) {
      await t.client.send(
        new CreateMicrovmImageCommand({
          name: IMAGE,
          baseImageArn: 'debian-12-python',
          buildRoleArn: 'arn:aws:iam::000000000000:role/build',
          codeArtifact: { uri },
          hooks: HOOKS,
          resources: [{ minimumMemoryInMiB: 512 }],
        }),
      );
    }
    for (const t of [A, B]) assert.equal((await waitForVersion(t.client, IMAGE, '1.0', 180_000)).state, 'SUCCESSFUL');
    [a1, a2, b1] = await Promise.all([launch(A), launch(A), launch(B)]);
  });

  after(async () => {
    for (const v of victims) v.kill('SIGKILL');
    for (const f of hostFiles) await fs.rm(f, { force: true });
    await new Promise<void>((r) => hostService?.close(() => r()));
    if (d) {
      // Together: each terminate waits ~1.6 s for its sandbox to die.
      const left = await d.store.listMicrovmsByState(['PENDING', 'RUNNING', 'SUSPENDING', 'SUSPENDED']);
      await Promise.all(left.map((m) => d.core.manager.withLock(m.id, (steps) => steps.terminate('test over')).catch(() => undefined)));
      await d.destroy();
    }
    await fs.rm(tmp, { recursive: true, force: true });
    await fs.rm(dataDir, { recursive: true, force: true });
    await assertNoDaemonLeaks(dataDir, baseline);
  });

  test("files: a sandbox sees neither another sandbox's files nor the host's, and its writes stay its own", async (t) => {
    const secretA = `cubby-secret-a-${hex()}`;
    const nameA = `cubby-sec-a-${hex(4)}`;
    const secretH = `cubby-secret-h-${hex()}`;
    const nameH = `cubby-sec-h-${hex(4)}`;
    for (const dir of ['/root', '/tmp']) {
      const f = path.join(dir, nameH);
      hostFiles.push(f);
      await fs.writeFile(f, `${secretH}\n`);
    }
    t.after(async () => {
      for (const f of hostFiles) await fs.rm(f, { force: true });
    });
    const wrote = await sh(a1, `for d in /root /tmp /app /etc; do echo ${secretA} > $d/${nameA}; done; sync; echo ok`);
    assert.equal(wrote.output.trim(), 'ok', wrote.output);

    // The patterns are split so the search's own command line never contains them whole.
    const half = (s: string) => [s.slice(0, 10), s.slice(10)];
    const [sa1, sa2] = half(secretA);
    const [sh1, sh2] = half(secretH);
    const [na1, na2] = half(nameA);
    const [nh1, nh2] = half(nameH);
    const search = [
      `A="${sa1}"; A="\${A}${sa2}"; H="${sh1}"; H="\${H}${sh2}"; NA="${na1}"; NA="\${NA}${na2}"; NH="${nh1}"; NH="\${NH}${nh2}"`,
      'timeout 120 grep -rlsF --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev -e "$A" -e "$H" / ; echo "grep-exit:$?"',
      'timeout 60 find / \\( -path /proc -o -path /sys \\) -prune -o \\( -name "$NA" -o -name "$NH" \\) -print 2>/dev/null; echo "find-exit:$?"',
    ].join('\n');
    // A1 (the control) searches only where it wrote; A2 and B1 search their whole filesystem.
    const [inA1, inA2, inB1] = await Promise.all([
      sh(a1, search.replace(/ \/ ;/, ' /root /tmp /app /etc ;'), 150_000),
      sh(a2, search, 150_000),
      sh(b1, search, 150_000),
    ]);
    const hits = (r: ShellResult) =>
      r.output
        .split('\n')
        .filter((l) => l.startsWith('/'))
        .sort();
    const exits = (r: ShellResult) => r.output.split('\n').filter((l) => /-exit:/.test(l));
    for (const r of [inA1, inA2, inB1]) {
      assert.ok(!exits(r).some((l) => l.endsWith(':124')), `a search timed out, so it proves nothing:\n${r.output}`);
    }
    // Control: the search finds A1's own files (content and names) ...
    const own = ['/root', '/tmp', '/app', '/etc'].map((dd) => `${dd}/${nameA}`);
    for (const f of own)
      assert.ok(hits(inA1).filter((h) => h === f).length === 2, `A1 finds its own ${f} by name and content:\n${inA1.output}`);
    assert.ok(!hits(inA1).some((h) => h.includes(nameH)), `A1 sees a host file:\n${inA1.output}`);
    // ... and nothing from A1 or the host, in a sandbox of the same tenant or of another.
    assert.deepEqual(hits(inA2), [], `A2 sees files it must not:\n${inA2.output}`);
    assert.deepEqual(hits(inB1), [], `B1 sees files it must not:\n${inB1.output}`);

    // Writes from B1 (new files, and an overwrite of the image's own app) land in B1's layer only.
    const appSha = async () =>
      createHash('sha256')
        .update(await fs.readFile(await imageAppPath()))
        .digest('hex');
    const imageAppPath = async () => {
      for (const img of await fs.readdir(path.join(d.dataDir, 'images'))) {
        const p = path.join(d.dataDir, 'images', img, '1.0', 'rootfs', 'app', 'app.py');
        if (
          await fs.stat(p).then(
            () => true,
            () => false,
          )
        )
          return p;
      }
      throw new Error('no image rootfs found');
    };
    const shaBefore = await appSha();
    const w = `cubby-sec-w-${hex(4)}`;
    const wr = await sh(
      b1,
      `for d in /root /tmp /app /etc; do echo pwned > $d/${w} || echo "fail $d"; done; echo '# pwned' >> /app/app.py; ls /tmp/${w} && echo wrote`,
    );
    assert.match(wr.output, /wrote/, 'control: B1 can write in its own filesystem');
    assert.equal(await appSha(), shaBefore, "the image's rootfs on the host is never modified by a sandbox");
    const found = await runCommand('find', [d.dataDir, '/tmp', '/root', '/var/cache/cubby/base', '-xdev', '-name', w], {
      timeoutMs: 60_000,
    });
    assert.equal(found.stdout.trim(), '', `B1's writes reached the host:\n${found.stdout}`);
    const inA = await sh(a1, `ls /tmp/${w} /root/${w} /etc/${w} 2>&1; sha256sum /app/app.py`);
    assert.match(inA.output, /No such file/);
    assert.ok(!/^\/.*${w}$/m.test(inA.output), `A1 sees B1's files:\n${inA.output}`);
    assert.ok(inA.output.includes(shaBefore), `A1's app.py changed:\n${inA.output}`);
  });

  test('processes: a sandbox sees only its own, and cannot signal or trace the host or another sandbox', async () => {
    const mark = `cubby-proc-mark-${hex(4)}`;
    const started = await sh(
      a1,
      `setsid nohup python3 -c "import time; time.sleep(600)" ${mark} >/dev/null 2>&1 < /dev/null & sleep 0.5; echo started`,
    );
    assert.match(started.output, /started/);
    const victim = spawn('sleep', ['600'], { stdio: 'ignore' });
    victims.push(victim);
    const hostPids = [process.pid, victim.pid ?? 0, ...(await sandboxHostPids(a1.id))].filter((p) => p > 0);
    assert.ok(hostPids.length >= 4, `host pids of A1's sandbox (sentry and gofer) found: ${hostPids.join(',')}`);

    const ownView = await processProbe(target(), a1.id, await tokenOf(a1), []);
    assert.ok(
      Object.values(ownView.visible).some((c) => c.includes(mark)),
      'control: A1 sees its own marked process',
    );
    const probes = await Promise.all(
      [a2, b1].map(async (vm) => ({ vm, p: await processProbe(target(), vm.id, await tokenOf(vm), hostPids) })),
    );
    for (const { vm, p } of probes) {
      const cmds = Object.values(p.visible);
      assert.ok(
        cmds.some((c) => c.includes('/app/app.py')),
        `control: ${vm.id} sees its own app`,
      );
      assert.ok(cmds.length <= 8, `${vm.id} sees ${cmds.length} processes:\n${cmds.join('\n')}`);
      for (const c of cmds) {
        assert.ok(!c.includes(mark) && !/\b(node|runsc|sleep 600|systemd|sshd)\b/.test(c), `${vm.id} sees a foreign process: ${c}`);
      }
      for (const pid of hostPids) {
        assert.ok(!(String(pid) in p.visible), `pid ${pid} is also a pid inside ${vm.id}; the probe would hit its own process`);
        assert.notEqual(p.kill[String(pid)], 'ok', `${vm.id} signalled host pid ${pid}`);
        assert.notEqual(p.ptrace[String(pid)], 'ok', `${vm.id} attached to host pid ${pid}`);
      }
    }
    for (const pid of hostPids) assert.ok(isAlive(pid), `host process ${pid} was killed`);
    assert.equal(victim.exitCode, null);
    // /proc inside has only the sandbox's own numbers.
    const procA2 = await sh(a2, 'ls /proc | grep -E "^[0-9]+$" | tr "\\n" " "');
    for (const pid of hostPids) assert.ok(!procA2.output.split(' ').includes(String(pid)), `host pid ${pid} is in A2's /proc`);
  });

  test("network: no sandbox reaches another sandbox's ports, the API, the gateway or any host service", async () => {
    const [na1, na2, nb1] = await Promise.all([netOf(a1), netOf(a2), netOf(b1)]);
    const apiPort = Number(new URL(d.apiUrl).port);
    const ports = [apiPort, d.gatewayPort, hostPort];
    await Promise.all(
      (
        [
          [b1, nb1, [na1, na2]],
          [a2, na2, [na1, nb1]],
        ] as const
      ).map(async ([vm, self, others]) => {
        const targets: Array<[string, number]> = [
          ['127.0.0.1', 8080],
          [self.address, 8080], // controls: its own app answers
          ...others.flatMap((o) => [[o.address, 8080], [o.address, 9000], ...ports.map((p) => [o.gateway, p])] as Array<[string, number]>),
          ...ports.map((p) => [self.gateway, p] as [string, number]),
          ...ports.map((p) => ['127.0.0.1', p] as [string, number]),
          ['169.254.169.254', 80],
        ];
        const r = await connectProbe(target(), vm.id, await tokenOf(vm), targets);
        assert.ok(
          open(r[`127.0.0.1:8080`] ?? { outcome: '' }) && open(r[`${self.address}:8080`] ?? { outcome: '' }),
          `control: ${vm.id} reaches its own app: ${JSON.stringify(r)}`,
        );
        const controls = new Set(['127.0.0.1:8080', `${self.address}:8080`]);
        const reached = Object.entries(r).filter(([k, v]) => open(v) && !controls.has(k));
        assert.deepEqual(reached, [], `${vm.id} reached what it must not`);
      }),
    );
    assert.deepEqual(hostHits, [], 'the host service saw a connection from a sandbox');
    // Control for the host service: it is reachable on the host side address from the host itself.
    await new Promise<void>((resolve, reject) =>
      net
        .connect(hostPort, na1.gateway, function (this: net.Socket) {
          this.destroy();
          resolve();
        })
        .on('error', reject),
    );
    hostHits.length = 0;
  });

  test('egress: an allowlisted address and port opens for that microVM only, and nothing else with it', async () => {
    await withTestHost(async (h) => {
      const e = await launch(A, { egressNetworkConnectors: [`allow:${h.address}/32:${h.ports[0]}`] });
      try {
        const [ne] = await Promise.all([netOf(e), netOf(a1)]);
        const [r, closed] = await Promise.all([
          connectProbe(target(), e.id, await tokenOf(e), [
            [h.address, h.ports[0]],
            [h.address, h.ports[1]],
            [(await netOf(a1)).address, 8080],
            [ne.gateway, hostPort],
          ]),
          connectProbe(target(), b1.id, await tokenOf(b1), [
            [h.address, h.ports[0]],
            [h.address, h.ports[1]],
          ]),
        ]);
        assert.equal(r[`${h.address}:${h.ports[0]}`]?.outcome, 'open', JSON.stringify(r));
        assert.equal(r[`${h.address}:${h.ports[0]}`]?.banner, 'test-host');
        for (const k of [`${h.address}:${h.ports[1]}`, `${(await netOf(a1)).address}:8080`, `${ne.gateway}:${hostPort}`]) {
          assert.notEqual(r[k]?.outcome, 'open', `the allowlisted microVM reached ${k}`);
        }
        for (const [k, v] of Object.entries(closed)) assert.notEqual(v.outcome, 'open', `B1 (no egress) reached ${k}`);
        assert.deepEqual(hostHits, []);
      } finally {
        await A.client.send(new TerminateMicrovmCommand({ microvmIdentifier: e.id }));
      }
    });
  });

  test("API: another tenant's valid keys find nothing of A's, by id or ARN, and change nothing", async () => {
    const ids = [a1.id, microvmArn(a1)];
    const notFound = async (what: string, p: Promise<unknown>) => {
      await assert.rejects(p, (e: Error) => {
        assert.ok(e instanceof ResourceNotFoundException, `${what}: expected not found, got ${e.name}: ${e.message}`);
        return true;
      });
    };
    for (const id of ids) {
      await notFound(`Get ${id}`, B.client.send(new GetMicrovmCommand({ microvmIdentifier: id })));
      await notFound(`Suspend ${id}`, B.client.send(new SuspendMicrovmCommand({ microvmIdentifier: id })));
      await notFound(`Resume ${id}`, B.client.send(new ResumeMicrovmCommand({ microvmIdentifier: id })));
      await notFound(`Terminate ${id}`, B.client.send(new TerminateMicrovmCommand({ microvmIdentifier: id })));
      await notFound(
        `AuthToken ${id}`,
        B.client.send(
          new CreateMicrovmAuthTokenCommand({ microvmIdentifier: id, expirationInMinutes: 5, allowedPorts: [{ allPorts: {} }] }),
        ),
      );
      await notFound(
        `ShellToken ${id}`,
        B.client.send(new CreateMicrovmShellAuthTokenCommand({ microvmIdentifier: id, expirationInMinutes: 5 })),
      );
    }
    await notFound('TagResource microVM', B.client.send(new TagResourceCommand({ Resource: microvmArn(a1), Tags: { owner: 'b' } })));
    await notFound('ListTags microVM', B.client.send(new ListTagsCommand({ Resource: microvmArn(a1) })));
    await notFound('TagResource image', B.client.send(new TagResourceCommand({ Resource: imageArn(A), Tags: { owner: 'b' } })));
    // A's image ARN names A's account: B's own image of the same name must not answer for it.
    await notFound('GetImage by ARN', B.client.send(new GetMicrovmImageCommand({ imageIdentifier: imageArn(A) })));
    await notFound(
      'GetImageVersion by ARN',
      B.client.send(new GetMicrovmImageVersionCommand({ imageIdentifier: imageArn(A), imageVersion: '1.0' })),
    );
    await notFound(
      'UpdateImageVersion by ARN',
      B.client.send(new UpdateMicrovmImageVersionCommand({ imageIdentifier: imageArn(A), imageVersion: '1.0', status: 'INACTIVE' })),
    );
    await notFound('DeleteImage by ARN', B.client.send(new DeleteMicrovmImageCommand({ imageIdentifier: imageArn(A) })));
    const listed = await B.client.send(new ListMicrovmsCommand({}));
    assert.deepEqual(
      (listed.items ?? []).filter((m) => m.state !== 'TERMINATED').map((m) => m.microvmId),
      [b1.id],
      'B lists only its own microVMs',
    );
    const imgs = await B.client.send(new ListMicrovmImagesCommand({}));
    for (const i of imgs.items ?? []) assert.ok(i.imageArn?.includes(`:${B.accountId}:`), `B lists ${i.imageArn}`);
    // Nothing of A's moved.
    assert.equal((await A.client.send(new GetMicrovmCommand({ microvmIdentifier: a1.id }))).state, 'RUNNING');
    assert.deepEqual((await A.client.send(new ListTagsCommand({ Resource: imageArn(A) }))).Tags ?? {}, {});
    assert.equal(
      (await A.client.send(new GetMicrovmImageVersionCommand({ imageIdentifier: IMAGE, imageVersion: '1.0' }))).status,
      'ACTIVE',
    );
  });

  test('endpoints: a token opens only the microVM it was minted for, and only as the kind it is', async () => {
    const ta1 = await endpointToken(A.client, a1.id);
    const tb1 = await endpointToken(B.client, b1.id);
    assert.equal((await viaGateway(d, a1.id, '/state', { token: ta1 })).status, 200, 'control');
    assert.equal((await viaGateway(d, b1.id, '/state', { token: ta1 })).status, 401, "A1's token on B1's endpoint");
    assert.equal((await viaGateway(d, a2.id, '/state', { token: ta1 })).status, 401, "A1's token on A2's endpoint");
    assert.equal((await viaGateway(d, a1.id, '/state', { token: tb1 })).status, 401, "B1's token on A1's endpoint");
    assert.equal((await viaGateway(d, a1.id, '/state', { token: await tokenOf(a1) })).status, 401, 'a shell token is no endpoint token');
    assert.equal(await wsStatus(a1.id, await tokenOf(a1)), 101, 'control: the shell token opens its shell');
    assert.equal(await wsStatus(b1.id, await tokenOf(a1)), 401, "A1's shell token on B1's shell");
    assert.equal(await wsStatus(a1.id, ta1), 401, 'an endpoint token opens no shell');
    // The same token, the same microVM, but a different Host: routing follows the Host only.
    assert.equal((await viaGateway(d, a1.id, '/state', { token: ta1, headers: { host: `${b1.id}.${d.config.domain}` } })).status, 401);
  });

  test("snapshots: one tenant's image never launches for another, by name or ARN", async () => {
    const countBefore = await d.store.countMicrovms({});
    await assert.rejects(B.client.send(new RunMicrovmCommand({ imageIdentifier: imageArn(A) })), ResourceNotFoundException);
    await assert.rejects(
      B.client.send(new RunMicrovmCommand({ imageIdentifier: imageArn(A), imageVersion: '1.0' })),
      ResourceNotFoundException,
    );
    assert.equal(await d.store.countMicrovms({}), countBefore, 'a refused launch stores nothing');
    // By bare name, B gets its own image, never A's.
    const own = await B.client.send(new RunMicrovmCommand({ imageIdentifier: IMAGE }));
    assert.ok(own.imageArn?.includes(`:${B.accountId}:`), `B launched ${own.imageArn}`);
    await B.client.send(new TerminateMicrovmCommand({ microvmIdentifier: own.microvmId }));
  });

  /** Status of a WebSocket upgrade to the microVM's /shell with the token as subprotocol. */
  function wsStatus(id: string, token: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${d.gatewayPort}/shell`, [`lambda-microvms.authentication.${token}`], {
        headers: { host: `${id}.${d.config.domain}:${d.gatewayPort}` },
      });
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('unexpected-response', (_req, res) => {
        res.resume();
        ws.terminate();
        resolve(res.statusCode ?? 0);
      });
      ws.on('error', (e) => reject(e));
    });
  }
});
