/**
 * The artifact unpacker contract (ArtifactUnpacker): a zip with a Dockerfile at its root is
 * unpacked into an empty target as given; a hostile or broken one is refused with its code
 * (unsafe path, link, too many entries, too many bytes, not a zip, no Dockerfile) and leaves no
 * target behind; precheck refuses the same zips and a FROM that is not the requested managed
 * base, and writes nothing. Run for the real unpackers (bytes, file://, uploads) and the fake.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ArtifactSource, ArtifactUnpacker } from '../../../src/core/ports/images.js';
import { isCubbyError } from '../../../src/errors/index.js';
import { makeZip, type ZipEntrySpec } from '../../support/zip-writer.js';

export interface ArtifactFixture {
  unpacker: ArtifactUnpacker;
  /** The limits the unpacker was made with. */
  limits: { maxEntries: number; maxTotalBytes: number };
  /** Who unpacks (passed to unpack and precheck), when the source needs a tenant. */
  owner?: { tenantId: string };
  /** A source of these zip bytes the unpacker may read (the bytes, a file:// URI under its root, an upload...). */
  source(zip: Buffer): Promise<ArtifactSource>;
  /** A fresh path (in the unpacker's filesystem) that does not exist yet. */
  target(): string;
  /** Relative paths of the files under dir, sorted; [] when dir does not exist. */
  files(dir: string): Promise<string[]>;
  read(file: string): Promise<string | undefined>;
  exists(p: string): Promise<boolean>;
  close(): Promise<void>;
}

const BASE = { name: 'debian-12-python' };
const MANAGED = ['debian-12-python', 'debian-12-minimal'] as const;
const DOCKERFILE = 'FROM debian-12-python\nCOPY . /app\nCMD ["python3", "/app/main.py"]\n';

async function rejectsCode(p: Promise<unknown>, code: string, what: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isCubbyError(e), `${what}: expected ${code}, got ${String(e)}`);
    assert.equal(e.code, code, `${what}: ${e.message}`);
    return true;
  });
}

