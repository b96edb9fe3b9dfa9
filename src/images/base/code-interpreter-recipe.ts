/**
 * The managed base `debian-12-code-interpreter`: E2B's conventions (debian-12-e2b) plus Jupyter's
 * Python kernel and the data stack from Debian, Node.js with a JavaScript/TypeScript kernel, and
 * Cubby's code-interpreter service (interpreter/ in this repo) under /opt/cubby/interpreter.
 * The service's sources are written into the image as the recipe's files, so the image holds
 * the repo's sources at the recipe's version: INTERPRETER_SOURCES_SHA256 pins them, and a test
 * fails when they change without a version bump in catalog.ts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CubbyError } from '../../errors/index.js';
import { CODE_INTERPRETER_BASE, CODE_INTERPRETER_COMMAND } from '../../core/images/code-interpreter.js';

export { CODE_INTERPRETER_BASE };
export const INTERPRETER_DIR = '/opt/cubby/interpreter';

/** The files of interpreter/ that go into the image, and their modes. */
export const INTERPRETER_FILES: Record<string, number> = {
  'server.py': 0o644,
  'kernels.py': 0o644,
  'js_kernel.cjs': 0o644,
  'cubby-code-interpreter': 0o755,
};
/** sha256 over the files above (name, NUL, bytes, NUL in that order); see the header. */
export const INTERPRETER_SOURCES_SHA256 = 'ed60263a7bac1b3581243f870e3bc53eb8c13a27e49fd15e875d40852a0e55b2';

export const CODE_INTERPRETER_PACKAGES = [
  'python3-ipykernel',
  'python3-jupyter-client',
  'python3-matplotlib-inline',
  'python3-numpy',
  'python3-pandas',
  'python3-matplotlib',
  'python3-scipy',
  'python3-requests',
  'nodejs',
  'node-acorn',
  'node-typescript',
];

/** interpreter/ in the repo (this file runs from dist/src/images/base or src/images/base). */
export function interpreterSourceDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = here.includes(`${path.sep}dist${path.sep}`) ? '../../../..' : '../../..';
  return process.env.CUBBY_INTERPRETER_SOURCES ?? path.resolve(here, up, 'interpreter');
}

export function interpreterSourcesSha256(dir = interpreterSourceDir()): string {
  const h = createHash('sha256');
  for (const name of Object.keys(INTERPRETER_FILES))
    h.update(name)
      .update('\0')
      .update(readFileSync(path.join(dir, name)))
      .update('\0');
  return h.digest('hex');
}

/** The service's files as the recipe writes them (read from the repo when a build asks). */
export function codeInterpreterFiles(dir = interpreterSourceDir()): { path: string; mode: number; content: string }[] {
  return Object.entries(INTERPRETER_FILES).map(([name, mode]) => {
    let content: string;
    try {
      content = readFileSync(path.join(dir, name), 'utf8');
    } catch (e) {
      throw new CubbyError(
        'IMAGE_BASE_BUILD_FAILED',
        `the code interpreter's source ${name} is missing in ${dir}: ${(e as Error).message}`,
      );
    }
    return { path: `${INTERPRETER_DIR}/${name}`, mode, content };
  });
}

/** Byte-compiled, on PATH; matplotlib's font cache made for `user`, so a first plot does not wait. */
export const CODE_INTERPRETER_SETUP = [
  `ln -sf ${INTERPRETER_DIR}/cubby-code-interpreter ${CODE_INTERPRETER_COMMAND}`,
  `python3 -m compileall -q ${INTERPRETER_DIR}`,
  "runuser -u user -- env HOME=/home/user MPLBACKEND=Agg python3 -c 'import matplotlib.pyplot'",
].join(' && ');
