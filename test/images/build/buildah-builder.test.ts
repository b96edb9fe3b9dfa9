/**
 * Real builds with buildah on the shared debian-12-python base (built once per machine), RUN
 * steps in gVisor. Each test removes what it made; the builder must leave no build directory,
 * runsc sandbox or mount behind, whatever the outcome.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { BuildahBuilder } from '../../../src/images/build/buildah-builder.js';
import { ZipArtifactUnpacker } from '../../../src/images/artifact/zip-artifact-unpacker.js';
import { isCubbyError } from '../../../src/errors/index.js';
import { runCommand } from '../../../src/util/command.js';
import { ensureTestBaseImage } from '../../support/base-image.js';
import { makeZip, type ZipEntrySpec } from '../../support/zip-writer.js';

const builder = new BuildahBuilder();
const BUILDS = path.join(builder.storageDir, 'builds');

const APP = `import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(os.environ.get("GREETING", "").encode())
http.server.HTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), H).serve_forever()
`;

interface Ctx {
  after: (fn: () => Promise<void>) => void;
}

/** A work dir with the artifact unpacked as <work>/ctx; the output goes to <work>/rootfs. */
async function prepare(t: Ctx, entries: ZipEntrySpec[]): Promise<{ ctx: string; out: string; work: string }> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-build-test-'));
  t.after(() => fs.rm(work, { recursive: true, force: true }));
  const ctx = (await new ZipArtifactUnpacker().unpack(makeZip(entries), path.join(work, 'ctx'))).dir;
  return { ctx, out: path.join(work, 'rootfs'), work };
}

/**
 * Builds of other live processes sharing the store (another test's daemon building right now):
 * their ids and container ids, left out of the leftovers.
 */
async function foreignBuilds(): Promise<string[]> {
  const ids: string[] = [];
  for (const d of await fs.readdir(BUILDS).catch(() => [] as string[])) {
    const owner = Number(await fs.readFile(path.join(BUILDS, d, 'owner'), 'utf8').catch(() => '0'));
    let alive = false;
    try {
      process.kill(owner, 0);
      alive = owner > 0 && owner !== process.pid;
    } catch {
      /* gone */
    }
    // A child of this test (the crashed-build test's builder) is ours, not foreign.
    const ppid = Number(/^PPid:\s*(\d+)/m.exec(await fs.readFile(`/proc/${owner}/status`, 'utf8').catch(() => ''))?.[1]);
    if (!alive || ppid === process.pid) continue;
    ids.push(d, ...(await fs.readFile(path.join(BUILDS, d, 'containers'), 'utf8').catch(() => '')).split('\n').filter(Boolean));
  }
  return ids;
}

/** Sandboxes, cgroups, mounts and build dirs of this builder's store that outlive a build. */
async function leftovers(): Promise<string[]> {
  const foreign = await foreignBuilds();
  return (await allLeftovers()).filter((i) => !foreign.some((f) => i.includes(f)));
}

async function allLeftovers(): Promise<string[]> {
  const items: string[] = [];
  for (const d of await fs.readdir(BUILDS).catch(() => [] as string[])) items.push(`build-dir:${d}`);
  const mounts = await fs.readFile('/proc/self/mountinfo', 'utf8');
  for (const l of mounts.split('\n')) if (l.includes(BUILDS)) items.push(`mount:${l.split(' ')[4]}`);
  // Each build's capped file system is a loop device backed by a file in its directory.
  const loops = await runCommand('losetup', ['-a'], { timeoutMs: 10_000 });
  for (const l of loops.stdout.split('\n')) if (l.includes(BUILDS)) items.push(`loop:${l.trim()}`);
  const ps = await runCommand('ps', ['-eo', 'pid,args'], { timeoutMs: 10_000 });
  for (const l of ps.stdout.split('\n')) if (l.includes(BUILDS)) items.push(`process:${l.trim()}`);
  // runsc names a step's cgroups after buildah's container id.
  for (const c of await fs.readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
    for (const d of await fs.readdir(path.join('/sys/fs/cgroup', c)).catch(() => [] as string[])) {
      if (d.startsWith('buildah-')) items.push(`cgroup:${c}/${d}`);
    }
  }
  return items;
}

test('setup: the shared base image', { timeout: 10 * 60_000 }, async () => {
  await ensureTestBaseImage('debian-12-python');
});

