/**
 * The managed base images Cubby ships. A recipe change (packages, steps, Debian suite) must bump
 * the version, and so must a change to the image it derives from: a version names one recipe.
 */
import type { ManagedImageDef } from '../../core/ports/images.js';
import { CHROMIUM_LAUNCHER, CHROMIUM_LAUNCHER_PATH } from './chromium-launcher.js';
import {
  CODE_INTERPRETER_BASE,
  CODE_INTERPRETER_PACKAGES,
  CODE_INTERPRETER_SETUP,
  codeInterpreterFiles,
} from './code-interpreter-recipe.js';

export interface BaseRecipe extends ManagedImageDef {
  /** Derived from this managed image (its current version) instead of a fresh debootstrap. */
  from?: string;
  /** Shell run in the chroot after the packages are installed (users, sudoers). */
  setup?: string;
  /** Install from bookworm-security too (packages Debian maintains there: chromium, nodejs). */
  securityUpdates?: boolean;
  /** Files written into the rootfs before `setup` (launchers). */
  files?: readonly { path: string; mode: number; content: string }[];
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
  {
    name: 'debian-12-e2b',
    version: '1.0',
    description: "Debian 12 (bookworm) with E2B's conventions: user `user` (passwordless sudo), bash, python3, git, curl, Node.js",
    packages: ['bash', 'sudo', 'python3', 'python3-pip', 'python-is-python3', 'git', 'curl', 'ca-certificates', 'nodejs', 'procps', 'less'],
    from: 'debian-12-minimal',
    // E2B's base template: `user` (uid 1001; 1000 is Cubby's `app`) with home /home/user, bash, sudo without a password.
    setup: [
      'id -u user >/dev/null 2>&1 || useradd --uid 1001 --user-group --create-home --home-dir /home/user --shell /bin/bash user',
      'adduser user sudo >/dev/null',
      "printf 'user ALL=(ALL:ALL) NOPASSWD: ALL\\n' > /etc/sudoers.d/user",
      'chmod 0440 /etc/sudoers.d/user',
    ].join(' && '),
  },
  {
    name: 'debian-12-node',
    version: '1.0',
    // Debian's only Node.js for bookworm is 18 (security-maintained in bookworm-security); trixie's
    // Node 20 needs trixie's libc6, libstdc++6 and OpenSSL, which would make the base half Debian 13.
    description: 'Debian 12 (bookworm) with Node.js 18 and npm from Debian (bookworm-security updates)',
    packages: ['nodejs', 'npm', 'ca-certificates'],
    securityUpdates: true,
    from: 'debian-12-minimal',
  },
  {
    name: 'debian-12-chromium',
    version: '1.0',
    description: 'Debian 12 (bookworm) with headless Chromium (bookworm-security); `cubby-chromium` serves DevTools on port 9222',
    // The headless shell (Chromium's automation build, no GTK); socat relays its loopback-only DevTools port.
    packages: ['chromium-headless-shell', 'socat', 'fonts-dejavu-core', 'ca-certificates'],
    securityUpdates: true,
    from: 'debian-12-minimal',
    files: [{ path: CHROMIUM_LAUNCHER_PATH, mode: 0o755, content: CHROMIUM_LAUNCHER }],
  },
  {
    // A version holds interpreter/ at INTERPRETER_SOURCES_SHA256: a change there bumps it.
    name: CODE_INTERPRETER_BASE,
    version: '1.2',
    description:
      "E2B's conventions (debian-12-e2b) plus Jupyter's Python kernel with numpy, pandas, matplotlib, scipy and requests, " +
      'JavaScript/TypeScript and bash contexts, and `cubby-code-interpreter` (the code-interpreter service, port 49999)',
    packages: CODE_INTERPRETER_PACKAGES,
    securityUpdates: true,
    from: 'debian-12-e2b',
    // Read from interpreter/ only when the image is built.
    get files() {
      return codeInterpreterFiles();
    },
    setup: CODE_INTERPRETER_SETUP,
  },
];

export const VERSION_PATTERN = /^\d+\.\d+$/;

/** Orders "major.minor" strings numerically. */
export function compareVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}