export function runArtifactContract(name: string, make: () => Promise<ArtifactFixture>): void {
  describe(`artifact unpacker contract: ${name}`, { timeout: 120_000 }, () => {
    let fx: ArtifactFixture;
    before(async () => {
      fx = await make();
    });
    after(() => fx.close());
    const src = (entries: ZipEntrySpec[]) => fx.source(makeZip(entries));

    /** Zips every unpacker refuses, the code, and why. */
    const hostile = (): Array<[string, string, () => Buffer]> => [
      [
        'an entry climbing out with ".."',
        'ARTIFACT_UNSAFE_PATH',
        () =>
          makeZip([
            { name: 'Dockerfile', data: DOCKERFILE },
            { name: '../escape.txt', data: 'x' },
          ]),
      ],
      [
        'a deeper ".." entry',
        'ARTIFACT_UNSAFE_PATH',
        () =>
          makeZip([
            { name: 'Dockerfile', data: DOCKERFILE },
            { name: 'a/../../escape.txt', data: 'x' },
          ]),
      ],
      [
        'an absolute entry',
        'ARTIFACT_UNSAFE_PATH',
        () =>
          makeZip([
            { name: 'Dockerfile', data: DOCKERFILE },
            { name: '/etc/cron.d/evil', data: 'x' },
          ]),
      ],
      [
        'a symbolic link',
        'ARTIFACT_UNSAFE_PATH',
        () =>
          makeZip([
            { name: 'Dockerfile', data: DOCKERFILE },
            { name: 'link', data: '/etc/passwd', mode: 0o120777 },
          ]),
      ],
      [
        'a device entry',
        'ARTIFACT_UNSAFE_PATH',
        () =>
          makeZip([
            { name: 'Dockerfile', data: DOCKERFILE },
            { name: 'dev', data: '', mode: 0o020644 },
          ]),
      ],
      [
        'too many entries',
        'ARTIFACT_TOO_LARGE',
        () =>
          makeZip([
            { name: 'Dockerfile', data: DOCKERFILE },
            ...Array.from({ length: fx.limits.maxEntries }, (_, i) => ({ name: `f${i}.txt`, data: 'x' })),
          ]),
      ],
      [
        'more bytes than the limit',
        'ARTIFACT_TOO_LARGE',
        () =>
          makeZip([
            { name: 'Dockerfile', data: DOCKERFILE },
            { name: 'big.bin', data: Buffer.alloc(fx.limits.maxTotalBytes + 1, 7), method: 'store' },
          ]),
      ],
      ['no Dockerfile', 'DOCKERFILE_MISSING', () => makeZip([{ name: 'main.py', data: 'print(1)\n' }])],
      ['a Dockerfile only in a subdirectory', 'DOCKERFILE_MISSING', () => makeZip([{ name: 'app/Dockerfile', data: DOCKERFILE }])],
      ['not a zip at all', 'ARTIFACT_INVALID', () => Buffer.from('this is not a zip archive, just some text'.repeat(4))],
    ];

    test('a zip is unpacked into the target as given: files, directories, counts and bytes', async () => {
      const main = 'print("hello")\n';
      const lib = 'X = 1\n';
      const dir = fx.target();
      const r = await fx.unpacker.unpack(
        await src([
          { name: 'Dockerfile', data: DOCKERFILE },
          { name: 'main.py', data: main },
          { name: 'pkg/' },
          { name: 'pkg/lib.py', data: lib, method: 'store' },
          { name: 'pkg/sub/data.txt', data: 'd' },
        ]),
        dir,
        fx.owner,
      );
      assert.equal(r.dir, dir);
      assert.equal(r.dockerfile, `${dir}/Dockerfile`);
      assert.deepEqual(await fx.files(dir), ['Dockerfile', 'main.py', 'pkg/lib.py', 'pkg/sub/data.txt']);
      assert.equal(r.files, 4);
      assert.equal(r.bytes, DOCKERFILE.length + main.length + lib.length + 1);
      assert.equal(await fx.read(r.dockerfile), DOCKERFILE);
      assert.equal(await fx.read(`${dir}/pkg/lib.py`), lib);
    });

    test("the target must be empty: a second unpack into it is refused and the first one's files stay", async () => {
      const dir = fx.target();
      await fx.unpacker.unpack(await src([{ name: 'Dockerfile', data: DOCKERFILE }]), dir, fx.owner);
      await rejectsCode(
        fx.unpacker.unpack(
          await src([
            { name: 'Dockerfile', data: 'FROM other\n' },
            { name: 'new.txt', data: 'n' },
          ]),
          dir,
          fx.owner,
        ),
        'CUBBY_VALIDATION',
        'unpack into a non-empty target',
      );
      assert.deepEqual(await fx.files(dir), ['Dockerfile']);
      assert.equal(await fx.read(`${dir}/Dockerfile`), DOCKERFILE);
    });

    test('hostile or broken zips are refused with their code, and no target is left', async () => {
      for (const [why, code, zip] of hostile()) {
        const dir = fx.target();
        await rejectsCode(fx.unpacker.unpack(await fx.source(zip()), dir, fx.owner), code, why);
        assert.equal(await fx.exists(dir), false, `${why}: the target is gone`);
      }
    });

    test('precheck passes a good artifact and writes nothing', async () => {
      const s = await src([
        { name: 'Dockerfile', data: DOCKERFILE },
        { name: 'main.py', data: 'print(1)\n' },
      ]);
      await fx.unpacker.precheck(s, BASE, MANAGED, fx.owner);
      await fx.unpacker.precheck(s, { name: 'debian-12-python', version: '1.0' }, MANAGED, fx.owner);
      // The same source still unpacks: precheck consumed or moved nothing.
      const dir = fx.target();
      await fx.unpacker.unpack(s, dir, fx.owner);
      assert.deepEqual(await fx.files(dir), ['Dockerfile', 'main.py']);
    });

    test('precheck refuses what unpack would, with the same code', async () => {
      for (const [why, code, zip] of hostile())
        await rejectsCode(fx.unpacker.precheck(await fx.source(zip()), BASE, MANAGED, fx.owner), code, why);
    });

    test('precheck refuses a FROM that is not the requested managed base', async () => {
      const withFrom = async (from: string) => src([{ name: 'Dockerfile', data: `${from}\nCMD ["true"]\n` }]);
      await rejectsCode(
        fx.unpacker.precheck(await withFrom('FROM ubuntu:22.04'), BASE, MANAGED, fx.owner),
        'DOCKERFILE_INVALID',
        'an image from a registry',
      );
      await rejectsCode(fx.unpacker.precheck(await withFrom('FROM scratch'), BASE, MANAGED, fx.owner), 'DOCKERFILE_INVALID', 'scratch');
      await rejectsCode(
        fx.unpacker.precheck(await withFrom('FROM debian-12-minimal'), BASE, MANAGED, fx.owner),
        'DOCKERFILE_FROM_MISMATCH',
        'another managed image',
      );
      await rejectsCode(
        fx.unpacker.precheck(await withFrom('FROM debian-12-python:1.0'), { name: 'debian-12-python', version: '1.1' }, MANAGED, fx.owner),
        'DOCKERFILE_FROM_MISMATCH',
        'another version',
      );
    });
  });
}
