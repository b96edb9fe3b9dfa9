/** The disk port over the in-memory filesystem, with injectable faults (op names = method names). */
import path from 'node:path';
import type { DiskPort } from '../../../src/core/ports/disk.js';
import { Faults } from './faults.js';
import { MemFs } from './mem-fs.js';

export class FakeDisk implements DiskPort {
  readonly faults = new Faults();

  constructor(readonly fs: MemFs = new MemFs()) {}

  remove(p: string): Promise<void> {
    return this.faults.run('remove', p, () => this.fs.remove(p));
  }

  replace(from: string, to: string): Promise<void> {
    return this.faults.run('replace', { from, to }, () => {
      if (!this.fs.exists(from)) throw Object.assign(new Error(`ENOENT: no such file or directory, rename '${from}'`), { code: 'ENOENT' });
      this.fs.remove(to);
      this.fs.rename(from, to);
    });
  }

  exists(p: string): Promise<boolean> {
    return this.faults.run('exists', p, () => this.fs.exists(p));
  }
  size(p: string): Promise<number> {
    return this.faults.run('size', p, () => this.fs.size(p));
  }
  ensureDir(p: string): Promise<void> {
    return this.faults.run('ensureDir', p, () => this.fs.mkdirp(p));
  }
  join(...parts: string[]): string {
    return path.posix.join(...parts);
  }
  append(p: string, text: string): Promise<void> {
    return this.faults.run('append', p, () => this.fs.append(p, text));
  }
  read(p: string): Promise<string | undefined> {
    return this.faults.run('read', p, () => this.fs.read(p)?.toString('utf8'));
  }
}
