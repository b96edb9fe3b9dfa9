/** CreateMicrovmImage, UpdateMicrovmImage, DeleteMicrovmImage, GetMicrovmImage, ListMicrovmImages. */
import type { FastifyInstance } from 'fastify';
import type { CreateImageInput } from '../../../core/services.js';
import { imageSummaryToWire, imageWithVersionToWire } from '../mapping/image-wire.js';
import { settingsFromWire } from '../mapping/image-settings.js';
import { optionalEpochSeconds } from '../mapping/time.js';
import { CreateMicrovmImageBody, Empty, ImagePath, ListMicrovmImagesQuery, UpdateMicrovmImageBody } from '../schemas/images.js';
import { parseInput } from '../validate.js';
import { bodyOf, pageOf, type RouteDeps } from './deps.js';
import type { ImageSettings } from '../../../core/model.js';
import type { Caller, CoreServices } from '../../../core/services.js';
import { BUILD_ROLE_MEMBER } from '../../../core/roles/build.js';
import { buildRoleName } from '../mapping/roles.js';

/** Resolves buildRoleArn to one of the caller's roles (whose secrets the build's RUN steps read). */
async function withBuildRole(core: CoreServices, caller: Caller, settings: ImageSettings): Promise<ImageSettings> {
  const arn = settings.extra.buildRoleArn;
  const role = await buildRoleName(core, caller, typeof arn === 'string' ? arn : undefined);
  return role === undefined ? settings : { ...settings, extra: { ...settings.extra, [BUILD_ROLE_MEMBER]: role } };
}

const BASE = '/2025-09-09/microvm-images';

export function registerImageRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { core, arns } = deps;

  app.post(BASE, async (req, reply) => {
    const { caller } = deps.context(req);
    const body = parseInput(CreateMicrovmImageBody, bodyOf(req), 'body');
    const settings = await withBuildRole(core, caller, settingsFromWire(body, arns, deps.addresses));
    const input: CreateImageInput = { name: body.name, settings };
    if (body.tags !== undefined) input.tags = body.tags;
    if (body.clientToken !== undefined) input.clientToken = body.clientToken;
    const { image, version } = await core.images.create(caller, input);
    const tags = await core.tags.list(caller, 'image', image.name);
    reply.code(201);
    return { ...imageWithVersionToWire(image, version, arns.image(caller.tenant.accountId, image.name), arns), tags };
  });

  app.put(`${BASE}/:imageIdentifier`, async (req) => {
    const { caller } = deps.context(req);
    const { imageIdentifier } = parseInput(ImagePath, req.params, 'path');
    const name = arns.imageName(caller, imageIdentifier);
    const body = parseInput(UpdateMicrovmImageBody, bodyOf(req), 'body');
    const settings = await withBuildRole(core, caller, settingsFromWire(body, arns, deps.addresses));
    const { image, version } = await core.images.update(caller, name, settings, body.clientToken);
    return imageWithVersionToWire(image, version, arns.image(caller.tenant.accountId, image.name), arns);
  });

  app.delete(`${BASE}/:imageIdentifier`, async (req) => {
    const { caller } = deps.context(req);
    const { imageIdentifier } = parseInput(ImagePath, req.params, 'path');
    parseInput(Empty, bodyOf(req), 'body');
    const image = await core.images.delete(caller, arns.imageName(caller, imageIdentifier));
    return { imageIdentifier: arns.image(caller.tenant.accountId, image.name), state: image.state };
  });

  app.get(`${BASE}/:imageIdentifier`, async (req) => {
    const { caller } = deps.context(req);
    const { imageIdentifier } = parseInput(ImagePath, req.params, 'path');
    const image = await core.images.get(caller, arns.imageName(caller, imageIdentifier));
    const tags = await core.tags.list(caller, 'image', image.name);
    return {
      ...imageSummaryToWire(image, arns.image(caller.tenant.accountId, image.name)),
      updatedAt: optionalEpochSeconds(image.updatedAt),
      tags,
    };
  });

  app.get(BASE, async (req) => {
    const { caller, query } = deps.context(req);
    const q = parseInput(ListMicrovmImagesQuery, query, 'query');
    const page = await core.images.list(caller, { ...pageOf(q), ...(q.nameFilter !== undefined ? { nameFilter: q.nameFilter } : {}) });
    return {
      items: page.items.map((image) => imageSummaryToWire(image, arns.image(caller.tenant.accountId, image.name))),
      nextToken: page.nextToken,
    };
  });
}
