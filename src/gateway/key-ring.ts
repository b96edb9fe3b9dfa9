/**
 * The token signing keys: one current key signs, older keys still verify until every token they
 * could have signed has expired. Rotation bounds how long a leaked key is useful.
 */
import { randomBytes } from 'node:crypto';
import { CubbyError } from '../errors/index.js';
import type { TokenKey, TokenKeyStore } from './token-key-store.js';

/** Tokens live at most this long (CreateMicrovmAuthToken caps expirationInMinutes at 60). */
export const MAX_TOKEN_LIFETIME_MS = 60 * 60_000;

export interface KeyRingOptions {
  store: TokenKeyStore;
  /** How often a new signing key replaces the current one. Default 24 h. */
  rotationIntervalMs?: number;
  /** How long a retired key still verifies; at least the max token lifetime. Default 70 min. */
  retentionMs?: number;
  /** How often the ring checks whether to rotate or drop keys. Default 60 s. */
  checkIntervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export class KeyRing {
  private keys: TokenKey[];
  private saving: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly rotationIntervalMs: number;
  private readonly retentionMs: number;
  private readonly checkIntervalMs: number;
  private readonly now: () => number;

  private constructor(
    private readonly store: TokenKeyStore,
    keys: TokenKey[],
    opts: KeyRingOptions,
  ) {
    this.keys = keys;
    this.rotationIntervalMs = opts.rotationIntervalMs ?? 24 * 3600_000;
    this.retentionMs = opts.retentionMs ?? MAX_TOKEN_LIFETIME_MS + 10 * 60_000;
    this.checkIntervalMs = opts.checkIntervalMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** Loads the stored keys, creating or rotating the signing key when needed. */
  static async open(opts: KeyRingOptions): Promise<KeyRing> {
    if (opts.retentionMs !== undefined && opts.retentionMs < MAX_TOKEN_LIFETIME_MS) {
      throw new CubbyError('CUBBY_VALIDATION', `key retention must be at least ${MAX_TOKEN_LIFETIME_MS} ms`);
    }
    if (opts.rotationIntervalMs !== undefined && !(opts.rotationIntervalMs > 0)) {
      throw new CubbyError('CUBBY_VALIDATION', 'key rotation interval must be positive');
    }
    const ring = new KeyRing(opts.store, await opts.store.load(), opts);
    await ring.maintain();
    return ring;
  }

  /** The key that signs new tokens. */
  current(): TokenKey {
    const key = this.keys.find((k) => !k.retiredAt);
    if (!key) throw new CubbyError('CUBBY_INTERNAL', 'key ring has no signing key');
    return key;
  }

  /** A key that may verify tokens (current or retired but retained). */
  find(id: string): TokenKey | undefined {
    return this.keys.find((k) => k.id === id);
  }

  list(): readonly TokenKey[] {
    return this.keys;
  }

  /** Retires the current key and starts signing with a fresh one. */
  async rotate(): Promise<TokenKey> {
    const at = new Date(this.now());
    const fresh: TokenKey = { id: randomBytes(6).toString('base64url'), secret: randomBytes(32), createdAt: at };
    this.keys = [fresh, ...this.keys.map((k) => (k.retiredAt ? k : { ...k, retiredAt: at }))];
    await this.persist();
    return fresh;
  }

  /** Drops a key at once (e.g. a leaked one): every token it signed stops verifying. */
  async revoke(id: string): Promise<void> {
    const wasCurrent = this.keys.find((k) => !k.retiredAt)?.id === id;
    this.keys = this.keys.filter((k) => k.id !== id);
    if (wasCurrent) await this.rotate();
    else await this.persist();
  }

  /** Rotates when the signing key is due, and drops retired keys past retention. */
  async maintain(): Promise<void> {
    const now = this.now();
    const before = this.keys.length;
    this.keys = this.keys.filter((k) => !k.retiredAt || now - k.retiredAt.getTime() < this.retentionMs);
    const cur = this.keys.find((k) => !k.retiredAt);
    if (!cur || now - cur.createdAt.getTime() >= this.rotationIntervalMs) await this.rotate();
    else if (this.keys.length !== before) await this.persist();
  }

  /** Runs maintain() periodically; the timer never keeps the process alive. */
  start(onError: (e: unknown) => void = () => {}): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.maintain().catch(onError);
    }, this.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Saves are chained so an older snapshot never overwrites a newer one. */
  private persist(): Promise<void> {
    const snapshot = [...this.keys];
    const next = this.saving.catch(() => {}).then(() => this.store.save(snapshot));
    this.saving = next;
    return next;
  }
}
