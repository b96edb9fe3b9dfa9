import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { ZipArtifactUnpacker } from '../../../src/images/artifact/zip-artifact-unpacker.js';
import { isCubbyError, type ErrorCode } from '../../../src/errors/index.js';
import { makeZip, type ZipEntrySpec } from '../../support/zip-writer.js';

const DOCKERFILE: ZipEntrySpec = { name: 'Dockerfile', data: 'FROM debian-12-python\nCMD ["python3","/app/app.py"]\n' };

const PY = { name: 'debian-12-python' };
const MANAGED = ['debian-12-minimal', 'debian-12-python'];

async function sandboxDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-unpack-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Unpacks into <parent>/target and checks the failure code and that nothing at all remains. */
async function expectRefused(
  t: Parameters<typeof sandboxDir>[0],
  entries: ZipEntrySpec[],
  code: ErrorCode,
  unpacker = new ZipArtifactUnpacker(),
  outside: string[] = [],
): Promise<void> {
  const parent = await sandboxDir(t);
  await assert.rejects(unpacker.unpack(makeZip(entries), path.join(parent, 'target')), (e: unknown) => {
    assert.ok(isCubbyError(e, code), `expected ${code}, got ${String(e)}`);
    return true;
  });
  assert.deepEqual(await fs.readdir(parent), [], 'nothing may remain next to or inside the target');
  for (const p of outside) await assert.rejects(fs.lstat(p), 'nothing may be written outside');
  // The request-time check reads headers only: it refuses the same way, except a header that lies.
  if (entries.some((e) => e.declaredSize !== undefined)) return;
  await assert.rejects(unpacker.precheck(makeZip(entries), PY, MANAGED), (e: unknown) => {
    assert.ok(isCubbyError(e, code), `precheck: expected ${code}, got ${String(e)}`);
    return true;
  });
  for (const p of outside) await assert.rejects(fs.lstat(p), 'nothing may be written outside');
}

test('a good artifact unpacks with its files, directories and exec bits', async (t) => {
  const parent = await sandboxDir(t);
  const target = path.join(parent, 'ctx');
  const r = await new ZipArtifactUnpacker().unpack(
    makeZip([
      DOCKERFILE,
      { name: 'app/' },
      { name: 'app/app.py', data: 'print("hi")\n' },
      { name: 'app/run.sh', data: '#!/bin/sh\n', mode: 0o104755, method: 'store' },
      { name: './data/./x.txt', data: 'x' },
    ]),
    target,
  );
  assert.equal(r.dir, target);
  assert.equal(r.dockerfile, path.join(target, 'Dockerfile'));
  assert.equal(r.files, 4);
  assert.equal(await fs.readFile(path.join(target, 'app/app.py'), 'utf8'), 'print("hi")\n');
  assert.equal(await fs.readFile(path.join(target, 'data/x.txt'), 'utf8'), 'x');
  assert.equal((await fs.stat(path.join(target, 'app/run.sh'))).mode & 0o7777, 0o755, 'exec kept, setuid dropped');
  assert.equal((await fs.stat(path.join(target, 'app/app.py'))).mode & 0o7777, 0o644);
});

test('path traversal with .. is refused', async (t) => {
  const marker = `cubby-escape-${randomBytes(4).toString('hex')}`;
  await expectRefused(t, [DOCKERFILE, { name: `../${marker}`, data: 'x' }], 'ARTIFACT_UNSAFE_PATH');
  await expectRefused(t, [DOCKERFILE, { name: `a/../../${marker}`, data: 'x' }], 'ARTIFACT_UNSAFE_PATH');
});

test('absolute paths are refused and nothing is written there', async (t) => {
  const abs = path.join(os.tmpdir(), `cubby-abs-${randomBytes(4).toString('hex')}`);
  await expectRefused(t, [DOCKERFILE, { name: abs, data: 'x' }], 'ARTIFACT_UNSAFE_PATH', undefined, [abs]);
  await expectRefused(t, [DOCKERFILE, { name: '/etc/cubby-evil', data: 'x' }], 'ARTIFACT_UNSAFE_PATH', undefined, ['/etc/cubby-evil']);
});

