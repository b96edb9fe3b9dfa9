/**
 * A small in-memory CoreServices for the Lambda API's tests. It stands in for the real core
 * (src/core, written in parallel) until that is wired; it keeps the behaviour the front door
 * relies on: tenant scoping (another tenant's resource is not found), image versions that
 * "build" at once, microVM states with conflicts on bad transitions (resume of a RUNNING one),
 * clientToken idempotency, tags (images by name, microVMs by id, as the real TagsService), and
 * offset pagination with opaque tokens.
 */
import type { CoreServices } from '../../../../src/core/services.js';
import { memoryImages } from './memory-images.js';
import { memoryMicrovms, memoryTags, memoryTokens } from './memory-microvms.js';
import { managedImages, type MemoryState } from './memory-store.js';
import { CubbyError } from '../../../../src/errors/index.js';

export { FAILING_ARTIFACT_MARK } from './memory-images.js';

export interface MemoryCore extends CoreServices { state: MemoryState }

export function createMemoryCore(): MemoryCore {
  const state: MemoryState = {
    images: [], versions: [], builds: [], microvms: [], tags: new Map(), idempotency: new Map(),
    managed: managedImages(), calls: [],
  };
  return {
    state,
    images: memoryImages(state),
    microvms: memoryMicrovms(state),
    tokens: memoryTokens(state),
    tags: memoryTags(state),
    // Usage metering needs the real core (tested in test/core/usage and test/validate).
    usage: {
      report: async () => { throw new CubbyError('CUBBY_INTERNAL', 'usage is not kept by the in-memory core'); },
      stats: async () => { throw new CubbyError('CUBBY_INTERNAL', 'usage is not kept by the in-memory core'); },
    },
  };
}
