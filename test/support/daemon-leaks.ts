/**
 * The leak check (leaks.ts) narrowed to one daemon's data directory, so tests running at the
 * same time on the machine (other daemons, runtime tests) do not count as this daemon's leaks.
 * A resource is this daemon's when it names the data directory (runsc processes, mounts), sits
 * under its runtime's cgroup tag, or belongs to a network slot its runtime owns; network pieces
 * whose slot is gone (orphans nobody owns any more) count too, since they are leaks of someone.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { hostResources } from './leaks.js';

const SLOTS = '/run/cubby/net/slots';

/** The tag the gVisor runtime derives from its state directory (<dataDir>/runtime). */
export function runtimeTag(dataDir: string): string {
  return createHash('sha256')
    .update(path.resolve(path.join(dataDir, 'runtime')))
    .digest('hex')
    .slice(0, 10);
}

async function slotOwners(): Promise<Map<number, string>> {
  const owners = new Map<number, string>();
  for (const f of await fs.readdir(SLOTS).catch(() => [] as string[])) {
    const m = /^(\d+)(\.reap-.*)?$/.exec(f);
    if (!m) continue;
    const rec = await fs.readFile(path.join(SLOTS, f), 'utf8').then(
      (t) => JSON.parse(t) as { owner?: string },
      () => undefined,
    );
    // A slot being claimed or reaped by someone is theirs until it settles.
    owners.set(Number(m[1]), m[2] ? 'reaping:' : (rec?.owner ?? 'claiming:'));
  }
  return owners;
}

function slotIndex(item: string): number | undefined {
  const m = /^(?:netns:cubby-|link:cb[hs]|nft-chain:sbx|nft-element:cbh|mount:\/run\/netns\/cubby-|slot:)(\d+)$/.exec(item);
  return m ? Number(m[1]) : undefined;
}

/** Every host resource the daemon on `dataDir` holds (plus ownerless network leftovers). */
export async function daemonResources(dataDir: string): Promise<Set<string>> {
  const dir = path.resolve(dataDir);
  const tag = runtimeTag(dir);
  const [all, owners] = await Promise.all([hostResources([path.join(dir, 'runtime')]), slotOwners()]);
  const mine = [...all].filter((item) => {
    const n = slotIndex(item);
    if (n !== undefined) {
      const owner = owners.get(n);
      return owner === undefined || owner.startsWith(`${tag}:`);
    }
    if (item.startsWith('cgroup:')) return item.includes(`/cubby/${tag}`);
    if (item.startsWith('proc:') || item.startsWith('mount:')) return item.includes(dir);
    return item.startsWith('state:');
  });
  return new Set(mine);
}

/** Fails listing what the daemon on `dataDir` still holds beyond `before` (waits out runsc's lag). */
export async function assertNoDaemonLeaks(dataDir: string, before: Set<string> = new Set(), waitMs = 10_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  let leaked: string[] = [];
  do {
    leaked = [...(await daemonResources(dataDir))].filter((x) => !before.has(x));
    if (leaked.length === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  } while (Date.now() < deadline);
  assert.deepEqual(leaked, [], `resources leaked by the daemon on ${dataDir}:\n${leaked.join('\n')}`);
}
