/**
 * The operator's one-time console sign-in links (`./cubby console-login`). The CLI and the
 * daemon share the data directory, so a link is a file there named by the SHA-256 of its token
 * (the token itself is never stored): the daemon spends it by renaming it away, which only one
 * sign-in can win, and honours it only before its expiry.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export const LOGIN_TTL_SECONDS = 600;

function dir(dataDir: string): string {
  return path.join(dataDir, 'console-logins');
}

function nameOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export async function issueConsoleLogin(dataDir: string, ttlSeconds = LOGIN_TTL_SECONDS): Promise<{ token: string; expiresAt: Date }> {
  await fs.mkdir(dir(dataDir), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
  await fs.writeFile(path.join(dir(dataDir), nameOf(token)), JSON.stringify({ expiresAt: expiresAt.toISOString() }), {
    mode: 0o600,
    flag: 'wx',
  });
  return { token, expiresAt };
}

/** True once for a valid unexpired token; the link is gone afterwards either way. */
export async function consumeConsoleLogin(dataDir: string, token: string): Promise<boolean> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return false;
  const file = path.join(dir(dataDir), nameOf(token));
  const spent = `${file}.spent-${randomBytes(6).toString('hex')}`;
  try {
    await fs.rename(file, spent);
  } catch {
    return false;
  }
  try {
    const { expiresAt } = JSON.parse(await fs.readFile(spent, 'utf8')) as { expiresAt: string };
    return Date.parse(expiresAt) > Date.now();
  } catch {
    return false;
  } finally {
    await fs.rm(spent, { force: true });
  }
}
