/**
 * Cubby's own operations beside the Lambda MicroVMs API, under /cubby/v1/ (SigV4 and tenant
 * scoping as for every other route; errors through the same wire map):
 *   GET /cubby/v1/images/{imageIdentifier}/versions/{imageVersion}/log[?buildId=]  build log, text/plain
 *   GET /cubby/v1/microvms/{microvmIdentifier}/logs                               app stdout/stderr, text/plain
 *   GET /cubby/v1/microvms/{microvmIdentifier}/egress-audit                       DNS questions and connections, JSON
 *   PUT /cubby/v1/artifacts  (a zip as application/zip or application/octet-stream)
 *       -> 201 {"uri": "cubby-artifact://<id>"}, usable as codeArtifact.uri by the same tenant.
 * The upload's body is not collected by the server: the route is registered with the
 * `cubbyStreamedBody` config, authenticated from its headers (the signed x-amz-content-sha256
 * stands for the body), then streamed to disk and checked against that hash.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CubbyError } from '../../../errors/index.js';
import { storeArtifact, tooLarge } from '../artifact-store.js';
import { Empty } from '../schemas/images.js';
import { MicrovmPath } from '../schemas/microvms.js';
import { VersionPath } from '../schemas/image-versions.js';
import { nonBlank } from '../schemas/common.js';
import { parseInput } from '../validate.js';
import type { RouteDeps } from './deps.js';

const BASE = '/cubby/v1';
const TEXT = 'text/plain; charset=utf-8';
const ZIP_TYPES = new Set(['application/zip', 'application/octet-stream', 'application/x-zip-compressed']);

/** Route config a route sets to read its own body after authentication (see server.ts). */
export const streamedBodyRoute = { config: { cubbyStreamedBody: true } } as const;

const BuildLogQuery = z.strictObject({ buildId: nonBlank(1, 256).optional() });

export interface CubbyExtensionOptions {
  /** Where uploads go (<dir>/<tenantId>/<id>.zip); without it PUT /cubby/v1/artifacts does not exist. */
  artifactsDir?: string;
  maxArtifactBytes: number;
}

function artifactBytesQuota(left: number): CubbyError {
  return new CubbyError(
    'QUOTA_ARTIFACTS',
    `quota exceeded: uploaded artifact bytes (artifactBytes): this upload passed the ${left} bytes the tenant has left; delete or wait out older uploads, or ask the operator to raise it.`,
    { details: { quota: 'artifactBytes', left } },
  );
}

function essence(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export function registerCubbyExtensionRoutes(app: FastifyInstance, deps: RouteDeps, opts: CubbyExtensionOptions): void {
  const { core, arns } = deps;

  app.get(`${BASE}/images/:imageIdentifier/versions/:imageVersion/log`, async (req, reply) => {
    const { caller, query } = deps.context(req);
    const { imageIdentifier, imageVersion } = parseInput(VersionPath, req.params, 'path');
    const { buildId } = parseInput(BuildLogQuery, query, 'query');
    const log = await core.images.buildLog(caller, arns.imageName(caller, imageIdentifier), imageVersion, buildId);
    return reply.type(TEXT).send(log);
  });

  app.get(`${BASE}/microvms/:microvmIdentifier/logs`, async (req, reply) => {
    const { caller, query } = deps.context(req);
    const { microvmIdentifier } = parseInput(MicrovmPath, req.params, 'path');
    parseInput(Empty, query, 'query');
    const out = await core.microvms.logs(caller, arns.microvmId(caller, microvmIdentifier));
    return reply.type(TEXT).send(out);
  });

  app.get(`${BASE}/microvms/:microvmIdentifier/egress-audit`, async (req) => {
    const { caller, query } = deps.context(req);
    const { microvmIdentifier } = parseInput(MicrovmPath, req.params, 'path');
    parseInput(Empty, query, 'query');
    const microvmId = arns.microvmId(caller, microvmIdentifier);
    return { microvmId, ...(await core.microvms.egressAudit(caller, microvmId)) };
  });

  const artifactsDir = opts.artifactsDir;
  if (artifactsDir === undefined) return;
  // Encapsulated so that only this route sees zip bodies as an unread stream.
  void app.register(async (scope) => {
    scope.addContentTypeParser([...ZIP_TYPES], (_req, _payload, done) => done(null, undefined));
    // Refused before its body was read (auth, size): drop the connection rather than wait it out.
    scope.addHook('onSend', async (req, reply) => {
      if (!req.raw.complete) reply.header('connection', 'close');
    });
    scope.put(`${BASE}/artifacts`, streamedBodyRoute, async (req, reply) => {
      const { caller, query } = deps.context(req);
      parseInput(Empty, query, 'query');
      // Any other type was collected by the default parser (and authenticated with its bytes).
      if (!ZIP_TYPES.has(essence(req.headers['content-type'])) || Buffer.isBuffer(req.body)) {
        throw new CubbyError(
          'API_UNSUPPORTED_MEDIA_TYPE',
          `Unsupported content type '${req.headers['content-type'] ?? ''}'; send the zip as application/zip.`,
        );
      }
      const declared = Number(req.headers['content-length']);
      if (declared > opts.maxArtifactBytes) throw tooLarge(opts.maxArtifactBytes);
      // The tenant's uploads quota (count and bytes, on disk and in flight) admits it first.
      const slot = await core.quotas?.reserveArtifact(caller.tenant.id, Number.isFinite(declared) ? declared : 0);
      let stored;
      try {
        const quotaLeft = slot?.maxBytes ?? Infinity;
        stored = await storeArtifact({
          artifactsDir,
          tenantId: caller.tenant.id,
          body: req.raw,
          expectedSha256: String(req.headers['x-amz-content-sha256']).toLowerCase(),
          maxBytes: Math.min(opts.maxArtifactBytes, quotaLeft),
          ...(quotaLeft < opts.maxArtifactBytes ? { overLimit: () => artifactBytesQuota(quotaLeft) } : {}),
        });
      } finally {
        slot?.release();
      }
      req.log.info({ tenant: caller.tenant.id, artifact: stored.id, bytes: stored.size }, 'artifact uploaded');
      return reply.code(201).send({ uri: stored.uri });
    });
  });
}
