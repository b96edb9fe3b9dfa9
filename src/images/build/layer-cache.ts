/**
 * The layer cache: results of completed Dockerfile steps kept across builds, one image per entry
 * (tagged with its key, see cache-keys.ts for what a key names) in one OCI layout directory,
 * <storageDir>/cache/oci, whose blobs are shared by content: a layer already there (the base's, a
 * dependency layer several entries share) is never stored twice (pushes ask for uncompressed
 * layers, `push -D`; where buildah gzips them anyway, big ones also get an uncompressed copy, see
 * SEED_MIN_BYTES), and a pull into a build's store reuses layers that store (or its shared base
 * store) already has. A build copies the entry it starts from into its own store
 * (only the layers its base lacks), so it never depends on the cache while it runs and pruning
 * needs no grace period. Each entry has a record in <storageDir>/cache/entries (its mtime: last
 * use). Writers (save, prune) hold <storageDir>/cache/oci.lock (the layout's index is one file);
 * readers do not wait for them: a lookup that reads a half-written index finds nothing, and a load
 * that loses a race with pruning fails, and the build then runs every step.
 *
 * Bounded: past `maxBytes` the least recently used entries go, and then every blob no remaining
 * entry references.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { withFileLock } from '../util/file-lock.js';
import type { BuildahRunner, StorageLayout } from './buildah-storage.js';

export const CACHE_REPO = 'localhost/cubby-cache';

/**
 * Compressed layers at least this big get an uncompressed copy named by their content digest
 * (seedUncompressed): this host's buildah (1.28) gzips layers on push whatever `-D` says, so it
 * never finds a layer a build committed itself (the base's, named by its uncompressed digest)
 * among the cache's blobs and compressed the whole base again for every entry (5-10 s). With the
 * copy there, a push skips the base (measured: 5 s -> 0.03 s for debian-12-node). Smaller layers
 * are quicker to compress again than to keep twice.
 */
const SEED_MIN_BYTES = 8 * 1024 * 1024;

export interface CacheEntry {
  key: string;
  scope: string;
  /** The instruction, for the log. */
  step: string;
  createdAt: string;
}

export interface LayerCacheOptions {
  storageDir: string;
  buildah: BuildahRunner;
  maxBytes: number;
}

/** The name a build gives the entry it starts from, in its own store. */
export const cacheRef = (key: string): string => `${CACHE_REPO}:${key}`;

interface OciIndex {
  schemaVersion?: number;
  manifests?: { digest: string; annotations?: Record<string, string> }[];
}

const REF = 'org.opencontainers.image.ref.name';

export class LayerCache {
  readonly dir: string;
  readonly oci: string;
  private readonly entries: string;

  constructor(private readonly o: LayerCacheOptions) {
    this.dir = path.join(o.storageDir, 'cache');
    this.oci = path.join(this.dir, 'oci');
    this.entries = path.join(this.dir, 'entries');
  }

  get enabled(): boolean {
    return this.o.maxBytes > 0;
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    return (async () => {
      await fs.mkdir(this.entries, { recursive: true, mode: 0o700 });
      return withFileLock(path.join(this.dir, 'oci.lock'), fn);
    })();
  }

  private file(key: string): string {
    return path.join(this.entries, `${key}.json`);
  }

  private async index(): Promise<OciIndex> {
    return JSON.parse(await fs.readFile(path.join(this.oci, 'index.json'), 'utf8').catch(() => '{}')) as OciIndex;
  }

