/**
 * A build's RUN steps have network (the default `internet` build policy) and still never reach
 * the host, another sandbox or a private address, against a real daemon: one RUN step resolves a
 * name through Cubby's resolver (it has network) and tries a listener on the host (through its
 * default gateway, the host's side of the build's veth), one in another sandbox network of the
 * same driver, and one on a private address (a test host in TEST-NET-3, which this operator has
 * not allowed). Each listener answers the host (controls) and counts what reaches it: nothing.
 * With `cubbyBuildNetwork: none` a RUN step has no network at all.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LambdaMicrovmsClient } from '@aws-sdk/client-lambda-microvms';
import { withCubbyMembers } from '../../src/client/cubby-members.js';
import { CreateMicrovmImageCommand } from '@aws-sdk/client-lambda-microvms';
import { LinuxNetwork } from '../../src/network/linux/driver.js';
import type { SandboxNetwork } from '../../src/core/ports/network.js';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { withTestHost } from '../support/test-host.js';
import { makeZip } from '../support/zip-writer.js';
import { waitForVersion } from '../e2e/support.js';
import { reachableFromHost } from '../../src/validate/host-fixtures.js';

const PROBE = `import socket, sys, os
os.makedirs("/probe", exist_ok=True)
def attempt(name, host, port):
    try:
        socket.create_connection((host, int(port)), timeout=4).close(); r = "connected"
    except Exception as e:
        r = "refused: " + type(e).__name__
    open("/probe/" + name, "w").write(r)
try:
    open("/probe/dns", "w").write("resolved " + socket.gethostbyname(sys.argv[1]))
except Exception as e:
    open("/probe/dns", "w").write("failed: " + type(e).__name__)
gw = [l.split() for l in open("/proc/net/route").read().splitlines()[1:] if l.split()[1] == "00000000"]
host = socket.inet_ntoa(bytes.fromhex(gw[0][2])[::-1]) if gw else "none"
open("/probe/gateway", "w").write(host)
for i in range(2, len(sys.argv), 3):
    attempt(sys.argv[i], host if sys.argv[i + 1] == "GATEWAY" else sys.argv[i + 1], sys.argv[i + 2])
`;

/** A TCP listener that counts connections. */
async function counter(host: string): Promise<{ port: number; count: () => number; close: () => Promise<void> }> {
  let n = 0;
  const srv = net.createServer((s) => {
    n++;
    s.on('error', () => undefined);
    s.end('hello');
  });
  await new Promise<void>((r) => srv.listen(0, host, r));
  return { port: (srv.address() as net.AddressInfo).port, count: () => n, close: () => new Promise((r) => srv.close(() => r())) };
}

describe('build network: RUN steps reach the internet, never the host, other sandboxes or private addresses', { timeout: 900_000 }, () => {
  let d: TestDaemon;
  let client: LambdaMicrovmsClient;
  let tenantId: string;
  let tmp: string;
  const driver = new LinuxNetwork();
  let other: SandboxNetwork | undefined;

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-build-net-'));
    d = await startTestDaemon();
    const t = await d.tenant('build-net');
    client = t.client;
    tenantId = t.tenantId;
  });
  after(async () => {
    if (other) await driver.release(other).catch(() => undefined);
    await d?.destroy();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  const build = async (name: string, dockerfile: string, files: Record<string, string>, members: Record<string, unknown> = {}) => {
    const f = path.join(tmp, `${name}.zip`);
    await fs.writeFile(
      f,
      makeZip([{ name: 'Dockerfile', data: dockerfile }, ...Object.entries(files).map(([n, data]) => ({ name: n, data }))]),
    );
    await client.send(
      withCubbyMembers(
        new CreateMicrovmImageCommand({
          name,
          baseImageArn: 'debian-12-python',
          buildRoleArn: 'arn:aws:iam::000000000000:role/build',
          codeArtifact: { uri: `file://${f}` },
        }),
        members,
      ),
    );
    const v = await waitForVersion(client, name, '1.0', 600_000);
    assert.equal(v.state, 'SUCCESSFUL', v.stateReason);
    const img = await d.store.getImageByName(tenantId, name);
    const rootfs = (await d.store.getVersion(tenantId, img?.id ?? '', '1.0'))?.rootfsPath ?? '';
    const read = (p: string) => fs.readFile(path.join(rootfs, 'probe', p), 'utf8');
    return read;
  };

  test('the host, another sandbox and a private address are refused; DNS works', async () => {
    // The host: a listener on every host address.
    const host = await counter('0.0.0.0');
    // Another sandbox: a listener inside another network of the same driver's pool.
    other = await driver.allocate(`test-build-net-${process.pid}`, { mode: 'closed' });
    const sbxPort = 18_555;
    const sbxServer = spawn(
      'ip',
      [
        'netns',
        'exec',
        other.netnsName,
        'python3',
        '-c',
        `import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', ${sbxPort})); s.listen(8)\nwhile True:\n  c,_=s.accept(); print('accepted', flush=True); c.close()`,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let sbxAccepted = 0;
    sbxServer.stdout.on('data', (b: Buffer) => (sbxAccepted += b.toString().split('accepted').length - 1));
    try {
      let up = false;
      for (let i = 0; i < 100 && !up; i++) {
        up = await reachableFromHost(other.sandboxAddress, sbxPort);
        if (!up) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(up, 'control: the other sandbox listener answers the host');
      assert.ok(await reachableFromHost('127.0.0.1', host.port), 'control: the host listener answers');
      await new Promise((r) => setTimeout(r, 300));
      const sbxBefore = sbxAccepted;
      const hostBefore = host.count();

      await withTestHost(async (priv) => {
        const args = [
          'deb.debian.org',
          'host',
          'GATEWAY',
          host.port,
          'sandbox',
          other?.sandboxAddress,
          sbxPort,
          'private',
          priv.address,
          priv.ports[0],
        ];
        const read = await build(
          'probe',
          `FROM debian-12-python\nCOPY probe.py /probe.py\nRUN python3 /probe.py ${args.join(' ')}\nCMD ["python3", "-m", "http.server", "8080"]\n`,
          { 'probe.py': PROBE },
        );
        const report = {
          dns: await read('dns'),
          gateway: await read('gateway'),
          host: await read('host'),
          sandbox: await read('sandbox'),
          private: await read('private'),
        };
        console.error(`build network probe: ${JSON.stringify(report)}`);
        assert.match(report.dns, /^resolved \d+\.\d+\.\d+\.\d+$/, 'the step has network and resolves names through Cubby');
        assert.match(report.gateway, /^\d+\.\d+\.\d+\.\d+$/, 'the step has a default route');
        assert.match(report.host, /^refused/);
        assert.match(report.sandbox, /^refused/);
        assert.match(report.private, /^refused/);
      });
      assert.equal(host.count(), hostBefore, 'nothing reached the host listener');
      assert.equal(sbxAccepted, sbxBefore, 'nothing reached the other sandbox');
    } finally {
      sbxServer.kill('SIGKILL');
      await host.close();
    }
  });

  test('cubbyBuildNetwork none: a RUN step has no network at all', async () => {
    const read = await build(
      'offline',
      'FROM debian-12-python\nCOPY probe.py /probe.py\nRUN python3 /probe.py deb.debian.org\nCMD ["python3", "-m", "http.server", "8080"]\n',
      { 'probe.py': PROBE },
      { cubbyBuildNetwork: 'none' },
    );
    assert.match(await read('dns'), /^failed/);
    assert.equal(await read('gateway'), 'none');
  });
});
