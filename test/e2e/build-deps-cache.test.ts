/**
 * Builds that install dependencies, against a real daemon with the official client: a RUN step
 * installs jq from Debian's mirror (the one registry this machine reaches) through the build's
 * own network and Cubby's resolver, and the app uses it; a code-only change rebuilds without
 * redoing that step (the layer cache), measurably faster; `cubbyBuildNoCache` redoes it; a
 * failing RUN fails the version naming the step, with the tail of its output.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { lookup } from 'node:dns/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  RunMicrovmCommand,
  TerminateMicrovmCommand,
  UpdateMicrovmImageCommand,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { withCubbyMembers } from '../../src/client/cubby-members.js';
import { DEFAULT_ADDRESS_POLICY } from '../../src/util/address-policy.js';
import { startTestDaemon, viaGateway, type TestDaemon } from '../support/daemon.js';
import { makeZip } from '../support/zip-writer.js';
import type { Tenant } from '../../src/core/model.js';
import { createImage, endpointToken, waitForState, waitForVersion } from './support.js';
import { CLI, cliEnv } from './support-cli.js';
import { spawn } from 'node:child_process';

const DOCKERFILE = [
  'FROM debian-12-python',
  'RUN apt-get update && apt-get install -y --no-install-recommends jq && rm -rf /var/lib/apt/lists/*',
  'WORKDIR /app',
  'COPY app.py /app/app.py',
  'CMD ["python3", "-u", "/app/app.py"]',
  '',
].join('\n');

const app = (version: string) => `import http.server, subprocess
VERSION = "${version}"
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        out = subprocess.run(["jq", "-cn", "--arg", "v", VERSION, '{sum: (1 + 2), v: $v}'], capture_output=True, text=True).stdout
        self.send_response(200); self.end_headers(); self.wfile.write(out.encode())
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
`;

/** The mirror's addresses this machine resolves to, where the default address policy refuses them (a local mirror). */
async function mirrorAllowance(): Promise<string> {
  const addrs = (await lookup('deb.debian.org', { all: true, family: 4 })).map((a) => a.address);
  return addrs
    .filter((a) => !DEFAULT_ADDRESS_POLICY.allows(a))
    .map((a) => `${a}/32`)
    .join(',');
}

