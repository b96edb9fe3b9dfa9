/** GetMicrovmImageBuild, ListMicrovmImageBuilds. */
import type { FastifyInstance } from 'fastify';
import { HOST_ARCHITECTURE, HOST_CHIPSET, HOST_CHIPSET_GENERATION, buildToWire } from '../mapping/image-wire.js';
import { BuildPath, ListBuildsQuery, VersionPath } from '../schemas/image-versions.js';
import { parseInput } from '../validate.js';
import { pageOf, type RouteDeps } from './deps.js';

const BASE = '/2025-09-09/microvm-images/:imageIdentifier/versions/:imageVersion/builds';

export function registerImageBuildRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { core, arns } = deps;

  app.get(`${BASE}/:buildId`, async (req) => {
    const { caller } = deps.context(req);
    const { imageIdentifier, imageVersion, buildId } = parseInput(BuildPath, req.params, 'path');
    const name = arns.imageName(caller, imageIdentifier);
    const build = await core.images.getBuild(caller, name, imageVersion, buildId);
    return buildToWire(build, arns.image(caller.tenant.accountId, name));
  });

  app.get(BASE, async (req) => {
    const { caller, query } = deps.context(req);
    const { imageIdentifier, imageVersion } = parseInput(VersionPath, req.params, 'path');
    const q = parseInput(ListBuildsQuery, query, 'query');
    const name = arns.imageName(caller, imageIdentifier);
    const page = await core.images.listBuilds(caller, name, imageVersion, pageOf(q));
    // Every build here is for this host's architecture: a filter for another one matches none.
    const matches =
      (q.architecture ?? HOST_ARCHITECTURE) === HOST_ARCHITECTURE &&
      (q.chipset ?? HOST_CHIPSET) === HOST_CHIPSET &&
      (q.chipsetGeneration ?? HOST_CHIPSET_GENERATION) === HOST_CHIPSET_GENERATION;
    const imageArn = arns.image(caller.tenant.accountId, name);
    return { items: matches ? page.items.map((b) => buildToWire(b, imageArn)) : [], nextToken: matches ? page.nextToken : undefined };
  });
}
