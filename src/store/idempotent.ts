/** Store.idempotent, written once over the port's own primitives so every implementation shares it. */
import type { IdempotencyKey, IdempotentResult, Store, StoreOps } from '../core/ports/store.js';
import { CubbyError } from '../errors/index.js';

export function idempotencyMismatch(key: IdempotencyKey): CubbyError {
  return new CubbyError('IDEMPOTENCY_MISMATCH', `client token already used for a different ${key.operation} request`,
    { details: { operation: key.operation, clientToken: key.clientToken } });
}

export function runIdempotent(
  store: Pick<Store, 'tx'>, key: IdempotencyKey, requestHash: string, create: (t: StoreOps) => Promise<string>,
): Promise<IdempotentResult> {
  return store.tx(async (t) => {
    const prior = await t.getIdempotency(key);
    if (prior) {
      if (prior.requestHash !== requestHash) throw idempotencyMismatch(key);
      return { resultRef: prior.resultRef, replayed: true };
    }
    const resultRef = await create(t);
    await t.putIdempotency(key, requestHash, resultRef);
    return { resultRef, replayed: false };
  });
}
