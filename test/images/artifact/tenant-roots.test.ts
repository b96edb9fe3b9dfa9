/** file:// roots per tenant (`{tenant}`), and refusals that name the URI given, never a host path. */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { TenantArtifacts } from '../../../src/images/artifact/tenant-artifacts.js';
import { isCubbyError } from '../../../src/errors/index.js';
import { makeZip } from '../../support/zip-writer.js';

const PY = { name: 'debian-12-python' };
const MANAGED = ['debian-12-python'];
const ZIP = makeZip([{ name: 'Dockerfile', data: 'FROM debian-12-python\n' }]);

test('a {tenant} root gives each tenant its own directory only; refusals echo the URI, not the real path', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-roots-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const shared = path.join(dir, 'shared');
  for (const d of ['tenants/ta', 'tenants/tb', 'shared', 'uploads']) await fs.mkdir(path.join(dir, d), { recursive: true });
  await fs.writeFile(path.join(dir, 'tenants/ta/app.zip'), ZIP);
  await fs.writeFile(path.join(dir, 'tenants/tb/app.zip'), ZIP);
  await fs.writeFile(path.join(shared, 'common.zip'), ZIP);
  // A link in A's directory to B's artifact: resolved, so it leads outside A's root.
  await fs.symlink(path.join(dir, 'tenants/tb/app.zip'), path.join(dir, 'tenants/ta/sneaky.zip'));
  const arts = new TenantArtifacts({ artifactsDir: path.join(dir, 'uploads'), fileRoots: [path.join(dir, 'tenants/{tenant}'), shared] });
  const A = { tenantId: 'ta' };
  const B = { tenantId: 'tb' };
  const uri = (p: string) => pathToFileURL(path.join(dir, p)).href;

  assert.deepEqual(arts.fileRootsFor(A), [path.join(dir, 'tenants/ta'), shared]);
  assert.deepEqual(arts.fileRootsFor(), [shared], 'no tenant, no {tenant} root');
  await arts.precheck(uri('tenants/ta/app.zip'), PY, MANAGED, A);
  await arts.precheck(uri('tenants/tb/app.zip'), PY, MANAGED, B);
  await arts.precheck(uri('shared/common.zip'), PY, MANAGED, A);
  const refused = async (given: string, owner: { tenantId: string } | undefined, text: string) => {
    await assert.rejects(arts.precheck(given, PY, MANAGED, owner), (e: unknown) => {
      assert.ok(isCubbyError(e, 'ARTIFACT_FETCH_FAILED'), String(e));
      assert.equal(e.message, text);
      assert.ok(!e.message.includes('tenants/tb/app.zip') || given.includes('tenants/tb/app.zip'), 'no real path');
      return true;
    });
  };
  await refused(
    uri('tenants/tb/app.zip'),
    A,
    `the file:// artifact ${uri('tenants/tb/app.zip')} is outside the directories allowed for this tenant`,
  );
  await refused(
    uri('tenants/ta/app.zip'),
    B,
    `the file:// artifact ${uri('tenants/ta/app.zip')} is outside the directories allowed for this tenant`,
  );
  await refused(
    uri('tenants/ta/sneaky.zip'),
    A,
    `the file:// artifact ${uri('tenants/ta/sneaky.zip')} is outside the directories allowed for this tenant`,
  );
  await refused(
    uri('tenants/ta/app.zip'),
    undefined,
    `the file:// artifact ${uri('tenants/ta/app.zip')} is outside the directories allowed for this tenant`,
  );
  await refused(uri('tenants/ta/missing.zip'), A, `the file:// artifact ${uri('tenants/ta/missing.zip')} cannot be read`);
  await refused(uri('tenants/ta'), A, `the file:// artifact ${uri('tenants/ta')} is outside the directories allowed for this tenant`);
  await fs.mkdir(path.join(dir, 'tenants/ta/sub.zip'));
  await refused(uri('tenants/ta/sub.zip'), A, `the file:// artifact ${uri('tenants/ta/sub.zip')} cannot be read`);
  // The build reads it the same way.
  const out = await arts.unpack(uri('tenants/ta/app.zip'), path.join(dir, 'ctx'), A);
  assert.equal(out.files, 1);
  await assert.rejects(arts.unpack(uri('tenants/ta/sneaky.zip'), path.join(dir, 'ctx2'), A), (e: unknown) =>
    isCubbyError(e, 'ARTIFACT_FETCH_FAILED'),
  );
});
