/**
 * The bounded stdout/stderr log of a sandbox. The sandbox writes straight into `log` (O_APPEND,
 * so it survives daemon restarts); trim() keeps the newest bytes by rolling `log` into `log.1`.
 * The bound holds up to what the sandbox writes between two trims (one trim interval).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export class BoundedLog {
  constructor(
    readonly dir: string,
    readonly limitBytes: number,
  ) {}

  get file(): string {
    return path.join(this.dir, 'log');
  }
  private get previous(): string {
    return path.join(this.dir, 'log.1');
  }

  async open(): Promise<fs.FileHandle> {
    return fs.open(this.file, 'a', 0o600);
  }

  async trim(): Promise<void> {
    const st = await fs.stat(this.file).catch(() => undefined);
    if (!st || st.size <= this.limitBytes / 2) return;
    const keep = Math.floor(this.limitBytes / 2);
    const fh = await fs.open(this.file, 'r+');
    try {
      const buf = Buffer.alloc(keep);
      const { bytesRead } = await fh.read(buf, 0, keep, st.size - keep);
      await fs.writeFile(this.previous, buf.subarray(0, bytesRead), { mode: 0o600 });
      // The writer holds O_APPEND, so after truncation its next write lands at offset 0.
      await fh.truncate(0);
    } finally {
      await fh.close();
    }
  }

  async read(): Promise<Buffer> {
    const [a, b] = await Promise.all([
      fs.readFile(this.previous).catch(() => Buffer.alloc(0)),
      fs.readFile(this.file).catch(() => Buffer.alloc(0)),
    ]);
    const all = Buffer.concat([a, b]);
    return all.length > this.limitBytes ? all.subarray(all.length - this.limitBytes) : all;
  }
}
