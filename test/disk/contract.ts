/**
 * The disk port contract: what the core relies on from its data-directory operations. The
 * node adapter (src/adapters/node-disk.ts) and the fake disk (test/support/fakes) both run it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DiskPort } from '../../src/core/ports/disk.js';

export interface DiskFixture {
  disk: DiskPort;
  /** An empty directory to work in. */
  root: string;
  close(): Promise<void>;
}

export function runDiskContract(name: string, make: () => Promise<DiskFixture>): void {
  describe(`disk contract: ${name}`, () => {
    let fx: DiskFixture;
    let d: DiskPort;
    let n = 0;
    const dir = () => d.join(fx.root, `case-${n++}`);
    before(async () => {
      fx = await make();
      d = fx.disk;
    });
    after(() => fx.close());

    test('append creates the file and its directories; read returns the text; absent reads undefined', async () => {
      const f = d.join(dir(), 'a', 'b', 'log.txt');
      assert.equal(await d.read(f), undefined);
      assert.equal(await d.exists(f), false);
      await d.append(f, 'one\n');
      await d.append(f, 'two\n');
      assert.equal(await d.read(f), 'one\ntwo\n');
      assert.equal(await d.exists(f), true);
      assert.equal(await d.size(f), 8);
    });

    test('ensureDir is idempotent; size sums the files under a tree; absent is 0', async () => {
      const base = dir();
      await d.ensureDir(d.join(base, 'x', 'y'));
      await d.ensureDir(d.join(base, 'x', 'y'));
      assert.equal(await d.exists(d.join(base, 'x', 'y')), true);
      await d.append(d.join(base, 'x', 'f1'), '12345');
      await d.append(d.join(base, 'x', 'y', 'f2'), '123');
      assert.equal(await d.size(base), 8);
      assert.equal(await d.size(d.join(base, 'nope')), 0);
    });

    test("replace moves a tree over an existing target, dropping the target's old files", async () => {
      const base = dir();
      const from = d.join(base, 'next');
      const to = d.join(base, 'current');
      await d.append(d.join(from, 'new.img'), 'new');
      await d.append(d.join(to, 'old.img'), 'old');
      await d.replace(from, to);
      assert.equal(await d.exists(from), false);
      assert.equal(await d.read(d.join(to, 'new.img')), 'new');
      assert.equal(await d.exists(d.join(to, 'old.img')), false, 'nothing of the old target survives');
      await d.append(d.join(from, 'again.img'), 'x');
      await d.replace(from, d.join(base, 'fresh'));
      assert.equal(await d.read(d.join(base, 'fresh', 'again.img')), 'x', 'replace onto an absent target works');
      await assert.rejects(d.replace(d.join(base, 'missing'), to), 'replacing from an absent source fails');
      assert.equal(await d.read(d.join(to, 'new.img')), 'new', 'and leaves the target alone');
    });

    test('remove deletes a tree and is quiet when absent', async () => {
      const base = dir();
      await d.append(d.join(base, 'a', 'f'), 'x');
      await d.remove(base);
      assert.equal(await d.exists(base), false);
      assert.equal(await d.exists(d.join(base, 'a', 'f')), false);
      await d.remove(base);
    });

    test('join composes paths', () => {
      assert.equal(d.join('/a', 'b', '..', 'c'), '/a/c');
      assert.equal(d.join('/data', 'checkpoints', 'id', 'current'), '/data/checkpoints/id/current');
    });
  });
}
