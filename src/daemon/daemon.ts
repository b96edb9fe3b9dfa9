/**
 * The composition root: opens the store, network, runtime and image adapters, assembles the
 * core, reconciles, and serves the Lambda MicroVMs API and the endpoint gateway.
 */
import { tokenIssuer } from '../gateway/token-issuer.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { createCore, type Core } from '../core/index.js';
import { openStore } from '../store/open-store.js';
import { createLinuxNetwork } from '../network/linux/index.js';
import { GvisorRuntime } from '../runtime/gvisor/index.js';
import { HttpHooks } from '../hooks/http-hooks.js';
import { nodeDisk } from '../adapters/node-disk.js';
import { BuildahBuilder, ManagedImages, TenantArtifacts } from '../images/index.js';
import { FileTokenKeyStore, createGateway, openTokenService, promGatewayMetrics, type Gateway } from '../gateway/index.js';
import { ensureSelfSigned, readTlsFiles, type TlsMaterial } from '../gateway/self-signed-ca.js';
import { createLambdaApi, publicRoute, DEFAULT_MAX_ARTIFACT_BYTES } from '../api/lambda/index.js';
import { ConsoleEvents, ConsoleSessions, registerConsole } from '../api/console/index.js';
import { consoleHost } from './console-host.js';
import { consumeConsoleLogin } from './console-logins.js';
import { registerE2bApi } from '../api/e2b/index.js';
import { baseTemplateEnsurer } from '../api/e2b/templates.js';
import { e2bSandboxDomain } from '../api/e2b/sandbox-domain.js';
import { installAgent } from './agent-binary.js';
import { uploadContext } from './e2b-base-context.js';
import type { Store } from '../core/ports/store.js';
import type { FastifyInstance } from 'fastify';
import { CoreGatewayTargets } from './gateway-targets.js';
import { openCredentialsEndpoint, type LateCredentials } from './credentials-endpoint.js';
import { createMetrics } from './metrics.js';
import { checkMetricsAccess } from './metrics-access.js';
import { startArtifactGc } from './artifact-gc.js';
import { meterQuotas } from './quota-metrics.js';
import { diskArtifactUsage } from '../adapters/artifact-usage.js';
import { procHostMemory } from '../adapters/host-memory.js';
import type { DaemonConfig } from './config.js';
import { addressPolicy } from '../util/address-policy.js';
import { startBackgroundValidation } from '../validate/background.js';

export interface Daemon {
  config: DaemonConfig;
  core: Core;
  store: Store;
  apiUrl: string;
  gatewayUrl: string;
  gatewayPort: number;
  /** With `--tls self-signed`: the CA clients must trust (NODE_EXTRA_CA_CERTS=<path>). */
  tlsCaPath?: string;
  log: Logger;
  /** The web console's sessions and state-change stream (src/api/console). */
  console: { sessions: ConsoleSessions; events: ConsoleEvents };
  stop(): Promise<void>;
}

