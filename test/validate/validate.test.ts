/**
 * `cubby validate` end to end: the real command (node dist/src/cli/main.js) against a real
 * daemon with the counter image built, credentials from AWS_* variables like any user. Every
 * check must pass, the report must carry its measurements, and nothing the validator launched
 * or planted may be left behind. Egress is probed against a test host in a network namespace.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestDaemon, type TestDaemon } from '../support/daemon.js';
import { runCommand } from '../../src/util/command.js';
import { withTestHost } from '../support/test-host.js';
import { buildCounterImage, COUNTER_HOOKS } from '../e2e/support.js';
import type { ValidationReport } from '../../src/validate/types.js';
import type { UsageReport } from '../../src/core/usage/types.js';
import type { Wire } from '../../src/client/usage.js';

const CLI = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../src/cli/main.js');

/**
 * Host resources left by this test's daemon: sandbox cgroups and network slots carry its runtime's
 * tag (a hash of its state directory), runsc processes its data directory. Scoped to this daemon
 * so other suites running on the machine at the same time do not count.
 */
async function ownLeaks(dataDir: string): Promise<string[]> {
  const tag = createHash('sha256')
    .update(path.resolve(path.join(dataDir, 'runtime')))
    .digest('hex')
    .slice(0, 10);
  const out: string[] = [];
  for (const ctrl of ['memory', 'cpu', 'pids', 'cpuacct']) {
    for (const e of await fs.readdir(`/sys/fs/cgroup/${ctrl}/cubby/${tag}`, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) out.push(`cgroup:${ctrl}/cubby/${tag}/${e.name}`);
    }
  }
  for (const f of await fs.readdir('/run/cubby/net/slots').catch(() => [] as string[])) {
    const owner = await fs.readFile(`/run/cubby/net/slots/${f}`, 'utf8').then(
      (t) => (JSON.parse(t) as { owner?: string }).owner ?? '',
      () => '',
    );
    if (owner.startsWith(`${tag}:`)) out.push(`slot:${f} ${owner}`);
  }
  const procs = await runCommand('pgrep', ['-af', dataDir]);
  for (const l of procs.stdout.split('\n').filter(Boolean)) out.push(`proc:${l}`);
  return out;
}

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
}

