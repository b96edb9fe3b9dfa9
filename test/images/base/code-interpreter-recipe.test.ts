/**
 * The code interpreter's managed base holds interpreter/ as it was when its version was set: a
 * change to those sources without a version bump (and a new pinned hash) would leave hosts that
 * built the old version serving old code under the same name.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { BASE_RECIPES } from '../../../src/images/base/catalog.js';
import {
  CODE_INTERPRETER_BASE,
  INTERPRETER_DIR,
  INTERPRETER_FILES,
  INTERPRETER_SOURCES_SHA256,
  codeInterpreterFiles,
  interpreterSourceDir,
  interpreterSourcesSha256,
} from '../../../src/images/base/code-interpreter-recipe.js';

test('interpreter/ matches the hash pinned with the recipe version (bump the version and the hash together)', () => {
  const r = BASE_RECIPES.find((x) => x.name === CODE_INTERPRETER_BASE);
  assert.ok(r, 'the recipe is in the catalog');
  assert.equal(
    interpreterSourcesSha256(),
    INTERPRETER_SOURCES_SHA256,
    `interpreter/ changed: bump ${CODE_INTERPRETER_BASE}'s version in catalog.ts (now ${r.version}) and set INTERPRETER_SOURCES_SHA256`,
  );
});

test('the recipe writes every interpreter file, executable where it must be, derived from the E2B base', () => {
  const r = BASE_RECIPES.find((x) => x.name === CODE_INTERPRETER_BASE);
  assert.equal(r?.from, 'debian-12-e2b');
  const files = codeInterpreterFiles();
  assert.deepEqual(
    files.map((f) => f.path).sort(),
    Object.keys(INTERPRETER_FILES)
      .map((n) => `${INTERPRETER_DIR}/${n}`)
      .sort(),
  );
  assert.equal(files.find((f) => f.path.endsWith('/cubby-code-interpreter'))?.mode, 0o755);
  assert.ok(files.every((f) => f.content.length > 0));
  assert.deepEqual(
    r?.files?.map((f) => f.path),
    files.map((f) => f.path),
  );
});

// A Lambda image may start the service as root without the agent: under gVisor that root has no
// capabilities (and no_new_privs), so setgroups fails with EPERM. setpriv makes the same root here.
test('as root without capabilities the service keeps running as root (setgroups EPERM), logging why', () => {
  const r = spawnSync(
    'setpriv',
    [
      '--bounding-set=-all',
      '--inh-caps=-all',
      '--no-new-privs',
      '/usr/bin/python3',
      '-c',
      'import os, server; print(server.drop_privileges("nobody"), os.getuid())',
    ],
    { cwd: interpreterSourceDir(), encoding: 'utf8', env: { ...process.env, HOME: '/root', PYTHONDONTWRITEBYTECODE: '1' } },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '/root 0\n');
  assert.match(r.stderr, /^cubby-code-interpreter: cannot switch to nobody \(Operation not permitted\); running as uid 0\n$/);
});
