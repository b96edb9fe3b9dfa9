/** `cubby serve`: the daemon in the foreground (base images first, then API and gateway). */
import type { Command } from 'commander';
import { daemonConfig } from '../../daemon/config.js';
import { startDaemon } from '../../daemon/daemon.js';
import { ManagedImages } from '../../images/index.js';
import { progress, progressDone } from '../output.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the Cubby daemon in the foreground (API, endpoint gateway, lifecycle)')
    .option('--data-dir <dir>', 'state directory (store, snapshots, checkpoints)')
    .option('--store <url>', 'postgres://... to keep the store in PostgreSQL (or CUBBY_STORE; default: SQLite in the data directory)')
    .option('--cache-dir <dir>', 'shared cache of managed base images and build storage')
    .option('--api <host:port>', 'Lambda MicroVMs API listen address', '127.0.0.1:8470')
    .option('--gateway <host:port>', 'endpoint gateway listen address', '127.0.0.1:8480')
    .option('--domain <domain>', 'endpoints are http://<microvmId>.<domain>:<gatewayPort>', 'microvm.localhost')
    .option('--region <region>', 'region in ARNs', 'local')
    .option('--warm-pool <n>', 'pre-restored sandboxes per image version (default 8; 64 on the host at most)', (v) => Number(v))
    .option('--max-active <n>', 'most microVMs holding a sandbox at once', (v) => Number(v))
    .option('--launch-concurrency <n>', 'launches at once; more wait, in turn per tenant (default 2 per CPU core)', (v) => Number(v))
    .option('--launch-queue <n>', 'launches waiting on the host before ThrottlingException (default 100)', (v) => Number(v))
    .option('--launch-queue-per-tenant <n>', 'launches one tenant may have waiting (default 25)', (v) => Number(v))
    .option('--quota-running <n>', 'default per-tenant quota: running microVMs (default 20; or CUBBY_QUOTA_RUNNING)')
    .option('--quota-memory-mib <n>', 'default per-tenant quota: memory MiB of running microVMs (default 40960)')
    .option('--quota-suspended <n>', 'default per-tenant quota: suspended microVMs (default 100)')
    .option('--quota-checkpoint-mib <n>', 'default per-tenant quota: MiB of suspend checkpoints on disk (default 20480)')
    .option('--quota-builds <n>', 'default per-tenant quota: image builds queued or running (default 2)')
    .option('--quota-artifacts <n>', 'default per-tenant quota: uploaded artifacts kept (default 100)')
    .option('--quota-artifact-mib <n>', 'default per-tenant quota: MiB of uploaded artifacts kept (default 2048)')
    .option(
      '--build-disk-max-mib <n>',
      'most disk an image build may ask for (default 32768; builds default to 8192; or CUBBY_BUILD_DISK_MAX_MIB)',
    )
    .option(
      '--build-memory-max-mib <n>',
      "most memory a build's RUN step may ask for (default 8192; builds default to 2048; or CUBBY_BUILD_MEMORY_MAX_MIB)",
    )
    .option(
      '--build-cache-mib <n>',
      'bound of the build layer cache, pruned least recently used first (default 8192; 0 = no cache; or CUBBY_BUILD_CACHE_MIB)',
    )
    .option(
      '--host-disk-reserve-mib <n>',
      "free space a build must leave on the build storage's file system, or it is refused (default 2048; or CUBBY_HOST_DISK_RESERVE_MIB)",
    )
    .option(
      '--freeze-after-seconds <n>',
      'idle seconds before a microVM with an idle policy is frozen in memory (no CPU; the next request thaws it); 0 = never (default 10; per microVM: idlePolicy.cubbyFreezeAfterSeconds; or CUBBY_FREEZE_AFTER_SECONDS)',
    )
    .option(
      '--memory-low-watermark-mib <n>',
      'below this much available host memory, frozen microVMs are written to disk, oldest idle first; 0 = never (default 1024; or CUBBY_MEMORY_LOW_WATERMARK_MIB)',
    )
    .option(
      '--keep-frozen-on-shutdown',
      'leave frozen microVMs frozen at shutdown instead of writing them to disk (or CUBBY_KEEP_FROZEN_ON_SHUTDOWN=true)',
    )
    .option('--log-level <level>', 'pino log level', 'info')
    .option(
      '--artifact-roots <dirs>',
      "comma-separated directories file:// code artifacts may come from; {tenant} in a directory stands for the calling tenant's id, so each tenant reaches only its own (default: none; uploads always work)",
    )
    .option(
      '--egress-allow-private <cidrs>',
      'comma-separated private or reserved ranges (e.g. 10.20.0.0/16) tenants may reach after all: allow: egress connectors, internet egress and http(s) artifact fetches (default: none; or CUBBY_EGRESS_ALLOW_PRIVATE)',
    )
    .option(
      '--dns-upstream <addresses>',
      "comma-separated resolvers (IPv4[:port]) Cubby's resolver forwards sandboxes' DNS to (default: the host's /etc/resolv.conf nameservers; or CUBBY_DNS_UPSTREAM)",
    )
    .option(
      '--tls-cert <file>',
      'serve the API and the gateway over HTTPS (HTTP/2 and HTTP/1.1) with this PEM certificate chain (or CUBBY_TLS_CERT)',
    )
    .option('--tls-key <file>', 'the PEM private key for --tls-cert (or CUBBY_TLS_KEY)')
    .option(
      '--tls <mode>',
      'self-signed: HTTPS with a local CA kept in <data-dir>/tls (certificate for the domain, *.<domain>, localhost, 127.0.0.1); clients trust it with NODE_EXTRA_CA_CERTS (or CUBBY_TLS)',
    )
    .option(
      '--e2b-require-traffic-token',
      "every E2B sandbox's own ports need E2B-Traffic-Access-Token, even with allowPublicTraffic (or CUBBY_E2B_REQUIRE_TRAFFIC_TOKEN=true)",
    )
    .option('--metrics-token <token>', 'bearer token to scrape /metrics from off the host (default: loopback only; or CUBBY_METRICS_TOKEN)')
    .action(async (o: Record<string, string | number | boolean | undefined>) => {
      const config = daemonConfig(o as Parameters<typeof daemonConfig>[0]);
      const managed = new ManagedImages({ cacheDir: config.cacheDir });
      // The default bases before the daemon starts; the bigger ones (E2B, Node, Chromium, code
      // interpreter: minutes each) after it, in the background; a build that needs one first waits for it.
      const [first, later] = partition(managed.catalog(), (def) => STARTUP_BASES.has(def.name));
      for (const def of first) {
        const t0 = Date.now();
        const img = await managed.ensure(def.name, undefined, (p) => {
          if (p.phase === 'cached') return;
          progress(`base image ${def.name}: ${p.phase}${p.line ? `: ${p.line.slice(0, 100)}` : ''}`);
        });
        progressDone(
          `base image ${img.name} ${img.version} ready (${Math.round(img.sizeBytes / 1e6)} MB${Date.now() - t0 > 2000 ? `, built in ${Math.round((Date.now() - t0) / 1000)} s` : ''})`,
        );
      }
      const daemon = await startDaemon(config);
      void (async () => {
        for (const def of later) {
          const t0 = Date.now();
          try {
            const img = await managed.ensure(def.name);
            if (Date.now() - t0 > 2000)
              daemon.log.info({ base: img.name, version: img.version, seconds: Math.round((Date.now() - t0) / 1000) }, 'base image built');
          } catch (e) {
            daemon.log.warn(
              { base: def.name, err: String(e) },
              'building a base image in the background failed; it is retried when a build needs it',
            );
          }
        }
      })();
      const scheme = config.tls ? 'https' : 'http';
      process.stderr.write(
        `cubby: API ${daemon.apiUrl}  endpoints ${scheme}://<id>.${config.domain}:${daemon.gatewayPort}  data ${config.dataDir}\n`,
      );
      if (daemon.tlsCaPath) {
        process.stderr.write(
          `cubby: TLS by a local CA; to trust it: export NODE_EXTRA_CA_CERTS=${daemon.tlsCaPath} (curl: --cacert ${daemon.tlsCaPath})\n`,
        );
      }
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) return;
        stopping = true;
        daemon.log.info({ signal: sig }, 'shutting down; microVMs keep running and are re-adopted on the next start');
        void daemon.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}

/** Built before the daemon answers: what the README's first steps use. */
const STARTUP_BASES = new Set(['debian-12-minimal', 'debian-12-python']);

function partition<T>(items: readonly T[], pick: (t: T) => boolean): [T[], T[]] {
  return [items.filter(pick), items.filter((t) => !pick(t))];
}
