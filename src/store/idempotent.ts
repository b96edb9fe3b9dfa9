/** Store.idempotent, written once over the port's own primitives so every implementation shares it. */
import type { IdempotencyKey, IdempotencyRecord, IdempotentResult, Store, StoreOps } from '../core/ports/store.js';
import type { Row } from './codec.js';
import { CubbyError } from '../errors/index.js';

/** How long an idempotency record stays live. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export function idempotencyMismatch(key: IdempotencyKey): CubbyError {
  return new CubbyError('IDEMPOTENCY_MISMATCH', `client token already used for a different ${key.operation} request`, {
    details: { operation: key.operation, clientToken: key.clientToken },
  });
}

/** An idempotency row as both SQL stores keep it. */
export function idempotencyRecord(r: Row): IdempotencyRecord {
  return {
    tenantId: r.tenant_id as string,
    operation: r.operation as string,
    clientToken: r.client_token as string,
    requestHash: r.request_hash as string,
    resultRef: r.result_ref as string,
    createdAt: new Date(Number(r.created_at)),
  };
}

export function runIdempotent(
  store: Pick<Store, 'tx'>,
  key: IdempotencyKey,
  requestHash: string,
  create: (t: StoreOps) => Promise<string>,
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
