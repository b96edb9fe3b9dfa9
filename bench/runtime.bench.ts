/**
 * Runtime figures (issue: foundation): create-to-first-exec, exec round trip, checkpoint,
 * restore-to-first-exec and 5 concurrent clones, each beside raw runsc doing the same work.
 * Runs alternate between Cubby and raw so machine noise hits both alike.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GvisorRuntime, newSandboxId } from '../src/runtime/gvisor/index.js';
import { createLinuxNetwork } from '../src/network/linux/index.js';
import { COUNTER_APP, pythonArgs } from '../test/support/apps.js';
import { RawRunsc } from './support/raw-runsc.js';
import { printTable, timed, type Row } from './support/stats.js';
import { waitForHttp } from '../test/support/http.js';

export async function runtimeBench(rootfs: string, reps: number): Promise<Row[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cubby-bench-'));
  const rt = new GvisorRuntime({ stateDir: path.join(dir, 'cubby'), network: await createLinuxNetwork() });
  const raw = new RawRunsc(path.join(dir, 'raw'), rootfs);
  const proc = { args: pythonArgs(COUNTER_APP) };
  const rows: Record<string, Row> = {
    create: { metric: 'create -> first exec', cubby: [], raw: [], goal: '<= 1.15x' },
    exec: { metric: 'exec round trip (`true`)', cubby: [], raw: [], goal: '<= 1.15x' },
    checkpoint: { metric: 'checkpoint (idle python app)', cubby: [], raw: [], goal: '<= 1.15x' },
    restore: { metric: 'restore -> first exec', cubby: [], raw: [], goal: '<= 1.15x' },
    clones: { metric: '5 concurrent clones -> first exec in all', cubby: [], raw: [], goal: '<= 1.15x' },
  };
  const push = (k: string, side: 'cubby' | 'raw', ms: number) => {
    rows[k]?.[side]?.push(ms);
  };
  try {
    for (let i = 0; i < reps; i++) {
      // ---- Cubby
      {
        const id = newSandboxId();
        const [tCreate, s] = await timed(async () => {
          const s = await rt.create({ id, rootfs, process: proc });
          await rt.run(id, { args: ['true'] });
          return s;
        });
        push('create', 'cubby', tCreate);
        for (let k = 0; k < 3; k++) push('exec', 'cubby', (await timed(() => rt.run(s.id, { args: ['true'] })))[0]);
        // Checkpoint a started app, as the image pipeline does (after its ready check).
        await waitForHttp(`http://${s.address}:8080/peek`);
        const ck = path.join(dir, `ck-c-${i}`);
        push('checkpoint', 'cubby', (await timed(() => rt.checkpoint(id, ck)))[0]);
        await rt.destroy(id);
        const rid = newSandboxId();
        push(
          'restore',
          'cubby',
          (
            await timed(async () => {
              await rt.restore({ id: rid, checkpointDir: ck });
              await rt.run(rid, { args: ['true'] });
            })
          )[0],
        );
        await rt.destroy(rid);
        const ids = Array.from({ length: 5 }, () => newSandboxId());
        push(
          'clones',
          'cubby',
          (
            await timed(() =>
              Promise.all(
                ids.map(async (c) => {
                  await rt.restore({ id: c, checkpointDir: ck });
                  await rt.run(c, { args: ['true'] });
                }),
              ),
            )
          )[0],
        );
        await Promise.all(ids.map((c) => rt.destroy(c)));
      }
      // ---- raw runsc, same work
      {
        const id = newSandboxId();
        let net = { ns: '', idx: 0 };
        const [tCreate] = await timed(async () => {
          net = await raw.netns();
          await raw.run(id, await raw.bundle(id, net.ns, proc));
          await raw.exec(id, ['true']);
        });
        push('create', 'raw', tCreate);
        for (let k = 0; k < 3; k++) push('exec', 'raw', (await timed(() => raw.exec(id, ['true'])))[0]);
        await waitForHttp(`http://${raw.address(net.idx)}:8080/peek`);
        const ck = path.join(dir, `ck-r-${i}`);
        await fs.mkdir(ck, { recursive: true });
        push('checkpoint', 'raw', (await timed(() => raw.checkpoint(id, ck)))[0]);
        await raw.destroy(id, net.ns, net.idx);
        const one = async () => {
          const rid = newSandboxId();
          const n = await raw.netns();
          await raw.restore(rid, await raw.bundle(rid, n.ns, proc), ck);
          await raw.exec(rid, ['true']);
          return { rid, n };
        };
        const [tRestore, r1] = await timed(one);
        push('restore', 'raw', tRestore);
        await raw.destroy(r1.rid, r1.n.ns, r1.n.idx);
        const [tClones, all] = await timed(() => Promise.all(Array.from({ length: 5 }, one)));
        push('clones', 'raw', tClones);
        await Promise.all(all.map((c) => raw.destroy(c.rid, c.n.ns, c.n.idx)));
      }
    }
  } finally {
    for (const s of await rt.list()) await rt.destroy(s.id).catch(() => undefined);
    await rt.close();
    await raw.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
  const out = Object.values(rows);
  printTable('Runtime (gVisor, systrap) vs raw runsc', out);
  return out;
}
