/** Column layout of each record type (see codec.ts and migrations.ts). */
import type { AccessKeyInfo, E2bKeyInfo } from '../core/ports/store.js';
import type { Image, ImageBuild, ImageVersion, Microvm, Tenant } from '../core/model.js';
import { codec } from './codec.js';

export const TENANT = codec<Tenant>({
  id: { column: 'id', type: 'text' },
  name: { column: 'name', type: 'text' },
  accountId: { column: 'account_id', type: 'text' },
  createdAt: { column: 'created_at', type: 'date' },
});

export const ACCESS_KEY = codec<AccessKeyInfo>({
  accessKeyId: { column: 'access_key_id', type: 'text' },
  tenantId: { column: 'tenant_id', type: 'text' },
  status: { column: 'status', type: 'text' },
  createdAt: { column: 'created_at', type: 'date' },
  revokedAt: { column: 'revoked_at', type: 'date', optional: true },
});

export const E2B_KEY = codec<E2bKeyInfo>({
  keyId: { column: 'key_id', type: 'text' },
  tenantId: { column: 'tenant_id', type: 'text' },
  hint: { column: 'hint', type: 'text' },
  status: { column: 'status', type: 'text' },
  createdAt: { column: 'created_at', type: 'date' },
  revokedAt: { column: 'revoked_at', type: 'date', optional: true },
});

export const IMAGE = codec<Image>({
  id: { column: 'id', type: 'text' },
  tenantId: { column: 'tenant_id', type: 'text' },
  name: { column: 'name', type: 'text' },
  state: { column: 'state', type: 'text' },
  latestActiveVersion: { column: 'latest_active_version', type: 'text', optional: true },
  latestFailedVersion: { column: 'latest_failed_version', type: 'text', optional: true },
  createdAt: { column: 'created_at', type: 'date' },
  updatedAt: { column: 'updated_at', type: 'date', optional: true },
});

export const IMAGE_VERSION = codec<ImageVersion>({
  imageId: { column: 'image_id', type: 'text' },
  tenantId: { column: 'tenant_id', type: 'text' },
  version: { column: 'version', type: 'text' },
  state: { column: 'state', type: 'text' },
  status: { column: 'status', type: 'text' },
  // settings.environment is sealed at rest (sealed-env.ts; the version ops seal and open it).
  settings: { column: 'settings', type: 'json' },
  stateReason: { column: 'state_reason', type: 'text', optional: true },
  rootfsPath: { column: 'rootfs_path', type: 'text', optional: true },
  snapshotPath: { column: 'snapshot_path', type: 'text', optional: true },
  createdAt: { column: 'created_at', type: 'date' },
  updatedAt: { column: 'updated_at', type: 'date', optional: true },
});

export const IMAGE_BUILD = codec<ImageBuild>({
  id: { column: 'id', type: 'text' },
  imageId: { column: 'image_id', type: 'text' },
  tenantId: { column: 'tenant_id', type: 'text' },
  version: { column: 'version', type: 'text' },
  state: { column: 'state', type: 'text' },
  stateReason: { column: 'state_reason', type: 'text', optional: true },
  logPath: { column: 'log_path', type: 'text', optional: true },
  memorySnapshotBytes: { column: 'memory_snapshot_bytes', type: 'int', optional: true },
  diskSnapshotBytes: { column: 'disk_snapshot_bytes', type: 'int', optional: true },
  codeInstallBytes: { column: 'code_install_bytes', type: 'int', optional: true },
  createdAt: { column: 'created_at', type: 'date' },
  updatedAt: { column: 'updated_at', type: 'date', optional: true },
});

export const MICROVM = codec<Microvm>({
  id: { column: 'id', type: 'text' },
  tenantId: { column: 'tenant_id', type: 'text' },
  imageId: { column: 'image_id', type: 'text' },
  imageVersion: { column: 'image_version', type: 'text' },
  state: { column: 'state', type: 'text' },
  stateReason: { column: 'state_reason', type: 'text', optional: true },
  idlePolicy: { column: 'idle_policy', type: 'json', optional: true },
  maximumDurationSeconds: { column: 'maximum_duration_seconds', type: 'int' },
  onMaximumDuration: { column: 'on_maximum_duration', type: 'json', optional: true },
  runHookPayload: { column: 'run_hook_payload', type: 'text', optional: true },
  egress: { column: 'egress', type: 'json' },
  checkpointPath: { column: 'checkpoint_path', type: 'text', optional: true },
  extra: { column: 'extra', type: 'json' },
  startedAt: { column: 'started_at', type: 'date' },
  lastActivityAt: { column: 'last_activity_at', type: 'date' },
  suspendedAt: { column: 'suspended_at', type: 'date', optional: true },
  terminatedAt: { column: 'terminated_at', type: 'date', optional: true },
  stateChangedAt: { column: 'state_changed_at', type: 'date', optional: true },
  runningSeconds: { column: 'running_seconds', type: 'real' },
  suspendedSeconds: { column: 'suspended_seconds', type: 'real' },
  updatedAt: { column: 'updated_at', type: 'date' },
});

/** What each update may change (identity and, for microVMs, state are not patchable). */
export const IMAGE_PATCHABLE: ReadonlySet<string> = new Set(['state', 'latestActiveVersion', 'latestFailedVersion', 'updatedAt']);
export const VERSION_PATCHABLE: ReadonlySet<string> = new Set([
  'state',
  'status',
  'stateReason',
  'rootfsPath',
  'snapshotPath',
  'updatedAt',
]);
export const BUILD_PATCHABLE: ReadonlySet<string> = new Set([
  'state',
  'stateReason',
  'logPath',
  'memorySnapshotBytes',
  'diskSnapshotBytes',
  'codeInstallBytes',
  'updatedAt',
]);
const MICROVM_IDENTITY = new Set(['id', 'tenantId', 'imageId', 'imageVersion', 'state']);
export const MICROVM_PATCHABLE: ReadonlySet<string> = new Set(
  MICROVM.fields.map((f) => f.key as string).filter((k) => !MICROVM_IDENTITY.has(k)),
);
/** A transition may also set the state. */
export const MICROVM_TRANSITION: ReadonlySet<string> = new Set([...MICROVM_PATCHABLE, 'state']);
