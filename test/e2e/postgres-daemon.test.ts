/**
 * The daemon on the PostgreSQL store, end to end: the same official client, a real build, a
 * microVM whose memory survives suspend, resume and a daemon restart (re-adopted from the rows
 * PostgreSQL kept), and the operator CLI reading the same database while the daemon runs. The
 * store's own semantics are the contract test's (test/store/postgres.test.ts); this is the wiring.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  LambdaMicrovmsClient,
  RunMicrovmCommand,
  SuspendMicrovmCommand,
  ResumeMicrovmCommand,
  TerminateMicrovmCommand,
} from '@aws-sdk/client-lambda-microvms';
import { startTestDaemon, viaGateway, type TestDaemon } from '../support/daemon.js';
import { assertNoLeaks, hostResources } from '../support/leaks.js';
import { startPostgres, type PostgresServer } from '../store/fixtures/postgres-server.js';
import { runCommand } from '../../src/util/command.js';
import { buildCounterImage, COUNTER_LIFECYCLE_HOOKS, endpointToken, waitForState } from './support.js';

const CLI = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../src/cli/main.js');

describe('the daemon on a PostgreSQL store', { timeout: 300_000 }, () => {
  let pg: PostgresServer;
  let url: string;
  let d: TestDaemon;
  let tmp: string;
  let baseline: Set<string>;

  before(async () => {
    baseline = await hostResources();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-e2e-pg-'));
    pg = await startPostgres();
    const db = `cubby_${randomBytes(5).toString('hex')}`;
    await pg.admin(`CREATE DATABASE ${db}`);
    url = pg.url(db);
    d = await startTestDaemon({ store: url });
  });
  after(async () => {
    await d?.destroy();
    await pg?.stop();
    await fs.rm(tmp, { recursive: true, force: true });
    await assertNoLeaks(baseline, [], 10_000);
  });

  test('build, run, suspend, resume, restart, terminate; the operator CLI sees the same tenants', async () => {
    const t = await d.tenant('pg');
    // The client follows the daemon across the restart (it comes back on another port).
    let client = t.client;
    await fs.access(path.join(d.dataDir, 'cubby.db')).then(
      () => assert.fail('an SQLite file was made beside a PostgreSQL store'),
      () => undefined,
    );
    await buildCounterImage(client, tmp, { hooks: COUNTER_LIFECYCLE_HOOKS });
    const id = (await client.send(new RunMicrovmCommand({ imageIdentifier: 'counter' }))).microvmId ?? '';
    await waitForState(client, id, ['RUNNING']);
    const bump = async (): Promise<number> => {
      const r = await viaGateway(d, id, '/', { token: await endpointToken(client, id) });
      assert.equal(r.status, 200, r.body);
      return (JSON.parse(r.body) as { count: number }).count;
    };
    assert.equal(await bump(), 1);
    await client.send(new SuspendMicrovmCommand({ microvmIdentifier: id }));
    await waitForState(client, id, ['SUSPENDED']);
    await client.send(new ResumeMicrovmCommand({ microvmIdentifier: id }));
    await waitForState(client, id, ['RUNNING']);
    assert.equal(await bump(), 2, 'memory kept across suspend and resume');

    // The operator CLI, a second process, reads the same database while the daemon runs.
    const cli = await runCommand(process.execPath, [CLI, 'tenant', 'list', '--json', '--data-dir', d.dataDir, '--store', url], {
      timeoutMs: 30_000,
    });
    assert.equal(cli.code, 0, cli.stderr);
    assert.ok(
      (JSON.parse(cli.stdout) as Array<{ id: string }>).some((x) => x.id === t.tenantId),
      cli.stdout,
    );

    d = await d.restart();
    client = new LambdaMicrovmsClient({
      endpoint: d.apiUrl,
      region: 'local',
      maxAttempts: 1,
      credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey },
    });
    await waitForState(client, id, ['RUNNING']);
    assert.equal(await bump(), 3, 'the running microVM was re-adopted from the PostgreSQL records after the restart');
    await client.send(new TerminateMicrovmCommand({ microvmIdentifier: id }));
    await waitForState(client, id, ['TERMINATED']);
  });
});
