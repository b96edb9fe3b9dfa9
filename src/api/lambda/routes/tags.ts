/**
 * TagResource, UntagResource, ListTags. These paths sit under /2017-03-31/tags/{Resource} (the
 * Lambda tagging API's), not under /2025-09-09. The core tags images by name and microVMs by id,
 * within the caller's tenant (so another tenant's resource is not found).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ResourceKind } from '../../../core/model.js';
import { Empty } from '../schemas/images.js';
import { ResourcePath, TagResourceBody, UntagResourceQuery } from '../schemas/tags.js';
import { parseInput } from '../validate.js';
import { bodyOf, type RouteDeps } from './deps.js';

const PATH = '/2017-03-31/tags/:Resource';

export function registerTagRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { core, arns } = deps;

  function target(req: FastifyRequest): { kind: ResourceKind; id: string } {
    const { caller } = deps.context(req);
    const { Resource } = parseInput(ResourcePath, req.params, 'path');
    const { kind, key } = arns.taggable(caller, Resource);
    return { kind, id: key };
  }

  app.get(PATH, async (req) => {
    const { caller, query } = deps.context(req);
    parseInput(Empty, query, 'query');
    const { kind, id } = target(req);
    return { Tags: await core.tags.list(caller, kind, id) };
  });

  app.post(PATH, async (req, reply) => {
    const { caller } = deps.context(req);
    const { Tags } = parseInput(TagResourceBody, bodyOf(req), 'body');
    const { kind, id } = target(req);
    await core.tags.tag(caller, kind, id, Tags);
    return reply.code(204).send();
  });

  app.delete(PATH, async (req, reply) => {
    const { caller, query } = deps.context(req);
    const { tagKeys } = parseInput(UntagResourceQuery, query, 'query');
    const { kind, id } = target(req);
    await core.tags.untag(caller, kind, id, tagKeys);
    return reply.code(204).send();
  });
}
