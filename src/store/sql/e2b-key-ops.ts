/**
 * E2B API keys: bearer secrets the E2B front door checks by lookup, so only their SHA-256 is
 * stored (unlike SigV4 secrets, which must be decrypted to verify a signature). 160 random bits
 * make an unsalted hash safe; the hash column is unique, so a lookup is one indexed read.
 */
import { createHash } from 'node:crypto';
import type { E2bKeyInfo, StoreOps } from '../../core/ports/store.js';
import { CubbyError } from '../../errors/index.js';
import { fromRow, insertSql, type Row, toColumns } from '../codec.js';
import { newE2bApiKey, newE2bKeyId } from '../ids.js';
import { tenantNotFound } from '../not-found.js';
import { E2B_KEY, TENANT } from '../records.js';
import type { SqlCtx } from './context.js';

type E2bKeyOps = Pick<StoreOps, 'createE2bKey' | 'getE2bKeyForAuth' | 'listE2bKeys' | 'revokeE2bKey'>;

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

export function e2bKeyOps(ctx: SqlCtx): E2bKeyOps {
  const key = (r: Row): E2bKeyInfo => fromRow(E2B_KEY, r);
  return {
    async createE2bKey(tenantId) {
      if (!(await ctx.get('SELECT 1 FROM tenants WHERE id = ?', [tenantId]))) throw tenantNotFound(tenantId);
      const apiKey = newE2bApiKey();
      const info: E2bKeyInfo = { keyId: newE2bKeyId(), tenantId, hint: apiKey.slice(-4), status: 'ACTIVE', createdAt: ctx.now() };
      const { columns, values } = toColumns(E2B_KEY, info, { key_sha256: sha256(apiKey) });
      await ctx.run(insertSql('e2b_api_keys', columns), values);
      return { ...info, apiKey };
    },
    async getE2bKeyForAuth(apiKey) {
      const r = await ctx.get(
        `SELECT k.*, t.name AS t_name, t.account_id AS t_account_id, t.created_at AS t_created_at
        FROM e2b_api_keys k JOIN tenants t ON t.id = k.tenant_id
        WHERE k.key_sha256 = ? AND k.status = 'ACTIVE'`,
        [sha256(apiKey)],
      );
      if (!r) return undefined;
      const tenant = fromRow(TENANT, { id: r.tenant_id, name: r.t_name, account_id: r.t_account_id, created_at: r.t_created_at });
      return { key: key(r), tenant };
    },
    listE2bKeys: async (tenantId) => (await ctx.all('SELECT * FROM e2b_api_keys WHERE tenant_id = ? ORDER BY seq', [tenantId])).map(key),
    async revokeE2bKey(keyId, tenantId) {
      const scoped = tenantId === undefined ? '' : ' AND tenant_id = ?';
      const r = await ctx.get(
        `UPDATE e2b_api_keys SET status = 'REVOKED', revoked_at = COALESCE(revoked_at, ?)
        WHERE key_id = ?${scoped} RETURNING *`,
        [ctx.now().getTime(), keyId, ...(tenantId === undefined ? [] : [tenantId])],
      );
      if (!r) throw new CubbyError('KEY_NOT_FOUND', `E2B API key ${keyId} not found`, { details: { keyId } });
      return key(r);
    },
  };
}