test('a python app builds into a rootfs with its files, the RUN output and its config', { timeout: 5 * 60_000 }, async (t) => {
  const { ctx, out } = await prepare(t, [
    {
      name: 'Dockerfile',
      data: [
        'FROM debian-12-python',
        'WORKDIR /app',
        'COPY app.py /app/app.py',
        'RUN python3 -c "import sys; print(sys.version_info[0])" > /app/built.txt && chown app /app/built.txt',
        'ENV GREETING="hello from cubby" PORT=8080',
        'EXPOSE 8080',
        'USER app',
        'CMD ["python3", "/app/app.py"]',
        '',
      ].join('\n'),
    },
    { name: 'app.py', data: APP },
  ]);
  const lines: string[] = [];
  const r = await builder.build({ contextDir: ctx, base: { name: 'debian-12-python' }, outputDir: out, onLog: (l) => lines.push(l) });
  console.error(`app build took ${(r.durationMs / 1000).toFixed(1)} s`);
  assert.equal(r.rootfs, out);
  assert.equal(await fs.readFile(path.join(out, 'app/app.py'), 'utf8'), APP);
  assert.equal(await fs.readFile(path.join(out, 'app/built.txt'), 'utf8'), '3\n');
  assert.equal((await fs.stat(path.join(out, 'app/built.txt'))).uid, 1000);
  await fs.access(path.join(out, 'usr/bin/python3'));
  assert.deepEqual(r.config.cmd, ['python3', '/app/app.py']);
  assert.deepEqual(r.config.entrypoint, []);
  assert.equal(r.config.workdir, '/app');
  assert.equal(r.config.user, '1000:1000', 'USER app is resolved against the image passwd (uid 1000)');
  assert.deepEqual(r.config.exposedPorts, [8080]);
  assert.equal(r.config.env.GREETING, 'hello from cubby');
  assert.equal(r.config.env.PORT, '8080');
  assert.match(r.config.env.PATH ?? '', /\/usr\/bin/);
  assert.deepEqual(r.base, { name: 'debian-12-python', version: '1.0' });
  assert.ok(r.sizeBytes > 100 * 1024 * 1024);
  assert.match(r.log, /STEP 4\/8: RUN python3/);
  assert.equal(r.log.trim(), lines.join('\n').trim(), 'the streamed lines are the log');
  assert.deepEqual(await leftovers(), []);
});

test('a failing RUN is BUILD_FAILED with the log, and leaves nothing behind', { timeout: 5 * 60_000 }, async (t) => {
  const { ctx, out } = await prepare(t, [{ name: 'Dockerfile', data: 'FROM debian-12-python\nRUN echo about-to-fail && exit 3\n' }]);
  await assert.rejects(builder.build({ contextDir: ctx, base: { name: 'debian-12-python' }, outputDir: out }), (e: unknown) => {
    assert.ok(isCubbyError(e, 'BUILD_FAILED'), String(e));
    assert.match(e.message, /about-to-fail/);
    assert.match(String(e.details?.log), /about-to-fail[\s\S]*exit status 3/);
    return true;
  });
  await assert.rejects(fs.lstat(out));
  assert.deepEqual(await leftovers(), []);
});

test('a build over its time limit is stopped, its sandbox killed, nothing left', { timeout: 5 * 60_000 }, async (t) => {
  const { ctx, out } = await prepare(t, [{ name: 'Dockerfile', data: 'FROM debian-12-python\nRUN echo sleeping && sleep 600\n' }]);
  const started = Date.now();
  await assert.rejects(
    builder.build({ contextDir: ctx, base: { name: 'debian-12-python' }, outputDir: out, timeoutMs: 5000 }),
    (e: unknown) => isCubbyError(e, 'BUILD_FAILED') && /timed out/.test(e.message),
  );
  assert.ok(Date.now() - started < 60_000, 'the timeout holds');
  await assert.rejects(fs.lstat(out));
  assert.deepEqual(await leftovers(), []);
});

