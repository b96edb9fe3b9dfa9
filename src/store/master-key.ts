/**
 * The master key that encrypts stored secrets: `<dataDir>/master.key`, 64 hex characters, mode
 * 0600, created on first use. Two processes may race to create it (daemon and operator CLI):
 * the file appears atomically (written aside, then hard-linked), and whoever loses reads the winner's.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CubbyError } from '../errors/index.js';
import { MASTER_KEY_BYTES } from './secret-box.js';

export const MASTER_KEY_FILE = 'master.key';

function readKeyFile(path: string): Buffer {
  const st = statSync(path);
  // Like ssh with private keys: a key others can read is refused rather than silently used.
  if ((st.mode & 0o077) !== 0) {
    throw new CubbyError('STORE_MASTER_KEY_INVALID', `${path} must not be accessible to group or others (chmod 600)`);
  }
  const text = readFileSync(path, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(text)) {
    throw new CubbyError('STORE_MASTER_KEY_INVALID', `${path} must hold ${MASTER_KEY_BYTES * 2} hex characters`);
  }
  return Buffer.from(text, 'hex');
}

function writeDurably(path: string, text: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function loadOrCreateMasterKey(dataDir: string): Buffer {
  const path = join(dataDir, MASTER_KEY_FILE);
  try {
    return readKeyFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (e instanceof CubbyError) throw e;
      throw new CubbyError('STORE_MASTER_KEY_INVALID', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
    }
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeDurably(tmp, `${randomBytes(MASTER_KEY_BYTES).toString('hex')}\n`);
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    unlinkSync(tmp);
  }
  const dirFd = openSync(dataDir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  return readKeyFile(path);
}
