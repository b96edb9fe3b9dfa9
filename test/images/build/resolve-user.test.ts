import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { resolveUser } from '../../../src/images/build/resolve-user.js';
import { isCubbyError } from '../../../src/errors/index.js';

test("USER names and groups resolve against the image's own passwd and group files", async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'cubby-user-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(path.join(root, 'etc'));
  await writeFile(
    path.join(root, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nsvc:x:1001:50::/:/bin/false\n',
  );
  await writeFile(path.join(root, 'etc', 'group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:\n');
  assert.equal(await resolveUser(root, 'app'), '1000:1000');
  assert.equal(await resolveUser(root, 'svc'), '1001:50');
  assert.equal(await resolveUser(root, 'app:staff'), '1000:50');
  assert.equal(await resolveUser(root, '1000'), '1000:1000');
  assert.equal(await resolveUser(root, '4242'), '4242:4242', 'a uid without a passwd entry is kept');
  assert.equal(await resolveUser(root, '1000:7'), '1000:7');
  await assert.rejects(resolveUser(root, 'nobody-here'), (e: unknown) => isCubbyError(e, 'DOCKERFILE_INVALID'));
  await assert.rejects(resolveUser(root, 'app:nogroup'), (e: unknown) => isCubbyError(e, 'DOCKERFILE_INVALID'));
});

test('a passwd that is a link out of the image is not followed', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'cubby-user-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(path.join(root, 'etc'));
  await symlink('/etc/passwd', path.join(root, 'etc', 'passwd'));
  await assert.rejects(resolveUser(root, 'root'), (e: unknown) => isCubbyError(e, 'DOCKERFILE_INVALID'));
});
