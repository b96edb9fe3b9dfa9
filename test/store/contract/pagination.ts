/** Contract: keyset pagination (stable under inserts, tokens bound to their listing) and filters. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from '../../../src/core/model.js';
import { buildInput, imageInput, microvmInput, versionInput } from './fixtures.js';
import { fresh, type MakeStore, rejectsWith } from './harness.js';

async function drain<T>(list: (token?: string) => Promise<Page<T>>): Promise<T[][]> {
  const pages: T[][] = [];
  let token: string | undefined;
  do {
    const page = await list(token);
    pages.push(page.items);
    token = page.nextToken;
    assert.ok(pages.length < 50, 'pagination must end');
  } while (token !== undefined);
  return pages;
}

export function paginationTests(make: MakeStore): void {
  test('pagination: three pages, stable tokens, inserts neither shift nor repeat', async (t) => {
    const { store } = await fresh(t, make);
    const tn = await store.createTenant('acme');
    const names = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'];
    for (const n of names) await store.insertImage(imageInput(tn.id, n));

    const p1 = await store.listImages(tn.id, { maxResults: 3 });
    assert.deepEqual(
      p1.items.map((i) => i.name),
      ['a1', 'a2', 'a3'],
    );
    assert.ok(p1.nextToken);
    const p2 = await store.listImages(tn.id, { maxResults: 3, nextToken: p1.nextToken });
    assert.deepEqual(
      p2.items.map((i) => i.name),
      ['a4', 'a5', 'a6'],
    );
    assert.ok(p2.nextToken);

    // An insert after the first pages were read: the same token still gives the same page,
    // and the new item shows up once, at the end.
    await store.insertImage(imageInput(tn.id, 'a0-late'));
    const p2again = await store.listImages(tn.id, { maxResults: 3, nextToken: p1.nextToken });
    assert.deepEqual(p2again.items, p2.items);
    const p3 = await store.listImages(tn.id, { maxResults: 3, nextToken: p2.nextToken });
    assert.deepEqual(
      p3.items.map((i) => i.name),
      ['a7', 'a0-late'],
    );
    assert.equal(p3.nextToken, undefined, 'no token on the last page');

    const exact = await store.listImages(tn.id, { maxResults: 8 });
    assert.equal(exact.items.length, 8);
    assert.equal(exact.nextToken, undefined, 'no token when nothing follows');
    assert.equal((await store.listImages(tn.id)).items.length, 8, 'default page size holds them all');
  });

  test('pagination: bad tokens and page sizes are validation errors', async (t) => {
    const { store } = await fresh(t, make);
    const a = await store.createTenant('acme');
    const b = await store.createTenant('other');
    for (let i = 0; i < 3; i++) await store.insertImage(imageInput(a.id, `img-${i}`));
    await store.insertImage(imageInput(b.id, 'img-0'));
    await store.insertImage(imageInput(b.id, 'img-1'));
    const token = (await store.listImages(a.id, { maxResults: 1 })).nextToken;
    assert.ok(token);

    for (const bad of ['garbage', '!!!', '', Buffer.from('{"f":"x","p":[1]}').toString('base64url'), `${token}x`, token.slice(0, -2)]) {
      await rejectsWith(store.listImages(a.id, { nextToken: bad }), 'CUBBY_VALIDATION');
    }
    await rejectsWith(store.listImages(b.id, { nextToken: token }), 'CUBBY_VALIDATION');
    await rejectsWith(store.listImages(a.id, { nextToken: token, nameFilter: 'img' }), 'CUBBY_VALIDATION');
    await rejectsWith(store.listMicrovms(a.id, { nextToken: token }), 'CUBBY_VALIDATION');
    for (const n of [0, 101, 1.5, -1]) await rejectsWith(store.listImages(a.id, { maxResults: n }), 'CUBBY_VALIDATION');
    assert.equal((await store.listImages(a.id, { maxResults: 100 })).items.length, 3);
  });

  test('pagination: name filter is a case-sensitive substring', async (t) => {
    const { store } = await fresh(t, make);
    const tn = await store.createTenant('acme');
    for (const n of ['web-front', 'web-back', 'worker', 'Web-admin', 'my_web%']) await store.insertImage(imageInput(tn.id, n));
    const names = async (nameFilter: string): Promise<string[]> =>
      (await drain((nextToken) => store.listImages(tn.id, { nameFilter, maxResults: 1, nextToken }))).flat().map((i) => i.name);
    assert.deepEqual(await names('web'), ['web-front', 'web-back', 'my_web%']);
    assert.deepEqual(await names('back'), ['web-back']);
    assert.deepEqual(await names('Web'), ['Web-admin']);
    assert.deepEqual(await names('_web%'), ['my_web%'], 'no wildcards');
    assert.deepEqual(await names('zzz'), []);
    assert.equal((await names('')).length, 5);
  });

  test('pagination: versions, builds and microVMs page too, with their filters', async (t) => {
    const { store } = await fresh(t, make);
    const tn = await store.createTenant('acme');
    const img = await store.insertImage(imageInput(tn.id, 'app'));
    const other = await store.insertImage(imageInput(tn.id, 'other'));
    for (let i = 0; i < 12; i++) await store.insertVersion(versionInput(img));
    const versions = await drain((nextToken) => store.listVersions(tn.id, img.id, { maxResults: 5, nextToken }));
    assert.deepEqual(
      versions.map((p) => p.length),
      [5, 5, 2],
    );
    assert.deepEqual(
      versions.flat().map((v) => v.version),
      ['1.0', '1.1', '1.2', '1.3', '1.4', '1.5', '1.6', '1.7', '1.8', '1.9', '1.10', '1.11'],
      'numeric order',
    );

    const v = await store.getVersion(tn.id, img.id, '1.3');
    assert.ok(v);
    const built = [];
    for (let i = 0; i < 5; i++) built.push((await store.insertBuild(buildInput(v))).id);
    const v4 = await store.getVersion(tn.id, img.id, '1.4');
    assert.ok(v4);
    await store.insertBuild(buildInput(v4));
    const builds = await drain((nextToken) => store.listBuilds(tn.id, img.id, '1.3', { maxResults: 2, nextToken }));
    assert.deepEqual(
      builds.map((p) => p.length),
      [2, 2, 1],
    );
    assert.deepEqual(
      builds.flat().map((b) => b.id),
      built,
    );

    const ids = { app10: [] as string[], app11: [] as string[], other: [] as string[] };
    for (let i = 0; i < 4; i++) {
      ids.app10.push((await store.insertMicrovm(microvmInput(tn.id, img.id, '1.0'))).id);
      ids.app11.push((await store.insertMicrovm(microvmInput(tn.id, img.id, '1.1', { state: 'RUNNING' }))).id);
      ids.other.push((await store.insertMicrovm(microvmInput(tn.id, other.id, '1.0', { state: 'SUSPENDED' }))).id);
    }
    const list = async (f: object): Promise<string[]> =>
      (await drain((nextToken) => store.listMicrovms(tn.id, { ...f, maxResults: 3, nextToken }))).flat().map((m) => m.id);
    assert.equal((await list({})).length, 12);
    assert.deepEqual(await list({ imageId: img.id, version: '1.0' }), ids.app10);
    assert.deepEqual(await list({ imageId: img.id, version: '1.1' }), ids.app11);
    assert.deepEqual(await list({ imageId: other.id }), ids.other);
    assert.deepEqual((await list({ states: ['RUNNING', 'SUSPENDED'] })).sort(), [...ids.app11, ...ids.other].sort());
    assert.deepEqual(await list({ states: [] }), await list({}));
    const p1 = await store.listMicrovms(tn.id, { states: ['RUNNING'], maxResults: 2 });
    await rejectsWith(store.listMicrovms(tn.id, { states: ['PENDING'], maxResults: 2, nextToken: p1.nextToken }), 'CUBBY_VALIDATION');
    assert.equal(await store.countMicrovms({ tenantId: tn.id, imageId: img.id }), 8);
    assert.equal(await store.countMicrovms({ tenantId: tn.id, states: ['PENDING', 'RUNNING'] }), 8);
  });
}
