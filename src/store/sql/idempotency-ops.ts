/** Idempotency records: the first result of a (tenant, operation, client token), kept for a TTL. */
import type { IdempotencyKey, IdempotencyRecord, StoreOps } from '../../core/ports/store.js';
import type { Row } from '../codec.js';
import { idempotencyMismatch, idempotencyRecord } from '../idempotent.js';
import type { SqlCtx } from './context.js';

type IdempotencyOps = Pick<StoreOps, 'getIdempotency' | 'putIdempotency' | 'sweepIdempotency'>;

export function idempotencyOps(ctx: SqlCtx): IdempotencyOps {
  const cutoff = (): number => ctx.now().getTime() - ctx.idempotencyTtlMs;
  const record = idempotencyRecord;
  const live = (k: IdempotencyKey): Promise<Row | undefined> =>
    ctx.get('SELECT * FROM idempotency WHERE tenant_id = ? AND operation = ? AND client_token = ? AND created_at > ?', [
      k.tenantId,
      k.operation,
      k.clientToken,
      cutoff(),
    ]);

  async function put(key: IdempotencyKey, requestHash: string, resultRef: string): Promise<IdempotencyRecord> {
    // One statement: inserts, or replaces an expired record; a live one is left alone (no row
    // returned), and after waiting for a concurrent writer's lock the committed row is the one compared.
    const r = await ctx.get(
      `INSERT INTO idempotency (tenant_id, operation, client_token, request_hash, result_ref, created_at)
      VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (tenant_id, operation, client_token) DO UPDATE SET
        request_hash = excluded.request_hash, result_ref = excluded.result_ref, created_at = excluded.created_at
        WHERE idempotency.created_at <= ?
      RETURNING *`,
      [key.tenantId, key.operation, key.clientToken, requestHash, resultRef, ctx.now().getTime(), cutoff()],
    );
    if (r) return record(r);
    const prior = await live(key);
    if (!prior) return put(key, requestHash, resultRef); // it expired in between: try again
    if (prior.request_hash !== requestHash) throw idempotencyMismatch(key);
    return record(prior);
  }

  return {
    async getIdempotency(key) {
      const r = await live(key);
      return r ? record(r) : undefined;
    },
    putIdempotency: put,
    sweepIdempotency: async () => ctx.run('DELETE FROM idempotency WHERE created_at <= ?', [cutoff()]),
  };
}
