/** GetMicrovmImageVersion, ListMicrovmImageVersions, UpdateMicrovmImageVersion, DeleteMicrovmImageVersion. */
import type { FastifyInstance } from 'fastify';
import { versionToWire } from '../mapping/image-wire.js';
import { Empty, ImagePath } from '../schemas/images.js';
import { ListVersionsQuery, UpdateMicrovmImageVersionBody, VersionPath } from '../schemas/image-versions.js';
import { parseInput } from '../validate.js';
import { bodyOf, pageOf, type RouteDeps } from './deps.js';

const BASE = '/2025-09-09/microvm-images/:imageIdentifier/versions';

export function registerImageVersionRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { core, arns } = deps;

  app.get(`${BASE}/:imageVersion`, async (req) => {
    const { caller } = deps.context(req);
    const { imageIdentifier, imageVersion } = parseInput(VersionPath, req.params, 'path');
    const name = arns.imageName(caller, imageIdentifier);
    const version = await core.images.getVersion(caller, name, imageVersion);
    const wire = versionToWire(version, arns.image(caller.tenant.accountId, name), arns);
    // Cubby's extension: which agent the snapshot carries and whether it is the host's current one
    // (an image is not rebuilt for a new agent on its own; its owner updates it).
    const agent = version.state === 'SUCCESSFUL' ? await core.images.versionAgent(caller, name, imageVersion) : undefined;
    if (!agent) return wire;
    return { ...wire, cubbyAgentSha256: agent.sha256, cubbyAgentCurrent: agent.current };
  });

  app.get(BASE, async (req) => {
    const { caller, query } = deps.context(req);
    const { imageIdentifier } = parseInput(ImagePath, req.params, 'path');
    const q = parseInput(ListVersionsQuery, query, 'query');
    const name = arns.imageName(caller, imageIdentifier);
    const page = await core.images.listVersions(caller, name, pageOf(q));
    const imageArn = arns.image(caller.tenant.accountId, name);
    return { items: page.items.map((v) => versionToWire(v, imageArn, arns)), nextToken: page.nextToken };
  });

  app.patch(`${BASE}/:imageVersion`, async (req) => {
    const { caller } = deps.context(req);
    const { imageIdentifier, imageVersion } = parseInput(VersionPath, req.params, 'path');
    const name = arns.imageName(caller, imageIdentifier);
    const { status } = parseInput(UpdateMicrovmImageVersionBody, bodyOf(req), 'body');
    const version = await core.images.setVersionStatus(caller, name, imageVersion, status);
    return versionToWire(version, arns.image(caller.tenant.accountId, name), arns);
  });

  app.delete(`${BASE}/:imageVersion`, async (req) => {
    const { caller } = deps.context(req);
    const { imageIdentifier, imageVersion } = parseInput(VersionPath, req.params, 'path');
    parseInput(Empty, bodyOf(req), 'body');
    const name = arns.imageName(caller, imageIdentifier);
    const version = await core.images.deleteVersion(caller, name, imageVersion);
    return { imageIdentifier: arns.image(caller.tenant.accountId, name), imageVersion: version.version, state: version.state };
  });
}
