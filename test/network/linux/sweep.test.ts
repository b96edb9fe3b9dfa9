import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import type { SandboxNetwork } from '../../../src/core/ports/network.js';
import { LinuxNetwork } from '../../../src/network/linux/index.js';
import { footprint, run, spawnChildDriver } from './helpers/fixtures.js';

const OPTS = { timeout: 60_000 };
const SLOTS = '/run/cubby/net/slots';

test('sweep releases networks whose owner is gone and whose process is dead or this one', OPTS, async (t) => {
  const driver = new LinuxNetwork();
  const tag = randomBytes(4).toString('hex');
  const owners = {
    dead: `sweep-dead-${tag}`,
    alive: `sweep-alive-${tag}`,
    mineGone: `sweep-mine-gone-${tag}`,
    mineLive: `sweep-mine-live-${tag}`,
  };
  const dead = await spawnChildDriver({ owner: owners.dead, count: 2 });
  const alive = await spawnChildDriver({ owner: owners.alive, count: 1 });
  const mine: SandboxNetwork[] = [];
  t.after(async () => {
    await dead.kill();
    await alive.release();
    for (const n of [...mine, ...dead.nets]) await driver.release({ ...n, owner: undefined });
  });
  mine.push(await driver.allocate(owners.mineGone, { mode: 'internet' }), await driver.allocate(owners.mineLive, { mode: 'closed' }));
  await dead.kill(); // SIGKILL: it never releases
  for (const n of dead.nets) assert.ok((await footprint(n)).includes('netns'));

  // Only this test's owners are "not live": whatever else runs on the host is left alone.
  const notLive = new Set([owners.dead, owners.alive, owners.mineGone]);
  const report = await driver.sweep((o) => !notLive.has(o));

  const expectGone = [...dead.nets, mine[0] as SandboxNetwork];
  assert.deepEqual(
    report.removed.filter((n) => expectGone.some((g) => g.netnsName === n)).sort(),
    expectGone.map((n) => n.netnsName).sort(),
  );
  for (const n of expectGone) assert.deepEqual(await footprint(n), [], n.netnsName);
  for (const n of [...alive.nets, mine[1] as SandboxNetwork]) {
    assert.ok((await footprint(n)).includes('netns'), `${n.netnsName} (live process or live owner) survives`);
  }
});

async function freeIndex(): Promise<number> {
  for (;;) {
    const i = randomInt(1000, 16_384);
    if (!existsSync(`${SLOTS}/${i}`) && !existsSync(`/var/run/netns/cubby-${i}`) && !existsSync(`/sys/class/net/cbh${i}`)) return i;
  }
}

test("sweep removes leftovers no slot holds, and finishes a dead sweeper's work", OPTS, async (t) => {
  const driver = new LinuxNetwork();
  await driver.init();
  const [i, j, k] = [await freeIndex(), await freeIndex(), await freeIndex()];
  const leftovers = [i, j, k].map((n) => ({ index: n, netnsName: `cubby-${n}`, hostInterface: `cbh${n}`, sandboxInterface: `cbs${n}` }));
  t.after(async () => {
    await driver.sweep(() => true);
    for (const l of leftovers) {
      await run('ip', ['link', 'del', l.hostInterface]).catch(() => {});
      await run('ip', ['netns', 'del', l.netnsName]).catch(() => {});
    }
  });
  // i: a namespace and veth pair; j: only a chain and map element; k: everything, under the
  // marker of a sweeper that died (pid of a process that has exited).
  await run(
    'ip',
    ['-batch', '-'],
    [
      `netns add cubby-${i}`,
      `link add cbh${i} type veth peer name cbs${i} netns cubby-${i}`,
      `netns add cubby-${k}`,
      `link add cbh${k} type veth peer name cbs${k} netns cubby-${k}`,
      '',
    ].join('\n'),
  );
  await run(
    'nft',
    ['-f', '-'],
    [j, k]
      .flatMap((n) => [
        `add chain inet cubby sbx${n}`,
        `add rule inet cubby sbx${n} accept`,
        `add element inet cubby egress { "cbh${n}" : jump sbx${n} }`,
        `add element inet cubby sources { "cbh${n}" . 10.213.9.${n % 250} }`,
      ])
      .join('\n') + '\n',
  );
  const exitedPid = Number((await run('sh', ['-c', 'sh -c "echo \\$\\$"'])).trim());
  await writeFile(`${SLOTS}/${k}.reap-${exitedPid}-1`, JSON.stringify({ owner: 'x', pid: exitedPid, pidStart: '1', createdAt: '' }));
  for (const l of leftovers) assert.notDeepEqual(await footprint(l), []);

  const report = await driver.sweep(() => true);
  assert.deepEqual(report.removed.filter((n) => leftovers.some((l) => l.netnsName === n)).sort(), leftovers.map((l) => l.netnsName).sort());
  for (const l of leftovers) assert.deepEqual(await footprint(l), [], l.netnsName);
  assert.equal(existsSync(`${SLOTS}/${k}.reap-${exitedPid}-1`), false);
});
