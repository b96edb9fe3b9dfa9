/** filesystem.Filesystem, /files, /envs and the hook endpoints against a real cubby-agent on the host. */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { ConnectStream, endOf, output, request, startAgent, unary, type Json, type RunningAgent } from './agent-harness.js';

describe('cubby-agent filesystem, files, envs and hooks', () => {
  let ag: RunningAgent;
  before(async () => {
    ag = await startAgent();
  });
  after(async () => {
    await ag.stop();
  });

  it('MakeDir (parents; already_exists), Stat, ListDir depth in pre-order lexical order, Move, Remove', async () => {
    const root = path.join(ag.dir, 'tree');
    assert.equal((await unary(ag.port, 'filesystem.Filesystem/MakeDir', { path: `${root}/b/a` })).status, 200);
    const again = await unary(ag.port, 'filesystem.Filesystem/MakeDir', { path: `${root}/b/a` });
    assert.equal(again.status, 409);
    assert.equal(again.json.code, 'already_exists');
    await fs.writeFile(`${root}/c.txt`, 'hello');
    await fs.writeFile(`${root}/b/m.txt`, 'x');
    await fs.mkdir(`${root}/a`);
    const st = await unary(ag.port, 'filesystem.Filesystem/Stat', { path: `${root}/c.txt` });
    assert.equal(st.status, 200);
    assert.equal(st.json.entry.type, 'FILE_TYPE_FILE');
    assert.equal(st.json.entry.size, '5');
    assert.equal(st.json.entry.path, `${root}/c.txt`);
    const missing = await unary(ag.port, 'filesystem.Filesystem/Stat', { path: `${root}/nope` });
    assert.equal(missing.status, 404);
    assert.equal(missing.json.code, 'not_found');
    const names = async (depth: number) =>
      ((await unary(ag.port, 'filesystem.Filesystem/ListDir', { path: root, depth })).json.entries as Json[]).map((e) =>
        path.relative(root, e.path as string),
      );
    assert.deepEqual(await names(1), ['a', 'b', 'c.txt']);
    assert.deepEqual(await names(2), ['a', 'b', 'b/a', 'b/m.txt', 'c.txt']);
    const mv = await unary(ag.port, 'filesystem.Filesystem/Move', { source: `${root}/c.txt`, destination: `${root}/d/e.txt` });
    assert.equal(mv.status, 200, JSON.stringify(mv.json));
    assert.equal(mv.json.entry.path, `${root}/d/e.txt`);
    assert.equal(await fs.readFile(`${root}/d/e.txt`, 'utf8'), 'hello');
    assert.equal((await unary(ag.port, 'filesystem.Filesystem/Remove', { path: `${root}/b` })).status, 200);
    assert.equal((await unary(ag.port, 'filesystem.Filesystem/Remove', { path: `${root}/b` })).status, 200, 'missing is not an error');
    assert.deepEqual(await names(1), ['a', 'd']);
  });

  it('WatchDir: start first, then a write seen recursively with a relative name; a missing dir is not_found', async () => {
    const dir = path.join(ag.dir, 'watched');
    await fs.mkdir(`${dir}/sub`, { recursive: true });
    const s = await ConnectStream.open(ag.port, 'filesystem.Filesystem/WatchDir', { path: dir, recursive: true, includeEntry: true });
    assert.equal(s.status, 200);
    await s.until((m) => m.length >= 1);
    assert.deepEqual(s.messages[0], { start: {} });
    await fs.writeFile(`${dir}/sub/f.txt`, 'data');
    const msgs = await s.until((m) => m.some((x) => x.filesystem?.name === 'sub/f.txt' && x.filesystem.type === 'EVENT_TYPE_WRITE'));
    const w = msgs.find((x) => x.filesystem?.type === 'EVENT_TYPE_WRITE')?.filesystem as Json;
    assert.equal(w.entry?.path, `${dir}/sub/f.txt`);
    s.close();
    const bad = await ConnectStream.open(ag.port, 'filesystem.Filesystem/WatchDir', { path: `${dir}/missing`, recursive: false });
    assert.equal(bad.status, 200);
    assert.equal((await bad.waitEnd())?.code, 'not_found');
  });

  it('/files: multipart (several parts) and gzip octet-stream uploads; plain and gzip downloads; errors', async () => {
    const boundary = 'cubbyboundary';
    const part = (name: string, body: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n${body}\r\n`;
    const mp = Buffer.from(part(`${ag.dir}/up/one.txt`, 'first') + part('rel/two.txt', 'second') + `--${boundary}--\r\n`);
    const up = await request(ag.port, 'POST', '/files', mp, { 'content-type': `multipart/form-data; boundary=${boundary}` });
    assert.equal(up.status, 200, up.body.toString());
    const home = (await unary(ag.port, 'filesystem.Filesystem/Stat', { path: '~' })).json.entry.path as string;
    assert.deepEqual(JSON.parse(up.body.toString()), [
      { name: 'one.txt', type: 'file', path: `${ag.dir}/up/one.txt` },
      { name: 'two.txt', type: 'file', path: path.join(home, 'rel/two.txt') },
    ]);
    assert.equal(await fs.readFile(`${ag.dir}/up/one.txt`, 'utf8'), 'first');
    await fs.rm(path.join(home, 'rel'), { recursive: true, force: true });

    const big = 'z'.repeat(100_000);
    const q = `?path=${encodeURIComponent(`${ag.dir}/gz/deep/blob.txt`)}`;
    const oct = await request(ag.port, 'POST', `/files${q}`, gzipSync(big), {
      'content-type': 'application/octet-stream',
      'content-encoding': 'gzip',
    });
    assert.equal(oct.status, 200, oct.body.toString());
    assert.deepEqual(JSON.parse(oct.body.toString()), [{ name: 'blob.txt', type: 'file', path: `${ag.dir}/gz/deep/blob.txt` }]);

    const plain = await request(ag.port, 'GET', `/files${q}`);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-length'], '100000');
    assert.equal(plain.body.toString(), big);
    const gz = await request(ag.port, 'GET', `/files${q}`, undefined, { 'accept-encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.ok(gz.body.length < 10_000);
    assert.equal(gunzipSync(gz.body).toString(), big);

    await fs.writeFile(`${ag.dir}/empty`, '');
    const empty = await request(ag.port, 'GET', `/files?path=${encodeURIComponent(`${ag.dir}/empty`)}`, undefined, {
      'accept-encoding': 'gzip',
    });
    assert.equal(empty.status, 200);
    assert.equal(empty.headers['content-length'], '0');
    assert.equal((await request(ag.port, 'GET', `/files?path=${encodeURIComponent(`${ag.dir}/nope`)}`)).status, 404);
    assert.equal((await request(ag.port, 'GET', `/files?path=${encodeURIComponent(ag.dir)}`)).status, 400);
    const badUser = await request(ag.port, 'GET', `/files?path=x&username=no-such-user-xyz`);
    assert.equal(badUser.status, 401);
    assert.equal(JSON.parse(badUser.body.toString()).code, 401);
  });

  it('hooks answer 200; run sets the env vars /envs reports and new processes get', async () => {
    for (const h of ['ready', 'validate', 'suspend', 'resume']) {
      assert.equal(
        (await request(ag.port, 'POST', `/aws/lambda-microvms/runtime/v1/${h}`, '{}', { 'content-type': 'application/json' })).status,
        200,
        h,
      );
    }
    assert.equal((await request(ag.port, 'POST', '/aws/lambda-microvms/runtime/v1/bogus', '{}')).status, 404);
    assert.deepEqual(JSON.parse((await request(ag.port, 'GET', '/envs')).body.toString()), {});
    const run = await request(
      ag.port,
      'POST',
      '/aws/lambda-microvms/runtime/v1/run',
      JSON.stringify({ microvmId: 'mvm-1', runHookPayload: JSON.stringify({ envVars: { GREETING: 'hi there', N: '1' } }) }),
      { 'content-type': 'application/json' },
    );
    assert.equal(run.status, 200, run.body.toString());
    assert.deepEqual(JSON.parse((await request(ag.port, 'GET', '/envs')).body.toString()), { GREETING: 'hi there', N: '1' });
    const s = await ConnectStream.open(ag.port, 'process.Process/Start', {
      process: { cmd: '/bin/sh', args: ['-c', 'echo "$GREETING/$N"'], envs: { N: '2' } },
    });
    const msgs = await s.until((m) => !!endOf(m));
    assert.equal(output(msgs, 'stdout'), 'hi there/2\n', "the call's envs win over the sandbox's");
    const bad = await request(ag.port, 'POST', '/aws/lambda-microvms/runtime/v1/run', JSON.stringify({ runHookPayload: 'not json' }));
    assert.equal(bad.status, 400);
  });
});
