import { link, mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EgressPolicy } from '../../core/ports/network.js';
import { type ProcessIdentity, selfIdentity } from './process-identity.js';

/**
 * Slot files: the cross-process lock on pool slots. `<dir>/<index>` exists while the slot is held
 * (created with O_EXCL, so two processes never get the same index). A sweeper that frees a dead
 * holder's slot first renames the file to `<index>.reap-<pid>-<start>`: the rename is atomic, so
 * only one sweeper wins, and an allocator that claims `<index>` meanwhile sees the marker and
 * backs off until the reaper has finished removing the old network.
 */

export interface SlotRecord {
  owner: string;
  pid: number;
  pidStart: string | null;
  createdAt: string;
  /** Kept so a sweeper can remove the exact nft elements of a dead holder. */
  sandboxAddress?: string;
  /** The live policy, so a later process serving the slot's DNS (after a restart) knows it. */
  policy?: EgressPolicy;
}

export type SlotEntry =
  | { kind: 'held'; index: number; record: SlotRecord | null; mtimeMs: number }
  | { kind: 'reaping'; index: number; file: string; reaper: ProcessIdentity };

const HELD = /^(0|[1-9]\d{0,11})$/;
const REAPING = /^(0|[1-9]\d{0,11})\.reap-(\d+)-(\d+|x)$/;

function isErrno(e: unknown, code: string): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;
}

function parseRecord(text: string): SlotRecord | null {
  try {
    const r = JSON.parse(text) as Partial<SlotRecord>;
    if (typeof r.owner !== 'string' || typeof r.pid !== 'number') return null;
    return {
      owner: r.owner,
      pid: r.pid,
      pidStart: typeof r.pidStart === 'string' ? r.pidStart : null,
      createdAt: typeof r.createdAt === 'string' ? r.createdAt : '',
      ...(typeof r.sandboxAddress === 'string' ? { sandboxAddress: r.sandboxAddress } : {}),
      ...(typeof r.policy === 'object' && r.policy !== null ? { policy: r.policy } : {}),
    };
  } catch {
    return null;
  }
}

function sameRecord(a: SlotRecord | null, b: SlotRecord | null): boolean {
  if (a === null || b === null) return a === b;
  return a.owner === b.owner && a.pid === b.pid && a.pidStart === b.pidStart && a.createdAt === b.createdAt;
}

export class SlotStore {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'slots');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  private path(index: number): string {
    return join(this.dir, String(index));
  }

  /** Takes slot `index` if nobody holds or is reaping it. */
  async claim(index: number, record: SlotRecord): Promise<boolean> {
    const path = this.path(index);
    let fh;
    try {
      fh = await open(path, 'wx', 0o600);
    } catch (e) {
      if (isErrno(e, 'EEXIST')) return false;
      throw e;
    }
    try {
      await fh.writeFile(JSON.stringify(record));
    } catch (e) {
      await unlink(path).catch(() => {});
      throw e;
    } finally {
      await fh.close().catch(() => {});
    }
    const prefix = `${index}.reap-`;
    if ((await readdir(this.dir)).some((n) => n.startsWith(prefix))) {
      await this.free(index);
      return false;
    }
    return true;
  }

  /**
   * Claims a free slot of `size`, scanning from `start` and wrapping (a random start keeps
   * concurrent allocators apart and makes a just-freed index unlikely to come back at once).
   */
  async claimFree(size: number, start: number, record: (index: number) => SlotRecord): Promise<number | null> {
    const used = new Set<number>();
    for (const name of await readdir(this.dir)) {
      const m = HELD.exec(name) ?? REAPING.exec(name);
      if (m) used.add(Number(m[1]));
    }
    for (let k = 0; k < size; k++) {
      const index = (start + k) % size;
      if (used.has(index)) continue;
      if (await this.claim(index, record(index))) return index;
    }
    return null;
  }

  /** The holder's record; undefined when the slot is free, null when unreadable. */
  async read(index: number): Promise<SlotRecord | null | undefined> {
    try {
      return parseRecord(await readFile(this.path(index), 'utf8'));
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    }
  }

  /** Rewrites a held slot's record in place (atomic rename over the slot file). */
  async rewrite(index: number, record: SlotRecord): Promise<void> {
    const tmp = join(this.dir, `.${index}.${process.pid}.tmp`);
    await writeFile(tmp, JSON.stringify(record), { mode: 0o600 });
    await rename(tmp, this.path(index));
  }

  async free(index: number): Promise<void> {
    await unlink(this.path(index)).catch((e: unknown) => {
      if (!isErrno(e, 'ENOENT')) throw e;
    });
  }

  async list(): Promise<SlotEntry[]> {
    const entries: SlotEntry[] = [];
    for (const name of await readdir(this.dir)) {
      const reap = REAPING.exec(name);
      if (reap) {
        entries.push({
          kind: 'reaping',
          index: Number(reap[1]),
          file: name,
          reaper: { pid: Number(reap[2]), start: reap[3] === 'x' ? null : (reap[3] ?? null) },
        });
        continue;
      }
      if (!HELD.test(name)) continue;
      try {
        const path = join(this.dir, name);
        const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
        entries.push({ kind: 'held', index: Number(name), record: parseRecord(text), mtimeMs: st.mtimeMs });
      } catch (e) {
        if (!isErrno(e, 'ENOENT')) throw e; // freed while we listed
      }
    }
    return entries;
  }

  /** Whether anybody holds or reaps `index` right now. */
  async isTaken(index: number): Promise<boolean> {
    const names = await readdir(this.dir);
    const held = String(index);
    const prefix = `${index}.reap-`;
    return names.some((n) => n === held || n.startsWith(prefix));
  }

  /**
   * Takes over a held slot (or another reaper's marker) for reaping. Returns the marker to pass
   * to endReap, or null when someone else got there first. With `expected`, the held record must
   * still be the one the caller judged dead; a slot that changed hands meanwhile is given back.
   */
  async beginReap(index: number, from: { file?: string; expected?: SlotRecord | null } = {}): Promise<string | null> {
    const me = selfIdentity();
    const marker = `${index}.reap-${me.pid}-${me.start ?? 'x'}`;
    const markerPath = join(this.dir, marker);
    try {
      await rename(join(this.dir, from.file ?? String(index)), markerPath);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return null;
      throw e;
    }
    if (from.expected !== undefined) {
      const now = parseRecord(await readFile(markerPath, 'utf8').catch(() => ''));
      if (!sameRecord(now, from.expected)) {
        await this.abortReap(index, marker);
        return null;
      }
    }
    return marker;
  }

  /** Gives a slot being reaped back to its old record (the reap failed; a later sweep retries). */
  async abortReap(index: number, marker: string): Promise<void> {
    const markerPath = join(this.dir, marker);
    await link(markerPath, this.path(index)).catch(() => {});
    await unlink(markerPath).catch(() => {});
  }

  async endReap(marker: string): Promise<void> {
    await unlink(join(this.dir, marker)).catch((e: unknown) => {
      if (!isErrno(e, 'ENOENT')) throw e;
    });
  }
}
