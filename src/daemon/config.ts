/** Daemon settings: command-line flags over environment over defaults. */
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CORE_CONFIG, type CoreConfig } from '../core/index.js';
import { storeKind, storeUrl } from '../store/open-store.js';
import { quotaDefaults, type QuotaFlags } from './quota-flags.js';
import { buildSettings, type BuildFlags } from './build-flags.js';
import { idleTierSettings, type IdleTierFlags } from './idle-tier-flags.js';
import { parseAllowedRanges } from '../util/address-policy.js';
import { parseUpstream, type Upstream } from '../network/linux/dns/upstreams.js';

export interface DaemonConfig {
  dataDir: string;
  /** A postgres:// URL; absent: the embedded SQLite store in dataDir. */
  store?: string;
  cacheDir: string;
  api: { host: string; port: number };
  gateway: { host: string; port: number };
  /** Endpoints are http://<microvmId>.<domain>:<gatewayPort>. */
  domain: string;
  region: string;
  logLevel: string;
  /**
   * Directories `file://` code artifacts may come from; empty = file:// refused (uploads still
   * work). `{tenant}` in an entry stands for the calling tenant's id: each reaches only its own.
   */
  artifactRoots: string[];
  /**
   * Private or reserved ranges (CIDRs) tenants may reach after all, through egress connectors,
   * `internet` egress and http(s) artifact fetches; by default none (see util/address-policy.ts).
   */
  egressAllowPrivate: string[];
  /** Where Cubby's resolver forwards sandboxes' DNS (--dns-upstream); absent: the host's /etc/resolv.conf. */
  dnsUpstreams?: Upstream[];
  /** Bearer token that lets /metrics be scraped from off the host; unset: loopback only. */
  metricsToken?: string;
  /** Free space (MiB) every image build must leave on the build storage's file system (default 2048). */
  hostDiskReserveMiB?: number;
  /** Bound of the build layer cache in MiB (default 8192; 0: no cache). */
  buildCacheMiB?: number;
  /** HTTPS for the API and the gateway: the operator's files, or a local CA under dataDir/tls. */
  tls?: { mode: 'files'; certFile: string; keyFile: string } | { mode: 'self-signed' };
  /** Every E2B sandbox's own ports need E2B-Traffic-Access-Token (see src/gateway/e2b-access.ts). */
  e2bRequireTrafficToken?: boolean;
  /** How long a web console session lasts (default 8 hours; src/api/console/sessions.ts). */
  consoleSessionSeconds?: number;
  core: CoreConfig;
}

export const DEFAULT_DATA_DIR = process.env.CUBBY_DATA_DIR || '/var/lib/cubby';

