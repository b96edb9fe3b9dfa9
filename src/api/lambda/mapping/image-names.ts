/**
 * Finds image names from image ids for microVM answers. The core's Microvm carries only the
 * image id and ImagesService has no get-by-id, so for microVMs not launched through this API
 * (no `extra.imageName`) we list the tenant's images once per request.
 */
import type { Microvm } from '../../../core/model.js';
import type { Caller, ImagesService } from '../../../core/services.js';

const PAGE = 50;
const MAX_PAGES = 200;

export class ImageNames {
  private byId: Map<string, string> | undefined;

  constructor(
    private readonly images: ImagesService,
    private readonly caller: Caller,
  ) {}

  async nameOf(m: Microvm): Promise<string> {
    if (typeof m.extra?.imageName === 'string') return m.extra.imageName;
    if (!this.byId) this.byId = await this.load();
    // A deleted image leaves its id behind; the id still identifies it.
    return this.byId.get(m.imageId) ?? m.imageId;
  }

  private async load(): Promise<Map<string, string>> {
    const map = new Map<string, string>();
    let nextToken: string | undefined;
    for (let i = 0; i < MAX_PAGES; i++) {
      const page = await this.images.list(this.caller, { maxResults: PAGE, ...(nextToken ? { nextToken } : {}) });
      for (const image of page.items) map.set(image.id, image.name);
      nextToken = page.nextToken;
      if (!nextToken) break;
    }
    return map;
  }
}
