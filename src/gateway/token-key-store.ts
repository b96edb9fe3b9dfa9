/**
 * Where the token signing keys live between daemon runs, so tokens already handed out keep
 * working after a restart. The file store keeps them in one JSON file readable by root only.
 */
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { CubbyError } from '../errors/index.js';

export interface TokenKey {
  /** Short url-safe id carried in every token it signs. */
  id: string;
  /** HMAC-SHA256 secret (32 bytes). */
  secret: Buffer;
  createdAt: Date;
  /** Set when a newer key replaced it: it then only verifies, until dropped after retention. */
  retiredAt?: Date;
}

export interface TokenKeyStore {
  load(): Promise<TokenKey[]>;
  save(keys: TokenKey[]): Promise<void>;
}

const fileSchema = z.object({
  version: z.literal(1),
  keys: z.array(
    z.object({
      id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
      secret: z.string().min(1),
      createdAt: z.iso.datetime(),
      retiredAt: z.iso.datetime().optional(),
    }),
  ),
});

export class FileTokenKeyStore implements TokenKeyStore {
  constructor(readonly path: string) {}

  async load(): Promise<TokenKey[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    let parsed: z.infer<typeof fileSchema>;
    try {
      parsed = fileSchema.parse(JSON.parse(text));
    } catch (e) {
      // Regenerating silently would invalidate every token in circulation: make it loud instead.
      throw new CubbyError('TOKEN_KEYS_CORRUPT', `token key file ${this.path} is unreadable`, { cause: e });
    }
    return parsed.keys.map((k) => ({
      id: k.id,
      secret: Buffer.from(k.secret, 'base64'),
      createdAt: new Date(k.createdAt),
      ...(k.retiredAt ? { retiredAt: new Date(k.retiredAt) } : {}),
    }));
  }

  async save(keys: TokenKey[]): Promise<void> {
    const body: z.infer<typeof fileSchema> = {
      version: 1,
      keys: keys.map((k) => ({
        id: k.id,
        secret: k.secret.toString('base64'),
        createdAt: k.createdAt.toISOString(),
        ...(k.retiredAt ? { retiredAt: k.retiredAt.toISOString() } : {}),
      })),
    };
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    // Write-then-rename so a crash never leaves a half-written key file behind.
    const tmp = `${this.path}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(body));
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await chmod(tmp, 0o600); // the mode given to open() is masked by the umask
      await rename(tmp, this.path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }
}

/** Keeps keys in memory only: tokens die with the process. For tests and throwaway daemons. */
export class MemoryTokenKeyStore implements TokenKeyStore {
  private keys: TokenKey[] = [];
  async load(): Promise<TokenKey[]> {
    return this.keys.map((k) => ({ ...k }));
  }
  async save(keys: TokenKey[]): Promise<void> {
    this.keys = keys.map((k) => ({ ...k }));
  }
}