export function parseHostPort(s: string, what: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  const host = i > 0 ? s.slice(0, i).replace(/^\[|\]$/g, '') : '127.0.0.1';
  const port = Number(i >= 0 ? s.slice(i + 1) : s);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${what}: expected HOST:PORT, got ${s}`);
  return { host, port };
}

const list = (s: string | undefined): string[] =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

function allowedRanges(entries: string[]): string[] {
  try {
    return parseAllowedRanges(entries);
  } catch (e) {
    throw new Error(`--egress-allow-private: ${(e as Error).message}`);
  }
}

function dnsUpstreamSetting(raw: string | undefined): Pick<DaemonConfig, 'dnsUpstreams'> {
  const entries = list(raw);
  if (entries.length === 0) return {};
  try {
    return { dnsUpstreams: entries.map(parseUpstream) };
  } catch (e) {
    throw new Error(`--dns-upstream: ${(e as Error).message}`);
  }
}

/** --tls self-signed, or --tls-cert with --tls-key (both or neither); nothing: plain HTTP. */
function tlsSetting(rawMode: string | undefined, rawCert: string | undefined, rawKey: string | undefined): Pick<DaemonConfig, 'tls'> {
  // An empty environment variable counts as unset.
  const [mode, cert, key] = [rawMode || undefined, rawCert || undefined, rawKey || undefined];
  if (mode !== undefined && mode !== 'self-signed') throw new Error(`--tls: expected self-signed, got ${mode}`);
  if ((cert === undefined) !== (key === undefined)) throw new Error('--tls-cert and --tls-key go together');
  if (mode === 'self-signed' && cert !== undefined) throw new Error('--tls self-signed and --tls-cert/--tls-key exclude each other');
  if (cert !== undefined && key !== undefined) return { tls: { mode: 'files', certFile: path.resolve(cert), keyFile: path.resolve(key) } };
  return mode === 'self-signed' ? { tls: { mode: 'self-signed' } } : {};
}

/**
 * --launch-concurrency, --launch-queue, --launch-queue-per-tenant: whole numbers, concurrency at
 * least 1. Concurrency defaults to 2 per CPU core: a cold launch is ~2/3 CPU (runsc restore) and
 * ~1/3 waiting (disk, network set-up), so two per core keep the cores busy without stretching
 * every launch.
 */
function launchLimits(o: { launchConcurrency?: number; launchQueue?: number; launchQueuePerTenant?: number }): CoreConfig['launches'] {
  const out: NonNullable<CoreConfig['launches']> = {};
  const take = (v: number | undefined, flag: string, min: number): number | undefined => {
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || v < min) throw new Error(`${flag}: expected a whole number >= ${min}, got ${String(v)}`);
    return v;
  };
  const c = take(o.launchConcurrency, '--launch-concurrency', 1);
  const q = take(o.launchQueue, '--launch-queue', 0);
  const t = take(o.launchQueuePerTenant, '--launch-queue-per-tenant', 0);
  out.concurrency = c ?? Math.max(2, 2 * os.availableParallelism());
  if (q !== undefined) out.maxQueued = q;
  if (t !== undefined) out.maxQueuedPerTenant = t;
  return out;
}

export function daemonConfig(
  o: Partial<{
    dataDir: string;
    store: string;
    cacheDir: string;
    api: string;
    gateway: string;
    domain: string;
    region: string;
    logLevel: string;
    warmPool: number;
    maxActive: number;
    launchConcurrency: number;
    launchQueue: number;
    launchQueuePerTenant: number;
    artifactRoots: string;
    egressAllowPrivate: string;
    dnsUpstream: string;
    metricsToken: string;
    tls: string;
    tlsCert: string;
    tlsKey: string;
    e2bRequireTrafficToken: boolean;
  }> &
    QuotaFlags &
    BuildFlags &
    IdleTierFlags,
): DaemonConfig {
  const dataDir = path.resolve(o.dataDir ?? DEFAULT_DATA_DIR);
  const gateway = parseHostPort(o.gateway ?? process.env.CUBBY_GATEWAY ?? '127.0.0.1:8480', '--gateway');
  const store = storeUrl(o.store);
  storeKind(store); // a bad URL fails here, before anything starts
  const build = buildSettings(o);
  return {
    dataDir,
    ...(store !== undefined ? { store } : {}),
    cacheDir: path.resolve(o.cacheDir ?? process.env.CUBBY_CACHE_DIR ?? '/var/cache/cubby'),
    api: parseHostPort(o.api ?? process.env.CUBBY_API ?? '127.0.0.1:8470', '--api'),
    gateway,
    // *.localhost resolves to loopback in browsers and curl, so endpoints work with no DNS set-up.
    domain: o.domain ?? process.env.CUBBY_DOMAIN ?? 'microvm.localhost',
    region: o.region ?? process.env.AWS_REGION ?? 'local',
    logLevel: o.logLevel ?? process.env.CUBBY_LOG_LEVEL ?? 'info',
    artifactRoots: list(o.artifactRoots ?? process.env.CUBBY_ARTIFACT_ROOTS).map((r) => path.resolve(r)),
    egressAllowPrivate: allowedRanges(list(o.egressAllowPrivate ?? process.env.CUBBY_EGRESS_ALLOW_PRIVATE)),
    ...dnsUpstreamSetting(o.dnsUpstream ?? process.env.CUBBY_DNS_UPSTREAM),
    ...((o.metricsToken ?? process.env.CUBBY_METRICS_TOKEN) ? { metricsToken: o.metricsToken ?? process.env.CUBBY_METRICS_TOKEN } : {}),
    ...(build.hostReserveMiB !== undefined ? { hostDiskReserveMiB: build.hostReserveMiB } : {}),
    ...(build.cacheMiB !== undefined ? { buildCacheMiB: build.cacheMiB } : {}),
    ...tlsSetting(o.tls ?? process.env.CUBBY_TLS, o.tlsCert ?? process.env.CUBBY_TLS_CERT, o.tlsKey ?? process.env.CUBBY_TLS_KEY),
    ...((o.e2bRequireTrafficToken ?? process.env.CUBBY_E2B_REQUIRE_TRAFFIC_TOKEN === 'true') ? { e2bRequireTrafficToken: true } : {}),
    core: {
      ...DEFAULT_CORE_CONFIG,
      dataDir,
      ...(o.warmPool !== undefined ? { warmPoolSize: o.warmPool } : {}),
      ...(o.maxActive !== undefined ? { maxActiveMicrovms: o.maxActive } : {}),
      launches: launchLimits(o),
      quotas: quotaDefaults(o),
      buildLimits: build.limits,
      idleTiers: idleTierSettings(o),
    },
  };
}
