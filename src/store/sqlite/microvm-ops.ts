/** MicroVMs: state changes only by compare-and-set, so concurrent callers cannot both win. */
import type { Microvm, MicrovmState } from '../../core/model.js';
import type { MicrovmFilter } from '../../core/ports/store.js';
import { SANDBOX_ID_PATTERN } from '../../core/ports/runtime.js';
import { CubbyError } from '../../errors/index.js';
import { newMicrovmId } from '../ids.js';
import { decodePageToken, pageSize } from '../page-token.js';
import { fromRow, insertSql, patchAssignments, type Row, type SqlValue, stamped, toColumns } from '../codec.js';
import { microvmBadState, microvmNotFound as notFound, tenantNotFound } from '../not-found.js';
import { toPage } from '../paging.js';
import { MICROVM, MICROVM_PATCHABLE as PATCHABLE, MICROVM_TRANSITION as TRANSITION } from '../records.js';
import { type Ctx, marks, type SyncOps } from './context.js';

type MicrovmOps = Pick<SyncOps, 'insertMicrovm' | 'getMicrovm' | 'getMicrovmAny' | 'listMicrovms' | 'listMicrovmsByState'
  | 'countMicrovms' | 'transitionMicrovm' | 'updateMicrovm' | 'deleteMicrovm'>;

/** WHERE conditions shared by list and count. */
function conditions(f: MicrovmFilter & { tenantId?: string }): { where: string[]; args: SqlValue[] } {
  const where: string[] = [];
  const args: SqlValue[] = [];
  if (f.tenantId !== undefined) { where.push('tenant_id = ?'); args.push(f.tenantId); }
  if (f.imageId !== undefined) { where.push('image_id = ?'); args.push(f.imageId); }
  if (f.version !== undefined) { where.push('image_version = ?'); args.push(f.version); }
  if (f.states && f.states.length > 0) { where.push(`state IN (${marks(f.states.length)})`); args.push(...f.states); }
  return { where, args };
}

export function microvmOps(ctx: Ctx): MicrovmOps {
  const microvm = (r: Row): Microvm => fromRow(MICROVM, r);
  const byId = (id: string): Row | undefined => ctx.q('SELECT * FROM microvms WHERE id = ?').get(id);

  function update(id: string, patch: object, allowed: ReadonlySet<string>, extraWhere = '', extraArgs: SqlValue[] = []): Row | undefined {
    const { sets, values } = patchAssignments(MICROVM, patch, allowed);
    return ctx.q(`UPDATE microvms SET ${sets.join(', ')} WHERE id = ? ${extraWhere} RETURNING *`).get(...values, id, ...extraArgs);
  }

  return {
    insertMicrovm(input) {
      const now = ctx.now();
      const rec: Microvm = {
        ...input,
        id: input.id ?? newMicrovmId(),
        updatedAt: input.updatedAt ?? now,
        runningSeconds: input.runningSeconds ?? 0,
        suspendedSeconds: input.suspendedSeconds ?? 0,
      };
      if (!SANDBOX_ID_PATTERN.test(rec.id)) throw new CubbyError('CUBBY_VALIDATION', 'microVM id must be 20 characters of a-z and 0-9');
      return ctx.write(() => {
        if (!ctx.q('SELECT 1 FROM tenants WHERE id = ?').get(rec.tenantId)) {
          throw tenantNotFound(rec.tenantId);
        }
        if (byId(rec.id)) throw new CubbyError('STORE_CONFLICT', `microVM id ${rec.id} already exists`);
        const { columns, values } = toColumns(MICROVM, rec);
        ctx.q(insertSql('microvms', columns)).run(...values);
        return microvm(byId(rec.id) as Row);
      });
    },
    getMicrovm(tenantId, id) {
      const r = ctx.q('SELECT * FROM microvms WHERE tenant_id = ? AND id = ?').get(tenantId, id);
      return r ? microvm(r) : undefined;
    },
    getMicrovmAny(id) {
      const r = byId(id);
      return r ? microvm(r) : undefined;
    },
    listMicrovms(tenantId, req = {}) {
      const size = pageSize(req.maxResults);
      const filter = { imageId: req.imageId, version: req.version, states: [...new Set(req.states ?? [])].sort() };
      const scope = { tenantId, ...filter };
      const [after] = decodePageToken(req.nextToken, 'microvms', scope, 1) ?? [0];
      const { where, args } = conditions({ tenantId, ...filter });
      const rows = ctx.q(`SELECT * FROM microvms WHERE ${[...where, 'seq > ?'].join(' AND ')} ORDER BY seq LIMIT ?`)
        .all(...args, after, size + 1);
      return toPage(rows, size, microvm, (r) => [r.seq as number], 'microvms', scope);
    },
    listMicrovmsByState(states) {
      if (states.length === 0) return [];
      return ctx.q(`SELECT * FROM microvms WHERE state IN (${marks(states.length)}) ORDER BY seq`).all(...states).map(microvm);
    },
    countMicrovms(filter) {
      const { where, args } = conditions(filter);
      const r = ctx.q(`SELECT count(*) AS n FROM microvms ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}`).get(...args);
      return Number(r?.n ?? 0);
    },
    transitionMicrovm(id, from, patch) {
      return ctx.write(() => {
        const fromStates: MicrovmState[] = [...from];
        const r = fromStates.length === 0 ? undefined
          : update(id, stamped(ctx, patch), TRANSITION, `AND state IN (${marks(fromStates.length)})`, fromStates);
        if (r) return microvm(r);
        const current = byId(id);
        if (!current) throw notFound(id);
        throw microvmBadState(id, current.state, fromStates, patch.state);
      });
    },
    updateMicrovm(id, patch) {
      const r = update(id, stamped(ctx, patch), PATCHABLE);
      if (!r) throw notFound(id);
      return microvm(r);
    },
    deleteMicrovm(id) {
      ctx.write(() => {
        const r = ctx.q('DELETE FROM microvms WHERE id = ? RETURNING tenant_id').get(id);
        if (!r) throw notFound(id);
        ctx.q(`DELETE FROM tags WHERE tenant_id = ? AND kind = 'microvm' AND resource_id = ?`).run(r.tenant_id as string, id);
      });
    },
  };
}
