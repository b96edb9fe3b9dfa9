/** Column layout of each record type (see codec.ts and migrations.ts). */
import type { AccessKeyInfo } from '../../core/ports/store.js';
import type { Image, ImageBuild, ImageVersion, Microvm, Tenant } from '../../core/model.js';
import { codec } from './codec.js';

export const TENANT = codec<Tenant>([
  { key: 'id', column: 'id', type: 'text' },
  { key: 'name', column: 'name', type: 'text' },
  { key: 'accountId', column: 'account_id', type: 'text' },
  { key: 'createdAt', column: 'created_at', type: 'date' },
]);

export const ACCESS_KEY = codec<AccessKeyInfo>([
  { key: 'accessKeyId', column: 'access_key_id', type: 'text' },
  { key: 'tenantId', column: 'tenant_id', type: 'text' },
  { key: 'status', column: 'status', type: 'text' },
  { key: 'createdAt', column: 'created_at', type: 'date' },
  { key: 'revokedAt', column: 'revoked_at', type: 'date', optional: true },
]);

export const IMAGE = codec<Image>([
  { key: 'id', column: 'id', type: 'text' },
  { key: 'tenantId', column: 'tenant_id', type: 'text' },
  { key: 'name', column: 'name', type: 'text' },
  { key: 'state', column: 'state', type: 'text' },
  { key: 'latestActiveVersion', column: 'latest_active_version', type: 'text', optional: true },
  { key: 'latestFailedVersion', column: 'latest_failed_version', type: 'text', optional: true },
  { key: 'createdAt', column: 'created_at', type: 'date' },
  { key: 'updatedAt', column: 'updated_at', type: 'date', optional: true },
]);

export const IMAGE_VERSION = codec<ImageVersion>([
  { key: 'imageId', column: 'image_id', type: 'text' },
  { key: 'tenantId', column: 'tenant_id', type: 'text' },
  { key: 'version', column: 'version', type: 'text' },
  { key: 'state', column: 'state', type: 'text' },
  { key: 'status', column: 'status', type: 'text' },
  { key: 'settings', column: 'settings', type: 'json' },
  { key: 'stateReason', column: 'state_reason', type: 'text', optional: true },
  { key: 'rootfsPath', column: 'rootfs_path', type: 'text', optional: true },
  { key: 'snapshotPath', column: 'snapshot_path', type: 'text', optional: true },
  { key: 'createdAt', column: 'created_at', type: 'date' },
  { key: 'updatedAt', column: 'updated_at', type: 'date', optional: true },
]);

export const IMAGE_BUILD = codec<ImageBuild>([
  { key: 'id', column: 'id', type: 'text' },
  { key: 'imageId', column: 'image_id', type: 'text' },
  { key: 'tenantId', column: 'tenant_id', type: 'text' },
  { key: 'version', column: 'version', type: 'text' },
  { key: 'state', column: 'state', type: 'text' },
  { key: 'stateReason', column: 'state_reason', type: 'text', optional: true },
  { key: 'logPath', column: 'log_path', type: 'text', optional: true },
  { key: 'memorySnapshotBytes', column: 'memory_snapshot_bytes', type: 'int', optional: true },
  { key: 'diskSnapshotBytes', column: 'disk_snapshot_bytes', type: 'int', optional: true },
  { key: 'codeInstallBytes', column: 'code_install_bytes', type: 'int', optional: true },
  { key: 'createdAt', column: 'created_at', type: 'date' },
  { key: 'updatedAt', column: 'updated_at', type: 'date', optional: true },
]);

export const MICROVM = codec<Microvm>([
  { key: 'id', column: 'id', type: 'text' },
  { key: 'tenantId', column: 'tenant_id', type: 'text' },
  { key: 'imageId', column: 'image_id', type: 'text' },
  { key: 'imageVersion', column: 'image_version', type: 'text' },
  { key: 'state', column: 'state', type: 'text' },
  { key: 'stateReason', column: 'state_reason', type: 'text', optional: true },
  { key: 'idlePolicy', column: 'idle_policy', type: 'json', optional: true },
  { key: 'maximumDurationSeconds', column: 'maximum_duration_seconds', type: 'int' },
  { key: 'runHookPayload', column: 'run_hook_payload', type: 'text', optional: true },
  { key: 'egress', column: 'egress', type: 'json' },
  { key: 'checkpointPath', column: 'checkpoint_path', type: 'text', optional: true },
  { key: 'extra', column: 'extra', type: 'json' },
  { key: 'startedAt', column: 'started_at', type: 'date' },
  { key: 'lastActivityAt', column: 'last_activity_at', type: 'date' },
  { key: 'suspendedAt', column: 'suspended_at', type: 'date', optional: true },
  { key: 'terminatedAt', column: 'terminated_at', type: 'date', optional: true },
  { key: 'runningSeconds', column: 'running_seconds', type: 'real' },
  { key: 'suspendedSeconds', column: 'suspended_seconds', type: 'real' },
  { key: 'updatedAt', column: 'updated_at', type: 'date' },
]);