test('symlinks are refused, pointing out or in, and what came before is removed', async (t) => {
  await expectRefused(t, [DOCKERFILE, { name: 'link', data: '/etc/passwd', mode: 0o120777 }], 'ARTIFACT_UNSAFE_PATH');
  // A link to a directory outside, then a file written "through" it: refused at the link.
  const out = await sandboxDir(t);
  await expectRefused(
    t,
    [DOCKERFILE, { name: 'up', data: out, mode: 0o120777 }, { name: 'up/evil', data: 'x' }],
    'ARTIFACT_UNSAFE_PATH',
    undefined,
    [path.join(out, 'evil')],
  );
  await expectRefused(t, [DOCKERFILE, { name: 'inner', data: 'Dockerfile', mode: 0o120777 }], 'ARTIFACT_UNSAFE_PATH');
});

test('device and fifo entries are refused', async (t) => {
  await expectRefused(t, [DOCKERFILE, { name: 'dev', mode: 0o020644 }], 'ARTIFACT_UNSAFE_PATH');
  await expectRefused(t, [DOCKERFILE, { name: 'fifo', mode: 0o010644 }], 'ARTIFACT_UNSAFE_PATH');
});

test('duplicate and case-colliding names are refused', async (t) => {
  await expectRefused(t, [DOCKERFILE, { name: 'a.txt', data: '1' }, { name: 'a.txt', data: '2' }], 'ARTIFACT_UNSAFE_PATH');
  await expectRefused(t, [DOCKERFILE, { name: 'app/A.py', data: '1' }, { name: 'app/a.PY', data: '2' }], 'ARTIFACT_UNSAFE_PATH');
});

test('a zip bomb is refused by its ratio, and a lying header by the bytes actually written', async (t) => {
  const zeros = Buffer.alloc(32 * 1024 * 1024);
  await expectRefused(t, [DOCKERFILE, { name: 'bomb.bin', data: zeros }], 'ARTIFACT_TOO_LARGE');
  // The header says 100 bytes; the stream holds 32 MiB.
  await expectRefused(t, [DOCKERFILE, { name: 'liar.bin', data: zeros, declaredSize: 100 }], 'ARTIFACT_TOO_LARGE');
  // Under the ratio, over the total: random data does not compress.
  const small = new ZipArtifactUnpacker({ limits: { maxTotalBytes: 1024 * 1024 } });
  const chunk = (): Buffer => randomBytes(400 * 1024);
  await expectRefused(
    t,
    [DOCKERFILE, { name: 'a', data: chunk() }, { name: 'b', data: chunk() }, { name: 'c', data: chunk() }],
    'ARTIFACT_TOO_LARGE',
    small,
  );
});

test('too many entries are refused', async (t) => {
  const entries: ZipEntrySpec[] = [DOCKERFILE];
  for (let i = 0; i < 20; i++) entries.push({ name: `f${i}`, data: String(i) });
  await expectRefused(t, entries, 'ARTIFACT_TOO_LARGE', new ZipArtifactUnpacker({ limits: { maxEntries: 10 } }));
});

test('an artifact without a Dockerfile at its root is DOCKERFILE_MISSING', async (t) => {
  await expectRefused(t, [{ name: 'app.py', data: 'x' }], 'DOCKERFILE_MISSING');
  await expectRefused(t, [{ name: 'sub/Dockerfile', data: 'FROM x' }], 'DOCKERFILE_MISSING');
  await expectRefused(t, [{ name: 'Dockerfile/' }, { name: 'Dockerfile/x', data: 'x' }], 'DOCKERFILE_MISSING');
});

test('bytes that are not a zip are ARTIFACT_INVALID', async (t) => {
  const parent = await sandboxDir(t);
  await assert.rejects(new ZipArtifactUnpacker().unpack(Buffer.from('not a zip at all'), path.join(parent, 't')), (e: unknown) =>
    isCubbyError(e, 'ARTIFACT_INVALID'),
  );
  assert.deepEqual(await fs.readdir(parent), []);
});

test('a non-empty target directory is refused and left alone', async (t) => {
  const parent = await sandboxDir(t);
  await fs.writeFile(path.join(parent, 'keep'), 'x');
  await assert.rejects(new ZipArtifactUnpacker().unpack(makeZip([DOCKERFILE]), parent), (e: unknown) =>
    isCubbyError(e, 'CUBBY_VALIDATION'),
  );
  assert.deepEqual(await fs.readdir(parent), ['keep']);
});

