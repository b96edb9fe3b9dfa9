/**
 * What the core offers the front doors. Every call is made on behalf of one tenant (the
 * caller's identity, already authenticated by the front door); a resource of another tenant
 * is reported as not found, never as forbidden, so tenants cannot learn what others have.
 */
import type {
  Image,
  ImageBuild,
  ImageSettings,
  ImageVersion,
  IdlePolicy,
  MaximumDurationPolicy,
  Microvm,
  Page,
  PageRequest,
  ResourceKind,
  Tenant,
} from './model.js';
import type { EgressAudit, EgressPolicy, PortRange } from './ports/network.js';
import type { MicrovmStats, UsageQuery, UsageReport } from './usage/types.js';
import type { QuotaService } from './quotas/service.js';
import type { ManagedImageInfo } from './ports/images.js';
import type { Role } from './roles/types.js';
import type { RolesService } from './roles/service.js';

export interface Caller {
  tenant: Tenant;
  /** Present when the caller signed with a microVM's session credentials (its execution role). */
  session?: SessionContext;
}

/** Who a session credential speaks for: a microVM, within its role (src/core/roles). */
export interface SessionContext {
  microvmId: string;
  role: Role;
}

/** The in-sandbox agent a version's snapshot carries, beside the host's current one. */
export interface VersionAgent {
  /**
   * Installed path of the binary the snapshot was taken with (<dataDir>/agent/<sha256>/cubby-agent);
   * absent: unknown (built before Cubby recorded it).
   */
  binary?: string;
  /** Its content address (sha256 of the binary). */
  sha256?: string;
  /** The host's current agent binary; absent: this host has none. */
  host?: string;
  /** The snapshot carries the host's current agent. */
  current: boolean;
}

/** A managed base image as tenants see it: its catalog entry with the versions built on this host (ManagedImageInfo). */
export interface ManagedImage {
  name: string;
  versions: Array<Pick<ManagedImageInfo, 'version' | 'status'> & { createdAt: Date; updatedAt?: Date }>;
  createdAt: Date;
  updatedAt?: Date;
}

export interface CreateImageInput {
  name: string;
  settings: ImageSettings;
  tags?: Record<string, string>;
  /** Idempotency: the same token with the same input returns the first result. */
  clientToken?: string;
}

export interface ImagesService {
  /** Creates the image and its first version (1.0), and starts the build in the background. */
  create(caller: Caller, input: CreateImageInput): Promise<{ image: Image; version: ImageVersion }>;
  /** Adds a new version (minor + 1) built with the new settings. */
  update(caller: Caller, name: string, settings: ImageSettings, clientToken?: string): Promise<{ image: Image; version: ImageVersion }>;
  /** Deletes an image and all its versions; refused (IMAGE_IN_USE) while microVMs use it. */
  delete(caller: Caller, name: string): Promise<Image>;
  get(caller: Caller, name: string): Promise<Image>;
  list(caller: Caller, page: PageRequest & { nameFilter?: string }): Promise<Page<Image>>;
  getVersion(caller: Caller, name: string, version: string): Promise<ImageVersion>;
  listVersions(caller: Caller, name: string, page: PageRequest): Promise<Page<ImageVersion>>;
  setVersionStatus(caller: Caller, name: string, version: string, status: 'ACTIVE' | 'INACTIVE'): Promise<ImageVersion>;
  deleteVersion(caller: Caller, name: string, version: string): Promise<ImageVersion>;
  getBuild(caller: Caller, name: string, version: string, buildId: string): Promise<ImageBuild>;
  listBuilds(caller: Caller, name: string, version: string, page: PageRequest): Promise<Page<ImageBuild>>;
  buildLog(caller: Caller, name: string, version: string, buildId?: string): Promise<string>;
  listManaged(page: PageRequest): Promise<Page<ManagedImage>>;
  getManaged(name: string): Promise<ManagedImage>;
  /** Which agent the version's snapshot carries; undefined for a version without the agent. */
  versionAgent(caller: Caller, name: string, version: string): Promise<VersionAgent | undefined>;
}

export interface RunMicrovmInput {
  image: string;
  version?: string;
  idlePolicy?: IdlePolicy;
  maximumDurationSeconds?: number;
  /** See Microvm.onMaximumDuration (absent: terminate at startedAt + maximumDurationSeconds). */
  onMaximumDuration?: MaximumDurationPolicy;
  runHookPayload?: string;
  egress?: EgressPolicy;
  extra?: Record<string, unknown>;
  clientToken?: string;
}

export interface MicrovmsService {
  /** Launches from the version's snapshot; resolves once the run hook answered (state RUNNING). */
  run(caller: Caller, input: RunMicrovmInput): Promise<Microvm>;
  get(caller: Caller, id: string): Promise<Microvm>;
  list(caller: Caller, page: PageRequest & { image?: string; version?: string; states?: string[] }): Promise<Page<Microvm>>;
  /** RUNNING -> SUSPENDING -> SUSPENDED; anything else is MICROVM_BAD_STATE (conflict). */
  suspend(caller: Caller, id: string): Promise<Microvm>;
  /** SUSPENDED -> RUNNING (after the resume hook); anything else is MICROVM_BAD_STATE. */
  resume(caller: Caller, id: string): Promise<Microvm>;
  terminate(caller: Caller, id: string): Promise<Microvm>;
  /**
   * Sets the maximum duration (seconds from startedAt, a positive integer) of a live microVM; it
   * may shorten it (the policy clock then acts on its next tick). MICROVM_BAD_STATE once TERMINATING.
   */
  setMaximumDuration(caller: Caller, id: string, seconds: number): Promise<Microvm>;
  logs(caller: Caller, id: string): Promise<Buffer>;
  /** A running microVM's egress audit: DNS questions and allowed/denied connections (bounded). */
  egressAudit(caller: Caller, id: string): Promise<EgressAudit>;
}

export interface TokensService {
  /** A token for the microVM's endpoint, valid for 1-60 minutes on the given ports. */
  createAuthToken(caller: Caller, id: string, minutes: number, ports: PortRange[] | 'all'): Promise<{ token: string; expiresAt: Date }>;
  createShellToken(caller: Caller, id: string, minutes: number): Promise<{ token: string; expiresAt: Date }>;
}

export interface TagsService {
  tag(caller: Caller, kind: ResourceKind, id: string, tags: Record<string, string>): Promise<void>;
  untag(caller: Caller, kind: ResourceKind, id: string, keys: string[]): Promise<void>;
  list(caller: Caller, kind: ResourceKind, id: string): Promise<Record<string, string>>;
}

export interface UsageService {
  /** The caller's microVMs overlapping the window, with seconds, sizes, totals and a cost estimate. */
  report(caller: Caller, query?: UsageQuery): Promise<UsageReport>;
  /** Host resources a RUNNING microVM uses right now; MICROVM_BAD_STATE otherwise. */
  stats(caller: Caller, id: string): Promise<MicrovmStats>;
}

/** Everything a front door may call. */
export interface CoreServices {
  images: ImagesService;
  microvms: MicrovmsService;
  tokens: TokensService;
  tags: TagsService;
  usage: UsageService;
  /** Per-tenant quotas (limits, use, upload admission). */
  quotas: QuotaService;
  /** Secrets and execution roles (write-only secrets; roles for microVMs and builds). */
  roles: RolesService;
}
