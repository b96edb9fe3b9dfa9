/** Images: list, detail (versions, builds), live build logs, create from an upload, delete. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import yazl from 'yazl';
import type { ImageSettings } from '../../core/model.js';
import { CubbyError } from '../../errors/index.js';
import { publicRoute } from '../route-auth.js';
import { storeArtifact } from '../lambda/artifact-store.js';
import { handle, jsonBody, openEventStream, param, requireChange, requireSession, str, whole } from './http.js';
import type { ConsoleOptions } from './options.js';
import { all, callerFor, callersFor } from './scope.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const LOG_POLL_MS = 1000;
const FINAL_VERSION_STATES = new Set(['SUCCESSFUL', 'FAILED', 'DELETED', 'DELETE_FAILED']);

/** The upload as one zip: either a zip as sent, or a folder's files (path -> base64) zipped here. */
async function uploadZip(body: Record<string, unknown>): Promise<Buffer> {
  if (typeof body.zip === 'string' && body.zip) return Buffer.from(body.zip, 'base64');
  const files = body.files;
  if (!files || typeof files !== 'object') throw new CubbyError('CUBBY_VALIDATION', 'Upload a zip or a folder with a Dockerfile.');
  const entries = Object.entries(files as Record<string, unknown>);
  // A folder picked in the browser names files "<folder>/<path>": the folder itself is dropped.
  const prefix = commonFolder(entries.map(([p]) => p));
  const zip = new yazl.ZipFile();
  let dockerfile = false;
  for (const [p, data] of entries) {
    const rel = p.slice(prefix.length);
    if (typeof data !== 'string' || !rel || rel.split('/').some((s) => s === '..' || s === '')) {
      throw new CubbyError('CUBBY_VALIDATION', `The upload has a file with an unusable path: ${p}`);
    }
    if (rel === 'Dockerfile') dockerfile = true;
    zip.addBuffer(Buffer.from(data, 'base64'), rel);
  }
  if (!dockerfile) throw new CubbyError('CUBBY_VALIDATION', 'The folder needs a Dockerfile at its top.');
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function commonFolder(paths: string[]): string {
  const first = paths[0]?.split('/')[0];
  if (!first || paths.some((p) => !p.startsWith(`${first}/`))) return '';
  return `${first}/`;
}

export function registerImageRoutes(app: FastifyInstance, o: ConsoleOptions): void {
  app.get(
    '/console/api/managed',
    publicRoute,
    handle(async (req) => {
      requireSession(req, o.sessions);
      return { items: await all((p) => o.core.images.listManaged(p)) };
    }),
  );

  app.get(
    '/console/api/images',
    publicRoute,
    handle(async (req) => {
      const s = requireSession(req, o.sessions);
      const items = [];
      for (const caller of await callersFor(req, s, o)) {
        for (const img of await all((p) => o.core.images.list(caller, p))) {
          items.push({
            name: img.name,
            tenantId: caller.tenant.id,
            tenant: caller.tenant.name,
            state: img.state,
            latestActiveVersion: img.latestActiveVersion ?? null,
            latestFailedVersion: img.latestFailedVersion ?? null,
            createdAt: img.createdAt,
          });
        }
      }
      return { items };
    }),
  );

  app.get(
    '/console/api/images/:name',
    publicRoute,
    handle(async (req) => {
      const s = requireSession(req, o.sessions);
      const caller = await callerFor(req, s, o);
      const name = param(req, 'name');
      const image = await o.core.images.get(caller, name);
      const versions = [];
      for (const v of await all((p) => o.core.images.listVersions(caller, name, p))) {
        const builds = await all((p) => o.core.images.listBuilds(caller, name, v.version, p));
        versions.push({
          version: v.version,
          state: v.state,
          status: v.status,
          stateReason: v.stateReason ?? null,
          baseImage: v.settings.baseImage,
          memoryMiB: v.settings.memoryMiB,
          vcpus: v.settings.vcpus,
          createdAt: v.createdAt,
          builds: builds.map((b) => ({
            id: b.id,
            state: b.state,
            stateReason: b.stateReason ?? null,
            createdAt: b.createdAt,
            updatedAt: b.updatedAt ?? null,
          })),
        });
      }
      return {
        name: image.name,
        tenantId: caller.tenant.id,
        state: image.state,
        latestActiveVersion: image.latestActiveVersion ?? null,
        versions,
      };
    }),
  );

  // The build log, following while the build runs (the log file grows; sent as it grows).
  app.get('/console/api/images/:name/versions/:version/log', publicRoute, async (req, reply) => {
    let caller;
    try {
      caller = await callerFor(req, requireSession(req, o.sessions), o);
      await o.core.images.getVersion(caller, param(req, 'name'), param(req, 'version'));
    } catch (e) {
      return handle(() => Promise.reject(e))(req, reply);
    }
    const name = param(req, 'name');
    const version = param(req, 'version');
    const stream = openEventStream(req, reply);
    let sent = 0;
    const tick = async () => {
      try {
        const v = await o.core.images.getVersion(caller, name, version);
        const text = await o.core.images.buildLog(caller, name, version).catch(() => '');
        if (text.length > sent) {
          stream.send('log', { text: text.slice(sent) });
          sent = text.length;
        }
        stream.send('state', { state: v.state, stateReason: v.stateReason ?? null });
        if (FINAL_VERSION_STATES.has(v.state)) {
          stream.send('end', { state: v.state });
          reply.raw.end();
          return;
        }
      } catch (e) {
        stream.send('end', { error: (e as Error).message });
        reply.raw.end();
        return;
      }
      if (!stream.closed()) timer = setTimeout(() => void tick(), LOG_POLL_MS);
    };
    let timer: NodeJS.Timeout | undefined;
    stream.onClose(() => clearTimeout(timer));
    void tick();
  });

  app.post(
    '/console/api/images',
    { ...publicRoute, bodyLimit: Math.ceil(o.maxArtifactBytes * 1.4) + 64 * 1024 },
    handle(async (req, reply) => {
      const s = requireChange(req, o.sessions, o.secure);
      const caller = await callerFor(req, s, o);
      const body = jsonBody(req);
      const name = str(body.name, 'name');
      if (!NAME.test(name)) throw new CubbyError('CUBBY_VALIDATION', 'The name may have letters, digits, ".", "_" and "-" (up to 128).');
      const baseImage = str(body.baseImage, 'baseImage');
      const zip = await uploadZip(body);
      const quota = await o.core.quotas.reserveArtifact(caller.tenant.id, zip.length);
      let uri: string;
      try {
        const stored = await storeArtifact({
          artifactsDir: o.artifactsDir,
          tenantId: caller.tenant.id,
          body: Readable.from([zip]),
          expectedSha256: createHash('sha256').update(zip).digest('hex'),
          maxBytes: Math.min(o.maxArtifactBytes, quota.maxBytes),
        });
        uri = stored.uri;
      } finally {
        quota.release();
      }
      const hookPort = whole(body.hookPort, 9000, 1, 65535, 'hookPort');
      const settings: ImageSettings = {
        baseImage,
        codeArtifactUri: uri,
        environment: {},
        memoryMiB: whole(body.memoryMiB, 512, 128, 65536, 'memoryMiB'),
        vcpus: whole(body.vcpus, 1, 1, 64, 'vcpus'),
        hooks: {
          port: hookPort,
          enabled: body.hooks === true ? { ready: true, run: true, resume: true, suspend: true } : {},
          timeouts: {},
        },
        egress: { mode: 'closed' },
        extra: {},
      };
      const { image, version } = await o.core.images.create(caller, { name, settings });
      reply.code(201);
      return { name: image.name, version: version.version, state: version.state };
    }),
  );

  app.delete(
    '/console/api/images/:name',
    publicRoute,
    handle(async (req) => {
      const s = requireChange(req, o.sessions, o.secure);
      const image = await o.core.images.delete(await callerFor(req, s, o), param(req, 'name'));
      return { name: image.name, state: image.state };
    }),
  );
}
