/**
 * MicroVMs: state changes only by compare-and-set (one UPDATE ... WHERE state is one of `from`).
 * A concurrent transition waits for the write lock (SQLite) or the row lock (PostgreSQL), then
 * re-checks the condition against the committed row, so of several callers from one state
 * exactly one wins.
 */
import type { Microvm } from '../../core/model.js';
import type { MicrovmFilter, StoreOps } from '../../core/ports/store.js';
import { SANDBOX_ID_PATTERN } from '../../core/ports/runtime.js';
import { CubbyError } from '../../errors/index.js';
import { fromRow, insertSql, type Row, toColumns } from '../codec.js';
import { newMicrovmId } from '../ids.js';
import { microvmBadState, microvmNotFound, tenantNotFound } from '../not-found.js';
import { decodePageToken, pageSize } from '../page-token.js';
import { toPage } from '../paging.js';
import { MICROVM, MICROVM_PATCHABLE, MICROVM_TRANSITION } from '../records.js';
import type { Dialect, SqlCtx } from './context.js';
import { patchExisting, patchRow, rowsInState } from './rows.js';

type MicrovmOps = Pick<
  StoreOps,
  | 'insertMicrovm'
  | 'getMicrovm'
  | 'getMicrovmAny'
  | 'listMicrovms'
  | 'listMicrovmsByState'
  | 'countMicrovms'
  | 'transitionMicrovm'
  | 'updateMicrovm'
  | 'deleteMicrovm'
>;

/** WHERE conditions shared by list and count. */
function conditions(d: Dialect, f: MicrovmFilter & { tenantId?: string }): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.tenantId !== undefined) {
    where.push('tenant_id = ?');
    params.push(f.tenantId);
  }
  if (f.imageId !== undefined) {
    where.push('image_id = ?');
    params.push(f.imageId);
  }
  if (f.version !== undefined) {
    where.push('image_version = ?');
    params.push(f.version);
  }
  if (f.states && f.states.length > 0) {
    const inState = d.inList('state', f.states);
    where.push(inState.sql);
    params.push(...inState.params);
  }
  return { where, params };
}

export function microvmOps(ctx: SqlCtx): MicrovmOps {
  const d = ctx.dialect;
  const microvm = (r: Row): Microvm => fromRow(MICROVM, r);
  const byId = (id: string): Promise<Row | undefined> => ctx.get('SELECT * FROM microvms WHERE id = ?', [id]);

  return {
    async insertMicrovm(input) {
      const now = ctx.now();
      const rec: Microvm = {
        ...input,
        id: input.id ?? newMicrovmId(),
        updatedAt: input.updatedAt ?? now,
        runningSeconds: input.runningSeconds ?? 0,
        suspendedSeconds: input.suspendedSeconds ?? 0,
      };
      if (!SANDBOX_ID_PATTERN.test(rec.id)) throw new CubbyError('CUBBY_VALIDATION', 'microVM id must be 20 characters of a-z and 0-9');
      // Tenants are never deleted; a taken id is a unique violation (STORE_CONFLICT).
      if (!(await ctx.get('SELECT 1 FROM tenants WHERE id = ?', [rec.tenantId]))) throw tenantNotFound(rec.tenantId);
      const { columns, values } = toColumns(MICROVM, rec);
      return microvm((await ctx.get(`${insertSql('microvms', columns)} RETURNING *`, values)) as Row);
    },
    async getMicrovm(tenantId, id) {
      const r = await ctx.get('SELECT * FROM microvms WHERE tenant_id = ? AND id = ?', [tenantId, id]);
      return r ? microvm(r) : undefined;
    },
    async getMicrovmAny(id) {
      const r = await byId(id);
      return r ? microvm(r) : undefined;
    },
    async listMicrovms(tenantId, req = {}) {
      const size = pageSize(req.maxResults);
      const filter = { imageId: req.imageId, version: req.version, states: [...new Set(req.states ?? [])].sort() };
      const scope = { tenantId, ...filter };
      const [after] = decodePageToken(req.nextToken, 'microvms', scope, 1) ?? [0];
      const { where, params } = conditions(d, { tenantId, ...filter });
      const rows = await ctx.all(`SELECT * FROM microvms WHERE ${[...where, 'seq > ?'].join(' AND ')} ORDER BY seq LIMIT ?`, [
        ...params,
        after,
        size + 1,
      ]);
      return toPage(rows, size, microvm, (r) => [r.seq as number], 'microvms', scope);
    },
    listMicrovmsByState: async (states) => (await rowsInState(ctx, 'microvms', states, 'seq')).map(microvm),
    async countMicrovms(filter) {
      const { where, params } = conditions(d, filter);
      const r = await ctx.get(`SELECT count(*) AS n FROM microvms ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}`, params);
      return Number(r?.n ?? 0);
    },
    async transitionMicrovm(id, from, patch) {
      const fromStates = [...from];
      // One statement is the compare-and-set; reading the current state after a miss is only for the error.
      let r: Row | undefined;
      if (fromStates.length > 0) {
        const inState = d.inList('state', fromStates);
        r = await patchRow(ctx, 'microvms', MICROVM, MICROVM_TRANSITION, patch, `id = ? AND ${inState.sql}`, [id, ...inState.params]);
      }
      if (r) return microvm(r);
      const current = await byId(id);
      if (!current) throw microvmNotFound(id);
      throw microvmBadState(id, current.state, fromStates, patch.state);
    },
    updateMicrovm: async (id, patch) =>
      microvm(await patchExisting(ctx, 'microvms', MICROVM, MICROVM_PATCHABLE, patch, 'id = ?', [id], () => microvmNotFound(id))),
    async deleteMicrovm(id) {
      await ctx.write(async () => {
        const r = await ctx.get('DELETE FROM microvms WHERE id = ? RETURNING tenant_id', [id]);
        if (!r) throw microvmNotFound(id);
        await ctx.run(`DELETE FROM tags WHERE tenant_id = ? AND kind = 'microvm' AND resource_id = ?`, [r.tenant_id, id]);
      });
    },
  };
}
