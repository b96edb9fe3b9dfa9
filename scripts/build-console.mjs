// Bundles the web console (console/) into dist/console at build time: one script, one style
// sheet and the page, with every library inside (no CDN; works offline). Run by `npm run build`
// and ./cubby's set-up; type-checked on its own (console/tsconfig.json: DOM, bundler resolution).
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'console');
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
await build({
  // main.ts imports style.css: esbuild writes app.css beside app.js.
  entryPoints: { app: path.join(root, 'console', 'main.ts') },
  outdir: out,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  legalComments: 'eof',
  logLevel: 'warning',
});
await copyFile(path.join(root, 'console', 'index.html'), path.join(out, 'index.html'));