function cli(
  d: TestDaemon,
  creds: Creds,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: os.tmpdir(),
        AWS_ENDPOINT_URL: d.apiUrl,
        AWS_REGION: 'local',
        AWS_ACCESS_KEY_ID: creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGINT');
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('cubby validate', { timeout: 600_000 }, () => {
  let d: TestDaemon;
  let tmp: string;
  let user: Creds & { tenantId: string };

  before(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-validate-art-'));
    d = await startTestDaemon();
    const t = await d.tenant('validate');
    user = t;
    await buildCounterImage(t.client, tmp, { hooks: COUNTER_HOOKS });
  });

  after(async () => {
    const dataDir = d?.dataDir;
    await d?.destroy();
    await fs.rm(tmp, { recursive: true, force: true });
    if (!dataDir) return;
    let leaked = await ownLeaks(dataDir);
    for (let i = 0; i < 40 && leaked.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      leaked = await ownLeaks(dataDir);
    }
    assert.deepEqual(leaked, [], 'nothing of this daemon is left on the host');
  });

  test('validate counter --json: every check passes with its measurements, and nothing is left behind', async () => {
    const r = await withTestHost((h) =>
      cli(
        d,
        user,
        [
          'validate',
          'counter',
          '--json',
          '--launches',
          '3',
          '--egress-target',
          `${h.address}:${h.ports[0]}`,
          '--prices',
          'vcpuSecond=0.00002,gibSecond=0.000002,snapshotGibMonth=0.1',
        ],
        240_000,
      ),
    );
    let report: ValidationReport;
    try {
      report = JSON.parse(r.stdout) as ValidationReport;
    } catch {
      assert.fail(`not JSON (exit ${r.code}): ${r.stdout.slice(0, 2000)}\n${r.stderr.slice(-2000)}`);
    }
    const failing = report.checks.filter((c) => c.status !== 'PASS').map((c) => `${c.id}: ${c.error ?? ''} ${JSON.stringify(c.probes)}`);
    assert.deepEqual(failing, [], 'every check passes');
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.equal(report.passed, true);
    assert.equal(report.image, 'counter');
    assert.equal(report.version, '1.0');
    assert.deepEqual(
      report.checks.map((c) => c.id),
      ['build', 'latency', 'idle-cost', 'boundary', 'cleanup'],
    );
    const check = (id: string) => {
      const c = report.checks.find((x) => x.id === id);
      assert.ok(c, id);
      return c;
    };
    const probe = (id: string, name: string) => {
      const p = check(id).probes.find((x) => x.name === name);
      assert.ok(p, `${id}/${name}`);
      return p;
    };

    // a. build timings of the version the test built.
    const build = check('build').data as { version: string; buildMs: number; totalMs: number; snapshot: { memoryBytes?: number } };
    assert.equal(build.version, '1.0');
    assert.ok(build.buildMs > 0 && build.buildMs <= build.totalMs, JSON.stringify(build));
    assert.ok((build.snapshot.memoryBytes ?? 0) > 0);

    // b. three timed launches and three auto-resumes, with percentiles.
    const lat = check('latency').data as {
      launch: { samplesMs: number[]; p50: number; p95: number };
      resume: { samplesMs: number[]; p50: number; p95: number };
    };
    for (const s of [lat.launch, lat.resume]) {
      assert.equal(s.samplesMs.length, 3);
      assert.ok(s.p50 > 0 && s.p50 <= s.p95 && s.p95 < 30_000, JSON.stringify(s));
    }

    // c. idle footprint, snapshot on disk, and the day priced at the prices given.
    const idle = check('idle-cost').data as {
      idle: { memoryBytes: number; cpuFraction: number };
      suspended: { snapshotBytes: number };
      prices: { vcpuSecond: number };
      day: { total: number; alwaysRunning: number };
    };
    assert.ok(idle.idle.memoryBytes > 1 << 20);
    assert.ok(idle.idle.cpuFraction >= 0 && idle.idle.cpuFraction < 1);
    assert.ok(idle.suspended.snapshotBytes > 0);
    assert.equal(idle.prices.vcpuSecond, 0.00002);
    assert.ok(idle.day.total > 0 && idle.day.total < idle.day.alwaysRunning);

    // d. every boundary probe ran (the counter image has bash and timeout) and held.
    for (const name of ['processes', 'host files', 'host network', 'egress closed'])
      assert.equal(probe('boundary', name).status, 'PASS', name);
    const hostPath = (check('boundary').data as { hostPath: string }).hostPath;
    await assert.rejects(fs.access(hostPath), 'the host-only path the validator planted is removed');

    // e. timeout and abandonment end TERMINATED; the killed app's fate is reported either way.
    for (const name of ['maximum duration', 'abandoned', 'nothing left running']) assert.equal(probe('cleanup', name).status, 'PASS', name);
    assert.ok(['PASS', 'WARN'].includes(probe('cleanup', 'app killed').status));

    // Everything it launched is TERMINATED, per the report and per the daemon's own store.
    assert.deepEqual(report.cleanup.leftOver, []);
    assert.ok(report.cleanup.launched >= 3 + 1 + 1 + 1 + 3);
    const live = (await d.store.listMicrovms(user.tenantId, { maxResults: 100 })).items.filter((m) => m.state !== 'TERMINATED');
    assert.deepEqual(
      live.map((m) => `${m.id} ${m.state}`),
      [],
    );

    // `cubby usage` accounts for them, tenant-scoped, at the prices asked for.
    const u = await cli(d, user, ['usage', '--json', '--prices', 'vcpuSecond=1,gibSecond=0,snapshotGibMonth=0'], 30_000);
    assert.equal(u.code, 0, u.stderr);
    const usage = JSON.parse(u.stdout) as Wire<UsageReport>;
    assert.equal(usage.microvms.length, report.cleanup.launched);
    assert.ok(usage.microvms.every((m) => m.state === 'TERMINATED' && m.memoryMiB === 512 && m.vcpus > 0));
    assert.ok(usage.totals.runningSeconds > 0);
    const expect = usage.microvms.reduce((a, m) => a + m.runningSeconds * m.vcpus, 0);
    assert.ok(Math.abs(usage.totals.cost.total - expect) < 1e-6, `${usage.totals.cost.total} vs ${expect}`);
    const bad = await cli(d, user, ['usage', '--from', 'yesterday'], 30_000);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /ValidationException.*from/);
    const stranger = await d.tenant('stranger');
    const other = await cli(d, stranger, ['usage', '--json'], 30_000);
    assert.equal(other.code, 0, other.stderr);
    assert.equal((JSON.parse(other.stdout) as Wire<UsageReport>).microvms.length, 0);
  });
});
