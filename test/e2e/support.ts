/** Helpers shared by the end-to-end tests. */

/** The counter fixture's microVM hooks, every one enabled (test/fixtures/apps/counter/app.py serves them on 9000). */
export const COUNTER_LIFECYCLE_HOOKS = {
  port: 9000,
  microvmHooks: { run: 'ENABLED', resume: 'ENABLED', suspend: 'ENABLED', terminate: 'ENABLED' },
  microvmImageHooks: { ready: 'ENABLED', readyTimeoutInSeconds: 60 },
} as const;

/** Every hook of the counter fixture, validate included. */
export const COUNTER_HOOKS = {
  ...COUNTER_LIFECYCLE_HOOKS,
  microvmImageHooks: { ...COUNTER_LIFECYCLE_HOOKS.microvmImageHooks, validate: 'ENABLED' },
} as const;
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateMicrovmAuthTokenCommand,
  CreateMicrovmImageCommand,
  GetMicrovmCommand,
  GetMicrovmImageVersionCommand,
  type CreateMicrovmImageCommandInput,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { fixtureArtifact, viaGateway, type TestDaemon } from '../support/daemon.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Runs the README's JavaScript example that follows `<!-- marker -->` as a reader would: `node`
 * in the repository, with the E2B environment variables the README names pointing at `d`.
 */
export async function runReadmeExample(marker: string, d: TestDaemon, apiKey: string): Promise<{ code: number | null; out: string }> {
  const readme = await fs.readFile(path.join(ROOT, 'README.md'), 'utf8');
  const m = new RegExp(`<!-- ${marker} -->\\s*\`\`\`js\\n([\\s\\S]*?)\`\`\``).exec(readme);
  assert.ok(m, `README has the ${marker}`);
  const child = spawn(process.execPath, ['--input-type=module', '-e', m[1]!], {
    cwd: ROOT,
    env: { ...process.env, E2B_API_KEY: apiKey, E2B_API_URL: d.apiUrl, E2B_SANDBOX_URL: d.gatewayUrl, E2B_DOMAIN: d.config.domain },
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const code = await new Promise<number | null>((res) => child.on('close', res));
  return { code, out };
}

/** Starts building image `name` on the Python base from the code artifact at `uri`; `extra` adds or overrides fields. */
export function createImage(client: LambdaMicrovmsClient, name: string, uri: string, extra: Partial<CreateMicrovmImageCommandInput> = {}) {
  return client.send(
    new CreateMicrovmImageCommand({
      name,
      baseImageArn: 'debian-12-python',
      buildRoleArn: 'arn:aws:iam::000000000000:role/build',
      codeArtifact: { uri },
      ...extra,
    }),
  );
}

/**
 * Creates image `name` (default "counter") from the counter fixture (zipped into `tmp`) with
 * 512 MiB and `hooks`, and waits for its version 1.0 to build: it must succeed.
 */
export async function buildCounterImage(
  client: LambdaMicrovmsClient,
  tmp: string,
  extra: Partial<CreateMicrovmImageCommandInput> & Pick<CreateMicrovmImageCommandInput, 'hooks'>,
  timeoutMs?: number,
) {
  const name = extra.name ?? 'counter';
  const created = await createImage(client, name, await fixtureArtifact('counter', tmp), {
    resources: [{ minimumMemoryInMiB: 512 }],
    ...extra,
  });
  assert.equal(created.imageVersion, '1.0');
  const v = await waitForVersion(client, name, '1.0', timeoutMs);
  assert.equal(v.state, 'SUCCESSFUL', v.stateReason);
  return v;
}

export async function waitForVersion(client: LambdaMicrovmsClient, image: string, version: string, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await client.send(new GetMicrovmImageVersionCommand({ imageIdentifier: image, imageVersion: version }));
    if (v.state === 'SUCCESSFUL' || v.state === 'FAILED') return v;
    // Short: every build of the suite waits here, and a GetMicrovmImageVersion is cheap.
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`image ${image} ${version} did not finish building in ${timeoutMs} ms`);
}

export async function waitForState(client: LambdaMicrovmsClient, id: string, states: string[], timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const m = await client.send(new GetMicrovmCommand({ microvmIdentifier: id }));
    last = m.state ?? '';
    if (states.includes(last)) return m;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`microVM ${id} stayed ${last}, expected ${states.join('|')}`);
}

export async function endpointToken(
  client: LambdaMicrovmsClient,
  id: string,
  ports: number[] | 'all' = [8080],
  minutes = 10,
): Promise<string> {
  const r = await client.send(
    new CreateMicrovmAuthTokenCommand({
      microvmIdentifier: id,
      expirationInMinutes: minutes,
      allowedPorts: ports === 'all' ? [{ allPorts: {} }] : ports.map((port) => ({ port })),
    }),
  );
  const t = r.authToken?.['X-aws-proxy-auth'];
  if (!t) throw new Error('no token');
  return t;
}

/** One GET / of the counter app through the gateway with a fresh endpoint token: the new count. */
export async function bumpCounter(d: TestDaemon, client: LambdaMicrovmsClient, id: string): Promise<number> {
  const r = await viaGateway(d, id, '/', { token: await endpointToken(client, id) });
  assert.equal(r.status, 200, r.body);
  return (JSON.parse(r.body) as { count: number }).count;
}

/**
 * For an after() hook: terminates whatever the tenant of `e2bKey` still runs (a failed test's
 * sandbox, a README example's), so the leak check sees only real leaks.
 */
export async function terminateTenantMicrovms(d: TestDaemon | undefined, e2bKey: string | undefined): Promise<void> {
  const owner = d && e2bKey ? await d.store.getE2bKeyForAuth(e2bKey) : undefined;
  if (!d || !owner) return;
  const caller = { tenant: owner.tenant };
  const page = await d.core.services.microvms.list(caller, { maxResults: 100 });
  for (const m of page.items) {
    if (m.state !== 'TERMINATED')
      await d.core.services.microvms.terminate(caller, m.id).catch((e: unknown) => console.error(`terminate ${m.id}: ${String(e)}`));
  }
}
