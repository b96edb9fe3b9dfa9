/** buildah runs in a fresh, empty network namespace: never the host's network or loopback. */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { buildahCommand, buildahRunner } from '../../../src/images/build/buildah-storage.js';

test('the command line goes through unshare --net', () => {
  assert.deepEqual(buildahCommand('buildah', ['bud', '-f', 'x']), { cmd: 'unshare', args: ['--net', '--', 'buildah', 'bud', '-f', 'x'] });
});

test('what the runner starts is in its own network namespace, with only a loopback that is down', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-buildah-netns-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const layout = { root: dir, run: dir, conf: path.join(dir, 'storage.conf'), tmp: dir };
  // The runner with `sh` as its "buildah": it reports its own netns and interfaces.
  const r = await buildahRunner('/bin/sh', dir).run(layout, ['-c', 'readlink /proc/self/ns/net; cat /proc/net/dev; cat /proc/net/route']);
  assert.equal(r.code, 0, r.output);
  const [ns = '', ...rest] = r.stdout.trim().split('\n');
  assert.match(ns, /^net:\[\d+\]$/);
  assert.notEqual(ns, await fs.readlink('/proc/self/ns/net'), 'not the host network namespace');
  const ifaces = rest.filter((l) => l.includes(':') && !/Inter-|face/.test(l)).map((l) => l.split(':')[0]?.trim());
  assert.deepEqual(ifaces, ['lo']);
  assert.equal(rest.filter((l) => /^\S+\t[0-9A-F]{8}/.test(l)).length, 0, 'no routes at all');
});
