/** Zips a directory (the `--from DIR` of `cubby image create`) with yazl. */
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import yazl from 'yazl';

async function walk(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.posix.join(rel, e.name);
    if (e.isDirectory()) out.push(...(await walk(dir, r)));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

export async function zipDirectory(dir: string, zipPath: string): Promise<number> {
  const files = await walk(dir);
  if (!files.includes('Dockerfile')) throw new Error(`${dir} has no Dockerfile at its root`);
  const zip = new yazl.ZipFile();
  for (const f of files) zip.addFile(path.join(dir, f), f);
  zip.end();
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(zipPath, { mode: 0o600 });
    zip.outputStream.pipe(out).on('close', resolve).on('error', reject);
  });
  return files.length;
}
