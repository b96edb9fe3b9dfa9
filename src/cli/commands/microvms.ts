/** `cubby run | list | show | suspend | resume | terminate | token | curl | shell | logs | egress-audit`. */
import http from 'node:http';
import type { Command } from 'commander';
import WebSocket from 'ws';
import {
  CreateMicrovmAuthTokenCommand,
  CreateMicrovmShellAuthTokenCommand,
  GetMicrovmCommand,
  ListMicrovmsCommand,
  ResumeMicrovmCommand,
  RunMicrovmCommand,
  SuspendMicrovmCommand,
  TerminateMicrovmCommand,
  type PortSpecification,
} from '@aws-sdk/client-lambda-microvms';
import { apiClient } from '../../client/api-client.js';
import { allPages } from '../pages.js';
import { print } from '../output.js';
import { endpointTarget } from '../../client/endpoint.js';
import { cubbyExtension } from '../../client/extension.js';
import { registerEgressAudit } from './egress-audit.js';

const AUTH = 'X-aws-proxy-auth';

function parsePorts(spec: string): PortSpecification[] {
  if (spec === 'all') return [{ allPorts: {} }];
  return spec.split(',').map((p) => {
    const [a, b] = p.split('-').map(Number);
    if (b !== undefined) return { range: { startPort: a ?? 0, endPort: b } };
    return { port: a ?? 0 };
  });
}

async function token(id: string, ports: string, minutes: number): Promise<string> {
  const r = await apiClient().send(
    new CreateMicrovmAuthTokenCommand({ microvmIdentifier: id, expirationInMinutes: minutes, allowedPorts: parsePorts(ports) }),
  );
  const t = r.authToken?.[AUTH];
  if (!t) throw new Error('the API answered without a token');
  return t;
}

