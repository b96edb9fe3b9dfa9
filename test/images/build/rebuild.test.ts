/**
 * A rebuild after a one-line code change, with real buildah, runsc, the Linux network driver and
 * Cubby's resolver (forwarding to a test DNS stub on 127.0.0.1, so nothing leaves the host):
 *  - the layer cache rule (cache-rule.ts): a quick RUN step that resolved a name through the
 *    build's network is cached and reused, a quick one that stayed local is run again;
 *  - the agent's mount point is part of the exported version: a gVisor sandbox started from it
 *    with the agent bind mount writes nothing into it, so its export record still holds and the
 *    rebuild is a delta export (hard links plus the later layers' paths), not a file-by-file one.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { BuildahBuilder } from '../../../src/images/build/buildah-builder.js';
import { createMountPoints } from '../../../src/images/build/mount-points.js';
import { MIN_CACHED_STEP_MS } from '../../../src/images/build/cache-rule.js';
import { AGENT_PATH } from '../../../src/core/images/agent.js';
import { createLinuxNetwork } from '../../../src/network/linux/index.js';
import { GvisorRuntime } from '../../../src/runtime/gvisor/index.js';
import { ensureTestBaseImage } from '../../support/base-image.js';
import { startDnsUpstream } from '../../support/dns-upstream.js';

const BASE = 'debian-12-python';
const NAME = 'deps.cubby-test.invalid';

const dockerfile = [
  `FROM ${BASE}`,
  // Quick, and asks Cubby's resolver for a name: a dependency step.
  `RUN (getent hosts ${NAME} || echo unresolved) > /deps.txt`,
  // Quick and local.
  'RUN date +%s%N > /local.txt',
  'COPY app.py /app/app.py',
  'CMD ["python3", "/app/app.py"]',
  '',
].join('\n');

test('mount points are made as empty files, never through a symlink, keeping the times of what existed', async (t) => {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-mount-points-'));
  t.after(() => fs.rm(work, { recursive: true, force: true }));
  const root = path.join(work, 'rootfs');
  await fs.mkdir(path.join(root, 'etc'), { recursive: true });
  await fs.utimes(root, new Date('2020-01-02'), new Date('2020-01-02'));
  const r = await createMountPoints(root, [AGENT_PATH, '/etc/hostname-mount']);
  assert.deepEqual(r, { made: [AGENT_PATH, '/etc/hostname-mount'], skipped: [] });
  const st = await fs.lstat(path.join(root, AGENT_PATH));
  assert.ok(st.isFile() && st.size === 0);
  assert.equal(st.mode & 0o777, 0o755);
  assert.equal((await fs.stat(root)).mtime.toISOString(), new Date('2020-01-02').toISOString(), "the root's times are kept");
  assert.deepEqual(await createMountPoints(root, [AGENT_PATH]), { made: [], skipped: [] }, 'there already');

  // An image whose /.cubby is a symlink out of the rootfs: nothing is made, there or outside.
  const other = path.join(work, 'other');
  const outside = path.join(work, 'outside');
  await fs.mkdir(other);
  await fs.mkdir(outside);
  await fs.symlink(outside, path.join(other, '.cubby'));
  assert.deepEqual(await createMountPoints(other, [AGENT_PATH, '../../etc/x']), { made: [], skipped: [AGENT_PATH, '../../etc/x'] });
  assert.deepEqual(await fs.readdir(outside), []);
});

test(
  'a rebuild reuses the step that used the network, reruns the quick local one, and exports as a delta after a sandbox ran with the agent mount',
  { timeout: 15 * 60_000 },
  async (t) => {
    await ensureTestBaseImage(BASE);
    const dns = await startDnsUpstream({});
    t.after(() => dns.close());
    const network = await createLinuxNetwork({ dnsUpstreams: [{ host: dns.host, port: dns.port }] });
    t.after(() => network.close());
    const builder = new BuildahBuilder({ network });
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-rebuild-'));
    t.after(() => fs.rm(work, { recursive: true, force: true }));
    const scope = `test-rebuild-${process.pid}-${Date.now()}`;
    /** How long each STEP took in a build's log (its STEP line to its commit), by arrival time. */
    const durations = (lines: { at: number; line: string }[]): Map<number, number> => {
      const out = new Map<number, number>();
      let cur: { step: number; at: number } | undefined;
      for (const l of lines) {
        const m = /^STEP (\d+)\/\d+: /.exec(l.line);
        if (m) cur = { step: Number(m[1]), at: l.at };
        else if (cur && /^--> /.test(l.line)) out.set(cur.step, l.at - cur.at);
      }
      return out;
    };
    const build = async (version: string, line: string) => {
      const ctx = path.join(work, `ctx-${version}`);
      await fs.mkdir(ctx);
      await fs.writeFile(path.join(ctx, 'Dockerfile'), dockerfile);
      await fs.writeFile(path.join(ctx, 'app.py'), `print(${JSON.stringify(line)})\n`);
      const out = path.join(work, 'image', version, 'rootfs');
      await fs.mkdir(path.dirname(out), { recursive: true, mode: 0o700 });
      const lines: { at: number; line: string }[] = [];
      const built = await builder.build({
        contextDir: ctx,
        base: { name: BASE },
        outputDir: out,
        network: 'internet',
        cacheScope: scope,
        mountPoints: [AGENT_PATH],
        onLog: (l) => lines.push({ at: Date.now(), line: l }),
      });
      return { ...built, steps: durations(lines) };
    };

    const v1 = await build('v1', 'one');
    assert.ok(
      dns.asked.some((q) => q.endsWith(`:${NAME}`)),
      `the step asked for ${NAME} through Cubby's resolver: ${dns.asked.join(', ')}`,
    );
    // On a loaded host the local step may take longer than the threshold, and is then cached too.
    const [netMs, localMs] = [v1.steps.get(2) ?? NaN, v1.steps.get(3) ?? NaN];
    t.diagnostic(`the network step took ${netMs} ms, the local one ${localMs} ms (threshold ${MIN_CACHED_STEP_MS} ms)`);
    assert.ok(localMs >= 0 && netMs >= 0, v1.log);
    const localCached = localMs >= MIN_CACHED_STEP_MS;
    assert.match(v1.log, new RegExp(`layer cache: ${localCached ? 2 : 1} step\\(s\\) cached`), v1.log);
    assert.equal((await fs.lstat(path.join(v1.rootfs, AGENT_PATH))).size, 0, 'the mount point is in the version');
    const local1 = await fs.readFile(path.join(v1.rootfs, 'local.txt'), 'utf8');

    // A sandbox from v1 with the agent bind mount, as the image pipeline starts one.
    const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-rebuild-rt-'));
    t.after(() => fs.rm(stateDir, { recursive: true, force: true }));
    const runtime = new GvisorRuntime({ stateDir, network });
    const agentSource = path.join(work, 'agent-binary');
    await fs.writeFile(path.join(work, 'agent-binary'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const id = `rebuild${process.pid}${Date.now()}`.slice(0, 20).padEnd(20, '0');
    try {
      await runtime.create({
        id,
        rootfs: v1.rootfs,
        process: { args: ['/bin/sh', '-c', `test -f ${AGENT_PATH} && sleep 60`] },
        mounts: [{ source: agentSource, destination: AGENT_PATH }],
      });
      const r = await runtime.run(id, { args: ['/bin/sh', '-c', `cat ${AGENT_PATH}`], timeoutMs: 60_000 });
      assert.match(r.stdout.toString(), /exit 0/, 'the agent source is mounted over the mount point');
    } finally {
      await runtime.destroy(id).catch(() => undefined);
      await runtime.close();
    }

    const asked = dns.asked.length;
    const v2 = await build('v2', 'two');
    assert.match(v2.log, /STEP 2\/5: RUN \(getent .* \(cached\)/, v2.log);
    assert.equal(dns.asked.length, asked, 'the cached step did not run again');
    if (!localCached) {
      assert.doesNotMatch(v2.log, /STEP 3\/5: RUN date .*\(cached\)/);
      assert.notEqual(await fs.readFile(path.join(v2.rootfs, 'local.txt'), 'utf8'), local1, 'the quick local step ran again');
    }
    assert.match(v2.log, /paths of the later layers copied/, 'a delta export: the sandbox left v1 as exported');
    assert.equal(await fs.readFile(path.join(v2.rootfs, 'app/app.py'), 'utf8'), 'print("two")\n');
    assert.equal((await fs.lstat(path.join(v2.rootfs, AGENT_PATH))).size, 0);
  },
);
