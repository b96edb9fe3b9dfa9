/**
 * E2B templates are Cubby images: any image of the tenant by name or id. `base` is special: it
 * exists for every tenant once built (ensureBaseTemplate is the extension point that builds it);
 * until then it resolves to the tenant's own image named `base`, if any.
 */
import { CubbyError, isCubbyError } from '../../errors/index.js';
import type { Caller, CoreServices } from '../../core/services.js';

export const BASE_TEMPLATE = 'base';

/** The default `base`: the tenant's image named `base`, if it has one. */
export async function ensureBaseTemplate(caller: Caller, core: CoreServices): Promise<string | undefined> {
  return (await imageNamed(core, caller, BASE_TEMPLATE)) ? BASE_TEMPLATE : undefined;
}

async function imageNamed(core: CoreServices, caller: Caller, name: string): Promise<boolean> {
  try {
    await core.images.get(caller, name);
    return true;
  } catch (e) {
    if (isCubbyError(e) && e.kind === 'not_found') return false;
    throw e;
  }
}

async function imageWithId(core: CoreServices, caller: Caller, id: string): Promise<string | undefined> {
  let nextToken: string | undefined;
  do {
    const page = await core.images.list(caller, { maxResults: 100, ...(nextToken ? { nextToken } : {}) });
    const hit = page.items.find((i) => i.id === id);
    if (hit) return hit.name;
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
}

/** The name of the image a templateID names; a 404-kind error when there is none. */
export async function resolveTemplate(
  core: CoreServices,
  caller: Caller,
  templateID: string,
  ensureBase: (caller: Caller, core: CoreServices) => Promise<string | undefined> = ensureBaseTemplate,
): Promise<string> {
  if (templateID === BASE_TEMPLATE) {
    const name = await ensureBase(caller, core);
    if (name === undefined)
      throw new CubbyError('IMAGE_NOT_FOUND', `template '${BASE_TEMPLATE}' is not built yet`, { details: { templateID } });
    return name;
  }
  if (await imageNamed(core, caller, templateID)) return templateID;
  const byId = await imageWithId(core, caller, templateID);
  if (byId !== undefined) return byId;
  throw new CubbyError('IMAGE_NOT_FOUND', `template '${templateID}' not found`, { details: { templateID } });
}
