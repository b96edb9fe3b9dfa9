/**
 * The real `cubby` CLI, as separate processes, against a real daemon: operator commands on its
 * data directory while it runs (tenants, keys), then everything else through the API with the
 * standard AWS variables: build an image from a directory (uploaded), run, reach, suspend,
 * resume, read logs, open a shell in a pseudo-terminal, terminate. `--json` output must parse;
 * failures must be one clear line and exit code 1.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestDaemon, viaGateway, type TestDaemon } from '../support/daemon.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { cli, cliEnv, cliInPty, cliJson } from './support-cli.js';

const COUNTER_DIR = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../test/fixtures/apps/counter');

type Json = Record<string, unknown>;

/** One line on stderr, starting `cubby: `. */
function oneLineError(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected on stderr, got: ${stderr}`);
  assert.match(lines[0] ?? '', /^cubby: \S/);
  return lines[0] ?? '';
}

describe('the cubby CLI against a real daemon', { timeout: 600_000 }, () => {
  let d: TestDaemon;
  let baseline: Set<string>;
  let env: NodeJS.ProcessEnv;
  let tenantName: string;
  let id = '';
  const dataDir = () => ['--data-dir', d.dataDir];

  before(async () => {
    baseline = await hostResources();
    d = await startTestDaemon();
    tenantName = `cli-${randomBytes(3).toString('hex')}`;
    const t = await cliJson(['tenant', 'create', tenantName, ...dataDir()], process.env);
    assert.match(String(t.accountId), /^\d{12}$/);
    assert.match(String(t.accessKeyId), /^CBK[A-Z0-9]{17}$/);
    assert.equal(typeof t.secretAccessKey, 'string');
    env = cliEnv({ accessKeyId: String(t.accessKeyId), secretAccessKey: String(t.secretAccessKey), endpoint: d.apiUrl });
  });

  after(async () => {
    if (id) await cli(['terminate', id], env);
    await cli(['image', 'delete', 'demo'], env);
    await d?.destroy();
    await assertNoLeaks(baseline, [], 10_000);
  });

  test('tenants and keys: list, a second key, revocation takes effect at once', async () => {
    const tenants = await cliJson<Json[]>(['tenant', 'list', ...dataDir()], process.env);
    assert.ok(
      tenants.some((t) => t.name === tenantName),
      JSON.stringify(tenants),
    );
    const text = await cli(['tenant', 'list', ...dataDir()], process.env);
    assert.match(text.stdout, new RegExp(`^NAME\\s+ACCOUNTID.*\\n(.*\\n)*${tenantName}\\s`, 'm'), 'a table for people');

    const k = await cliJson(['key', 'create', tenantName, ...dataDir()], process.env);
    const keyEnv = cliEnv({ accessKeyId: String(k.accessKeyId), secretAccessKey: String(k.secretAccessKey), endpoint: d.apiUrl });
    assert.deepEqual(await cliJson(['list'], keyEnv), [], 'the new key works');
    const keys = await cliJson<Json[]>(['key', 'list', tenantName, ...dataDir()], process.env);
    assert.equal(keys.length, 2);
    assert.ok(
      keys.every((x) => x.status === 'ACTIVE' && !('secretAccessKey' in x)),
      JSON.stringify(keys),
    );
    const revoked = await cliJson(['key', 'revoke', String(k.accessKeyId), ...dataDir()], process.env);
    assert.equal(revoked.status, 'REVOKED');
    const refused = await cli(['list'], keyEnv);
    assert.equal(refused.code, 1);
    assert.match(oneLineError(refused.stderr), /UnrecognizedClientException|security token/);
    assert.deepEqual(await cliJson(['list'], env), [], 'the first key still works');
  });

  test('image create --from DIR uploads, builds and waits; list, show, versions, builds, logs', async () => {
    const created = await cliJson(
      ['image', 'create', 'demo', '--from', COUNTER_DIR, '--hooks', 'ready,run,resume,suspend', '--memory', '512'],
      env,
    );
    assert.equal(created.name, 'demo');
    assert.equal(created.imageVersion, '1.0');
    assert.equal(created.state, 'SUCCESSFUL');
    const list = await cliJson<Json[]>(['image', 'list'], env);
    assert.deepEqual(
      list.map((i) => [i.name, i.latest]),
      [['demo', '1.0']],
    );
    const show = await cliJson(['image', 'show', 'demo'], env);
    assert.equal(show.name, 'demo');
    assert.equal(show.latestActiveImageVersion, '1.0');
    const versions = await cliJson<Json[]>(['image', 'versions', 'demo'], env);
    assert.deepEqual(
      versions.map((v) => [v.version, v.state, v.status]),
      [['1.0', 'SUCCESSFUL', 'ACTIVE']],
    );
    assert.match(String((await cliJson(['image', 'show', 'demo'], env)).imageArn), /:microvm-image:demo$/);
    const builds = await cliJson<Json[]>(['image', 'builds', 'demo', '1.0'], env);
    assert.equal(builds.length, 1);
    assert.ok(builds[0]?.buildId);
    const log = await cli(['image', 'logs', 'demo'], env);
    assert.equal(log.code, 0, log.stderr);
    assert.match(log.stdout, /cubby-artifact:\/\//, 'the code came through the upload extension');
    assert.match(log.stdout, /app\.py|COPY/);
  });

  test('run, list, show, curl, token, suspend, resume, logs, shell, terminate', async () => {
    const m = await cliJson(['run', 'demo'], env);
    id = String(m.microvmId);
    assert.equal(m.state, 'RUNNING');
    assert.equal(m.imageVersion, '1.0');
    const listed = await cliJson<Json[]>(['list'], env);
    assert.deepEqual(
      listed.map((x) => [x.microvmId, x.state, x.image]),
      [[id, 'RUNNING', 'demo']],
    );
    const text = await cli(['list'], env);
    assert.match(text.stdout, new RegExp(`^${id}\\s+RUNNING\\s+demo`, 'm'));
    assert.equal((await cliJson(['show', id], env)).state, 'RUNNING');

    const curl = await cli(['curl', id, '/'], env);
    assert.equal(curl.code, 0, curl.stderr);
    assert.deepEqual(JSON.parse(curl.stdout), { count: 1 });
    const tok = await cli(['token', id, '--ports', '8080', '--minutes', '5'], env);
    assert.equal(tok.code, 0, tok.stderr);
    const token = tok.stdout.trim();
    assert.deepEqual(JSON.parse((await viaGateway(d, id, '/', { token })).body), { count: 2 }, 'the printed token opens the endpoint');
    const tokJson = await cliJson(['token', id, '--ports', '9000', '--minutes', '1'], env);
    assert.equal(tokJson.header, 'X-aws-proxy-auth');
    assert.equal((await viaGateway(d, id, '/', { token: String(tokJson.token) })).status, 403, 'a token for port 9000 only');

    assert.equal((await cliJson(['suspend', id], env)).state, 'SUSPENDED');
    assert.equal((await cliJson(['resume', id], env)).state, 'RUNNING');
    assert.deepEqual(JSON.parse((await cli(['curl', id, '/'], env)).stdout), { count: 3 }, 'the counter continues after suspend/resume');
    const missing = await cli(['curl', id, '/nope'], env);
    assert.notEqual(missing.code, 0, 'an HTTP error status is a failing exit');

    const shell = cliInPty(['shell', id], env);
    try {
      await shell.waitFor(/[#$] $/);
      shell.type('echo hi-from-shell\r');
      // The local terminal turns the remote \r\n into \r\r\n (node keeps ONLCR in raw mode).
      await shell.waitFor(/[\r\n]hi-from-shell\r+\n/);
      // The app is the sandbox's first process: this goes to its stdout, which `cubby logs` shows.
      shell.type('echo "hi-in-the-logs-$((2*3))" >/proc/1/fd/1\r');
      shell.type('exit\r');
      assert.equal(await shell.exit, 0, shell.output());
    } finally {
      shell.kill();
    }
    const logs = await cli(['logs', id], env);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /hi-in-the-logs-6/);

    const gone = await cliJson(['terminate', id], env);
    assert.ok(['TERMINATING', 'TERMINATED'].includes(String(gone.state)), String(gone.state));
    id = '';
  });

  test("`cubby logs` shows the app's startup line", async () => {
    const m = await cliJson(['run', 'demo'], env);
    try {
      assert.match((await cli(['logs', String(m.microvmId)], env)).stdout, /counter app serving on 8080/);
    } finally {
      await cli(['terminate', String(m.microvmId)], env);
    }
  });

  test('failures are one clear line and exit code 1', async () => {
    // Independent invocations (nothing they do changes the daemon): run side by side.
    const [badKey, unknownKey, notFound, noLog, down, badUpload] = await Promise.all([
      cli(['image', 'list'], { ...env, AWS_SECRET_ACCESS_KEY: 'wrong-secret' }),
      cli(['list'], { ...env, AWS_ACCESS_KEY_ID: 'CBKAAAAAAAAAAAAAAAAA' }),
      cli(['show', 'mvm-does-not-exist'], env),
      cli(['image', 'logs', 'no-such-image', '1.0'], env),
      cli(['list'], { ...env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' }),
      cli(['image', 'create', 'nodockerfile', '--from', path.dirname(COUNTER_DIR)], env),
    ]);
    assert.equal(badKey.code, 1);
    assert.match(oneLineError(badKey.stderr), /InvalidSignatureException|signature/i);
    assert.equal(badKey.stdout, '');
    assert.equal(unknownKey.code, 1);
    assert.match(oneLineError(unknownKey.stderr), /UnrecognizedClientException/);
    assert.equal(notFound.code, 1);
    assert.match(oneLineError(notFound.stderr), /ResourceNotFoundException/);
    assert.equal(noLog.code, 1);
    assert.match(oneLineError(noLog.stderr), /ResourceNotFoundException/);
    assert.equal(down.code, 1);
    assert.match(oneLineError(down.stderr), /not reachable|ECONNREFUSED/);
    assert.equal(badUpload.code, 1);
    assert.match(oneLineError(badUpload.stderr), /Dockerfile/);
  });
});
