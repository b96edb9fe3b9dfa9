/** Tags on images (by name) and microVMs (by id), scoped to the caller's tenant. */
import type { ResourceKind } from '../model.js';
import type { Caller, TagsService } from '../services.js';
import type { Store } from '../ports/store.js';
import { CubbyError, errors } from '../../errors/index.js';

const MAX_TAGS = 50;

export class TagsServiceImpl implements TagsService {
  constructor(private readonly store: Store) {}

  /** Resolves the resource to its stored id; another tenant's resource is simply not found. */
  private async resourceId(caller: Caller, kind: ResourceKind, id: string): Promise<string> {
    if (kind === 'image') {
      const img = await this.store.getImageByName(caller.tenant.id, id);
      if (!img) throw errors.imageNotFound(id);
      return img.id;
    }
    const m = await this.store.getMicrovm(caller.tenant.id, id);
    if (!m) throw errors.microvmNotFound(id);
    return m.id;
  }

  async tag(caller: Caller, kind: ResourceKind, id: string, tags: Record<string, string>): Promise<void> {
    const rid = await this.resourceId(caller, kind, id);
    await this.store.tx(async (t) => {
      const merged = { ...(await t.listTags(caller.tenant.id, kind, rid)), ...tags };
      if (Object.keys(merged).length > MAX_TAGS) throw new CubbyError('CUBBY_VALIDATION', `a resource has at most ${MAX_TAGS} tags`);
      await t.setTags(caller.tenant.id, kind, rid, tags);
    });
  }

  async untag(caller: Caller, kind: ResourceKind, id: string, keys: string[]): Promise<void> {
    await this.store.unsetTags(caller.tenant.id, kind, await this.resourceId(caller, kind, id), keys);
  }

  async list(caller: Caller, kind: ResourceKind, id: string): Promise<Record<string, string>> {
    return this.store.listTags(caller.tenant.id, kind, await this.resourceId(caller, kind, id));
  }
}
