/**
 * Cubby's domain records. Front doors translate these to their wire shapes (ARNs, E2B ids);
 * the store persists them as they are. Times are Date objects; ids are opaque strings.
 */
import type { EgressPolicy } from './ports/network.js';

export interface Tenant {
  id: string; // internal id, e.g. "tn_..."
  name: string; // unique, [a-z0-9-]{1,63}
  accountId: string; // 12 digits, unique; used in ARNs
  createdAt: Date;
}

export interface AccessKey {
  accessKeyId: string; // "CBK" + 17 upper-case alphanumerics (AWS-like, 20 chars)
  tenantId: string;
  /** The secret, encrypted at rest by the store's key; only the store decrypts. */
  secretAccessKey: string;
  status: 'ACTIVE' | 'REVOKED';
  createdAt: Date;
  revokedAt?: Date;
}

export type HookName = 'ready' | 'validate' | 'run' | 'resume' | 'suspend' | 'terminate';

export interface HookSettings {
  /** Port inside the sandbox where the hooks listen (default 9000). */
  port: number;
  enabled: Partial<Record<HookName, boolean>>;
  /** Seconds; ready/validate 1-3600 (default 30), others 1-60 (default 10). */
  timeouts: Partial<Record<HookName, number>>;
}

/** The settings an image version is built with (one per version; immutable once built). */
export interface SandboxLimitSettings {
  /** Its own disk (writable layer); writes past it fail with ENOSPC. */
  diskMiB?: number;
  /** Processes and threads together; past it fork/clone fail with EAGAIN. */
  maxProcesses?: number;
  /** Per-process address space; 0 turns the limit off (Node/V8 and JVMs reserve a lot). */
  addressSpaceMiB?: number;
}

export interface ImageSettings {
  baseImage: string; // managed image name, e.g. "debian-12-python"
  baseImageVersion?: string; // "major.minor"; absent = latest available
  description?: string;
  codeArtifactUri: string; // file:///abs.zip, http(s)://..., or cubby-artifact://<id> (an upload)
  environment: Record<string, string>;
  memoryMiB: number; // baseline memory
  vcpus: number; // baseline vCPUs
  hooks: HookSettings;
  egress: EgressPolicy;
  /** The build's own caps (absent: the defaults; see core/images/build-caps.ts). */
  build?: BuildCapSettings;
  /** The microVM's own limits; absent members: the runtime's defaults (README "Limits inside a microVM"). */
  sandbox?: SandboxLimitSettings;
  /**
   * Start the image's process under Cubby's in-sandbox agent (mounted read-only at
   * AGENT_PATH): the agent is the first process and starts the app as its child.
   */
  agent?: boolean;
  /** Front-door specific members kept verbatim for round-tripping (e.g. buildRoleArn). */
  extra: Record<string, unknown>;
}

export interface BuildCapSettings {
  /** Disk cap of the whole build, MiB. */
  diskMiB?: number;
  /** Memory cap of each RUN step, MiB. */
  memoryMiB?: number;
  /** Network of RUN steps: `internet` (the default: public addresses and DNS) or `none`. */
  network?: 'internet' | 'none';
  /** Build every step afresh instead of reusing the layer cache (the cache is still filled). */
  noCache?: boolean;
}

export type ImageState =
  'CREATING' | 'CREATED' | 'CREATE_FAILED' | 'UPDATING' | 'UPDATED' | 'UPDATE_FAILED' | 'DELETING' | 'DELETED' | 'DELETE_FAILED';

export interface Image {
  id: string;
  tenantId: string;
  name: string; // unique per tenant
  state: ImageState;
  latestActiveVersion?: string;
  latestFailedVersion?: string;
  createdAt: Date;
  updatedAt?: Date;
}

export type ImageVersionState = 'PENDING' | 'IN_PROGRESS' | 'SUCCESSFUL' | 'FAILED' | 'DELETING' | 'DELETED' | 'DELETE_FAILED';

export interface ImageVersion {
  imageId: string;
  tenantId: string;
  version: string; // "major.minor"
  state: ImageVersionState;
  status: 'ACTIVE' | 'INACTIVE';
  settings: ImageSettings;
  stateReason?: string;
  /** Where the built rootfs and the snapshot live (set when SUCCESSFUL). */
  rootfsPath?: string;
  snapshotPath?: string;
  createdAt: Date;
  updatedAt?: Date;
}

export type BuildState = 'PENDING' | 'IN_PROGRESS' | 'SUCCESSFUL' | 'FAILED';

export interface ImageBuild {
  id: string;
  imageId: string;
  tenantId: string;
  version: string;
  state: BuildState;
  stateReason?: string;
  logPath?: string;
  memorySnapshotBytes?: number;
  diskSnapshotBytes?: number;
  codeInstallBytes?: number;
  createdAt: Date;
  updatedAt?: Date;
}

export type MicrovmState = 'PENDING' | 'RUNNING' | 'SUSPENDING' | 'SUSPENDED' | 'TERMINATING' | 'TERMINATED';

export interface IdlePolicy {
  maxIdleDurationSeconds: number;
  suspendedDurationSeconds: number;
  autoResumeEnabled: boolean;
  /**
   * Cubby's frozen tier (wire: cubbyFreezeAfterSeconds): seconds of idle after which the
   * microVM is frozen in memory (no CPU; the next request thaws it); 0 = never. Absent: the
   * host's default (serve --freeze-after-seconds). See microvms/idle-tiers.ts.
   */
  freezeAfterSeconds?: number;
}

export interface MaximumDurationPolicy {
  action: 'terminate' | 'suspend';
  renewSeconds: number;
}

export interface Microvm {
  id: string; // [a-z0-9]{20}; also the sandbox id and the endpoint's host label
  tenantId: string;
  imageId: string;
  imageVersion: string;
  state: MicrovmState;
  stateReason?: string;
  idlePolicy?: IdlePolicy;
  maximumDurationSeconds: number;
  /**
   * Absent: the maximum duration counts from startedAt in every state and ends in termination
   * (Lambda MicroVMs). Present: a renewable deadline (E2B's timeout): it is checked only while
   * RUNNING, reaching it does `action`, and a resume moves it to at least `renewSeconds` later.
   */
  onMaximumDuration?: MaximumDurationPolicy;
  runHookPayload?: string;
  egress: EgressPolicy;
  /** Checkpoint of the last suspend (present while SUSPENDED). */
  checkpointPath?: string;
  /** Front-door specific members kept verbatim (executionRoleArn, connectors, logging). */
  extra: Record<string, unknown>;
  startedAt: Date;
  lastActivityAt: Date;
  suspendedAt?: Date;
  terminatedAt?: Date;
  /** When the current state began (usage metering counts RUNNING and SUSPENDED periods from it). */
  stateChangedAt?: Date;
  /** Seconds accumulated in RUNNING / SUSPENDED (usage metering), up to the last transition. */
  runningSeconds: number;
  suspendedSeconds: number;
  updatedAt: Date;
}

export type ResourceKind = 'image' | 'microvm';

export interface Page<T> {
  items: T[];
  nextToken?: string;
}
export interface PageRequest {
  maxResults?: number;
  nextToken?: string;
}
