/** Minimal valid records for the contract's tests. */
import type { ImageSettings } from '../../../src/core/model.js';
import type { ImageBuildInsert, ImageInsert, ImageVersionInsert, MicrovmInsert, Store } from '../../../src/core/ports/store.js';
import type { Image, ImageVersion, Microvm, Tenant } from '../../../src/core/model.js';

export function settings(over: Partial<ImageSettings> = {}): ImageSettings {
  return {
    baseImage: 'debian-12-python',
    codeArtifactUri: 'file:///srv/app.zip',
    environment: { MODE: 'test', 'WITH "QUOTES"': 'ünïcode ✓' },
    memoryMiB: 512,
    vcpus: 0.25,
    hooks: { port: 9000, enabled: { ready: true, run: true }, timeouts: { ready: 30 } },
    egress: { mode: 'allowlist', rules: [{ cidr: '198.51.100.0/24', ports: [{ from: 443, to: 443 }], protocol: 'tcp' }] },
    extra: { buildRoleArn: 'arn:aws:iam::123456789012:role/x', nested: { list: [1, 2, 3] } },
    ...over,
  };
}

export const imageInput = (tenantId: string, name: string): ImageInsert => ({ tenantId, name, state: 'CREATING' });

export const versionInput = (image: Image, version?: string): ImageVersionInsert => ({
  imageId: image.id,
  tenantId: image.tenantId,
  state: 'PENDING',
  status: 'ACTIVE',
  settings: settings(),
  ...(version === undefined ? {} : { version }),
});

export const buildInput = (v: ImageVersion): ImageBuildInsert => ({
  imageId: v.imageId,
  tenantId: v.tenantId,
  version: v.version,
  state: 'PENDING',
});

export function microvmInput(tenantId: string, imageId: string, imageVersion = '1.0', over: Partial<MicrovmInsert> = {}): MicrovmInsert {
  const at = new Date('2025-06-01T12:00:00.123Z');
  return {
    tenantId,
    imageId,
    imageVersion,
    state: 'PENDING',
    maximumDurationSeconds: 28800,
    egress: { mode: 'closed' },
    extra: { executionRoleArn: 'arn:aws:iam::123456789012:role/run' },
    startedAt: at,
    lastActivityAt: at,
    ...over,
  };
}

/** A tenant with one image, its version 1.0 and a microVM on it. */
export async function seed(
  store: Store,
  tenantName: string,
): Promise<{ tenant: Tenant; image: Image; version: ImageVersion; microvm: Microvm }> {
  const tenant = await store.createTenant(tenantName);
  const image = await store.insertImage(imageInput(tenant.id, 'app'));
  const version = await store.insertVersion(versionInput(image));
  const microvm = await store.insertMicrovm(microvmInput(tenant.id, image.id, version.version));
  return { tenant, image, version, microvm };
}
