/**
 * The managed base image tests run on: built once per machine into the shared default cache
 * (${CUBBY_CACHE_DIR:-/var/cache/cubby}), whatever the number of test files or processes asking.
 */
import { ManagedImages } from '../../src/images/base/managed-images.js';

const pending = new Map<string, Promise<string>>();

export function ensureTestBaseImage(name = 'debian-12-python'): Promise<string> {
  let p = pending.get(name);
  if (!p) {
    let last = '';
    p = new ManagedImages()
      .ensure(name, undefined, (e) => {
        // Phases only: the full debootstrap output would drown the test report.
        if (e.phase !== last) {
          last = e.phase;
          if (e.phase !== 'cached') console.error(`[base image ${name}] ${e.phase}`);
        }
      })
      .then((info) => info.rootfs);
    pending.set(name, p);
  }
  return p;
}
