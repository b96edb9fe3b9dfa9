/**
 * A session survives its own excess: a real gVisor sandbox whose app runs arbitrary Python as
 * root (a code interpreter: POST /run executes the body in the app's process) is put through a
 * fork loop, a write past its disk, a memory hog, a thread explosion and many open files. After
 * each: the app still answers, a file written before is intact, a process started before still
 * runs, the host lost no more memory or disk than the sandbox's limits, and a neighbour sandbox
 * answered throughout. Then the survivor is checkpointed and restored (suspend/resume) and checked
 * again, files and all. One memory-hungry sandbox also shows the reason a dead sandbox reports.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GvisorRuntime } from '../../src/runtime/gvisor/index.js';
import { createLinuxNetwork } from '../../src/network/linux/index.js';
import { addressPolicy } from '../../src/util/address-policy.js';
import { newMicrovmId } from '../../src/core/ids.js';
import { testRootfs } from '../support/rootfs.js';
import { TEST_HOST_RANGE } from '../support/test-host.js';
import { pythonArgs } from '../support/apps.js';
import { EXCESS, EXPECT } from '../support/excess-cells.js';

const MiB = 1024 * 1024;
const MEMORY = 1024 * MiB;
const DISK = 512 * MiB;

/** POST /run: exec()s the body, answers what it printed; GET /: "ok". */
const INTERPRETER = `
import http.server, io, contextlib, traceback
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, body):
        self.send_response(200); self.send_header('content-length', str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self): self.reply(b'ok')
    def do_POST(self):
        code = self.rfile.read(int(self.headers['content-length'])).decode()
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out): exec(code, {})
        except BaseException as e: out.write('raised ' + type(e).__name__ + ': ' + str(e))
        self.reply(out.getvalue().encode())
http.server.ThreadingHTTPServer(('0.0.0.0', 8080), H).serve_forever()
`;

