/**
 * The store contract against a real PostgreSQL server this file starts (and stops), one fresh
 * database per store; plus what only the PostgreSQL store promises: migrations under an advisory
 * lock, newer schemas refused, compare-and-set across handles, unique violations as conflicts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import type { Microvm } from '../../src/core/model.js';
import type { Store } from '../../src/core/ports/store.js';
import { isCubbyError } from '../../src/errors/index.js';
import { MIGRATIONS, openPostgresStore, type PostgresStoreOptions } from '../../src/store/postgres/index.js';
import { microvmInput, seed } from './contract/fixtures.js';
import { rejectsWith } from './contract/harness.js';
import { runStoreContract, type StoreHarness } from './contract.js';
import { type PostgresServer, startPostgres } from './fixtures/postgres-server.js';

let serverStarting: Promise<PostgresServer> | undefined;
/** Started on first use, so a file filtered down to no test starts nothing. */
const server = (): Promise<PostgresServer> => (serverStarting ??= startPostgres());
after(async () => {
  if (serverStarting) await (await serverStarting).stop();
});

/** A fresh, empty database on the server. */
async function freshDatabase(): Promise<{ url: string; query: (sql: string) => Promise<pg.QueryResult>; drop: () => Promise<void> }> {
  const srv = await server();
  const name = `cubby_${randomBytes(6).toString('hex')}`;
  await srv.admin(`CREATE DATABASE ${name}`);
  const url = srv.url(name);
  return {
    url,
    async query(sql) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return await c.query(sql);
      } finally {
        await c.end();
      }
    },
    drop: () => srv.admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

type Harness = StoreHarness & { url: string; open(extra?: Partial<PostgresStoreOptions>): Promise<Store> };

