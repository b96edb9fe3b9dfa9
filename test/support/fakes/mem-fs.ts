/**
 * An in-memory filesystem shared by the fake disk and the fake runtime (checkpoints and build
 * outputs live in it), so the core's file moves and the runtime's checkpoints agree. Paths are
 * POSIX and absolute. Test-only.
 */
import path from 'node:path';

export class MemFs {
  /** file path -> contents */
  readonly files = new Map<string, Buffer>();
  readonly dirs = new Set<string>(['/']);

  private norm(p: string): string {
    return path.posix.resolve('/', p);
  }

  mkdirp(p: string): void {
    let cur = this.norm(p);
    while (!this.dirs.has(cur)) {
      this.dirs.add(cur);
      cur = path.posix.dirname(cur);
    }
  }

  write(p: string, data: string | Buffer): void {
    const f = this.norm(p);
    this.mkdirp(path.posix.dirname(f));
    this.files.set(f, Buffer.from(data));
  }

  append(p: string, data: string): void {
    const f = this.norm(p);
    this.write(f, Buffer.concat([this.files.get(f) ?? Buffer.alloc(0), Buffer.from(data)]));
  }

  read(p: string): Buffer | undefined {
    return this.files.get(this.norm(p));
  }

  exists(p: string): boolean {
    const n = this.norm(p);
    return this.files.has(n) || this.dirs.has(n);
  }

  isDir(p: string): boolean {
    return this.dirs.has(this.norm(p));
  }

  /** Paths under dir (files and dirs), not dir itself. */
  private under(dir: string): { files: string[]; dirs: string[] } {
    const d = this.norm(dir);
    const pre = d === '/' ? '/' : `${d}/`;
    return { files: [...this.files.keys()].filter((f) => f.startsWith(pre)), dirs: [...this.dirs].filter((x) => x.startsWith(pre)) };
  }

  /** Names directly inside dir. */
  list(dir: string): string[] {
    const d = this.norm(dir);
    const pre = d === '/' ? '/' : `${d}/`;
    const u = this.under(d);
    return [...new Set([...u.files, ...u.dirs].map((p) => p.slice(pre.length).split('/')[0] ?? ''))].filter(Boolean).sort();
  }

  remove(p: string): void {
    const n = this.norm(p);
    const u = this.under(n);
    for (const f of u.files) this.files.delete(f);
    for (const x of u.dirs) this.dirs.delete(x);
    this.files.delete(n);
    if (n !== '/') this.dirs.delete(n);
  }

  rename(from: string, to: string): void {
    const f = this.norm(from);
    const t = this.norm(to);
    if (!this.exists(f)) throw Object.assign(new Error(`ENOENT: no such file or directory, rename '${f}'`), { code: 'ENOENT' });
    const u = this.under(f);
    const moved = new Map(u.files.map((x) => [t + x.slice(f.length), this.files.get(x) ?? Buffer.alloc(0)]));
    const movedDirs = u.dirs.map((x) => t + x.slice(f.length));
    const file = this.files.get(f);
    const wasDir = this.dirs.has(f);
    this.remove(f);
    this.mkdirp(path.posix.dirname(t));
    if (wasDir) this.mkdirp(t);
    if (file) this.files.set(t, file);
    for (const d of movedDirs) this.mkdirp(d);
    for (const [k, v] of moved) this.files.set(k, v);
  }

  size(p: string): number {
    const n = this.norm(p);
    const own = this.files.get(n)?.length ?? 0;
    return own + this.under(n).files.reduce((s, f) => s + (this.files.get(f)?.length ?? 0), 0);
  }
}