export function registerMicrovms(program: Command): void {
  registerEgressAudit(program);
  program
    .command('run <image>')
    .description('launch a microVM from an image snapshot')
    .option('--version <v>', 'image version (default: latest active)')
    .option('--idle <seconds>', 'suspend after this long without inbound traffic')
    .option('--suspended <seconds>', 'terminate after this long suspended (0 = terminate instead of suspending)', '3600')
    .option('--no-auto-resume', 'do not resume on inbound traffic')
    .option('--max-duration <seconds>', 'cap on RUNNING + SUSPENDED time (1-28800)')
    .option('--payload <text>', 'passed to the run hook')
    .option('--egress <connector>', 'egress override: internet, allow:<cidr>[:<ports>] (repeatable)', (v: string, p: string[] = []) => [
      ...p,
      v,
    ])
    .option('--json')
    .action(
      async (
        image: string,
        o: {
          version?: string;
          idle?: string;
          suspended: string;
          autoResume: boolean;
          maxDuration?: string;
          payload?: string;
          egress?: string[];
          json?: boolean;
        },
      ) => {
        const r = await apiClient().send(
          new RunMicrovmCommand({
            imageIdentifier: image,
            imageVersion: o.version,
            runHookPayload: o.payload,
            egressNetworkConnectors: o.egress,
            maximumDurationInSeconds: o.maxDuration ? Number(o.maxDuration) : undefined,
            idlePolicy: o.idle
              ? { maxIdleDurationSeconds: Number(o.idle), suspendedDurationSeconds: Number(o.suspended), autoResumeEnabled: o.autoResume }
              : undefined,
          }),
        );
        print({ microvmId: r.microvmId, state: r.state, endpoint: r.endpoint, imageVersion: r.imageVersion }, o);
      },
    );
  program
    .command('list')
    .description('list your microVMs')
    .option('--image <name>')
    .option('--json')
    .action(async (o: { image?: string; json?: boolean }) => {
      const items = await allPages((nextToken) => apiClient().send(new ListMicrovmsCommand({ imageIdentifier: o.image, nextToken })));
      print(
        items.map((m) => ({
          microvmId: m.microvmId,
          state: m.state,
          image: m.imageArn?.split(':').pop(),
          version: m.imageVersion,
          startedAt: m.startedAt,
        })),
        o,
      );
    });
  program
    .command('show <id>')
    .option('--json')
    .action(async (id: string, o: { json?: boolean }) =>
      print(await apiClient().send(new GetMicrovmCommand({ microvmIdentifier: id })), o),
    );
  for (const [name, Cmd, desc] of [
    ['suspend', SuspendMicrovmCommand, 'checkpoint to disk and release memory and CPU'],
    ['resume', ResumeMicrovmCommand, 'restore a suspended microVM'],
    ['terminate', TerminateMicrovmCommand, 'destroy the microVM and everything it holds'],
  ] as const) {
    program
      .command(`${name} <id>`)
      .description(desc)
      .option('--json')
      .action(async (id: string, o: { json?: boolean }) => {
        await apiClient().send(new Cmd({ microvmIdentifier: id }));
        print(await apiClient().send(new GetMicrovmCommand({ microvmIdentifier: id })), o);
      });
  }
  program
    .command('token <id>')
    .description('mint an endpoint token')
    .option('--ports <spec>', 'a port, ranges (8080,9000-9010) or all', '8080')
    .option('--minutes <n>', '1-60', '15')
    .option('--json')
    .action(async (id: string, o: { ports: string; minutes: string; json?: boolean }) => {
      const t = await token(id, o.ports, Number(o.minutes));
      if (o.json) print({ header: AUTH, token: t }, o);
      else process.stdout.write(`${t}\n`);
    });
  program
    .command('curl <id> [path]')
    .description('call the microVM endpoint with a fresh token')
    .option('-X, --request <method>', 'HTTP method', 'GET')
    .option('-d, --data <body>')
    .option('--port <n>', 'target port', '8080')
    .option('-H, --header <h>', 'extra header "Name: value" (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .action(async (id: string, p: string | undefined, o: { request: string; data?: string; port: string; header?: string[] }) => {
      const m = await apiClient().send(new GetMicrovmCommand({ microvmIdentifier: id }));
      const t = endpointTarget(m.endpoint ?? '');
      const headers: Record<string, string> = { host: t.hostHeader, [AUTH]: await token(id, o.port, 5), 'x-aws-proxy-port': o.port };
      for (const h of o.header ?? []) {
        const i = h.indexOf(':');
        if (i > 0) headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
      }
      await new Promise<void>((resolve, reject) => {
        const req = http.request({ host: t.host, port: t.port, path: p ?? '/', method: o.request, headers }, (res) => {
          if ((res.statusCode ?? 0) >= 400) process.exitCode = 22;
          res.pipe(process.stdout);
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end(o.data);
      });
    });
  program
    .command('shell <id>')
    .description('an interactive shell inside the microVM')
    .action(async (id: string) => {
      const m = await apiClient().send(new GetMicrovmCommand({ microvmIdentifier: id }));
      const r = await apiClient().send(new CreateMicrovmShellAuthTokenCommand({ microvmIdentifier: id, expirationInMinutes: 5 }));
      const tok = r.authToken?.[AUTH] ?? '';
      const t = endpointTarget(m.endpoint ?? '');
      const cols = process.stdout.columns ?? 80;
      const rows = process.stdout.rows ?? 24;
      const ws = new WebSocket(
        `${t.secure ? 'wss' : 'ws'}://${t.host}:${t.port}/shell?cols=${cols}&rows=${rows}`,
        [`lambda-microvms.authentication.${tok}`],
        { headers: { host: t.hostHeader } },
      );
      await new Promise<void>((resolve, reject) => {
        ws.on('open', () => {
          if (process.stdin.isTTY) process.stdin.setRawMode(true);
          process.stdin.on('data', (d: Buffer) => ws.send(d));
          process.stdout.on('resize', () =>
            ws.send(JSON.stringify({ type: 'resize', cols: process.stdout.columns, rows: process.stdout.rows })),
          );
        });
        ws.on('message', (data: Buffer, isBinary: boolean) => {
          if (isBinary) {
            process.stdout.write(data);
            return;
          }
          const msg = JSON.parse(data.toString()) as { type: string; code?: number; message?: string };
          if (msg.type === 'exit') process.exitCode = msg.code ?? 0;
          if (msg.type === 'error') process.stderr.write(`cubby: ${msg.message}\n`);
        });
        ws.on('close', () => {
          if (process.stdin.isTTY) process.stdin.setRawMode(false);
          process.stdin.pause();
          resolve();
        });
        ws.on('error', reject);
      });
    });
  program
    .command('logs <id>')
    .description("the microVM app's stdout and stderr")
    .option('-f, --follow', 'keep printing new output')
    .action(async (id: string, o: { follow?: boolean }) => {
      let shown = '';
      do {
        const all = await cubbyExtension('GET', `/cubby/v1/microvms/${encodeURIComponent(id)}/logs`);
        // The log is bounded and rolls: print what is new since the last read.
        const fresh = all.startsWith(shown) ? all.slice(shown.length) : all;
        process.stdout.write(fresh);
        shown = all;
        if (o.follow) await new Promise((r) => setTimeout(r, 1000));
      } while (o.follow);
    });
}
