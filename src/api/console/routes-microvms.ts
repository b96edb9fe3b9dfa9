/**
 * MicroVMs of both front doors (an E2B sandbox is a microVM): list, live state over server-sent
 * events, launch, suspend, resume, terminate, detail with state history, live logs, a shell
 * token for the web terminal, and a curl command with a fresh endpoint token.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../../core/services.js';
import type { Image } from '../../core/model.js';
import { CubbyError } from '../../errors/index.js';
import { publicRoute } from '../route-auth.js';
import { handle, jsonBody, openEventStream, requireChange, requireSession, str, whole } from './http.js';
import type { ConsoleOptions } from './options.js';
import { all, callerFor, callersFor, microvmView } from './scope.js';

const LOG_POLL_MS = 1000;
const LOG_TAIL_BYTES = 64 * 1024;

function id(req: FastifyRequest): string {
  return (req.params as Record<string, string>).id ?? '';
}

async function imageIndex(o: ConsoleOptions, caller: Caller): Promise<Map<string, Image>> {
  return new Map((await all((p) => o.core.images.list(caller, p))).map((i) => [i.id, i]));
}

/** A single-quoted shell word. */
function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function registerMicrovmRoutes(app: FastifyInstance, o: ConsoleOptions): void {
  const view = async (caller: Caller, microvmId: string) => {
    const m = await o.core.microvms.get(caller, microvmId);
    return microvmView(m, caller.tenant.name, await imageIndex(o, caller), o.endpointFor(m.id));
  };

  app.get(
    '/console/api/microvms',
    publicRoute,
    handle(async (req) => {
      const s = requireSession(req, o.sessions);
      const items = [];
      for (const caller of await callersFor(req, s, o)) {
        const images = await imageIndex(o, caller);
        for (const m of await all((p) => o.core.microvms.list(caller, p)))
          items.push(microvmView(m, caller.tenant.name, images, o.endpointFor(m.id)));
      }
      return { items };
    }),
  );

  // Live state: one stream per page; the tenant gets only its own microVMs' changes.
  app.get('/console/api/events', publicRoute, async (req, reply) => {
    let s;
    try {
      s = requireSession(req, o.sessions);
    } catch (e) {
      return handle(() => Promise.reject(e))(req, reply);
    }
    const session = s;
    const stream = openEventStream(req, reply);
    const off = o.events.subscribe((e) => {
      if (!o.sessions.get(session.id)) {
        stream.send('signed-out', {});
        reply.raw.end();
        return;
      }
      if (session.principal.kind === 'tenant' && session.principal.tenant.id !== e.tenantId) return;
      stream.send('state', e);
    });
    stream.onClose(off);
  });

  app.post(
    '/console/api/microvms',
    publicRoute,
    handle(async (req, reply) => {
      const s = requireChange(req, o.sessions, o.secure);
      const caller = await callerFor(req, s, o);
      const body = jsonBody(req);
      const version = str(body.version, 'version', { optional: true });
      const idleMinutes = whole(body.idleMinutes, 15, 1, 10_080, 'idleMinutes');
      const suspendedHours = whole(body.suspendedHours, 24, 1, 8760, 'suspendedHours');
      const m = await o.core.microvms.run(caller, {
        image: str(body.image, 'image'),
        ...(version ? { version } : {}),
        idlePolicy: {
          maxIdleDurationSeconds: idleMinutes * 60,
          suspendedDurationSeconds: suspendedHours * 3600,
          autoResumeEnabled: body.autoResume !== false,
        },
      });
      reply.code(201);
      return microvmView(m, caller.tenant.name, await imageIndex(o, caller), o.endpointFor(m.id));
    }),
  );

  app.get(
    '/console/api/microvms/:id',
    publicRoute,
    handle(async (req) => {
      const caller = await callerFor(req, requireSession(req, o.sessions), o);
      return { ...(await view(caller, id(req))), history: o.events.historyOf(id(req)) };
    }),
  );

  for (const action of ['suspend', 'resume', 'terminate'] as const) {
    app.post(
      `/console/api/microvms/:id/${action}`,
      publicRoute,
      handle(async (req) => {
        const caller = await callerFor(req, requireChange(req, o.sessions, o.secure), o);
        await o.core.microvms[action](caller, id(req));
        return view(caller, id(req));
      }),
    );
  }

  // The microVM's output, following: the tail first, then what it adds.
  app.get('/console/api/microvms/:id/logs', publicRoute, async (req, reply) => {
    let caller: Caller;
    try {
      caller = await callerFor(req, requireSession(req, o.sessions), o);
      await o.core.microvms.get(caller, id(req));
    } catch (e) {
      return handle(() => Promise.reject(e))(req, reply);
    }
    const stream = openEventStream(req, reply);
    let sent = -1;
    let timer: NodeJS.Timeout | undefined;
    const tick = async () => {
      try {
        const buf = await o.core.microvms.logs(caller, id(req));
        if (sent < 0) sent = Math.max(0, buf.length - LOG_TAIL_BYTES);
        if (buf.length < sent) sent = 0; // a new log (after a restore): start over
        if (buf.length > sent) {
          stream.send('log', { text: buf.subarray(sent).toString('utf8') });
          sent = buf.length;
        }
      } catch {
        // A terminated microVM's log may be gone: keep what was shown.
      }
      if (!stream.closed()) timer = setTimeout(() => void tick(), LOG_POLL_MS);
    };
    stream.onClose(() => clearTimeout(timer));
    void tick();
  });

  app.post(
    '/console/api/microvms/:id/shell',
    publicRoute,
    handle(async (req) => {
      const caller = await callerFor(req, requireChange(req, o.sessions, o.secure), o);
      const t = await o.core.tokens.createShellToken(caller, id(req), 5);
      const url = `${o.endpointFor(id(req)).replace(/^http/, 'ws')}/shell`;
      return { url, protocol: `lambda-microvms.authentication.${t.token}`, expiresAt: t.expiresAt };
    }),
  );

  app.post(
    '/console/api/microvms/:id/curl',
    publicRoute,
    handle(async (req) => {
      const caller = await callerFor(req, requireChange(req, o.sessions, o.secure), o);
      const body = jsonBody(req);
      const ports = Array.isArray(body.ports) ? body.ports : [];
      const list = ports.map((p) => Number(p));
      if (list.length === 0 || list.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
        throw new CubbyError('CUBBY_VALIDATION', 'Pick one or more ports from 1 to 65535.');
      }
      const minutes = Number(body.minutes ?? 15);
      if (!Number.isInteger(minutes) || minutes < 1 || minutes > 60) throw new CubbyError('CUBBY_VALIDATION', 'minutes must be 1 to 60.');
      const t = await o.core.tokens.createAuthToken(
        caller,
        id(req),
        minutes,
        list.map((p) => ({ from: p, to: p })),
      );
      const path = typeof body.path === 'string' && body.path.startsWith('/') ? body.path : '/';
      const command = `curl -sS -H ${sh(`X-aws-proxy-auth: ${t.token}`)} -H ${sh(`X-aws-proxy-port: ${list[0]}`)} ${sh(o.endpointFor(id(req)) + path)}`;
      return { command, token: t.token, ports: list, expiresAt: t.expiresAt };
    }),
  );
}
