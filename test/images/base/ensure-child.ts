/**
 * Child process for the managed-images tests: ensures one image in a given cache directory and
 * prints what it saw as one JSON line.
 * Usage: node ensure-child.js <cacheDir> <name>
 */
import { ManagedImages } from '../../../src/images/base/managed-images.js';

const [cacheDir, name] = process.argv.slice(2);
const phases = new Set<string>();
const info = await new ManagedImages({ cacheDir }).ensure(name as string, undefined, (p) => phases.add(p.phase));
process.stdout.write(JSON.stringify({ phases: [...phases], createdAt: info.createdAt, rootfs: info.rootfs }) + '\n');
