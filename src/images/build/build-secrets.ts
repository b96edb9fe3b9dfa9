/**
 * A build role's secrets as RUN steps see them: one read-only file per secret in
 * /run/cubby/secrets, bind-mounted into each RUN step (`buildah bud --volume`), so they never
 * become part of a layer or the exported rootfs. The host copy lives on a tmpfs (/dev/shm) in a
 * directory only root can enter, for the build's duration only.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILD_SECRETS_DIR } from '../../core/roles/types.js';

export interface BuildSecretsMount {
  /** Arguments for `buildah bud`. */
  args: string[];
  remove(): Promise<void>;
}

export async function mountBuildSecrets(secrets: Record<string, string> | undefined): Promise<BuildSecretsMount> {
  if (!secrets || Object.keys(secrets).length === 0) return { args: [], remove: async () => undefined };
  const root = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const outer = await fs.mkdtemp(path.join(root, `cubby-build-secrets-${randomBytes(3).toString('hex')}-`));
  const remove = () => fs.rm(outer, { recursive: true, force: true });
  try {
    await fs.chmod(outer, 0o700);
    // World-readable inside (a RUN step may run as any USER); the outer directory keeps the host out.
    const dir = path.join(outer, 'secrets');
    await fs.mkdir(dir, { mode: 0o755 });
    for (const [name, value] of Object.entries(secrets)) {
      await fs.writeFile(path.join(dir, name), value, { mode: 0o444 });
    }
    return { args: ['--volume', `${dir}:${BUILD_SECRETS_DIR}:ro`], remove };
  } catch (e) {
    await remove();
    throw e;
  }
}
