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
import {
  CreateMicrovmAuthTokenCommand,
  GetMicrovmCommand,
  GetMicrovmImageVersionCommand,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';

export async function waitForVersion(client: LambdaMicrovmsClient, image: string, version: string, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await client.send(new GetMicrovmImageVersionCommand({ imageIdentifier: image, imageVersion: version }));
    if (v.state === 'SUCCESSFUL' || v.state === 'FAILED') return v;
    await new Promise((r) => setTimeout(r, 500));
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