test('file:// artifacts are read, missing ones are ARTIFACT_FETCH_FAILED, roots are enforced', async (t) => {
  const dir = await sandboxDir(t);
  const zip = path.join(dir, 'a.zip');
  await fs.writeFile(zip, makeZip([DOCKERFILE]));
  const r = await new ZipArtifactUnpacker().unpack(pathToFileURL(zip).href, path.join(dir, 'ctx'));
  assert.equal(r.files, 1);
  await assert.rejects(
    new ZipArtifactUnpacker().unpack(pathToFileURL(path.join(dir, 'nope.zip')).href, path.join(dir, 'c2')),
    (e: unknown) => isCubbyError(e, 'ARTIFACT_FETCH_FAILED'),
  );
  await assert.rejects(
    new ZipArtifactUnpacker({ fileRoots: ['/nonexistent-root'] }).unpack(pathToFileURL(zip).href, path.join(dir, 'c3')),
    (e: unknown) => isCubbyError(e, 'ARTIFACT_FETCH_FAILED'),
  );
  // Refusals name the URI as given, never the real path behind it.
  await fs.symlink(zip, path.join(dir, 'link.zip'));
  const viaLink = pathToFileURL(path.join(dir, 'link.zip')).href;
  await assert.rejects(
    new ZipArtifactUnpacker({ fileRoots: ['/nonexistent-root'], label: viaLink }).unpack(viaLink, path.join(dir, 'c6')),
    (e: unknown) => {
      assert.ok(isCubbyError(e, 'ARTIFACT_FETCH_FAILED'));
      assert.equal(e.message, `the file:// artifact ${viaLink} is outside the directories allowed for this tenant`);
      return true;
    },
  );
  const missing = pathToFileURL(path.join(dir, 'nope.zip')).href;
  await assert.rejects(new ZipArtifactUnpacker({ fileRoots: [dir] }).unpack(missing, path.join(dir, 'c7')), (e: unknown) => {
    assert.ok(isCubbyError(e, 'ARTIFACT_FETCH_FAILED'));
    assert.equal(e.message, `the file:// artifact ${missing} cannot be read`);
    return true;
  });
  await fs.rm(path.join(dir, 'link.zip'));
  await assert.rejects(new ZipArtifactUnpacker().unpack('ftp://example.invalid/a.zip', path.join(dir, 'c4')), (e: unknown) =>
    isCubbyError(e, 'ARTIFACT_INVALID'),
  );
  await assert.rejects(
    new ZipArtifactUnpacker({ limits: { maxArchiveBytes: 10 } }).unpack(pathToFileURL(zip).href, path.join(dir, 'c5')),
    (e: unknown) => isCubbyError(e, 'ARTIFACT_TOO_LARGE'),
  );
  assert.deepEqual((await fs.readdir(dir)).sort(), ['a.zip', 'ctx']);
});

test('precheck: a good artifact passes; its Dockerfile must parse and name the requested base', async () => {
  const u = new ZipArtifactUnpacker();
  await u.precheck(makeZip([DOCKERFILE, { name: 'app/app.py', data: 'x' }]), PY, MANAGED);
  await u.precheck(makeZip([{ name: 'Dockerfile', data: 'FROM debian-12-python:1.0\n' }]), { ...PY, version: '1.0' }, MANAGED);
  const refused = async (dockerfile: string, code: ErrorCode, base: { name: string; version?: string } = PY) => {
    await assert.rejects(u.precheck(makeZip([{ name: 'Dockerfile', data: dockerfile }]), base, MANAGED), (e: unknown) => {
      assert.ok(isCubbyError(e, code), `${JSON.stringify(dockerfile.slice(0, 60))}: expected ${code}, got ${String(e).slice(0, 300)}`);
      return true;
    });
  };
  await refused('FROM debian-12-minimal\n', 'DOCKERFILE_FROM_MISMATCH');
  await refused('FROM debian-12-python:1.0\n', 'DOCKERFILE_FROM_MISMATCH', { ...PY, version: '1.1' });
  await refused('FROM ubuntu:22.04\n', 'DOCKERFILE_INVALID');
  await refused('RUN echo no base\n', 'DOCKERFILE_INVALID');
  await refused('FROM debian-12-python\nFROM debian-12-python\n', 'DOCKERFILE_INVALID');
  // Random text: over the Dockerfile limit without tripping the zip bomb ratio first.
  await refused(`FROM debian-12-python\n# ${randomBytes(800 * 1024).toString('base64')}\n`, 'DOCKERFILE_INVALID');
});

