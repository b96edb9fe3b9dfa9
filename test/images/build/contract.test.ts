/**
 * The image builder contract against BuildahBuilder: real buildah builds on the machine's cached
 * debian-12-python base (never rebuilt), RUN steps in gVisor. One successful and one failing
 * build in all (the contract shares them), about a minute together.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BuildahBuilder } from '../../../src/images/build/buildah-builder.js';
import { ensureTestBaseImage } from '../../support/base-image.js';
import { runBuildContract } from '../contract/build.js';

runBuildContract('buildah', async () => {
  await ensureTestBaseImage('debian-12-python');
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-build-contract-'));
  let n = 0;
  return {
    builder: new BuildahBuilder(),
    base: 'debian-12-python',
    async context(files) {
      const dir = path.join(root, `ctx${n++}`);
      for (const [f, text] of Object.entries(files)) {
        await fs.mkdir(path.dirname(path.join(dir, f)), { recursive: true });
        await fs.writeFile(path.join(dir, f), text);
      }
      await fs.mkdir(dir, { recursive: true });
      return dir;
    },
    output: () => path.join(root, `out${n++}`),
    async put(f, text) {
      await fs.mkdir(path.dirname(f), { recursive: true });
      await fs.writeFile(f, text);
    },
    read: (f) => fs.readFile(f, 'utf8').catch(() => undefined),
    exists: (p) =>
      fs.lstat(p).then(
        () => true,
        () => false,
      ),
    close: () => fs.rm(root, { recursive: true, force: true }),
  };
});
