/**
 * Disk usage of a directory tree: the apparent size of every file (not directories), links
 * counted once. A rootfs has ~40k files: `find` stats them in C (~10x quicker than a stat per
 * file through Node's thread pool); without find, or when it fails, the tree is walked in Node.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

export async function dirSize(root: string): Promise<number> {
  return (await findSize(root).catch(() => undefined)) ?? walkSize(root);
}

/** The same sum from `find -printf` (device, inode, links, size of each non-directory); undefined when find fails. */
function findSize(root: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn('find', [root, '-mindepth', '1', '!', '-type', 'd', '-printf', '%D %i %n %s\\n'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let total = 0;
    let bad = false;
    const seen = new Set<string>();
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [dev, ino, nlink, size] = line.split(' ');
      const n = Number(size);
      if (!Number.isFinite(n) || ino === undefined) {
        bad = true;
        return;
      }
      if (Number(nlink) > 1) {
        const key = `${dev}:${ino}`;
        if (seen.has(key)) return;
        seen.add(key);
      }
      total += n;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code === 0 && !bad ? total : undefined));
  });
}

async function walkSize(root: string): Promise<number> {
  let total = 0;
  const seen = new Set<string>();
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        stack.push(p);
        continue;
      }
      const st = await fs.lstat(p);
      if (st.nlink > 1) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += st.size;
    }
  }
  return total;
}
