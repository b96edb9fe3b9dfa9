/**
 * Execution roles end to end (issue 16), with real parts: the daemon, runsc sandboxes, buildah,
 * the CLI, and the official client. An app inside a microVM fetches its session credentials and
 * secrets from 169.254.170.2; the official client on the host signs with those credentials.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  CreateMicrovmAuthTokenCommand,
  GetMicrovmCommand,
  LambdaMicrovmsClient,
  ListMicrovmsCommand,
  ResumeMicrovmCommand,
  RunMicrovmCommand,
  SuspendMicrovmCommand,
  TerminateMicrovmCommand,
} from '@aws-sdk/client-lambda-microvms';
import { createRole, listRoles, listSecrets, putSecret } from '../../src/client/roles.js';
import { fixtureArtifact, startTestDaemon, viaGateway, type TestDaemon } from '../support/daemon.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { CLI, cliEnv } from './support-cli.js';
import { createImage, endpointToken, waitForState, waitForVersion } from './support.js';

interface Creds {
  AccessKeyId: string;
  SecretAccessKey: string;
  Token: string;
  Expiration: string;
}

/** Runs the CLI with `stdin` as its standard input. */
function cubby(args: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    p.stdin.end(stdin);
  });
}

async function rejectsAs(p: Promise<unknown>, name: string, code?: string): Promise<void> {
  await assert.rejects(p, (e: { name?: string; cubbyCode?: string; message?: string }) => {
    assert.equal(e.name, name, e.message);
    if (code) assert.equal(e.cubbyCode, code, e.message);
    return true;
  });
}

