/**
 * A separate process holding sandbox networks, for the cross-process tests. argv[2] is JSON
 * {owner, count, poolCidr?}. Prints one JSON line ({nets} or {error}), then on a "release" line
 * (or stdin closing) releases them, prints "released" and exits.
 */
import { createInterface } from 'node:readline';
import type { SandboxNetwork } from '../../../../src/core/ports/network.js';
import { createLinuxNetwork } from '../../../../src/network/linux/index.js';

const args = JSON.parse(process.argv[2] ?? '{}') as { owner: string; count: number; poolCidr?: string };
const driver = await createLinuxNetwork(args.poolCidr ? { poolCidr: args.poolCidr } : {});
let nets: SandboxNetwork[] = [];
try {
  const settled = await Promise.allSettled(Array.from({ length: args.count }, () => driver.allocate(args.owner, { mode: 'closed' })));
  nets = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    const e = failed.reason as { code?: string; message?: string };
    process.stdout.write(`${JSON.stringify({ nets, error: { code: e.code, message: e.message } })}\n`);
  } else {
    process.stdout.write(`${JSON.stringify({ nets })}\n`);
  }
} catch (e) {
  process.stdout.write(`${JSON.stringify({ nets, error: { message: String(e) } })}\n`);
}
const rl = createInterface({ input: process.stdin });
let releasing = false;
const finish = async (): Promise<void> => {
  if (releasing) return;
  releasing = true;
  for (const n of nets) await driver.release(n);
  process.stdout.write('released\n');
  process.exit(0);
};
rl.on('line', (l) => {
  if (l.trim() === 'release') void finish();
});
rl.on('close', () => void finish());
