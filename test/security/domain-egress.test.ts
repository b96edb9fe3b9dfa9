/**
 * Domain egress through Cubby's resolver, against a real daemon and real runsc: a microVM whose
 * only connectors are a domain rule (plus, as bait, an allow rule for a rogue resolver's port 53)
 * resolves only that name, reaches only the answered address on the allowed port, cannot use any
 * other DNS server, and its egress audit (API extension) shows the allowed and the refused
 * attempts. The daemon forwards to a test upstream on 127.0.0.1 (--dns-upstream); the "outside"
 * host is a namespace this file creates in 198.51.100.0/24, which this operator allows, so no
 * packet leaves the machine.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LambdaMicrovmsClient, RunMicrovmCommand, TerminateMicrovmCommand } from '@aws-sdk/client-lambda-microvms';
import { cubbyExtension } from '../../src/client/extension.js';
import type { EgressAudit } from '../../src/core/ports/network.js';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { startDnsUpstream, type DnsUpstream } from '../support/dns-upstream.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { shellExec, shellToken } from '../support/sandbox-shell.js';
import { COUNTER_LIFECYCLE_HOOKS, buildCounterImage, waitForState } from '../e2e/support.js';
import { type PeerNetns, type Stoppable, createPeerNetns, randomPort, startListener } from '../network/linux/helpers/fixtures.js';

/** Run in the microVM: resolves names, then tries connections; prints one JSON line. */
const PROBE = (host: string, ports: number[]) => `
import json, socket
out = {"resolv": open("/etc/resolv.conf").read()}
for name in ["api.allowed.test", "other.test"]:
    try:
        out[name] = socket.gethostbyname(name)
    except Exception as e:
        out[name] = "error"
for port in ${JSON.stringify(ports)}:
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("${host}", port))
        out[str(port)] = "open" if b"cubby-listener" in s.recv(100) else "no-banner"
    except Exception as e:
        out[str(port)] = type(e).__name__
    s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(1)
u.sendto(bytes([18, 52, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5]) + b"other" + bytes([4]) + b"test" + bytes([0, 0, 1, 0, 1]), ("${host}", 53))
try:
    u.recv(512)
    out["udp53"] = "answered"
except Exception as e:
    out["udp53"] = type(e).__name__
print("RESULT " + json.dumps(out))
`;

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** `cubby <args>` against the daemon with the tenant's keys; resolves with its stdout. */
function cli(d: TestDaemon, keys: { accessKeyId: string; secretAccessKey: string }, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const env = {
      ...process.env,
      AWS_ENDPOINT_URL: d.apiUrl,
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: keys.accessKeyId,
      AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    };
    const child = spawn(process.execPath, [CLI, ...args], { env });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`cubby ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

describe('domain egress through Cubby resolver', { timeout: 900_000 }, () => {
  let d: TestDaemon;
  let client: LambdaMicrovmsClient;
  let keys: { accessKeyId: string; secretAccessKey: string };
  let tmp: string;
  let baseline: Set<string>;
  let upstream: DnsUpstream;
  let pub: PeerNetns;
  let listener: Stoppable | undefined;
  const portA = randomPort();
  const portB = portA + 1;

  before(async () => {
    baseline = await hostResources();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-domain-egress-'));
    pub = await createPeerNetns(`198.51.100.${4 * randomInt(0, 64)}`);
    listener = await startListener(pub.name, pub.peerAddress, [portA, portB, 53]);
    upstream = await startDnsUpstream({ 'api.allowed.test': [pub.peerAddress], 'other.test': [pub.peerAddress] });
    d = await startTestDaemon({ egressAllowPrivate: '198.51.100.0/24', dnsUpstream: `${upstream.host}:${upstream.port}` });
    const t = await d.tenant('domain-egress');
    client = t.client;
    keys = { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey };
    await buildCounterImage(client, tmp, { name: 'dns', hooks: COUNTER_LIFECYCLE_HOOKS });
  });
  after(async () => {
    await d?.destroy();
    await listener?.stop();
    await upstream?.close();
    await pub?.remove();
    await fs.rm(tmp, { recursive: true, force: true });
    await assertNoLeaks(baseline, [], 10_000);
  });

  test('reaches only the allowed name, no other resolver; the audit shows what was allowed and refused', async () => {
    const run = await client.send(
      new RunMicrovmCommand({
        imageIdentifier: 'dns',
        egressNetworkConnectors: [`allow:domain:*.allowed.test:${portA}`, `allow:${pub.peerAddress}:53`],
      }),
    );
    const id = run.microvmId ?? '';
    try {
      await waitForState(client, id, ['RUNNING'], 120_000);
      const target = { gatewayPort: d.gatewayPort, domain: 'microvm.localhost' };
      const shell = await shellExec(
        target,
        id,
        await shellToken(client, id),
        `python3 -c '${PROBE(pub.peerAddress, [portA, portB, 53])}'`,
        60_000,
      );
      const line = /RESULT (.*)/.exec(shell.output)?.[1];
      assert.ok(line, shell.output);
      const out = JSON.parse(line) as Record<string, string>;
      assert.match(out.resolv ?? '', /^nameserver 169\.254\.169\.253$/m);
      assert.equal(out['api.allowed.test'], pub.peerAddress);
      assert.equal(out['other.test'], 'error', 'a name outside the rule does not resolve');
      assert.equal(out[String(portA)], 'open', 'the answered address on the allowed port');
      assert.notEqual(out[String(portB)], 'open', 'another port of the same address');
      assert.notEqual(out['53'], 'open', 'DNS to another server, even one an allow rule names');
      assert.ok(!upstream.asked.some((q) => q.endsWith(':other.test')), `other.test never forwarded: ${upstream.asked.join(', ')}`);

      const audit = JSON.parse(await cubbyExtension('GET', `/cubby/v1/microvms/${id}/egress-audit`, client)) as EgressAudit & {
        microvmId: string;
      };
      assert.equal(audit.microvmId, id);
      const q = (name: string) => audit.dns.questions.find((x) => x.name === name && x.type === 'A');
      assert.equal(q('api.allowed.test')?.verdict, 'allowed', JSON.stringify(audit.dns));
      assert.deepEqual(q('api.allowed.test')?.opened, [pub.peerAddress]);
      assert.equal(q('other.test')?.verdict, 'refused', JSON.stringify(audit.dns));
      const has = (list: EgressAudit['connections']['allowed'], port: number, protocol = 'tcp') =>
        list.some((c) => c.address === pub.peerAddress && c.port === port && c.protocol === protocol && c.count >= 1);
      assert.ok(has(audit.connections.allowed, portA), JSON.stringify(audit.connections));
      assert.ok(has(audit.connections.denied, portB), JSON.stringify(audit.connections));
      assert.ok(has(audit.connections.denied, 53), JSON.stringify(audit.connections));
      assert.ok(has(audit.connections.denied, 53, 'udp'), 'a query sent straight to another server was dropped on the host');
      assert.equal(out.udp53, 'TimeoutError', 'no answer');
      assert.ok(!has(audit.connections.allowed, 53));

      const text = await cli(d, keys, ['egress-audit', id]);
      assert.match(text, /^DNS: \d+ questions, \d+ allowed, 1 refused/m, text);
      assert.match(text, /^other\.test +A +refused /m, text);
      assert.match(text, new RegExp(`^${pub.peerAddress.replaceAll('.', '\\.')} +tcp +${portB} +\\d+$`, 'm'), text);

      // A restarted daemon serves the running microVM's DNS again, under the same rules.
      d = await d.restart();
      client = new LambdaMicrovmsClient({ endpoint: d.apiUrl, region: 'local', maxAttempts: 1, credentials: keys });
      const again = await shellExec(
        { gatewayPort: d.gatewayPort, domain: 'microvm.localhost' },
        id,
        await shellToken(client, id),
        `python3 -c '${PROBE(pub.peerAddress, [portA])}'`,
        60_000,
      );
      const after = JSON.parse(/RESULT (.*)/.exec(again.output)?.[1] ?? '{}') as Record<string, string>;
      assert.equal(after['api.allowed.test'], pub.peerAddress, again.output);
      assert.equal(after['other.test'], 'error');
      assert.equal(after[String(portA)], 'open');
    } finally {
      await client.send(new TerminateMicrovmCommand({ microvmIdentifier: id }));
      await waitForState(client, id, ['TERMINATED'], 60_000).catch(() => undefined);
    }
  });
});
