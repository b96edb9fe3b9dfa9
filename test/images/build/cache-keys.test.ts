/**
 * Layer cache keys (no build): a step's key changes exactly when something it can depend on
 * changes (a file its COPY reads, an earlier step, the scope, the base), and not for a file no step
 * before it reads; a resumed Dockerfile keeps line numbers and the ARG/SHELL state.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseDockerfile } from '../../../src/images/dockerfile/parse.js';
import { resumeDockerfile, stepKeys, type KeyInputs } from '../../../src/images/build/cache-keys.js';

const DOCKERFILE = [
  'FROM debian-12-node',
  'ARG MODE=prod',
  'WORKDIR /app',
  'COPY package.json package-lock.json /app/',
  'RUN npm ci',
  'COPY . /app/',
  'CMD ["node", "index.js"]',
  '',
].join('\n');

async function keysFor(files: Record<string, string>, over: Partial<KeyInputs> = {}): Promise<string[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-cache-keys-'));
  try {
    for (const [f, text] of Object.entries(files)) await fs.writeFile(path.join(dir, f), text);
    const { instructions } = parseDockerfile(files.Dockerfile ?? DOCKERFILE);
    const inputs: KeyInputs = {
      scope: 'tenant-a',
      base: { ref: 'localhost/cubby/debian-12-node:1.0', createdAt: '2026-01-01T00:00:00Z' },
      network: 'internet',
      buildArgs: {},
      contextDir: dir,
      ...over,
    };
    return (await stepKeys(instructions, 0, inputs)).map((k) => k.key);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const APP = { Dockerfile: DOCKERFILE, 'package.json': '{"a":1}', 'package-lock.json': '{"l":1}', 'index.js': 'one' };
const RUN = 3; // index of `RUN npm ci` among the keys (ARG, WORKDIR, COPY, RUN, COPY, CMD)

test('a code-only change keeps the dependency steps and changes the steps that read the code', async () => {
  const a = await keysFor(APP);
  const b = await keysFor({ ...APP, 'index.js': 'two' });
  assert.equal(a.length, 6);
  assert.deepEqual(b.slice(0, RUN + 1), a.slice(0, RUN + 1), 'steps up to npm ci keep their keys');
  assert.notEqual(b[RUN + 1], a[RUN + 1], 'the COPY of the changed file gets a new key');
  assert.notEqual(b[RUN + 2], a[RUN + 2], 'and so does every later step');
});

test('a changed file a COPY reads invalidates that step and all later ones; so do scope, base, args and .dockerignore', async () => {
  const a = await keysFor(APP);
  const lock = await keysFor({ ...APP, 'package-lock.json': '{"l":2}' });
  assert.deepEqual(lock.slice(0, 2), a.slice(0, 2));
  for (let i = 2; i < a.length; i++) assert.notEqual(lock[i], a[i], `step ${i}`);
  for (const over of [
    { scope: 'tenant-b' },
    { base: { ref: 'localhost/cubby/debian-12-node:1.0', createdAt: '2026-02-01T00:00:00Z' } },
    { buildArgs: { MODE: 'dev' } },
    { network: 'none' },
  ]) {
    const other = await keysFor(APP, over);
    assert.ok(
      other.every((k, i) => k !== a[i]),
      JSON.stringify(over),
    );
  }
  const ignored = await keysFor({ ...APP, '.dockerignore': 'index.js\n' });
  assert.notEqual(ignored[2], a[2], '.dockerignore decides what a COPY takes');
});

test('a COPY source with a wildcard hashes the whole context: any change is a new key, never a stale reuse', async () => {
  const df = DOCKERFILE.replace('COPY package.json package-lock.json /app/', 'COPY package*.json /app/');
  const a = await keysFor({ ...APP, Dockerfile: df });
  const b = await keysFor({ ...APP, Dockerfile: df, 'index.js': 'two' });
  assert.notEqual(b[2], a[2]);
});

test('a resumed Dockerfile starts FROM the cached image, keeps ARG lines and every line number', () => {
  const { instructions } = parseDockerfile(DOCKERFILE);
  const text = resumeDockerfile(DOCKERFILE, instructions, 0, 4, 'localhost/cubby-cache:k');
  const lines = text.split('\n');
  assert.equal(lines.length, DOCKERFILE.split('\n').length);
  assert.equal(lines[0], 'FROM localhost/cubby-cache:k');
  assert.equal(lines[1], 'ARG MODE=prod');
  assert.deepEqual(lines.slice(2, 5), ['', '', '']);
  assert.equal(lines[5], 'COPY . /app/');
  assert.equal(lines[6], 'CMD ["node", "index.js"]');
});
