/** ListManagedMicrovmImages, ListManagedMicrovmImageVersions: base images every tenant sees. */
import type { FastifyInstance } from 'fastify';
import { CubbyError } from '../../../errors/index.js';
import { managedSummaryToWire, managedVersionToWire } from '../mapping/image-wire.js';
import { ListManagedImagesQuery, ListManagedVersionsQuery, ManagedImagePath } from '../schemas/managed-images.js';
import { parseInput } from '../validate.js';
import { pageOf, type RouteDeps } from './deps.js';

const BASE = '/2025-09-09/managed-microvm-images';
const DEFAULT_PAGE = 50;

/** getManaged returns every version at once, so this list pages by offset: token "o<offset>". */
function offsetFrom(token: string | undefined): number {
  if (token === undefined) return 0;
  const m = /^o(\d{1,9})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (!m) throw new CubbyError('CUBBY_VALIDATION', 'nextToken is not a token this operation issued.');
  return Number(m[1]);
}

function tokenFor(offset: number): string {
  return Buffer.from(`o${offset}`, 'utf8').toString('base64url');
}

export function registerManagedImageRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { core, arns } = deps;

  app.get(BASE, async (req) => {
    const { query } = deps.context(req);
    const q = parseInput(ListManagedImagesQuery, query, 'query');
    const page = await core.images.listManaged(pageOf(q));
    return { items: page.items.map((info) => managedSummaryToWire(info, arns)), nextToken: page.nextToken };
  });

  app.get(`${BASE}/:imageIdentifier/versions`, async (req) => {
    const { query } = deps.context(req);
    const { imageIdentifier } = parseInput(ManagedImagePath, req.params, 'path');
    const q = parseInput(ListManagedVersionsQuery, query, 'query');
    const info = await core.images.getManaged(arns.managedImageName(imageIdentifier));
    const start = offsetFrom(q.nextToken);
    const end = start + (q.maxResults ?? DEFAULT_PAGE);
    return {
      items: info.versions.slice(start, end).map((v) => managedVersionToWire(info, v, arns)),
      nextToken: end < info.versions.length ? tokenFor(end) : undefined,
    };
  });
}
