/**
 * MicroVMs: state changes only by compare-and-set (UPDATE ... WHERE state = ANY(from)). A
 * concurrent transition waits for the row lock, then re-checks the condition against the
 * committed row, so of several callers from the same state exactly one wins.
 */
import type { Microvm } from '../../core/model.js';
import type { MicrovmFilter } from '../../core/ports/store.js';
import { SANDBOX_ID_PATTERN } from '../../core/ports/runtime.js';
import { CubbyError } from '../../errors/index.js';
import { fromRow, insertSql, patchAssignments, type Row, stamped, toColumns } from '../codec.js';
import { newMicrovmId } from '../ids.js';
import { microvmBadState, microvmNotFound, tenantNotFound } from '../not-found.js';
import { decodePageToken, pageSize } from '../page-token.js';
import { toPage } from '../paging.js';
import { MICROVM, MICROVM_PATCHABLE, MICROVM_TRANSITION } from '../records.js';
import type { Ctx, Ops } from './context.js';

type MicrovmOps = Pick<Ops, 'insertMicrovm' | 'getMicrovm' | 'getMicrovmAny' | 'listMicrovms' | 'listMicrovmsByState'
  | 'countMicrovms' | 'transitionMicrovm' | 'updateMicrovm' | 'deleteMicrovm'>;

/** WHERE conditions shared by list and count. */
function conditions(f: MicrovmFilter & { tenantId?: string }): { where: string[]; args: unknown[] } {
  const where: string[] = [];
  const args: unknown[] = [];
  if (f.tenantId !== undefined) { where.push('tenant_id = ?'); args.push(f.tenantId); }
  if (f.imageId !== undefined) { where.push('image_id = ?'); args.push(f.imageId); }
  if (f.version !== undefined) { where.push('image_version = ?'); args.push(f.version); }
  if (f.states && f.states.length > 0) { where.push('state = ANY(?)'); args.push(f.states); }
  return { where, args };
}

export function microvmOps(ctx: Ctx): MicrovmOps {
  const microvm = (r: Row): Microvm => fromRow(MICROVM, r);
  const byId = (id: string): Promise<Row | undefined> => ctx.one('SELECT * FROM microvms WHERE id = ?', id);

  function update(id: string, patch: object, allowed: ReadonlySet<string>, extraWhere = '', extraArgs: unknown[] = []): Promise<Row | undefined> {
    const { sets, values } = patchAssignments(MICROVM, patch, allowed);
    return ctx.one(`UPDATE microvms SET ${sets.join(', ')} WHERE id = ? ${extraWhere} RETURNING *`, ...values, id, ...extraArgs);
  }

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
      if (!(await ctx.one('SELECT 1 FROM tenants WHERE id = ?', rec.tenantId))) throw tenantNotFound(rec.tenantId);
      const { columns, values } = toColumns(MICROVM, rec);
      return microvm((await ctx.one(`${insertSql('microvms', columns)} RETURNING *`, ...values)) as Row);
    },
    async getMicrovm(tenantId, id) {
      const r = await ctx.one('SELECT * FROM microvms WHERE tenant_id = ? AND id = ?', tenantId, id);
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
      const { where, args } = conditions({ tenantId, ...filter });
      const rows = await ctx.all(`SELECT * FROM microvms WHERE ${[...where, 'seq > ?'].join(' AND ')} ORDER BY seq LIMIT ?`,
        ...args, after, size + 1);
      return toPage(rows, size, microvm, (r) => [r.seq as number], 'microvms', scope);
    },
    async listMicrovmsByState(states) {
      if (states.length === 0) return [];
      return (await ctx.all('SELECT * FROM microvms WHERE state = ANY(?) ORDER BY seq', states)).map(microvm);
    },
    async countMicrovms(filter) {
      const { where, args } = conditions(filter);
      const r = await ctx.one(`SELECT count(*) AS n FROM microvms ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}`, ...args);
      return Number(r?.n ?? 0);
    },
    async transitionMicrovm(id, from, patch) {
      const fromStates = [...from];
      // One statement is the compare-and-set; reading the current state after a miss is only for the error.
      const r = fromStates.length === 0 ? undefined
        : await update(id, stamped(ctx, patch), MICROVM_TRANSITION, 'AND state = ANY(?)', [fromStates]);
      if (r) return microvm(r);
      const current = await byId(id);
      if (!current) throw microvmNotFound(id);
      throw microvmBadState(id, current.state, fromStates, patch.state);
    },
    async updateMicrovm(id, patch) {
      const r = await update(id, stamped(ctx, patch), MICROVM_PATCHABLE);
      if (!r) throw microvmNotFound(id);
      return microvm(r);
    },
    async deleteMicrovm(id) {
      await ctx.write(async () => {
        const r = await ctx.one('DELETE FROM microvms WHERE id = ? RETURNING tenant_id', id);
        if (!r) throw microvmNotFound(id);
        await ctx.run(`DELETE FROM tags WHERE tenant_id = ? AND kind = 'microvm' AND resource_id = ?`, r.tenant_id, id);
      });
    },
  };
}
