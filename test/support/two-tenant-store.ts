/** A real SQLite store for core service tests: two tenants, each with a built image "app". */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { ImageSettings } from '../../src/core/model.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';

/**
 * A store in a temporary folder (closed and removed after the test) with tenants `<name>-a` and
 * `<name>-b`, each holding image "app" whose version 1.0 is SUCCESSFUL and ACTIVE with `size`
 * (the second tenant's with `otherSize` where given).
 */
export async function twoTenantStore(
  t: TestContext,
  name: string,
  size: Pick<ImageSettings, 'memoryMiB' | 'vcpus'>,
  otherSize: Partial<Pick<ImageSettings, 'memoryMiB' | 'vcpus'>> = {},
) {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `cubby-${name}-`));
  const store = await openSqliteStore({ dataDir: dir });
  t.after(async () => {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  const tenant = await store.createTenant(`${name}-a`);
  const other = await store.createTenant(`${name}-b`);
  const settings: ImageSettings = {
    baseImage: 'debian-12-python',
    codeArtifactUri: 'file:///a.zip',
    environment: {},
    ...size,
    hooks: { port: 9000, enabled: {}, timeouts: {} },
    egress: { mode: 'closed' },
    extra: {},
  };
  const app = async (tenantId: string, s: ImageSettings) => {
    const image = await store.insertImage({ tenantId, name: 'app', state: 'CREATED' });
    await store.insertVersion({ imageId: image.id, tenantId, version: '1.0', state: 'SUCCESSFUL', status: 'ACTIVE', settings: s });
    return image;
  };
  const image = await app(tenant.id, settings);
  const otherImage = await app(other.id, { ...settings, ...otherSize });
  return { dir, store, tenant, other, image, otherImage };
}
