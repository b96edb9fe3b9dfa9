/**
 * The managed base store contract (ManagedImageStore): the catalog, ensure of a built image
 * (found, not rebuilt, the same for concurrent callers), resolve and list agreeing with it,
 * deprecated versions, and IMAGE_BASE_NOT_FOUND for unknown names and versions (never a build).
 * Run for ManagedImages over the machine's cached base and for the fake store.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ManagedImageInfo, ManagedImageStore } from '../../../src/core/ports/images.js';
import { isCubbyError } from '../../../src/errors/index.js';

export interface ManagedStoreFixture {
  store: ManagedImageStore;
  /** A catalog image built on this host at its current version. */
  built: string;
  /** An older version of `built` on this host, which must show as DEPRECATED. */
  deprecated: string;
  close(): Promise<void>;
}

async function notFound(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isCubbyError(e), `${what}: expected IMAGE_BASE_NOT_FOUND, got ${String(e)}`);
    assert.equal(e.code, 'IMAGE_BASE_NOT_FOUND', `${what}: ${e.message}`);
    return true;
  });
}

export function runManagedStoreContract(name: string, make: () => Promise<ManagedStoreFixture>): void {
  describe(`managed base store contract: ${name}`, { timeout: 120_000 }, () => {
    let fx: ManagedStoreFixture;
    let store: ManagedImageStore;
    before(async () => {
      fx = await make();
      store = fx.store;
    });
    after(() => fx.close());
    const current = () => store.catalog().find((d) => d.name === fx.built)?.version ?? '';

    test('the catalog names each image once, with a major.minor version, a description and its packages; callers get copies', () => {
      const cat = store.catalog();
      assert.ok(cat.length > 0);
      assert.equal(new Set(cat.map((d) => d.name)).size, cat.length);
      for (const d of cat) {
        assert.match(d.name, /^[a-z0-9][a-z0-9.-]*$/);
        assert.match(d.version, /^\d+\.\d+$/);
        assert.ok(d.description.length > 0, d.name);
        assert.ok(Array.isArray(d.packages) && d.packages.every((p) => typeof p === 'string'));
      }
      assert.ok(cat.some((d) => d.name === fx.built));
      (cat[0] as { packages: string[] }).packages.push('mutated-by-a-caller');
      cat.length = 0;
      assert.ok(!store.catalog().some((d) => d.packages.includes('mutated-by-a-caller')));
      assert.ok(store.catalog().length > 0);
    });

    test('ensure of a built image finds it (no build), AVAILABLE at the catalog version; resolve agrees', async () => {
      const phases: string[] = [];
      const info = await store.ensure(fx.built, undefined, (p) => phases.push(p.phase));
      assert.deepEqual(phases, ['cached'], 'a built image is reported cached, never rebuilt');
      assert.equal(info.name, fx.built);
      assert.equal(info.version, current());
      assert.equal(info.status, 'AVAILABLE');
      assert.ok(path.isAbsolute(info.rootfs), info.rootfs);
      assert.ok(info.sizeBytes > 0);
      assert.ok(!Number.isNaN(Date.parse(info.createdAt)), info.createdAt);
      assert.ok(Array.isArray(info.packages));
      assert.deepEqual(await store.resolve(fx.built), info);
      assert.deepEqual(await store.resolve(fx.built, info.version), info);
      assert.deepEqual(await store.ensure(fx.built, info.version), info);
    });

    test('concurrent ensures of one image get the same image', async () => {
      const all = await Promise.all([1, 2, 3].map(() => store.ensure(fx.built)));
      for (const i of all) assert.deepEqual(i, all[0]);
    });

    test('list holds every built version: the current one AVAILABLE, the older one DEPRECATED', async () => {
      const list = await store.list();
      const names = new Set(store.catalog().map((d) => d.name));
      for (const i of list) {
        assert.ok(names.has(i.name), `${i.name} is in the catalog`);
        assert.ok(i.status === 'AVAILABLE' || i.status === 'DEPRECATED');
      }
      const find = (v: string): ManagedImageInfo | undefined => list.find((i) => i.name === fx.built && i.version === v);
      assert.equal(find(current())?.status, 'AVAILABLE');
      assert.equal(find(fx.deprecated)?.status, 'DEPRECATED');
      const old = await store.resolve(fx.built, fx.deprecated);
      assert.equal(old.status, 'DEPRECATED');
      assert.equal(old.version, fx.deprecated);
      assert.notEqual(old.rootfs, (await store.resolve(fx.built)).rootfs, 'each version has its own rootfs');
    });

    test('unknown names and versions are IMAGE_BASE_NOT_FOUND, and nothing is built for them', async () => {
      const phases: string[] = [];
      const progress = (p: { phase: string }) => {
        phases.push(p.phase);
      };
      await notFound(store.ensure('no-such-image', undefined, progress), 'ensure of an unknown name');
      await notFound(store.resolve('no-such-image'), 'resolve of an unknown name');
      await notFound(store.ensure('../etc', undefined, progress), 'a name with a path in it');
      await notFound(store.resolve(fx.built, '99.0'), 'resolve of a version not built');
      await notFound(store.ensure(fx.built, '0.1', progress), 'ensure of an old version not built');
      await notFound(store.resolve(fx.built, '../1.0'), 'a version with a path in it');
      assert.deepEqual(
        phases.filter((p) => p !== 'cached'),
        [],
        'no build phase started',
      );
      assert.ok(!(await store.list()).some((i) => i.name === 'no-such-image' || i.version === '0.1' || i.version === '99.0'));
    });
  });
}
