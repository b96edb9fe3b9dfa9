/**
 * The managed base images Cubby ships. A recipe change (packages, steps, Debian suite) must bump
 * the version, and so must a change to the image it derives from: a version names one recipe.
 */
import type { ManagedImageDef } from '../../core/ports/images.js';

export interface BaseRecipe extends ManagedImageDef {
  /** Derived from this managed image (its current version) instead of a fresh debootstrap. */
  from?: string;
}

export const DEBIAN_SUITE = 'bookworm';
export const DEFAULT_DEBIAN_MIRROR = 'http://deb.debian.org/debian';

export const BASE_RECIPES: readonly BaseRecipe[] = [
  {
    name: 'debian-12-minimal',
    version: '1.0',
    description: 'Debian 12 (bookworm), debootstrap minbase',
    packages: [],
  },
  {
    name: 'debian-12-python',
    version: '1.0',
    description: 'Debian 12 (bookworm) with python3 and pip',
    packages: ['python3', 'python3-pip'],
    // Deriving takes ~10 s on top of the minimal image (a second debootstrap would take ~30 s).
    from: 'debian-12-minimal',
  },
];

export const VERSION_PATTERN = /^\d+\.\d+$/;

/** Orders "major.minor" strings numerically. */
export function compareVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}
