/**
 * Makes a managed base rootfs a local buildah image (localhost/cubby/<name>:<version>) in the shared
 * store, once: `buildah from scratch`, copy the rootfs in, set Docker-like defaults, commit. The
 * image is labelled with the rootfs's build time, so a rebuilt base is imported again.
 */
import path from 'node:path';
import type { ManagedImageInfo } from '../../core/ports/images.js';
import { CubbyError } from '../../errors/index.js';
import { streamCommand } from '../util/stream-command.js';
import { withFileLock } from '../util/file-lock.js';
import type { BuildahRunner, StorageLayout } from './buildah-storage.js';

const CREATED_LABEL = 'io.cubby.base.created';

export function baseImageRef(name: string, version: string): string {
  return `localhost/cubby/${name}:${version}`;
}

async function importedCreatedAt(buildah: BuildahRunner, shared: StorageLayout, ref: string): Promise<string | undefined> {
  const r = await buildah.run(shared, ['inspect', '--type', 'image', '--format', `{{index .OCIv1.Config.Labels "${CREATED_LABEL}"}}`, ref]);
  if (r.code !== 0) return undefined;
  // An image without the label (imported by hand, or by an older Cubby) is re-imported.
  return r.stdout.trim() || 'unlabelled';
}

export async function importBase(
  buildah: BuildahRunner,
  shared: StorageLayout,
  storageDir: string,
  base: ManagedImageInfo,
  log: (line: string) => void,
): Promise<string> {
  const ref = baseImageRef(base.name, base.version);
  if ((await importedCreatedAt(buildah, shared, ref)) === base.createdAt) return ref;
  return withFileLock(path.join(storageDir, `import-${base.name}-${base.version}.lock`), async () => {
    const seen = await importedCreatedAt(buildah, shared, ref);
    if (seen === base.createdAt) return ref;
    log(`[cubby] importing managed image ${base.name}:${base.version} into the build store`);
    const must = async (what: string, args: string[]): Promise<string> => {
      const r = await buildah.run(shared, args, { timeoutMs: 10 * 60_000 });
      if (r.code !== 0)
        throw new CubbyError('IMAGE_BASE_BUILD_FAILED', `importing ${ref}: ${what} failed: ${r.output.trim().slice(-1500)}`);
      return r.stdout.trim().split('\n').pop() ?? '';
    };
    if (seen !== undefined) await buildah.run(shared, ['rmi', '--force', ref]);
    const container = await must('buildah from', ['from', '--pull-never', 'scratch']);
    try {
      const mnt = await must('buildah mount', ['mount', container]);
      const cp = await streamCommand('cp', ['-a', `${base.rootfs}/.`, `${mnt}/`], { timeoutMs: 10 * 60_000 });
      if (cp.code !== 0) throw new CubbyError('IMAGE_BASE_BUILD_FAILED', `importing ${ref}: copy failed: ${cp.output.slice(-1500)}`);
      await must('buildah umount', ['umount', container]);
      await must('buildah config', [
        'config',
        '--env',
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--env',
        'LANG=C.UTF-8',
        '--cmd',
        '["bash"]',
        '--workingdir',
        '/',
        '--label',
        `${CREATED_LABEL}=${base.createdAt}`,
        container,
      ]);
      await must('buildah commit', ['commit', '--rm', '--format', 'oci', container, ref]);
    } catch (e) {
      await buildah.run(shared, ['rm', container]);
      throw e;
    }
    return ref;
  });
}
