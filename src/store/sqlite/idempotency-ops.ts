/** Idempotency records: the first result of a (tenant, operation, client token), kept for a TTL. */
import { idempotencyMismatch, idempotencyRecord } from '../idempotent.js';
import type { Row } from '../codec.js';
import type { Ctx, SyncOps } from './context.js';

type IdempotencyOps = Pick<SyncOps, 'getIdempotency' | 'putIdempotency' | 'sweepIdempotency'>;

export function idempotencyOps(ctx: Ctx): IdempotencyOps {
  const cutoff = (): number => ctx.now().getTime() - ctx.idempotencyTtlMs;
  const record = idempotencyRecord;
  const live = (k: { tenantId: string; operation: string; clientToken: string }): Row | undefined =>
    ctx.q('SELECT * FROM idempotency WHERE tenant_id = ? AND operation = ? AND client_token = ? AND created_at > ?')
      .get(k.tenantId, k.operation, k.clientToken, cutoff());

  return {
    getIdempotency(key) {
      const r = live(key);
      return r ? record(r) : undefined;
    },
    putIdempotency(key, requestHash, resultRef) {
      return ctx.write(() => {
        const prior = live(key);
        if (prior) {
          if (prior.request_hash !== requestHash) throw idempotencyMismatch(key);
          return record(prior);
        }
        // An expired record for the same key may still be there: the new one replaces it.
        const r = ctx.q(`INSERT INTO idempotency (tenant_id, operation, client_token, request_hash, result_ref, created_at)
          VALUES (?, ?, ?, ?, ?, ?)
          ON CONFLICT (tenant_id, operation, client_token) DO UPDATE SET
            request_hash = excluded.request_hash, result_ref = excluded.result_ref, created_at = excluded.created_at
          RETURNING *`).get(key.tenantId, key.operation, key.clientToken, requestHash, resultRef, ctx.now().getTime());
        return record(r as Row);
      });
    },
    sweepIdempotency: () => ctx.q('DELETE FROM idempotency WHERE created_at <= ?').run(cutoff()).changes,
  };
}
