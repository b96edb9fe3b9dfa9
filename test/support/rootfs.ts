/**
 * The root filesystem runtime tests run sandboxes from: the managed debian-12-python base
 * image, built once per machine into the shared cache (every test file shares that build).
 * CUBBY_TEST_ROOTFS overrides it with an existing rootfs directory.
 */
import { ensureTestBaseImage } from './base-image.js';

export async function testRootfs(): Promise<string> {
  return process.env.CUBBY_TEST_ROOTFS ?? ensureTestBaseImage('debian-12-python');
}
