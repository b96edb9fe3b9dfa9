/**
 * The leak check: a snapshot of every host resource a sandbox can hold (runsc processes,
 * network namespaces, veths, nft chains and map elements, cgroups, mounts, network slots, state
 * files). Take one before a test, and assert after it that nothing new is left.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { runCommand } from '../../src/util/command.js';

async function lines(cmd: string, args: string[]): Promise<string[]> {
  const r = await runCommand(cmd, args, { timeoutMs: 10_000 }).catch(() => undefined);
  return r && r.code === 0
    ? r.stdout
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
    : [];
}

async function walk(dir: string, depth: number): Promise<string[]> {
  if (depth < 0) return [];
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (!e.isDirectory()) continue;
    const p = path.join(dir, e.name);
    out.push(p, ...(await walk(p, depth - 1)));
  }
  return out;
}

export async function hostResources(stateDirs: string[] = []): Promise<Set<string>> {
  const items: string[] = [];
  for (const l of await lines('ip', ['netns', 'list'])) if (l.startsWith('cubby-')) items.push(`netns:${l.split(' ')[0]}`);
  for (const l of await lines('ip', ['-o', 'link', 'show'])) {
    const m = /^\d+: (cb[hs]\d+)[@:]/.exec(l);
    if (m) items.push(`link:${m[1]}`);
  }
  // Match the command line, not the process name: a running sandbox's processes (runsc-sandbox,
  // runsc-gofer) are re-executions of /proc/self/exe, named "exe", which `pgrep runsc` misses.
  for (const l of await lines('pgrep', ['-af', '^([^ ]*/)?runsc(-[a-z]+)?( |$)'])) items.push(`proc:${l}`);
  for (const l of await lines('nft', ['list', 'table', 'inet', 'cubby'])) {
    const chain = /^chain (sbx\d+)/.exec(l);
    if (chain) items.push(`nft-chain:${chain[1]}`);
    // A sandbox's resolver and audit sets (src/network/linux/naming.ts domainSets, auditSets).
    const set = /^set ((?:dna|dnp|eok|eno)\d+)/.exec(l);
    if (set) items.push(`nft-set:${set[1]}`);
    for (const m of l.matchAll(/"(cbh\d+)" : jump/g)) items.push(`nft-element:${m[1]}`);
  }
  // A sandbox's credentials redirect (src/network/linux/credentials-nft.ts).
  for (const l of await lines('nft', ['list', 'table', 'ip', 'cubby_creds'])) {
    for (const m of l.matchAll(/"(cbh\d+)" : \d+/g)) items.push(`creds-element:${m[1]}`);
  }
  for (const ctrl of ['memory', 'cpu', 'pids', 'cpuacct']) {
    for (const d of await walk(`/sys/fs/cgroup/${ctrl}/cubby`, 3)) items.push(`cgroup:${d}`);
  }
  for (const l of (await fs.readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
    if (/cubby|runsc/.test(l)) items.push(`mount:${l.split(' ')[4]}`);
  }
  for (const f of await fs.readdir('/run/cubby/net/slots').catch(() => [])) items.push(`slot:${f}`);
  for (const d of stateDirs) {
    for (const f of await fs.readdir(path.join(d, 'sandboxes')).catch(() => [])) items.push(`state:${d}/sandboxes/${f}`);
  }
  return new Set(items);
}

/** Slot indexes held by a runtime's network pool (ready networks no sandbox has taken yet). */
async function pooledSlots(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const f of await fs.readdir('/run/cubby/net/slots').catch(() => [] as string[])) {
    const owner = await fs.readFile(`/run/cubby/net/slots/${f}`, 'utf8').then(
      (t) => (JSON.parse(t) as { owner?: string }).owner ?? '',
      () => '',
    );
    if (/^\d+$/.test(f) && owner.includes(':pool-')) out.add(f);
  }
  return out;
}

function slotOf(item: string): string | undefined {
  return /(?:cubby-|cbh|cbs|sbx|dna|dnp|eok|eno|slot:)(\d+)$/.exec(item)?.[1];
}

/**
 * Fails listing whatever appeared since `before` and is still there (waits out runsc's lag).
 * `ignorePooled` leaves out networks a live runtime keeps ready in its pool (a pool refills
 * with new slots while a test runs); a check after the runtime closed must not ignore them.
 */
export async function assertNoLeaks(
  before: Set<string>,
  stateDirs: string[] = [],
  waitMs = 5000,
  opts: { ignorePooled?: boolean } = {},
): Promise<void> {
  const deadline = Date.now() + waitMs;
  let leaked: string[] = [];
  do {
    const now = await hostResources(stateDirs);
    const pooled = opts.ignorePooled ? await pooledSlots() : new Set<string>();
    leaked = [...now].filter((x) => !before.has(x) && !pooled.has(slotOf(x) ?? '-'));
    if (leaked.length === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  } while (Date.now() < deadline);
  assert.deepEqual(leaked, [], `resources leaked:\n${leaked.join('\n')}`);
}
