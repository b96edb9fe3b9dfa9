// Auto-resume and activity, against a scripted core (FakeTargets) and a real stand-in app on
// 127.0.0.1: the gateway only sees an address and a port, so this is the sandbox code path.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { call } from './support/client.js';
import { rig } from './support/setup.js';

test('20 concurrent requests to a SUSPENDED microVM trigger one ensureRunning and are all served', async (t) => {
  const r = await rig(t);
  r.targets.add('vm1', { state: 'SUSPENDED', autoResume: true });
  const started = Date.now();
  const answers = await Promise.all(
    Array.from({ length: 20 }, () => call(r.port, { host: r.host(), headers: { 'x-aws-proxy-auth': r.token() } })),
  );
  assert.deepEqual(
    answers.map((a) => a.status),
    Array(20).fill(200),
  );
  assert.deepEqual(r.targets.ensureCalls, ['vm1'], 'exactly one resume');
  assert.ok(Date.now() - started >= 190, 'requests were held during the resume');
  assert.equal(r.app.hits.length, 20);
  assert.equal(r.targets.busy('vm1'), 0, 'every request-start has its request-end');
});

test('a failed resume answers 502 with the reason to every held request, and is retried later', async (t) => {
  const r = await rig(t);
  r.targets.add('vm1', { state: 'SUSPENDED', autoResume: true });
  r.targets.resume = async () => {
    await new Promise((res) => setTimeout(res, 50));
    throw new Error('snapshot missing');
  };
  const answers = await Promise.all(
    Array.from({ length: 5 }, () => call(r.port, { host: r.host(), headers: { 'x-aws-proxy-auth': r.token() } })),
  );
  for (const a of answers) {
    assert.equal(a.status, 502);
    assert.equal(a.json().reason, 'snapshot missing');
    assert.equal(a.json().code, 'MICROVM_RESUME_FAILED');
  }
  assert.equal(r.targets.ensureCalls.length, 1);
  await call(r.port, { host: r.host(), headers: { 'x-aws-proxy-auth': r.token() } });
  assert.equal(r.targets.ensureCalls.length, 2, 'a failure is not cached');
  assert.equal(r.app.hits.length, 0);
});

test('a resume that never ends is cut by the resume timeout (502)', async (t) => {
  const r = await rig(t, { resumeTimeoutMs: 150 });
  r.targets.add('vm1', { state: 'SUSPENDED', autoResume: true });
  r.targets.resume = () => new Promise(() => {});
  const a = await call(r.port, { host: r.host(), headers: { 'x-aws-proxy-auth': r.token() } });
  assert.equal(a.status, 502);
  assert.match(String(a.json().reason), /longer than 150 ms/);
});

test('SUSPENDED without auto-resume is a 409; TERMINATED is a 404; neither resumes', async (t) => {
  const r = await rig(t);
  r.targets.add('vm1', { state: 'SUSPENDED', autoResume: false });
  const a = await call(r.port, { host: r.host(), headers: { 'x-aws-proxy-auth': r.token() } });
  assert.equal(a.status, 409);
  assert.match(String(a.json().message), /auto-resume/);
  r.targets.add('vm1', { state: 'TERMINATED' });
  assert.equal((await call(r.port, { host: r.host(), headers: { 'x-aws-proxy-auth': r.token() } })).status, 404);
  assert.deepEqual(r.targets.ensureCalls, []);
  assert.equal(r.app.hits.length, 0);
});

test('a long SSE stream keeps its microVM busy until the stream ends', async (t) => {
  const r = await rig(t);
  const busy: number[] = [];
  let firstAt = 0;
  const done = new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: r.port,
        path: '/sse?n=8&gapMs=100',
        agent: false,
        headers: { host: r.host(), 'x-aws-proxy-auth': r.token() },
      },
      (res) => {
        res.on('data', () => {
          firstAt ||= Date.now();
          busy.push(r.targets.busy('vm1'));
        });
        res.on('end', () => resolve(Date.now()));
      },
    );
    req.on('error', reject);
    req.end();
  });
  const end = await done;
  assert.ok(end - firstAt >= 600, 'a long stream');
  assert.ok(busy.length >= 8);
  assert.ok(
    busy.every((b) => b === 1),
    `busy while streaming: ${busy.join(',')}`,
  );
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(r.targets.busy('vm1'), 0);
  const kinds = r.targets.events.map((e) => e.kind);
  assert.deepEqual(kinds, ['request-start', 'request-end']);
  assert.ok(r.targets.events[1]!.at >= end - 50, 'request-end only when the stream ended');
});

test('a client that gives up during a resume never reaches the app and leaves nothing open', async (t) => {
  const r = await rig(t);
  r.targets.add('vm1', { state: 'SUSPENDED', autoResume: true });
  await assert.rejects(call(r.port, { host: r.host(), headers: { 'x-aws-proxy-auth': r.token() }, timeoutMs: 50 }), /client timeout/);
  await new Promise((res) => setTimeout(res, 300)); // the resume completes meanwhile
  assert.equal(r.app.hits.length, 0);
  assert.equal(r.targets.busy('vm1'), 0);
});