export async function startDaemon(config: DaemonConfig, opts: { log?: Logger } = {}): Promise<Daemon> {
  const log = opts.log ?? pino({ level: config.logLevel, redact: ['*.secretAccessKey', '*.secret', '*.token', 'headers.authorization'] });
  await fs.mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore({ dataDir: config.dataDir, ...(config.store !== undefined ? { url: config.store } : {}) });
  const closers: Array<() => Promise<void> | void> = [() => store.close()];
  try {
    // One operator address policy for egress rules, egress connectors and artifact fetches.
    const addresses = addressPolicy(config.egressAllowPrivate);
    // Execution roles: every sandbox's 169.254.170.2 reaches this listener (credentials-endpoint.ts).
    const lateCredentials: LateCredentials = {};
    const credentials = await openCredentialsEndpoint(config.dataDir, lateCredentials, log);
    closers.unshift(() => credentials.close());
    const network = await createLinuxNetwork({
      addresses,
      credentialsPort: credentials.port,
      ...(config.dnsUpstreams ? { dnsUpstreams: config.dnsUpstreams } : {}),
    });
    // Cubby's resolver stops after the runtime (running sandboxes keep their rules; the next daemon serves them).
    closers.unshift(() => network.close());
    const runtime = new GvisorRuntime({ stateDir: path.join(config.dataDir, 'runtime'), network });
    lateCredentials.runtime = runtime;
    closers.unshift(() => runtime.close());
    const managed = new ManagedImages({ cacheDir: config.cacheDir });
    const artifacts = new TenantArtifacts({
      artifactsDir: path.join(config.dataDir, 'artifacts'),
      fileRoots: config.artifactRoots,
      addresses,
      log: (fields, msg) => log.warn(fields, msg),
    });
    // The in-sandbox agent (E2B's envd), when built: images with the agent and E2B's `base` need it.
    const agentBinary = await installAgent(config.dataDir);
    if (!agentBinary) log.warn('no cubby-agent binary (scripts/build-agent.sh): images cannot use the in-sandbox agent');
    const tokenService = await openTokenService({ store: new FileTokenKeyStore(path.join(config.dataDir, 'token-keys.json')) });
    closers.unshift(() => tokenService.close());
    const { registry, observer, meterUsage } = createMetrics(store);
    const consoleEvents = new ConsoleEvents();
    const consoleSessions = new ConsoleSessions(config.consoleSessionSeconds);

    // Made after the core (they need it), but the core's observer reaches them.
    const late: { targets?: CoreGatewayTargets; gateway?: Gateway } = {};
    const core: Core = createCore({
      store,
      runtime,
      network,
      hooks: new HttpHooks(),
      disk: nodeDisk,
      managed,
      unpacker: artifacts,
      builder: new BuildahBuilder({
        images: managed,
        cacheDir: config.cacheDir,
        ...(config.hostDiskReserveMiB !== undefined ? { hostReserveMiB: config.hostDiskReserveMiB } : {}),
        ...(config.buildCacheMiB !== undefined ? { cacheMiB: config.buildCacheMiB } : {}),
        // RUN steps with network get a network of the same driver as microVMs.
        network,
      }),
      tokens: tokenIssuer(tokenService.tokens),
      log,
      artifacts: diskArtifactUsage(path.join(config.dataDir, 'artifacts')),
      hostMemory: procHostMemory,
      observer: {
        ...observer,
        stateChanged(e) {
          observer.stateChanged?.(e);
          consoleEvents.publish(e);
          // A suspended or terminated microVM's pooled connections and cached address are stale.
          if (e.from === 'RUNNING') {
            late.targets?.forget(e.microvmId);
            late.gateway?.evict(e.microvmId);
          }
        },
        // The first request after a launch finds a connection to the app already open.
        handingOut(e) {
          late.gateway?.preconnect(e.microvmId, e.address);
        },
      },
      config: { ...config.core, ...(agentBinary ? { agentBinary } : {}) },
    });
    lateCredentials.credentials = core.instanceCredentials;
    meterUsage(core.services.usage);
    meterQuotas(registry, store, core.quotas);
    const stopGc = startArtifactGc(path.join(config.dataDir, 'artifacts'), log);
    closers.unshift(stopGc);
    const report = await core.start();
    closers.unshift(() => core.stop());
    log.info(
      {
        adopted: report.adopted.length,
        suspended: report.suspended.length,
        terminated: report.terminated.length,
        swept: report.swept.length,
      },
      'core started',
    );

    // One certificate for both listeners: E2B's SDK reaches the API and the sandboxes over HTTPS.
    let tls: TlsMaterial | undefined;
    if (config.tls?.mode === 'files') tls = await readTlsFiles(config.tls.certFile, config.tls.keyFile);
    else if (config.tls?.mode === 'self-signed') tls = await ensureSelfSigned(config.dataDir, config.domain);
    const scheme = tls ? 'https' : 'http';
    const targets = new CoreGatewayTargets({ store, runtime, manager: core.manager });
    const gateway = createGateway({
      targets,
      tokens: tokenService.tokens,
      domain: config.domain,
      logger: log,
      metrics: promGatewayMetrics(registry),
      ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
      ...(config.e2bRequireTrafficToken ? { e2bRequireTrafficToken: true } : {}),
    });
    late.targets = targets;
    late.gateway = gateway;
    const gw = await gateway.listen(config.gateway.host, config.gateway.port);
    closers.unshift(() => gateway.close());
    const endpointFor = (id: string) => `${scheme}://${id}.${config.domain}:${gw.port}`;

    const api: FastifyInstance = createLambdaApi({
      core: core.services,
      region: config.region,
      endpointFor,
      ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
      logger: log,
      addresses,
      artifactsDir: path.join(config.dataDir, 'artifacts'),
      lookupKey: async (id) => {
        const k = await store.getKeyForAuth(id);
        return k ? { secretAccessKey: k.secret, tenant: k.tenant } : undefined;
      },
      lookupSession: (id, token) => core.sessions.verify(id, token),
    });
    // The E2B control plane on the same listener, authenticated by its own X-API-KEY.
    registerE2bApi(api, {
      core: core.services,
      domain: e2bSandboxDomain(config.domain, gw.port, scheme),
      lookupApiKey: async (key) => (await store.getE2bKeyForAuth(key))?.tenant,
      sealSecret: (p, aad) => store.sealSecret(p, aad),
      openSecret: (s, aad) => store.openSecret(s, aad),
      ...(agentBinary ? { ensureBaseTemplate: baseTemplateEnsurer({ storeContext: uploadContext(artifacts), log }) } : {}),
    });
    // Not signed with SigV4 (Prometheus cannot), so gated on its own: see metrics-access.ts.
    // The web console (/console), with its own session cookie.
    const webConsole = registerConsole(api, {
      core: core.services,
      store,
      sessions: consoleSessions,
      events: consoleEvents,
      endpointFor,
      consumeOperatorLogin: (token) => consumeConsoleLogin(config.dataDir, token),
      host: consoleHost({
        store,
        dataDir: config.dataDir,
        memory: procHostMemory,
        ...(config.hostDiskReserveMiB !== undefined ? { diskReserveMiB: config.hostDiskReserveMiB } : {}),
      }),
      artifactsDir: path.join(config.dataDir, 'artifacts'),
      maxArtifactBytes: DEFAULT_MAX_ARTIFACT_BYTES,
      secure: tls !== undefined,
      // `cubby validate` from the console: the validator calls this listener as the tenant.
      validator: startBackgroundValidation,
    });
    api.get('/metrics', publicRoute, async (req, reply) => {
      checkMetricsAccess(req.socket.remoteAddress, req.headers.authorization, config.metricsToken);
      return reply.type(registry.contentType).send(await registry.metrics());
    });
    await api.listen({ host: config.api.host, port: config.api.port });
    closers.unshift(() => api.close());
    // Before the listener closes: a console validation terminates its microVMs through the API.
    closers.unshift(() => webConsole.stop());
    const apiPort = (api.server.address() as { port: number }).port;
    const apiUrl = `${scheme}://${config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host}:${apiPort}`;
    log.info({ api: apiUrl, gateway: `${scheme}://*.${config.domain}:${gw.port}`, dataDir: config.dataDir }, 'cubby is serving');
    return {
      config,
      core,
      store,
      apiUrl,
      gatewayUrl: `${scheme}://127.0.0.1:${gw.port}`,
      gatewayPort: gw.port,
      ...(tls?.caPath ? { tlsCaPath: tls.caPath } : {}),
      log,
      console: { sessions: consoleSessions, events: consoleEvents },
      async stop() {
        for (const c of closers) await Promise.resolve(c()).catch((e: unknown) => log.warn({ err: String(e) }, 'shutdown step failed'));
      },
    };
  } catch (e) {
    for (const c of closers) await Promise.resolve(c()).catch(() => undefined);
    throw e;
  }
}