async function makePostgres(extra: Partial<PostgresStoreOptions> = {}): Promise<Harness> {
  const db = await freshDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'cubby-pgstore-')); // for master.key only
  let offset = 0;
  const handles: Store[] = [];
  const open = async (more: Partial<PostgresStoreOptions> = {}): Promise<Store> => {
    const s = await openPostgresStore({ connectionString: db.url, dataDir, now: () => new Date(Date.now() + offset), ...extra, ...more });
    handles.push(s);
    return s;
  };
  const store = await open();
  return {
    url: db.url,
    store,
    open,
    reopen: () => open(),
    advanceClock: (ms) => {
      offset += ms;
    },
    async rawBytes() {
      // Every user table's rows as text: what a dump (or a look at the disk) would show.
      const tables = await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`);
      const parts: string[] = [];
      for (const { tablename } of tables.rows as Array<{ tablename: string }>) {
        const rows = await db.query(`SELECT t::text AS row FROM "${tablename}" t`);
        parts.push(...(rows.rows as Array<{ row: string }>).map((r) => r.row));
      }
      return Buffer.from(parts.join('\n'));
    },
    async rawQuery(sql, ...params) {
      // JSON columns as the text stored, not parsed.
      const getTypeParser = ((oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.JSON || oid === pg.types.builtins.JSONB
          ? (v: string) => v
          : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'];
      const c = new pg.Client({ connectionString: db.url, types: { getTypeParser } });
      await c.connect();
      let n = 0;
      try {
        return (
          await c.query(
            sql.replace(/\?/g, () => `$${++n}`),
            params,
          )
        ).rows as Array<Record<string, unknown>>;
      } finally {
        await c.end();
      }
    },
    async cleanup() {
      for (const h of handles) await h.close();
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

runStoreContract('postgres', () => makePostgres());

describe('postgres store: migrations, several handles, errors', () => {
  test('migrations: recorded; concurrent openers migrate once; reopening applies nothing', { timeout: 60_000 }, async (t) => {
    const db = await freshDatabase();
    t.after(() => db.drop());
    // A slow extra step keeps the first opener inside its migration while the others arrive.
    const steps = [
      ...MIGRATIONS,
      { id: MIGRATIONS.length + 1, name: 'slow', sql: 'SELECT pg_sleep(0.5); CREATE TABLE slow_step (x INTEGER);' },
    ];
    const stores = await Promise.all(
      Array.from({ length: 4 }, () => openPostgresStore({ connectionString: db.url, masterKey: Buffer.alloc(32, 1), migrations: steps })),
    );
    try {
      const applied = stores.map((s) => s.schema.applied);
      assert.equal(applied.filter((a) => a.length > 0).length, 1, `exactly one opener migrated: ${JSON.stringify(applied)}`);
      assert.deepEqual(
        applied.find((a) => a.length > 0),
        steps.map((s) => s.id),
      );
      const rows = await db.query('SELECT id FROM schema_migrations ORDER BY id');
      assert.deepEqual(
        rows.rows.map((r: { id: number }) => r.id),
        steps.map((s) => s.id),
      );
      await stores[0]?.createTenant('works');
    } finally {
      for (const s of stores) await s.close();
    }
    const again = await openPostgresStore({ connectionString: db.url, masterKey: Buffer.alloc(32, 1), migrations: steps });
    try {
      assert.deepEqual(again.schema.applied, []);
      assert.ok(await again.getTenantByName('works'));
    } finally {
      await again.close();
    }
  });

  test('migrations: a failing step leaves the previous schema; a newer schema is refused', async (t) => {
    const db = await freshDatabase();
    t.after(() => db.drop());
    const key = Buffer.alloc(32, 1);
    const first = await openPostgresStore({ connectionString: db.url, masterKey: key });
    assert.deepEqual(
      first.schema.applied,
      MIGRATIONS.map((m) => m.id),
    );
    await first.close();

    const next = MIGRATIONS.length + 1;
    const broken = [
      ...MIGRATIONS,
      { id: next, name: 'broken', sql: 'CREATE TABLE half (x INTEGER); INSERT INTO missing_table VALUES (1);' },
    ];
    await rejectsWith(openPostgresStore({ connectionString: db.url, masterKey: key, migrations: broken }), 'STORE_MIGRATION_FAILED');
    assert.equal((await db.query(`SELECT to_regclass('half') AS t`)).rows[0].t, null, 'the failed step left nothing');
    assert.equal((await db.query('SELECT max(id) AS v FROM schema_migrations')).rows[0].v, MIGRATIONS.length);

    const newer = [...MIGRATIONS, { id: next, name: 'extra table', sql: 'CREATE TABLE extra_t (x INTEGER);' }];
    const upgraded = await openPostgresStore({ connectionString: db.url, masterKey: key, migrations: newer });
    assert.deepEqual(upgraded.schema.applied, [next]);
    await upgraded.close();
    await assert.rejects(openPostgresStore({ connectionString: db.url, masterKey: key }), (e: unknown) => {
      assert.ok(isCubbyError(e, 'STORE_MIGRATION_FAILED'), String(e));
      assert.match(e.message, /newer than this program/);
      return true;
    });
    await assert.rejects(
      openPostgresStore({ connectionString: db.url, masterKey: key, migrations: [{ ...MIGRATIONS[0]!, id: 2 }] }),
      /numbered/,
    );
  });

  test(
    'several handles race one transition: exactly one wins, a rolled-back winner lets the next one in',
    { timeout: 60_000 },
    async (t) => {
      const h = await makePostgres();
      t.after(() => h.cleanup());
      const handles = [h.store, await h.open(), await h.open(), await h.open()];
      const { tenant, image } = await seed(h.store, 'acme');
      const targets = ['RUNNING', 'TERMINATING', 'SUSPENDING', 'TERMINATED'] as const;
      for (let round = 0; round < 10; round++) {
        const m = await h.store.insertMicrovm(microvmInput(tenant.id, image.id));
        const results = await Promise.allSettled(handles.map((s, i) => s.transitionMicrovm(m.id, ['PENDING'], { state: targets[i]! })));
        const won = results.filter((r): r is PromiseFulfilledResult<Microvm> => r.status === 'fulfilled');
        assert.equal(won.length, 1, `round ${round}: exactly one winner`);
        for (const r of results) if (r.status === 'rejected') assert.ok(isCubbyError(r.reason, 'MICROVM_BAD_STATE'), String(r.reason));
        assert.equal((await handles[3]!.getMicrovmAny(m.id))?.state, won[0]?.value.state);
      }

      // A transition inside an open transaction holds the row: the other handle waits, then loses
      // if that transaction commits, or wins if it rolls back.
      for (const outcome of ['commit', 'rollback'] as const) {
        const m = await h.store.insertMicrovm(microvmInput(tenant.id, image.id));
        let otherSettled = false;
        let other: Promise<Microvm> | undefined;
        const holder = h.store.tx(async (tx) => {
          await tx.transitionMicrovm(m.id, ['PENDING'], { state: 'RUNNING' });
          other = handles[1]!.transitionMicrovm(m.id, ['PENDING'], { state: 'TERMINATED' });
          other.then(
            () => {
              otherSettled = true;
            },
            () => {
              otherSettled = true;
            },
          );
          await new Promise((r) => setTimeout(r, 300));
          assert.equal(otherSettled, false, 'the other handle waits for the row');
          if (outcome === 'rollback') throw new Error('roll back');
        });
        if (outcome === 'commit') {
          await holder;
          await rejectsWith(other!, 'MICROVM_BAD_STATE');
          assert.equal((await handles[2]!.getMicrovmAny(m.id))?.state, 'RUNNING');
        } else {
          await assert.rejects(holder, /roll back/);
          assert.equal((await other!).state, 'TERMINATED');
        }
      }
    },
  );

  test('a row held past the lock timeout is STORE_BUSY for the waiter, which changed nothing', { timeout: 30_000 }, async (t) => {
    const h = await makePostgres();
    t.after(() => h.cleanup());
    const other = await h.open();
    const { tenant, image } = await seed(h.store, 'acme');
    const m = await h.store.insertMicrovm(microvmInput(tenant.id, image.id));
    let waited = 0;
    await h.store.tx(async (tx) => {
      await tx.transitionMicrovm(m.id, ['PENDING'], { state: 'RUNNING' });
      const t0 = Date.now();
      await rejectsWith(other.transitionMicrovm(m.id, ['PENDING', 'RUNNING'], { state: 'TERMINATED' }), 'STORE_BUSY');
      waited = Date.now() - t0;
    });
    assert.ok(waited >= 4_500 && waited < 15_000, `gave up after ${waited} ms (lock timeout 5 s)`);
    assert.equal((await other.getMicrovmAny(m.id))?.state, 'RUNNING', 'the holder committed; the waiter changed nothing');
  });

  test(
    'racing writers on two handles: unique names are conflicts, version numbers are handed out once each',
    { timeout: 60_000 },
    async (t) => {
      const h = await makePostgres();
      t.after(() => h.cleanup());
      const other = await h.open();
      const names = await Promise.allSettled([h.store.createTenant('same'), other.createTenant('same'), other.createTenant('same')]);
      assert.equal(names.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of names) if (r.status === 'rejected') assert.ok(isCubbyError(r.reason, 'TENANT_EXISTS'), String(r.reason));

      const { tenant, image } = await seed(h.store, 'acme');
      const images = await Promise.allSettled(
        [0, 1, 2].map((i) => (i % 2 ? other : h.store).insertImage({ tenantId: tenant.id, name: 'dup', state: 'CREATING' })),
      );
      assert.equal(images.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of images) if (r.status === 'rejected') assert.ok(isCubbyError(r.reason, 'IMAGE_EXISTS'), String(r.reason));

      const base = (await h.store.getVersion(tenant.id, image.id, '1.0'))!;
      const { version: _v, createdAt: _c, updatedAt: _u, ...input } = base;
      const versions = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? other : h.store).insertVersion(input)));
      assert.deepEqual(versions.map((v) => v.version).sort(), ['1.1', '1.2', '1.3', '1.4', '1.5', '1.6']);

      // A conflict inside a transaction does not abort it (each call runs under a savepoint).
      const kept = await h.store.tx(async (tx) => {
        await rejectsWith(tx.createTenant('same'), 'TENANT_EXISTS');
        return tx.createTenant('after-conflict');
      });
      assert.ok(await other.getTenant(kept.id));
    },
  );

  test('idempotent creations racing on two handles: one creates, the other replays', async (t) => {
    const h = await makePostgres();
    t.after(() => h.cleanup());
    const other = await h.open();
    const tn = await h.store.createTenant('acme');
    const key = { tenantId: tn.id, operation: 'CreateImage', clientToken: 'tok' };
    let creates = 0;
    const results = await Promise.all(
      [h.store, other, h.store, other].map((s) =>
        s.idempotent(key, 'hash', async (tx) => {
          creates++;
          await new Promise((r) => setTimeout(r, 50));
          return (await tx.insertImage({ tenantId: tn.id, name: `img-${creates}`, state: 'CREATING' })).id;
        }),
      ),
    );
    assert.equal(creates, 1, 'the create ran once');
    assert.equal(results.filter((r) => !r.replayed).length, 1);
    assert.equal(new Set(results.map((r) => r.resultRef)).size, 1);
    assert.equal((await other.listImages(tn.id)).items.length, 1);
  });

  test('an unreachable server is STORE_BUSY; a closed store is STORE_CLOSED', async () => {
    const srv = await server();
    const missing = `postgresql://postgres@/postgres?host=${encodeURIComponent(join(srv.socketDir, 'nowhere'))}&port=${srv.port}`;
    await rejectsWith(openPostgresStore({ connectionString: missing, masterKey: Buffer.alloc(32, 1) }), 'STORE_BUSY');
    const h = await makePostgres();
    await h.cleanup();
    await rejectsWith(h.store.listTenants(), 'STORE_CLOSED');
  });
});