test('what a crashed build process leaves (buildah, sandbox, mounts) is swept by the next builder', { timeout: 5 * 60_000 }, async (t) => {
  const { ctx, out } = await prepare(t, [{ name: 'Dockerfile', data: 'FROM debian-12-python\nRUN echo sleeping && sleep 600\n' }]);
  const child = spawn(process.execPath, [path.join(path.dirname(fileURLToPath(import.meta.url)), 'build-child.js'), ctx, out], {
    stdio: 'ignore',
  });
  t.after(() => {
    child.kill('SIGKILL');
  });
  // Wait until the RUN step's gVisor sandbox runs, then kill the building process outright.
  for (let i = 0; i < 600 && !(await leftovers()).some((l) => l.includes('runsc-sandbox')); i++)
    await new Promise((r) => setTimeout(r, 100));
  assert.ok(
    (await leftovers()).some((l) => l.includes('runsc-sandbox')),
    'the RUN step started',
  );
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.ok(
    (await leftovers()).some((l) => l.startsWith('process:')),
    'buildah and the sandbox outlive their owner',
  );
  const swept = await new BuildahBuilder().sweep();
  assert.equal(swept.length, 1);
  assert.deepEqual(await leftovers(), []);
  await assert.rejects(fs.lstat(out));
});

test('RUN steps see no host files, no host network, and hold no host privilege', { timeout: 5 * 60_000 }, async (t) => {
  const marker = `cubby-host-only-${randomBytes(6).toString('hex')}`;
  const hostFiles = [path.join(os.tmpdir(), marker), path.join('/root', marker)];
  for (const f of hostFiles) {
    await fs.writeFile(f, 'host secret');
    t.after(() => fs.rm(f, { force: true }));
  }
  let connections = 0;
  const srv = net.createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => srv.close(() => r())));
  const port = (srv.address() as net.AddressInfo).port;
  const probe = [
    'id -u > /probe/uid',
    'uname -r > /probe/kernel',
    `(cat ${hostFiles.join(' ')} > /probe/hostfiles 2>&1 && echo visible || echo hidden) > /probe/hostfiles.result`,
    '(mkdir -p /mnt/p && mount -t tmpfs none /mnt/p && echo mounted || echo refused) > /probe/mount 2>&1',
    '(echo 1 > /proc/sys/vm/drop_caches && echo written || echo refused) > /probe/procsys 2>&1',
    `(python3 -c "import socket; socket.create_connection(('127.0.0.1', ${port}), timeout=3)" && echo connected || echo refused) > /probe/net 2>&1`,
  ].join('; ');
  const { ctx, out } = await prepare(t, [{ name: 'Dockerfile', data: `FROM debian-12-python\nRUN mkdir /probe; ${probe}\n` }]);
  await builder.build({ contextDir: ctx, base: { name: 'debian-12-python' }, outputDir: out });
  const read = (f: string): Promise<string> => fs.readFile(path.join(out, 'probe', f), 'utf8').then((s) => s.trim());
  const report = {
    uid: await read('uid'),
    kernel: await read('kernel'),
    hostfiles: await read('hostfiles.result'),
    mount: await read('mount'),
    procsys: await read('procsys'),
    net: await read('net'),
  };
  const firstLines = Object.fromEntries(Object.entries(report).map(([k, v]) => [k, v.split('\n').slice(0, 1).join()]));
  console.error(`RUN step probe: ${JSON.stringify(firstLines)} (host kernel ${os.release()})`);
  assert.equal(report.hostfiles, 'hidden');
  assert.doesNotMatch(await read('hostfiles'), /host secret/);
  assert.notEqual(report.kernel, os.release(), 'a RUN step runs on gVisor, not the host kernel');
  assert.match(report.mount, /refused$/);
  assert.match(report.procsys, /refused$/);
  assert.match(report.net, /refused$/);
  assert.equal(connections, 0, 'the host loopback was not reached');
  assert.deepEqual(await leftovers(), []);
});

test('a Dockerfile FROM another image is refused before buildah runs', async (t) => {
  const { ctx, out } = await prepare(t, [{ name: 'Dockerfile', data: 'FROM debian-12-minimal\nRUN true\n' }]);
  await assert.rejects(builder.build({ contextDir: ctx, base: { name: 'debian-12-python' }, outputDir: out }), (e: unknown) =>
    isCubbyError(e, 'DOCKERFILE_FROM_MISMATCH'),
  );
  const { ctx: ctx2, out: out2 } = await prepare(t, [{ name: 'Dockerfile', data: 'FROM python:3.12\n' }]);
  await assert.rejects(builder.build({ contextDir: ctx2, base: { name: 'debian-12-python' }, outputDir: out2 }), (e: unknown) =>
    isCubbyError(e, 'DOCKERFILE_INVALID'),
  );
  await assert.rejects(fs.lstat(out));
});

