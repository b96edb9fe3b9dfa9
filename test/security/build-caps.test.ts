/**
 * Attacks on the build host through a Dockerfile, against a real daemon with the official client:
 * a RUN step that fills the disk stops at the build's disk cap (a kernel-enforced loop file
 * system) and leaves no loop device, mount, backing file or build directory; one that eats memory
 * is killed at the build's memory cap; a cap over the operator's maximum is refused up front.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateMicrovmImageCommand,
  GetMicrovmImageCommand,
  ResourceNotFoundException,
  ValidationException,
  type LambdaMicrovmsClient,
} from '@aws-sdk/client-lambda-microvms';
import { withCubbyMembers } from '../../src/client/cubby-members.js';
import { runCommand } from '../../src/util/command.js';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';
import type { Tenant } from '../../src/core/model.js';
import { makeZip } from '../support/zip-writer.js';
import { waitForVersion } from '../e2e/support.js';

describe('build caps', { timeout: 900_000 }, () => {
  let d: TestDaemon;
  let client: LambdaMicrovmsClient;
  let caller: { tenant: Tenant };
  let tmp: string;

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-build-caps-'));
    d = await startTestDaemon();
    const t = await d.tenant('build-caps');
    client = t.client;
    caller = { tenant: t.tenant };
  });
  after(async () => {
    await d?.destroy();
    await fs.rm(tmp, { recursive: true, force: true });
  });

  async function artifact(name: string, dockerfile: string): Promise<string> {
    const f = path.join(tmp, `${name}.zip`);
    await fs.writeFile(f, makeZip([{ name: 'Dockerfile', data: dockerfile }]));
    return `file://${f}`;
  }

  const create = async (name: string, uri: string, caps: Record<string, number>) =>
    client.send(
      withCubbyMembers(
        new CreateMicrovmImageCommand({
          name,
          baseImageArn: 'debian-12-python',
          buildRoleArn: 'arn:aws:iam::000000000000:role/build',
          codeArtifact: { uri },
        }),
        caps,
      ),
    );

  test('a RUN step that fills the disk ends FAILED at the disk cap, and leaves nothing of the build', async () => {
    await create('disk-hog', await artifact('disk-hog', 'FROM debian-12-python\nRUN head -c 600M /dev/zero > /f\nCMD ["true"]\n'), {
      cubbyBuildDiskMiB: 256,
    });
    const v = await waitForVersion(client, 'disk-hog', '1.0');
    assert.equal(v.state, 'FAILED');
    assert.match(v.stateReason ?? '', /the build exceeded its disk cap of 256 MiB/);
    const log = await d.core.services.images.buildLog(caller, 'disk-hog', '1.0');
    assert.match(log, /disk cap 256 MiB/);
    assert.match(log, /No space left on device/);
    const id = /in build (\S+)/.exec(log)?.[1];
    assert.ok(id, 'the log names the build');
    const buildDir = path.join(d.config.cacheDir, 'buildah', 'builds', id);
    assert.equal((await runCommand('losetup', ['-a'])).stdout.split('\n').filter((l) => l.includes(buildDir)).length, 0, 'no loop device');
    assert.equal((await fs.readFile('/proc/mounts', 'utf8')).split('\n').filter((l) => l.includes(buildDir)).length, 0, 'no mount');
    await assert.rejects(fs.lstat(buildDir), 'no build directory (and no backing file in it)');
    const left = (await fs.readdir(path.join(d.dataDir, 'images'), { recursive: true }))
      .map(String)
      .filter((f) => /\/1\.0\/(rootfs|context)$/.test(f));
    assert.deepEqual(left, [], 'no rootfs or context of the failed version');
  });

  test('a RUN step that allocates past the memory cap ends FAILED, killed at the cap', async () => {
    await create(
      'mem-hog',
      await artifact('mem-hog', 'FROM debian-12-python\nRUN python3 -c "b = bytearray(900 * 1024 * 1024); print(len(b))"\nCMD ["true"]\n'),
      { cubbyBuildMemoryMiB: 256 },
    );
    const v = await waitForVersion(client, 'mem-hog', '1.0');
    assert.equal(v.state, 'FAILED');
    assert.match(v.stateReason ?? '', /a RUN step exceeded the build's memory cap of 256 MiB \(killed\)/);
  });

  test('caps over the operator maximum are a ValidationException naming it, and nothing is recorded', async () => {
    const uri = await artifact('too-big', 'FROM debian-12-python\nCMD ["true"]\n');
    for (const [caps, max] of [
      [{ cubbyBuildDiskMiB: 40_000 }, /maximum of 32768 MiB/],
      [{ cubbyBuildMemoryMiB: 9000 }, /maximum of 8192 MiB/],
    ] as const) {
      await assert.rejects(create('too-big', uri, caps), (e: unknown) => {
        assert.ok(e instanceof ValidationException, String(e));
        assert.match(e.message, max);
        return true;
      });
    }
    await assert.rejects(client.send(new GetMicrovmImageCommand({ imageIdentifier: 'too-big' })), ResourceNotFoundException);
  });
});