test('precheck: remote sources are checked for form and literal addresses only, never resolved nor fetched', async () => {
  let asked = 0;
  const u = new ZipArtifactUnpacker({
    resolve: async () => {
      asked++;
      return ['127.0.0.1'];
    },
  });
  // Nothing listens on these names; a fetch would fail, so passing proves none was tried.
  await u.precheck('https://artifacts.example/app.zip', PY, MANAGED);
  for (const refused of [
    'http://127.0.0.1:1/app.zip',
    'http://[::1]/a.zip',
    'http://[::ffff:169.254.169.254]/a.zip',
    'http://10.1.2.3/a.zip',
    'http://localhost:8470/a.zip',
    'http://x.localhost/a.zip',
  ]) {
    await assert.rejects(u.precheck(refused, PY, MANAGED), (e: unknown) => {
      assert.ok(isCubbyError(e, 'ARTIFACT_FETCH_FAILED'), String(e));
      assert.equal(e.message, `the code artifact could not be fetched from ${refused}`);
      return true;
    });
  }
  await assert.rejects(u.precheck('ftp://x/app.zip', PY, MANAGED), (e: unknown) => isCubbyError(e, 'ARTIFACT_INVALID'));
  await assert.rejects(u.precheck('not a uri', PY, MANAGED), (e: unknown) => isCubbyError(e, 'ARTIFACT_INVALID'));
  assert.equal(asked, 0);
});

test('precheck: a local zip is checked in place, under the same policy, and no file stays open', async (t) => {
  const dir = await sandboxDir(t);
  const good = path.join(dir, 'good.zip');
  const bad = path.join(dir, 'bad.zip');
  const bomb = path.join(dir, 'bomb.zip');
  await fs.writeFile(good, makeZip([DOCKERFILE, { name: 'app/app.py', data: 'x' }]));
  await fs.writeFile(bad, makeZip([DOCKERFILE, { name: '../escape', data: 'x' }]));
  await fs.writeFile(bomb, makeZip([DOCKERFILE, { name: 'bomb.bin', data: Buffer.alloc(32 * 1024 * 1024) }]));
  const fds = async () => (await fs.readdir('/proc/self/fd')).length;
  const before = await fds();
  const u = new ZipArtifactUnpacker({ fileRoots: [dir] });
  for (let i = 0; i < 20; i++) {
    await u.precheck(pathToFileURL(good).href, PY, MANAGED);
    await assert.rejects(u.precheck(pathToFileURL(bad).href, PY, MANAGED), (e: unknown) => isCubbyError(e, 'ARTIFACT_UNSAFE_PATH'));
    await assert.rejects(u.precheck(pathToFileURL(bomb).href, PY, MANAGED), (e: unknown) => isCubbyError(e, 'ARTIFACT_TOO_LARGE'));
  }
  assert.ok((await fds()) <= before + 1, `file descriptors left open: ${before} -> ${await fds()}`);
  await assert.rejects(
    new ZipArtifactUnpacker({ fileRoots: ['/nonexistent-root'] }).precheck(pathToFileURL(good).href, PY, MANAGED),
    (e: unknown) => isCubbyError(e, 'ARTIFACT_FETCH_FAILED'),
  );
  await assert.rejects(
    new ZipArtifactUnpacker({ limits: { maxArchiveBytes: 10 } }).precheck(pathToFileURL(good).href, PY, MANAGED),
    (e: unknown) => isCubbyError(e, 'ARTIFACT_TOO_LARGE'),
  );
  await assert.rejects(u.precheck(pathToFileURL(path.join(dir, 'missing.zip')).href, PY, MANAGED), (e: unknown) =>
    isCubbyError(e, 'ARTIFACT_FETCH_FAILED'),
  );
  const notZip = path.join(dir, 'not.zip');
  await fs.writeFile(notZip, 'definitely not a zip');
  await assert.rejects(u.precheck(pathToFileURL(notZip).href, PY, MANAGED), (e: unknown) => isCubbyError(e, 'ARTIFACT_INVALID'));
});