function request(address: string, method: string, body = '', timeoutMs = 60_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: address, port: 8080, method, path: method === 'POST' ? '/run' : '/', timeout: timeoutMs }, (res) => {
      let data = '';
      res.on('data', (c: Buffer) => (data += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${address} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a sandbox survives its own excess', { timeout: 240_000 }, () => {
  let runtime: GvisorRuntime;
  let stateDir: string;
  let scratch: string;
  let survivor = '';
  let neighbour = '';
  let addr = '';
  let neighbourAddr = '';
  let neighbourDown = 0;
  let watching = true;
  let watcher: Promise<void> = Promise.resolve();

  async function hostFree(): Promise<{ mem: number; disk: number }> {
    const mem = /MemAvailable:\s+(\d+)/.exec(await fs.readFile('/proc/meminfo', 'utf8'));
    const s = await fs.statfs(stateDir);
    return { mem: Number(mem?.[1] ?? 0) * 1024, disk: s.bavail * s.bsize };
  }

  async function run(code: string): Promise<string> {
    const r = await request(addr, 'POST', code, 120_000);
    assert.equal(r.status, 200);
    return r.body;
  }

  async function intact(): Promise<void> {
    assert.equal((await request(addr, 'GET')).body, 'ok', 'the app answers');
    const out = await run(`
import os
print(open('/var/tmp/precious').read())
pid = int(open('/var/tmp/worker.pid').read())
os.kill(pid, 0)
print('worker alive')
`);
    assert.match(out, /^keep me\nworker alive/, `the file written before and the worker survive: ${out}`);
  }

  before(async () => {
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-excess-'));
    scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-excess-ck-'));
    const network = await createLinuxNetwork({ addresses: addressPolicy([TEST_HOST_RANGE]) });
    runtime = new GvisorRuntime({ stateDir, network });
    const rootfs = await testRootfs();
    const spec = (id: string) => ({
      id,
      rootfs,
      process: { args: pythonArgs(INTERPRETER) },
      limits: { memoryBytes: MEMORY, cpus: 2, pids: 4096, diskBytes: DISK },
    });
    survivor = newMicrovmId();
    neighbour = newMicrovmId();
    addr = (await runtime.create(spec(survivor))).address;
    neighbourAddr = (await runtime.create(spec(neighbour))).address;
    for (const a of [addr, neighbourAddr]) {
      for (let i = 0; ; i++) {
        const ok = await request(a, 'GET', '', 2_000).then(
          (r) => r.body === 'ok',
          () => false,
        );
        if (ok) break;
        if (i > 100) throw new Error(`app at ${a} never answered`);
        await sleep(200);
      }
    }
    // A file and a background process that must outlive every excess.
    await run(`
import subprocess
open('/var/tmp/precious', 'w').write('keep me')
p = subprocess.Popen(['sleep', '100000'])
open('/var/tmp/worker.pid', 'w').write(str(p.pid))
`);
    // The neighbour is asked every 500 ms throughout.
    watcher = (async () => {
      while (watching) {
        const ok = await request(neighbourAddr, 'GET', '', 5_000).then(
          (r) => r.body === 'ok',
          () => false,
        );
        if (!ok) neighbourDown++;
        await sleep(500);
      }
    })();
  });

  after(async () => {
    watching = false;
    await watcher;
    for (const id of [survivor, neighbour]) if (id) await runtime.destroy(id).catch(() => undefined);
    await runtime.close();
    await fs.rm(stateDir, { recursive: true, force: true });
    await fs.rm(scratch, { recursive: true, force: true });
  });

  for (const [name, code] of Object.entries(EXCESS)) {
    test(`${name}: the offender gets an error, the session lives on`, async () => {
      const before = await hostFree();
      const t0 = Date.now();
      const out = await run(code);
      console.error(`[excess] ${name}: ${out.trim()} (${Date.now() - t0} ms)`);
      assert.match(out, EXPECT[name] ?? /./);
      const st = await runtime.get(survivor);
      assert.equal(st?.state, 'running', `the sandbox runs on (${st?.exitReason ?? ''})`);
      await intact();
      const afterwards = await hostFree();
      assert.ok(before.mem - afterwards.mem < MEMORY + 256 * MiB, `host memory: lost ${(before.mem - afterwards.mem) / MiB} MiB`);
      assert.ok(before.disk - afterwards.disk < DISK + 256 * MiB, `host disk: lost ${(before.disk - afterwards.disk) / MiB} MiB`);
      assert.equal(neighbourDown, 0, 'the neighbour answered throughout');
    });
  }

  test('the disk size and use are in the stats of the sandbox', async () => {
    const s = await runtime.stats(survivor);
    assert.ok(s.diskTotalBytes && s.diskTotalBytes > DISK * 0.8 && s.diskTotalBytes <= DISK, `disk size ${s.diskTotalBytes}`);
    assert.ok((s.diskUsedBytes ?? 0) < 64 * MiB, `the big file's space came back: ${s.diskUsedBytes}`);
  });

  test('after a suspend/resume (checkpoint, restore elsewhere) the survivor has its files and disk cap', async () => {
    await run(`
with open('/var/tmp/big2', 'wb') as f: f.write(b'y' * (64 << 20))
`);
    assert.match(await run(`print(len(open('/var/tmp/big2', 'rb').read()))`), /^67108864/, 'written before the checkpoint');
    const dir = path.join(scratch, 'ck');
    await runtime.checkpoint(survivor, dir);
    await runtime.destroy(survivor);
    await runtime.sealCheckpoint(dir);
    const manifest = JSON.parse(await fs.readFile(path.join(dir, 'cubby-checkpoint.json'), 'utf8')) as { overlay: string };
    assert.equal(manifest.overlay, 'root:dir', 'the checkpoint records its overlay medium');
    survivor = newMicrovmId();
    addr = (await runtime.restore({ id: survivor, checkpointDir: dir })).address;
    await intact();
    assert.match(await run(`print(len(open('/var/tmp/big2', 'rb').read()))`), /^67108864/);
    for (const name of ['fork loop', '3 GiB write', 'memory hog']) {
      const out = await run(EXCESS[name] ?? '');
      assert.match(out, EXPECT[name] ?? /./, `${name} after the restore`);
      await intact();
    }
    // A damaged checkpoint (the disk's data is in its pages) is still refused.
    const fh = await fs.open(path.join(dir, 'pages.img'), 'r+');
    await fh.truncate(Math.floor((await fh.stat()).size / 2));
    await fh.close();
    await assert.rejects(runtime.restore({ id: newMicrovmId(), checkpointDir: dir }), /RUNTIME_CHECKPOINT_CORRUPT|truncated|digest/);
    assert.equal(neighbourDown, 0, 'the neighbour answered throughout');
  });

  test('a sandbox that dies anyway says why: the app exit code', async () => {
    const id = newMicrovmId();
    await runtime.create({
      id,
      rootfs: await testRootfs(),
      process: { args: ['sh', '-c', 'sleep 1; exit 3'] },
      limits: { memoryBytes: 256 * MiB, diskBytes: 256 * MiB },
    });
    try {
      let info = await runtime.get(id);
      for (let i = 0; i < 50 && info?.state !== 'stopped'; i++) {
        await sleep(200);
        info = await runtime.get(id);
      }
      assert.equal(info?.state, 'stopped');
      assert.equal(info?.exitReason, 'the app exited with code 3');
    } finally {
      await runtime.destroy(id);
    }
  });
});
