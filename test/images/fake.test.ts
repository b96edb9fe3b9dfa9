/** The fake images ports (test/support/fakes/fake-images.ts) honour the same contracts as the real ones. */
import { runArtifactContract } from './contract/artifact.js';
import { runManagedStoreContract } from './contract/base.js';
import { runBuildContract } from './contract/build.js';
import { FakeBuilder, FakeManagedImages, FakeUnpacker } from '../support/fakes/fake-images.js';
import { MemFs } from '../support/fakes/mem-fs.js';

/** Relative paths of the files under dir in a MemFs, sorted. */
function filesUnder(fs: MemFs, dir: string): string[] {
  const pre = `${dir.replace(/\/$/, '')}/`;
  return [...fs.files.keys()]
    .filter((f) => f.startsWith(pre))
    .map((f) => f.slice(pre.length))
    .sort();
}

runManagedStoreContract('fake', async () => ({
  store: new FakeManagedImages(),
  built: 'debian-12-python',
  deprecated: '1.0',
  close: async () => undefined,
}));

runArtifactContract('fake', async () => {
  const fs = new MemFs();
  const limits = { maxEntries: 20, maxTotalBytes: 64 * 1024 };
  let n = 0;
  return {
    unpacker: new FakeUnpacker(fs, limits),
    limits,
    source: async (zip) => new Uint8Array(zip),
    target: () => `/work/targets/t${n++}`,
    files: async (dir) => filesUnder(fs, dir),
    read: async (f) => fs.read(f)?.toString(),
    exists: async (p) => fs.exists(p),
    close: async () => undefined,
  };
});

runBuildContract('fake', async () => {
  const fs = new MemFs();
  let n = 0;
  return {
    builder: new FakeBuilder(fs),
    base: 'debian-12-python',
    async context(files) {
      const dir = `/work/ctx/c${n++}`;
      fs.mkdirp(dir);
      for (const [f, text] of Object.entries(files)) fs.write(`${dir}/${f}`, text);
      return dir;
    },
    output: () => `/work/out/o${n++}`,
    put: async (f, text) => fs.write(f, text),
    read: async (f) => fs.read(f)?.toString(),
    exists: async (p) => fs.exists(p),
    close: async () => undefined,
  };
});
