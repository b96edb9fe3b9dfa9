/**
 * `cubby validate IMAGE`: proves, with the caller's own image and only the public API, what
 * Cubby claims: build time, launch and resume latency, idle cost, the tenant boundary, and
 * cleanup after crashes, timeouts and abandonment. Exit code 1 when a check fails.
 */
import type { Command } from 'commander';
import { apiClient } from '../../client/api-client.js';
import { progress, progressDone } from '../output.js';
import { Session, type ValidateOptions } from '../../validate/session.js';
import { CHECKS, runValidation } from '../../validate/runner.js';
import { renderReport } from '../../validate/render.js';
import { parsePattern, DEFAULT_PATTERN } from '../../core/usage/pattern.js';
import { parsePrices } from '../../core/usage/prices.js';

interface Opts {
  json?: boolean;
  launches: string;
  pattern: string;
  prices?: string;
  rebuild?: boolean;
  buildTimeout: string;
  path: string;
  port: string;
  egressTarget?: string;
  crashWait: string;
  only?: string;
}

function positiveInt(name: string, v: string, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be an integer from 1 to ${max}`);
  return n;
}

function options(image: string, o: Opts): ValidateOptions {
  parsePattern(o.pattern);
  if (o.prices) parsePrices(o.prices);
  if (o.egressTarget && !/^[^\s:]+:\d{1,5}$/.test(o.egressTarget)) throw new Error('--egress-target must be HOST:PORT');
  const ids = CHECKS.map((c) => c.id as string);
  const only = o.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const id of only ?? []) if (!ids.includes(id)) throw new Error(`--only: unknown check '${id}' (${ids.join(', ')})`);
  return {
    image,
    launches: positiveInt('launches', o.launches, 100),
    pattern: o.pattern,
    rebuild: Boolean(o.rebuild),
    buildTimeoutSeconds: positiveInt('build-timeout', o.buildTimeout, 86_400),
    path: o.path.startsWith('/') ? o.path : `/${o.path}`,
    port: positiveInt('port', o.port, 65_535),
    crashWaitSeconds: positiveInt('crash-wait', o.crashWait, 3600),
    ...(o.prices ? { prices: o.prices } : {}),
    ...(o.egressTarget ? { egressTarget: o.egressTarget } : {}),
    ...(only ? { only } : {}),
  };
}

export function registerValidate(program: Command): void {
  program
    .command('validate <image>')
    .description('measure and probe your own image through the API: build time, launch/resume latency, idle cost, tenant boundary, cleanup')
    .option('--json', 'the report as JSON')
    .option('--launches <n>', 'launches and suspend/resume rounds timed', '5')
    .option('--pattern <spec>', 'a day of usage to price', DEFAULT_PATTERN)
    .option('--prices <list>', 'vcpuSecond=..,gibSecond=..,snapshotGibMonth=..,currency=.. (default: illustrative prices)')
    .option('--rebuild', 'build a new version with the same settings and time it')
    .option('--build-timeout <seconds>', 'how long a --rebuild may take', '1800')
    .option('--path <path>', 'the path requested to get a first answer from the app', '/')
    .option('--port <port>', 'the app port the requests go to', '8080')
    .option('--egress-target <host:port>', 'a server this host can reach (e.g. 1.1.1.1:443) that a microVM with egress closed must not')
    .option('--crash-wait <seconds>', 'how long a microVM whose app was killed is watched', '10')
    .option('--only <checks>', `run only these checks (${CHECKS.map((c) => c.id).join(',')})`)
    .action(async (image: string, o: Opts) => {
      const opts = options(image, o);
      const client = apiClient();
      const ep = await client.config.endpoint?.();
      const apiUrl = ep ? `${ep.protocol}//${ep.hostname}${ep.port ? `:${ep.port}` : ''}` : 'http://127.0.0.1';
      const session = new Session(client, opts, apiUrl);
      // Ctrl-C still terminates what the validator launched.
      const onSignal = () => {
        progressDone('interrupted: terminating the microVMs the validator launched');
        void session.terminateAll(30_000).finally(() => process.exit(130));
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const report = await runValidation(session, {
          onStart: (title) => {
            if (!o.json) progress(`running ${title} ...`);
          },
          onCheck: (r) => {
            if (!o.json) progressDone(`${r.status}  ${r.title}`);
          },
        });
        if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        else {
          progressDone();
          process.stdout.write(renderReport(report));
        }
        if (!report.passed) process.exitCode = 1;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