describe('builds that install dependencies, with the layer cache', { timeout: 1_500_000 }, () => {
  let d: TestDaemon;
  let client: LambdaMicrovmsClient;
  let caller: { tenant: Tenant };
  let tmp: string;
  let env: NodeJS.ProcessEnv;

  const artifact = async (name: string, files: Record<string, string>): Promise<string> => {
    const f = path.join(tmp, `${name}.zip`);
    await fs.writeFile(f, makeZip(Object.entries(files).map(([n, data]) => ({ name: n, data }))));
    return `file://${f}`;
  };
  /** Builds a new version of `name` from `files` and waits for it: its state, log and wall time. */
  const update = async (name: string, files: Record<string, string>, members: Record<string, unknown> = {}) => {
    const started = Date.now();
    const r = await client.send(
      withCubbyMembers(
        new UpdateMicrovmImageCommand({
          imageIdentifier: name,
          baseImageArn: 'debian-12-python',
          buildRoleArn: 'arn:aws:iam::000000000000:role/build',
          resources: [{ minimumMemoryInMiB: 512 }],
          codeArtifact: { uri: await artifact(`${name}-${Date.now()}`, files) },
        }),
        members,
      ),
    );
    const v = await waitForVersion(client, name, r.imageVersion ?? '', 900_000);
    const log = await d.core.services.images.buildLog(caller, name, r.imageVersion ?? '');
    return { v, log, ms: Date.now() - started };
  };

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-build-deps-'));
    const allow = await mirrorAllowance();
    d = await startTestDaemon(allow ? { egressAllowPrivate: allow } : {});
    const t = await d.tenant('build-deps');
    client = t.client;
    caller = { tenant: t.tenant };
    env = cliEnv({ accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey, endpoint: d.apiUrl });
  });
  after(async () => {
    await d?.destroy();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  let coldMs = 0;
  let coldRunMs = 0;
  const stepMs = (log: string, re: RegExp): number => {
    // From the step's line to the next STEP line: how long the step took, by the log's timestamps.
    const lines = log.split('\n');
    const i = lines.findIndex((l) => re.test(l));
    const j = lines.findIndex((l, k) => k > i && / \[build\] STEP \d+\/\d+: /.test(l));
    const at = (l: string | undefined) => Date.parse(l?.split(' ')[0] ?? '');
    return i < 0 || j < 0 ? NaN : at(lines[j]) - at(lines[i]);
  };

  test('a RUN step installs jq from the Debian mirror, and the app uses it', async () => {
    const started = Date.now();
    await createImage(client, 'jq-app', await artifact('jq-1', { Dockerfile: DOCKERFILE, 'app.py': app('one') }), {
      resources: [{ minimumMemoryInMiB: 512 }],
    });
    const v = await waitForVersion(client, 'jq-app', '1.0', 900_000);
    coldMs = Date.now() - started;
    const log = await d.core.services.images.buildLog(caller, 'jq-app', '1.0');
    assert.equal(v.state, 'SUCCESSFUL', `${v.stateReason}\n${log.slice(-3000)}`);
    assert.match(log, /RUN steps reach the network \(internet\)/);
    assert.match(log, /Setting up jq/);
    assert.match(log, /layer cache: 1 step\(s\) cached/);
    coldRunMs = stepMs(log, /STEP 2\/5: RUN apt-get/);
    const vm = await client.send(new RunMicrovmCommand({ imageIdentifier: 'jq-app' }));
    const id = vm.microvmId as string;
    try {
      await waitForState(client, id, ['RUNNING'], 60_000);
      const r = await viaGateway(d, id, '/', { token: await endpointToken(client, id) });
      assert.equal(r.status, 200, r.body);
      assert.deepEqual(JSON.parse(r.body), { sum: 3, v: 'one' });
    } finally {
      await client.send(new TerminateMicrovmCommand({ microvmIdentifier: id })).catch(() => undefined);
    }
  });

  test('after a code-only change the rebuild reuses the dependency step, is faster, and the CLI prints its steps as they run', async () => {
    assert.ok(coldMs > 0, 'the cold build ran');
    const dir = path.join(tmp, 'jq-two');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'Dockerfile'), DOCKERFILE);
    await fs.writeFile(path.join(dir, 'app.py'), app('two'));
    // `cubby image update` waits for the build and prints its log (stderr) line by line as it grows.
    const started = Date.now();
    const child = spawn(process.execPath, [CLI, 'image', 'update', 'jq-app', '--from', dir, '--memory', '512', '--timeout', '900'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: { at: number; line: string }[] = [];
    let partial = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      const parts = (partial + d).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) lines.push({ at: Date.now(), line });
    });
    const code = await new Promise<number | null>((r) => child.on('close', r));
    const ms = Date.now() - started;
    const exitedAt = Date.now();
    const v = await waitForVersion(client, 'jq-app', '1.1', 60_000);
    const log = await d.core.services.images.buildLog(caller, 'jq-app', '1.1');
    assert.equal(
      code,
      0,
      lines
        .map((l) => l.line)
        .join('\n')
        .slice(-3000),
    );
    assert.equal(v.state, 'SUCCESSFUL', `${v.stateReason}\n${log.slice(-3000)}`);
    const printed = lines.find((l) => /^\[build\] STEP 4\/5: COPY app\.py/.test(l.line));
    assert.ok(
      printed,
      `the CLI printed the steps:\n${lines
        .map((l) => l.line)
        .join('\n')
        .slice(-3000)}`,
    );
    assert.ok(lines.some((l) => /^\[build\] STEP 2\/5: RUN apt-get .*\(cached\)$/.test(l.line)));
    assert.ok(exitedAt - printed.at >= 1000, 'the step was printed while the build went on, not at the end');
    assert.match(log, /STEP 2\/5: RUN apt-get update .* \(cached\)/);
    assert.doesNotMatch(log, /Setting up jq/, 'apt-get did not run again');
    assert.match(log, /STEP 4\/5: COPY app\.py/, 'the changed step was built');
    console.error(`cold build ${coldMs} ms (its RUN step ${coldRunMs} ms), rebuild after a code-only change ${ms} ms`);
    assert.ok(ms < coldMs, `the rebuild (${ms} ms) is faster than the cold build (${coldMs} ms)`);
  });

  test('cubbyBuildNoCache runs every step again', async () => {
    const { v, log } = await update('jq-app', { Dockerfile: DOCKERFILE, 'app.py': app('three') }, { cubbyBuildNoCache: true });
    assert.equal(v.state, 'SUCCESSFUL', `${v.stateReason}\n${log.slice(-3000)}`);
    assert.match(log, /layer cache: not used \(--no-cache\)/);
    assert.doesNotMatch(log, /\(cached\)/);
    assert.match(log, /Setting up jq/);
  });

  test('a failing RUN fails the version naming the step, with the tail of its output', async () => {
    const dockerfile = 'FROM debian-12-python\nRUN echo first-line && seq 1 40 && echo last-words >&2 && exit 4\nCMD ["true"]\n';
    await createImage(client, 'broken', await artifact('broken', { Dockerfile: dockerfile }));
    const v = await waitForVersion(client, 'broken', '1.0', 600_000);
    assert.equal(v.state, 'FAILED');
    const reason = v.stateReason ?? '';
    assert.match(reason, /^image build failed at STEP 2\/3: RUN echo first-line .* \(Dockerfile line 2\) \(exit status 4\)/);
    assert.match(reason, /last-words/);
    assert.match(reason, /\n40\n/);
    assert.doesNotMatch(reason, /first-line\n/, 'only the tail of a long output');
  });
});
