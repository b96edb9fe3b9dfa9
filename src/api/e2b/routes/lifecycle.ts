/** Timeout, pause and connect: POST /sandboxes/{id}/timeout, /pause, /v2/sandboxes/{id}/connect (and v1 /connect). */
import type { FastifyInstance } from 'fastify';
import type { Microvm } from '../../../core/model.js';
import type { Caller } from '../../../core/services.js';
import { CubbyError } from '../../../errors/index.js';
import { jsonObject, optBool, optSeconds } from '../body.js';
import { MAX_TIMEOUT_SECONDS } from '../options.js';
import { sandboxWire } from '../wire.js';
import { liveSandbox, paramId, type E2bDeps } from './deps.js';

/** Cubby's runtime checkpoints memory and filesystem together: a filesystem-only pause or resume does not exist. */
const noFilesystemOnly = (what: string): CubbyError =>
  new CubbyError(
    'CUBBY_VALIDATION',
    `${what} with memory: false (filesystem only) is not supported by Cubby: its sandboxes are snapshotted with their memory; omit memory or set it to true`,
  );

export function registerLifecycleRoutes(app: FastifyInstance, d: E2bDeps, route: object): void {
  const { core } = d.opts;
  /** The maximum duration that puts the deadline `timeout` seconds from now. */
  const durationFor = (m: Microvm, timeout: number): number =>
    Math.max(1, Math.ceil((d.now().getTime() - m.startedAt.getTime()) / 1000 + timeout));

  app.post('/sandboxes/:sandboxID/timeout', route, async (req, reply) => {
    const caller = d.caller(req);
    const body = jsonObject(req);
    const timeout = optSeconds(body, 'timeout', 0, MAX_TIMEOUT_SECONDS);
    if (timeout === undefined) throw new CubbyError('CUBBY_VALIDATION', 'timeout is required');
    const s = await liveSandbox(d, caller, paramId(req));
    await core.microvms.setMaximumDuration(caller, s.m.id, durationFor(s.m, timeout));
    return reply.code(204).send();
  });

  app.post('/sandboxes/:sandboxID/pause', route, async (req, reply) => {
    const caller = d.caller(req);
    const body = jsonObject(req);
    if (optBool(body, 'memory') === false) throw noFilesystemOnly('pause');
    const s = await liveSandbox(d, caller, paramId(req));
    if (s.state === 'paused') throw new CubbyError('MICROVM_BAD_STATE', `sandbox '${s.m.id}' is already paused`);
    await core.microvms.suspend(caller, s.m.id);
    return reply.code(204).send();
  });

  const connect = async (caller: Caller, id: string, body: Record<string, unknown>): Promise<{ status: number; m: Microvm }> => {
    const timeout = optSeconds(body, 'timeout', 1, MAX_TIMEOUT_SECONDS);
    if (optBool(body, 'memory') === false) throw noFilesystemOnly('connect');
    const s = await liveSandbox(d, caller, id);
    if (s.m.state === 'RUNNING' || s.m.state === 'PENDING') {
      // Connecting to a running sandbox only ever extends its timeout.
      if (timeout !== undefined && durationFor(s.m, timeout) > s.m.maximumDurationSeconds) {
        return { status: 200, m: await core.microvms.setMaximumDuration(caller, id, durationFor(s.m, timeout)) };
      }
      return { status: 200, m: s.m };
    }
    // The core renews the deadline on resume (Microvm.onMaximumDuration); a given timeout sets it.
    const resumed = await core.microvms.resume(caller, id);
    const m = timeout === undefined ? resumed : await core.microvms.setMaximumDuration(caller, id, durationFor(resumed, timeout));
    return { status: 201, m };
  };

  for (const path of ['/v2/sandboxes/:sandboxID/connect', '/sandboxes/:sandboxID/connect']) {
    app.post(path, route, async (req, reply) => {
      const caller = d.caller(req);
      const { status, m } = await connect(caller, paramId(req), jsonObject(req));
      const s = await liveSandbox(d, caller, m.id);
      return reply.code(status).send(sandboxWire(s.m, s.f, d.opts.domain, d.opts.openSecret));
    });
  }
}
