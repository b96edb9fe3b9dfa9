/**
 * Turns a Dockerfile USER (name or uid, optional group) into numeric ids using the built
 * image's own /etc/passwd and /etc/group, since the runtime starts processes by number.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { CubbyError } from '../../errors/index.js';

async function table(rootfs: string, file: string): Promise<Map<string, string[]>> {
  // Read as plain files inside the exported tree; a link pointing elsewhere is not followed out.
  const p = path.join(rootfs, 'etc', file);
  const st = await fs.lstat(p).catch(() => undefined);
  if (!st?.isFile()) return new Map();
  const rows = (await fs.readFile(p, 'utf8'))
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4 && f[0]);
  return new Map(rows.map((f) => [f[0] ?? '', f]));
}

export async function resolveUser(rootfs: string, user: string): Promise<string> {
  const [u = '', g] = user.split(':');
  const passwd = await table(rootfs, 'passwd');
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const row = [...passwd.values()].find((f) => f[2] === u);
    gid = row ? Number(row[3]) : uid;
  } else {
    const row = passwd.get(u);
    if (!row) throw new CubbyError('DOCKERFILE_INVALID', `USER ${u}: no such user in the image's /etc/passwd`);
    uid = Number(row[2]);
    gid = Number(row[3]);
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const row = (await table(rootfs, 'group')).get(g);
      if (!row) throw new CubbyError('DOCKERFILE_INVALID', `USER ${user}: no such group in the image's /etc/group`);
      gid = Number(row[2]);
    }
  }
  return `${uid}:${gid ?? uid}`;
}