  /** The latest of `keys` (in build order) the cache holds; its last use is now. */
  async latest(keys: readonly string[]): Promise<string | undefined> {
    const tags = new Set(((await this.index().catch(() => ({}) as OciIndex)).manifests ?? []).map((m) => m.annotations?.[REF]));
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      if (!tags.has(key) || !(await fs.stat(this.file(key)).catch(() => undefined))) continue;
      const now = new Date();
      await fs.utimes(this.file(key), now, now).catch(() => undefined);
      return key;
    }
    return undefined;
  }

  /** Copies entry `key` into a build's store as cacheRef(key). */
  async load(into: StorageLayout, key: string): Promise<void> {
    const r = await this.o.buildah.run(into, ['pull', '--quiet', `oci:${this.oci}:${key}`], { timeoutMs: 10 * 60_000 });
    const id = r.stdout.trim().split('\n').pop() ?? '';
    if (r.code !== 0 || !id) throw new Error(`buildah pull: ${r.output.trim().slice(-800)}`);
    const t = await this.o.buildah.run(into, ['tag', id, cacheRef(key)], { timeoutMs: 60_000 });
    if (t.code !== 0) throw new Error(`buildah tag: ${t.output.trim().slice(-800)}`);
  }

  /** Copies image `image` of a build's store into the cache as `entry`. */
  async save(source: StorageLayout, image: string, entry: CacheEntry): Promise<void> {
    await this.locked(async () => {
      const r = await this.o.buildah.run(source, ['push', '--quiet', '--disable-compression', image, `oci:${this.oci}:${entry.key}`], {
        timeoutMs: 10 * 60_000,
      });
      if (r.code !== 0) throw new Error(`buildah push: ${r.output.trim().slice(-800)}`);
      await fs.writeFile(this.file(entry.key), JSON.stringify(entry));
      // Only a quicker next push depends on it: a failure leaves the cache as it was.
      await this.seedUncompressed(entry.key).catch(() => undefined);
    });
  }

  private blob(digest: string): string {
    return path.join(this.oci, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
  }

  private async json<T>(digest: string): Promise<T> {
    return JSON.parse(await fs.readFile(this.blob(digest), 'utf8')) as T;
  }

  /**
   * Adds, for each big gzip layer of entry `key`, the layer uncompressed under its own digest
   * (the image config's diff_id, checked while writing), so later pushes find it (SEED_MIN_BYTES).
   */
  private async seedUncompressed(key: string): Promise<void> {
    const m = ((await this.index()).manifests ?? []).find((x) => x.annotations?.[REF] === key);
    if (!m) return;
    const man = await this.json<{ config?: { digest: string }; layers?: { digest: string; mediaType?: string; size?: number }[] }>(
      m.digest,
    );
    const diffIds = man.config ? ((await this.json<{ rootfs?: { diff_ids?: string[] } }>(man.config.digest)).rootfs?.diff_ids ?? []) : [];
    for (const [i, layer] of (man.layers ?? []).entries()) {
      const diff = diffIds[i];
      if (!diff || !/^sha256:[0-9a-f]{64}$/.test(diff) || !layer.mediaType?.endsWith('+gzip') || (layer.size ?? 0) < SEED_MIN_BYTES)
        continue;
      if (await fs.stat(this.blob(diff)).catch(() => undefined)) continue;
      const tmp = `${this.blob(diff)}.${process.pid}.tmp`;
      const h = createHash('sha256');
      const hash = new Transform({
        transform(chunk: Buffer, _enc, done) {
          h.update(chunk);
          done(null, chunk);
        },
      });
      try {
        await pipeline(createReadStream(this.blob(layer.digest)), createGunzip(), hash, createWriteStream(tmp, { mode: 0o644 }));
        if (`sha256:${h.digest('hex')}` !== diff) throw new Error(`layer ${layer.digest} does not uncompress to ${diff}`);
        await fs.rename(tmp, this.blob(diff));
      } finally {
        await fs.rm(tmp, { force: true });
      }
    }
  }

  /** Bytes the cache's blobs take. */
  async size(): Promise<number> {
    let total = 0;
    const dir = path.join(this.oci, 'blobs', 'sha256');
    for (const f of await fs.readdir(dir).catch(() => [] as string[]))
      total += (await fs.stat(path.join(dir, f)).catch(() => undefined))?.size ?? 0;
    return total;
  }

  /**
   * Removes least recently used entries until the cache is within its bound, then the blobs no
   * entry references any more. Returns the keys removed.
   */
  async prune(log: (line: string) => void = () => undefined): Promise<string[]> {
    if (!this.enabled) return [];
    return this.locked(async () => {
      const blobDir = path.join(this.oci, 'blobs', 'sha256');
      const blob = (d: string) => path.join(blobDir, d.replace(/^sha256:/, ''));
      const idx = await this.index();
      const manifests = idx.manifests ?? [];
      const refs = async (m: { digest: string }): Promise<string[]> => {
        const man = JSON.parse(await fs.readFile(blob(m.digest), 'utf8').catch(() => '{}')) as {
          config?: { digest: string };
          layers?: { digest: string }[];
        };
        // The layers uncompressed too (seedUncompressed), where there.
        const config = man.config
          ? (JSON.parse(await fs.readFile(blob(man.config.digest), 'utf8').catch(() => '{}')) as { rootfs?: { diff_ids?: string[] } })
          : {};
        const diffIds = (config.rootfs?.diff_ids ?? []).filter((d) => /^sha256:[0-9a-f]{64}$/.test(d));
        return [m.digest, ...(man.config ? [man.config.digest] : []), ...(man.layers ?? []).map((l) => l.digest), ...diffIds];
      };
      const sizeOf = async (set: Set<string>): Promise<number> => {
        let n = 0;
        for (const d of set) n += (await fs.stat(blob(d)).catch(() => undefined))?.size ?? 0;
        return n;
      };
      const live = async (ms: typeof manifests): Promise<Set<string>> => new Set((await Promise.all(ms.map(refs))).flat());
      const used = new Map<string, number>();
      for (const m of manifests) {
        const key = m.annotations?.[REF] ?? '';
        used.set(key, (await fs.stat(this.file(key)).catch(() => undefined))?.mtimeMs ?? 0);
      }
      // Least recently used first; entries without a record (a crash between push and record) first of all.
      const order = [...manifests].sort(
        (a, b) => (used.get(a.annotations?.[REF] ?? '') ?? 0) - (used.get(b.annotations?.[REF] ?? '') ?? 0),
      );
      let kept = order;
      let size = await sizeOf(await live(kept));
      const removed: string[] = [];
      while (size > this.o.maxBytes && kept.length > 0) {
        const [gone, ...rest] = kept;
        kept = rest;
        removed.push(gone?.annotations?.[REF] ?? '');
        size = await sizeOf(await live(kept));
      }
      const keep = await live(kept);
      if (removed.length) {
        const tmp = path.join(this.oci, `index.json.${process.pid}.tmp`);
        await fs.writeFile(tmp, JSON.stringify({ ...idx, manifests: manifests.filter((m) => kept.includes(m)) }));
        await fs.rename(tmp, path.join(this.oci, 'index.json'));
        for (const k of removed) await fs.rm(this.file(k), { force: true });
      }
      // Blobs of removed entries, and any a failed push left.
      for (const f of await fs.readdir(blobDir).catch(() => [] as string[])) {
        if (!keep.has(`sha256:${f}`)) await fs.rm(path.join(blobDir, f), { force: true });
      }
      if (removed.length) log(`[cubby] layer cache pruned ${removed.length} entries, now ${Math.round(size / 1048576)} MiB`);
      return removed.filter(Boolean);
    });
  }
}