describe('execution roles end to end', { timeout: 900_000 }, () => {
  let d: TestDaemon;
  let a: Awaited<ReturnType<TestDaemon['tenant']>>;
  let env: NodeJS.ProcessEnv;
  let tmp: string;
  let baseline: Set<string>;
  let appArn: string;
  let noneArn: string;
  let withRole: string;
  let without: string;
  const V1 = `db-v1-${randomBytes(12).toString('hex')}`;
  const V2 = `db-v2-${randomBytes(12).toString('hex')}`;
  const BUILD = `build-${randomBytes(12).toString('hex')}`;
  const clients: LambdaMicrovmsClient[] = [];

  /** What the app inside `id` got from its credentials endpoint (path /creds or /secret/<name>). */
  async function inside(id: string, p: string): Promise<{ status: number; body: string; uri?: string }> {
    const r = await viaGateway(d, id, p, { token: await endpointToken(a.client, id) });
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as { status: number; body: string; uri?: string };
  }
  async function credsOf(id: string): Promise<Creds> {
    const r = await inside(id, '/creds');
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as Creds;
  }
  function sessionClient(c: Creds): LambdaMicrovmsClient {
    const client = new LambdaMicrovmsClient({
      endpoint: d.apiUrl,
      region: 'local',
      maxAttempts: 1,
      credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.Token },
    });
    clients.push(client);
    return client;
  }

  before(async () => {
    baseline = await hostResources();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-e2e-roles-'));
    d = await startTestDaemon();
    a = await d.tenant('roles');
    env = cliEnv({ accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey, endpoint: d.apiUrl });
    for (const [name, value] of [
      ['db', `${V1}\n`],
      ['build-token', BUILD],
    ] as const) {
      const r = await cubby(['secret', 'set', name], env, value);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`secret ${name} version 1`));
    }
    const role = async (args: string[]) => {
      const r = await cubby(['role', 'create', ...args, '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { arn: string }).arn;
    };
    appArn = await role(['app', '--secrets', 'db', '--permissions', 'self']);
    assert.equal(appArn, `arn:aws:iam::${a.accountId}:role/app`);
    noneArn = await role(['plain']);
    const buildArn = await role(['build', '--secrets', 'build-token']);
    const listed = await cubby(['secret', 'list', '--json'], env);
    assert.ok(!listed.stdout.includes(V1) && !listed.stdout.includes(BUILD), 'secret list never shows values');

    await createImage(a.client, 'roles', await fixtureArtifact('roles', tmp), {
      buildRoleArn: buildArn,
      resources: [{ minimumMemoryInMiB: 512 }],
    });
    const v = await waitForVersion(a.client, 'roles', '1.0');
    assert.equal(v.state, 'SUCCESSFUL', v.stateReason);
  });

  after(async () => {
    for (const c of clients) c.destroy();
    await d?.destroy();
    await fs.rm(tmp, { recursive: true, force: true });
    await assertNoLeaks(baseline, [], 10_000);
  });

  test('bad input is refused with a clear error and changes nothing', async () => {
    const b = await d.tenant('other');
    const foreign = (await createRole({ name: 'app', permissions: ['self'] }, b.client)).arn;
    await rejectsAs(putSecret('db', 'x'.repeat(64 * 1024 + 1), a.client), 'ValidationException');
    await rejectsAs(createRole({ name: 'bad', secrets: ['db', 'missing'] }, a.client), 'ValidationException');
    for (const arn of [foreign, `arn:aws:iam::${a.accountId}:role/nope`]) {
      await rejectsAs(
        a.client.send(new RunMicrovmCommand({ imageIdentifier: 'roles', executionRoleArn: arn })),
        'ValidationException',
        'ROLE_UNKNOWN',
      );
    }
    assert.deepEqual(
      (await listSecrets(a.client)).map((s) => [s.name, s.version]),
      [
        ['db', 1],
        ['build-token', 1],
      ],
    );
    assert.deepEqual((await listRoles(a.client)).map((r) => r.name).sort(), ['app', 'build', 'plain']);
    assert.equal((await a.client.send(new ListMicrovmsCommand({}))).items?.length ?? 0, 0, 'no microVM was made');
  });

  test('a build reads its build secret in RUN steps; launches find the credentials endpoint', async () => {
    const [m1, m2] = await Promise.all([
      a.client.send(new RunMicrovmCommand({ imageIdentifier: 'roles', executionRoleArn: appArn })),
      a.client.send(new RunMicrovmCommand({ imageIdentifier: 'roles', executionRoleArn: noneArn })),
    ]);
    withRole = m1.microvmId ?? '';
    without = m2.microvmId ?? '';
    assert.equal(m1.executionRoleArn, appArn);
    const built = JSON.parse((await viaGateway(d, withRole, '/build-hash', { token: await endpointToken(a.client, withRole) })).body) as {
      hash: string;
    };
    assert.equal(built.hash, createHash('sha256').update(BUILD).digest('hex'), 'the RUN step read the build secret');
    const r = await inside(withRole, '/creds');
    assert.equal(r.uri, 'http://169.254.170.2/cubby/v1/credentials', 'the static URI baked into the image');
  });

  test('with its credentials the app reads its own microVM and mints its own token, and nothing else', async () => {
    const creds = await credsOf(withRole);
    assert.match(creds.AccessKeyId, /^ASIA/);
    const ttl = Date.parse(creds.Expiration) - Date.now();
    assert.ok(ttl > 60_000 && ttl <= 15 * 60_000 + 5_000, `short-lived: ${creds.Expiration}`);
    const own = sessionClient(creds);
    assert.equal((await own.send(new GetMicrovmCommand({ microvmIdentifier: withRole }))).state, 'RUNNING');
    const tok = await own.send(
      new CreateMicrovmAuthTokenCommand({ microvmIdentifier: withRole, expirationInMinutes: 5, allowedPorts: [{ port: 8080 }] }),
    );
    assert.equal((await viaGateway(d, withRole, '/', { token: tok.authToken?.['X-aws-proxy-auth'] ?? '' })).status, 200);
    // microVM A's credential for microVM B, or beyond the role.
    await rejectsAs(own.send(new GetMicrovmCommand({ microvmIdentifier: without })), 'AccessDeniedException', 'ROLE_ACCESS_DENIED');
    await rejectsAs(own.send(new TerminateMicrovmCommand({ microvmIdentifier: without })), 'AccessDeniedException');
    await rejectsAs(own.send(new ListMicrovmsCommand({})), 'AccessDeniedException');
    await rejectsAs(listSecrets(own), 'AccessDeniedException');
    assert.equal((await a.client.send(new GetMicrovmCommand({ microvmIdentifier: without }))).state, 'RUNNING');
    // A role without permissions: credentials, but no API access, not even to itself.
    const plain = sessionClient(await credsOf(without));
    await rejectsAs(plain.send(new GetMicrovmCommand({ microvmIdentifier: without })), 'AccessDeniedException');
    // Only the redirected address reaches the listener: straight at the host end of the veth, nothing answers.
    const port = (await fs.readFile(path.join(d.dataDir, 'credentials.port'), 'utf8')).trim();
    const direct = await inside(without, `/direct/${port}`);
    assert.equal(direct.status, 0, `the listener answered a direct connection: ${direct.body}`);
    // A forged token, and a replayed request.
    await rejectsAs(
      sessionClient({ ...creds, Token: creds.Token.slice(0, -4) + 'AAAA' }).send(new GetMicrovmCommand({ microvmIdentifier: withRole })),
      'UnrecognizedClientException',
    );
    const url = new URL(`/2025-09-09/microvms/${withRole}`, d.apiUrl);
    const signer = new SignatureV4({
      credentials: { accessKeyId: creds.AccessKeyId, secretAccessKey: creds.SecretAccessKey, sessionToken: creds.Token },
      region: 'local',
      service: 'lambda',
      sha256: Sha256,
    });
    const signed = await signer.sign({
      method: 'GET',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      headers: { host: url.host },
    });
    const send = () => fetch(url, { headers: signed.headers as Record<string, string> });
    assert.equal((await send()).status, 200);
    const again = await send();
    assert.equal(again.status, 403);
    assert.equal(again.headers.get('x-amzn-errortype'), 'InvalidSignatureException');
  });

  test('credentials die with suspend; a resume gets fresh ones', async () => {
    const old = sessionClient(await credsOf(withRole));
    await a.client.send(new SuspendMicrovmCommand({ microvmIdentifier: withRole }));
    await rejectsAs(old.send(new GetMicrovmCommand({ microvmIdentifier: withRole })), 'ExpiredTokenException', 'AUTH_SESSION_EXPIRED');
    await a.client.send(new ResumeMicrovmCommand({ microvmIdentifier: withRole }));
    await waitForState(a.client, withRole, ['RUNNING']);
    await rejectsAs(old.send(new GetMicrovmCommand({ microvmIdentifier: withRole })), 'ExpiredTokenException');
    const fresh = sessionClient(await credsOf(withRole));
    assert.equal((await fresh.send(new GetMicrovmCommand({ microvmIdentifier: withRole }))).state, 'RUNNING');
  });

  test('a secret reaches only microVMs whose role grants it; a rotation reaches a running microVM', async () => {
    assert.deepEqual(await inside(withRole, '/secret/db'), { status: 200, body: V1 });
    const denied = await inside(without, '/secret/db');
    assert.equal(denied.status, 403);
    assert.equal((JSON.parse(denied.body) as { code: string }).code, 'SECRET_NOT_GRANTED');
    assert.equal((await inside(withRole, '/secret/build-token')).status, 403, 'the app role does not grant the build secret');
    assert.equal((await putSecret('db', V2, a.client)).version, 2);
    assert.deepEqual(await inside(withRole, '/secret/db'), { status: 200, body: V2 });
  });

  test("a terminated microVM's credentials are refused at once (it may terminate itself)", async () => {
    const own = sessionClient(await credsOf(withRole));
    await own.send(new TerminateMicrovmCommand({ microvmIdentifier: withRole }));
    await rejectsAs(
      own.send(new GetMicrovmCommand({ microvmIdentifier: withRole })),
      'UnrecognizedClientException',
      'AUTH_SESSION_INVALID',
    );
  });

  test('a deleted role takes its credentials with it', async () => {
    const del = await cubby(['role', 'delete', 'plain'], env);
    assert.equal(del.code, 0, del.stderr);
    const gone = await inside(without, '/creds');
    assert.equal(gone.status, 403, gone.body);
    const shown = await cubby(['role', 'show', 'plain'], env);
    assert.match(shown.stderr, /ResourceNotFoundException: role plain not found/);
  });

  test('no secret value is on disk: image, snapshot, checkpoints, logs, store', async () => {
    // A checkpoint of a microVM that never read a secret, to search too.
    await a.client.send(new SuspendMicrovmCommand({ microvmIdentifier: without }));
    const hits = await new Promise<string>((resolve) => {
      execFile('grep', ['-rlaF', '-e', V1, '-e', V2, '-e', BUILD, d.dataDir], { maxBuffer: 1 << 20 }, (_e, out) => resolve(out));
    });
    assert.equal(hits.trim(), '', `secret values found in: ${hits}`);
    const left = (await fs.readdir('/dev/shm')).filter((f) => f.startsWith('cubby-build-secrets-'));
    assert.deepEqual(left, [], 'the build secrets mount is gone');
    await a.client.send(new TerminateMicrovmCommand({ microvmIdentifier: without }));
  });
});