test(
  'a RUN step that writes past the disk cap fails with the disk reason; one past the memory cap with the memory reason',
  { timeout: 5 * 60_000 },
  async (t) => {
    const disk = await prepare(t, [{ name: 'Dockerfile', data: 'FROM debian-12-python\nRUN head -c 600M /dev/zero > /f\n' }]);
    const lines: string[] = [];
    let seenMount = false;
    await assert.rejects(
      builder.build({
        contextDir: disk.ctx,
        base: { name: 'debian-12-python' },
        outputDir: disk.out,
        diskBytes: 256 * 1024 * 1024,
        onLog: (l) => {
          lines.push(l);
          // While the step runs, the build's data really is on its own 256 MiB loop file system.
          if (!seenMount && /STEP 2\/2/.test(l)) {
            seenMount = true;
            const id = /in build (\S+)/.exec(lines.join('\n'))?.[1] ?? '';
            void fs.statfs(path.join(BUILDS, id, 'data')).then(
              (st) => lines.push(`statfs:${st.blocks * st.bsize}`),
              () => lines.push('statfs:none'),
            );
          }
        },
      }),
      (e: unknown) => {
        assert.ok(isCubbyError(e, 'BUILD_FAILED'), String(e));
        assert.match(e.message, /the build exceeded its disk cap of 256 MiB/);
        assert.match(String(e.details?.log), /No space left on device/);
        return true;
      },
    );
    const size = Number(/statfs:(\d+)/.exec(lines.join('\n'))?.[1]);
    assert.ok(size > 200 * 1024 * 1024 && size <= 256 * 1024 * 1024, `the build's file system is the cap (${size} bytes)`);
    await assert.rejects(fs.lstat(disk.out));
    assert.deepEqual(await leftovers(), []);

    const mem = await prepare(t, [
      { name: 'Dockerfile', data: 'FROM debian-12-python\nRUN python3 -c "b = bytearray(900 * 1024 * 1024); print(len(b))"\n' },
    ]);
    await assert.rejects(
      builder.build({ contextDir: mem.ctx, base: { name: 'debian-12-python' }, outputDir: mem.out, memoryBytes: 256 * 1024 * 1024 }),
      (e: unknown) => {
        assert.ok(isCubbyError(e, 'BUILD_FAILED'), String(e));
        assert.match(e.message, /a RUN step exceeded the build's memory cap of 256 MiB \(killed\)/);
        return true;
      },
    );
    assert.deepEqual(await leftovers(), []);
  },
);

test('a RUN step killed for another reason than memory keeps the ordinary failure message', { timeout: 5 * 60_000 }, async (t) => {
  const { ctx, out } = await prepare(t, [{ name: 'Dockerfile', data: 'FROM debian-12-python\nRUN echo self-kill && kill -9 $$\n' }]);
  await assert.rejects(builder.build({ contextDir: ctx, base: { name: 'debian-12-python' }, outputDir: out }), (e: unknown) => {
    assert.ok(isCubbyError(e, 'BUILD_FAILED'), String(e));
    assert.doesNotMatch(e.message, /exceeded/);
    assert.match(e.message, /self-kill/);
    return true;
  });
  assert.deepEqual(await leftovers(), []);
});

test('a build that would leave the host less than its reserve is refused before it starts', async (t) => {
  const { ctx, out } = await prepare(t, [{ name: 'Dockerfile', data: 'FROM debian-12-python\nRUN true\n' }]);
  const st = await fs.statfs(builder.storageDir);
  const free = Math.floor((st.bavail * st.bsize) / (1024 * 1024));
  const greedy = new BuildahBuilder({ hostReserveMiB: free });
  await assert.rejects(
    greedy.build({ contextDir: ctx, base: { name: 'debian-12-python' }, outputDir: out, diskBytes: 256 * 1024 * 1024 }),
    (e: unknown) => {
      assert.ok(isCubbyError(e, 'BUILD_HOST_DISK_LOW'), String(e));
      assert.match(e.message, /host reserve of \d+ MiB/);
      return true;
    },
  );
  assert.deepEqual(await leftovers(), []);
});
