/** The store contract against SQLite in a temp dir, plus what only the SQLite store promises. */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Store } from '../../src/core/ports/store.js';
import { DB_FILE, migrate, MIGRATIONS, openSqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite/index.js';
import { imageInput, microvmInput, seed } from './contract/fixtures.js';
import { rejectsWith } from './contract/harness.js';
import { runStoreContract, type StoreHarness } from './contract.js';

const WORKER = fileURLToPath(new URL('./fixtures/store-worker.js', import.meta.url));

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'cubby-store-'));
}

async function makeSqlite(extra: Partial<SqliteStoreOptions> = {}): Promise<StoreHarness & { dataDir: string }> {
  const dataDir = join(tempDir(), 'data');
  let offset = 0;
  const opts = { dataDir, now: () => new Date(Date.now() + offset), ...extra };
  const handles: Store[] = [];
  const open = async (): Promise<Store> => {
    const s = await openSqliteStore(opts);
    handles.push(s);
    return s;
  };
  const store = await open();
  return {
    dataDir,
    store,
    reopen: open,
    advanceClock: (ms) => {
      offset += ms;
    },
    async rawBytes() {
      const files = [DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`].map((f) => join(dataDir, f)).filter(existsSync);
      return Buffer.concat(files.map((f) => readFileSync(f)));
    },
    async rawQuery(sql, ...params) {
      const raw = new Database(join(dataDir, DB_FILE), { timeout: 5000 });
      try {
        const st = raw.prepare(sql);
        if (st.reader) return st.all(...params) as Array<Record<string, unknown>>;
        st.run(...params);
        return [];
      } finally {
        raw.close();
      }
    },
    async cleanup() {
      for (const h of handles) await h.close();
      rmSync(join(dataDir, '..'), { recursive: true, force: true });
    },
  };
}

runStoreContract('sqlite', () => makeSqlite());

/** Runs the worker fixture; lines of its stdout arrive on `lines`. */
function worker(
  t: TestContext,
  ...args: string[]
): { child: ChildProcessWithoutNullStreams; lines: AsyncIterator<string>; exited: Promise<unknown[]> } {
  const child = spawn(process.execPath, [WORKER, ...args], { stdio: 'pipe' });
  const exited = once(child, 'exit');
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  void exited.then(([code]) => {
    if (code !== 0 && code !== null && stderr) console.error(`store-worker: ${stderr}`);
  });
  return { child, lines, exited };
}

async function nextLine(lines: AsyncIterator<string>): Promise<string | undefined> {
  const r = await lines.next();
  return r.done ? undefined : r.value;
}

describe('sqlite store: files, keys, migrations, several processes', () => {
  test('files: cubby.db in WAL mode, 0600; master.key created 0600 on first secret only', async (t) => {
    const h = await makeSqlite();
    t.after(() => h.cleanup());
    const file = join(h.dataDir, DB_FILE);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(h.dataDir).mode & 0o777, 0o700);
    const peek = new Database(file, { readonly: true });
    try {
      assert.equal(peek.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal((peek.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n, MIGRATIONS.length);
    } finally {
      peek.close();
    }
    const keyFile = join(h.dataDir, 'master.key');
    await h.store.createTenant('acme');
    assert.equal(existsSync(keyFile), false, 'no key file before a secret is stored');
    const tn = await h.store.getTenantByName('acme');
    assert.ok(tn);
    await h.store.createKey(tn.id);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.match(readFileSync(keyFile, 'utf8'), /^[0-9a-f]{64}\n$/);
  });

  test('master key: a given key writes no file; the wrong key cannot read secrets; bad key files are refused', async (t) => {
    const key = Buffer.alloc(32, 7);
    const h = await makeSqlite({ masterKey: key });
    t.after(() => h.cleanup());
    const tn = await h.store.createTenant('acme');
    const k = await h.store.createKey(tn.id);
    assert.equal(existsSync(join(h.dataDir, 'master.key')), false);
    await h.store.close();

    const wrong = await openSqliteStore({ dataDir: h.dataDir, masterKey: Buffer.alloc(32, 8) });
    try {
      await rejectsWith(wrong.getKeyForAuth(k.accessKeyId), 'STORE_SECRET_UNREADABLE');
    } finally {
      await wrong.close();
    }
    await assert.rejects(openSqliteStore({ dataDir: h.dataDir, masterKey: Buffer.alloc(16) }), /32 bytes/);

    // Now from the file: too permissive, then malformed.
    const keyFile = join(h.dataDir, 'master.key');
    writeFileSync(keyFile, `${key.toString('hex')}\n`, { mode: 0o644 });
    chmodSync(keyFile, 0o644);
    const fromFile = await openSqliteStore({ dataDir: h.dataDir });
    try {
      await rejectsWith(fromFile.getKeyForAuth(k.accessKeyId), 'STORE_MASTER_KEY_INVALID');
      chmodSync(keyFile, 0o600);
      assert.equal((await fromFile.getKeyForAuth(k.accessKeyId))?.secret, k.secretAccessKey, 'the same key, from the file');
    } finally {
      await fromFile.close();
    }
    writeFileSync(keyFile, 'not a key\n');
    const garbage = await openSqliteStore({ dataDir: h.dataDir });
    try {
      await rejectsWith(garbage.getKeyForAuth(k.accessKeyId), 'STORE_MASTER_KEY_INVALID');
    } finally {
      await garbage.close();
    }
  });

  test('migrations: recorded, idempotent on reopen, all-or-nothing, newer schemas refused', async (t) => {
    const dir = tempDir();
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const first = await openSqliteStore({ dataDir: dir });
    assert.deepEqual(
      first.schema.applied,
      MIGRATIONS.map((m) => m.id),
    );
    await first.createTenant('keep');
    await first.close();
    const second = await openSqliteStore({ dataDir: dir });
    assert.deepEqual(second.schema.applied, [], 'nothing to apply on reopen');
    assert.ok(await second.getTenantByName('keep'));
    await second.close();

    // An older schema is brought up to date, keeping its rows.
    const oldDir = tempDir();
    t.after(() => rmSync(oldDir, { recursive: true, force: true }));
    const oldDb = new Database(join(oldDir, DB_FILE));
    migrate(oldDb, MIGRATIONS.slice(0, 1));
    oldDb.prepare(`INSERT INTO tenants (id, name, account_id, created_at) VALUES ('tn_old', 'old', '000000000001', 1)`).run();
    oldDb.close();
    const upgraded = await openSqliteStore({ dataDir: oldDir });
    assert.deepEqual(
      upgraded.schema.applied,
      MIGRATIONS.slice(1).map((m) => m.id),
    );
    assert.equal((await upgraded.getTenantByName('old'))?.id, 'tn_old');
    await upgraded.close();

    const db = new Database(join(dir, DB_FILE));
    t.after(() => db.close());
    const next = MIGRATIONS.length + 1;
    const broken = [...MIGRATIONS, { id: next, name: 'broken', sql: 'CREATE TABLE half (x); INSERT INTO missing_table VALUES (1);' }];
    assert.throws(
      () => migrate(db, broken),
      (e: unknown) => (e as { code?: string }).code === 'STORE_MIGRATION_FAILED',
    );
    assert.equal(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'half'`).get(), undefined, 'the failed step left nothing');
    assert.equal((db.prepare('SELECT max(id) AS v FROM schema_migrations').get() as { v: number }).v, MIGRATIONS.length);

    const good = [...MIGRATIONS, { id: next, name: 'extra table', sql: 'CREATE TABLE extra_t (x INTEGER);' }];
    assert.deepEqual(migrate(db, good).applied, [next]);
    assert.deepEqual(migrate(db, good).applied, []);
    assert.throws(() => migrate(db, MIGRATIONS), /newer than this program/);
    assert.throws(() => migrate(db, [{ ...MIGRATIONS[0]!, id: 2 }]), /numbered/);
  });

  test('migrations: a process killed mid-migration leaves the previous schema', { timeout: 30_000 }, async (t) => {
    const dir = tempDir();
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const s = await openSqliteStore({ dataDir: dir });
    await s.createTenant('before');
    await s.close();
    const w = worker(t, 'slow-migration', dir);
    assert.equal(await nextLine(w.lines), 'migrating');
    await new Promise((r) => setTimeout(r, 400));
    w.child.kill('SIGKILL');
    const [, signal] = await w.exited;
    assert.equal(signal, 'SIGKILL', 'the slow step was still running when killed');
    const after = await openSqliteStore({ dataDir: dir });
    try {
      assert.deepEqual(after.schema.applied, []);
      assert.ok(await after.getTenantByName('before'));
    } finally {
      await after.close();
    }
    const db = new Database(join(dir, DB_FILE), { readonly: true });
    try {
      assert.equal(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'slow_step'`).get(), undefined);
      assert.equal((db.prepare('SELECT max(id) AS v FROM schema_migrations').get() as { v: number }).v, MIGRATIONS.length);
    } finally {
      db.close();
    }
  });

  test('two processes: the CLI writes while the daemon runs, and waits out an open transaction', { timeout: 30_000 }, async (t) => {
    const h = await makeSqlite();
    t.after(() => h.cleanup());
    const w1 = worker(t, 'create-tenant', h.dataDir, 'from-cli');
    assert.equal(await nextLine(w1.lines), 'opened');
    const created = JSON.parse((await nextLine(w1.lines)) ?? 'null') as { id: string };
    assert.equal((await w1.exited)[0], 0);
    assert.equal((await h.store.getTenantByName('from-cli'))?.id, created.id, "the daemon sees the CLI's tenant");

    let cliDoneDuringTx = false;
    let w2: ReturnType<typeof worker> | undefined;
    await h.store.tx(async (tx) => {
      await tx.createTenant('in-daemon-tx');
      w2 = worker(t, 'create-tenant', h.dataDir, 'while-locked');
      void w2.exited.then(() => {
        cliDoneDuringTx = true;
      });
      // Opening needs no write lock; the CLI's write then waits for ours.
      assert.equal(await nextLine(w2.lines), 'opened');
      await new Promise((r) => setTimeout(r, 500));
    });
    assert.equal(cliDoneDuringTx, false, "the CLI waited for the daemon's transaction");
    assert.ok(w2);
    assert.equal((await w2.exited)[0], 0, 'then it succeeded');
    assert.ok(await h.store.getTenantByName('while-locked'));
    assert.ok(await h.store.getTenantByName('in-daemon-tx'));
  });

  test('two handles: a writer that waits past its busy timeout gets STORE_BUSY', async (t) => {
    const h = await makeSqlite();
    t.after(() => h.cleanup());
    const impatient = await openSqliteStore({ dataDir: h.dataDir, busyTimeoutMs: 50 });
    t.after(() => impatient.close());
    await h.store.tx(async (tx) => {
      await tx.createTenant('holder');
      await rejectsWith(impatient.createTenant('blocked'), 'STORE_BUSY');
      assert.equal(await impatient.getTenantByName('holder'), undefined, 'readers are not blocked, and see only committed rows');
    });
    assert.ok(await impatient.createTenant('after'));
  });

  test('several processes race one transition: exactly one wins', { timeout: 60_000 }, async (t) => {
    const h = await makeSqlite();
    t.after(() => h.cleanup());
    const { tenant, image } = await seed(h.store, 'acme');
    await h.store.insertImage(imageInput(tenant.id, 'spare'));
    const m = await h.store.insertMicrovm(microvmInput(tenant.id, image.id));
    const states = ['RUNNING', 'TERMINATING', 'SUSPENDING', 'TERMINATED'];
    const workers = states.map((s) => worker(t, 'transition', h.dataDir, m.id, s));
    for (const w of workers) {
      assert.equal(await nextLine(w.lines), 'opened');
      assert.equal(await nextLine(w.lines), 'ready');
    }
    for (const w of workers) w.child.stdin.end('go\n');
    const outcomes = await Promise.all(workers.map((w) => nextLine(w.lines)));
    await Promise.all(workers.map((w) => w.exited));
    assert.equal(outcomes.filter((o) => o === 'won').length, 1, `outcomes: ${outcomes.join(', ')}`);
    assert.equal(outcomes.filter((o) => o === 'MICROVM_BAD_STATE').length, states.length - 1);
    const final = await h.store.getMicrovmAny(m.id);
    assert.equal(final?.state, states[outcomes.indexOf('won')]);
  });
});
