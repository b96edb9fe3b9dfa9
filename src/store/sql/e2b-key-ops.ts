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
import { E2B_KEY } from '../records.js';
import type { SqlCtx } from './context.js';
import { activeKeyWithTenant, requireTenant, revokeKeyRow } from './key-rows.js';

type E2bKeyOps = Pick<StoreOps, 'createE2bKey' | 'getE2bKeyForAuth' | 'listE2bKeys' | 'revokeE2bKey'>;

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

export function e2bKeyOps(ctx: SqlCtx): E2bKeyOps {
  const key = (r: Row): E2bKeyInfo => fromRow(E2B_KEY, r);
  return {
    async createE2bKey(tenantId) {
      await requireTenant(ctx, tenantId);
      const apiKey = newE2bApiKey();
      const info: E2bKeyInfo = { keyId: newE2bKeyId(), tenantId, hint: apiKey.slice(-4), status: 'ACTIVE', createdAt: ctx.now() };
      const { columns, values } = toColumns(E2B_KEY, info, { key_sha256: sha256(apiKey) });
      await ctx.run(insertSql('e2b_api_keys', columns), values);
      return { ...info, apiKey };
    },
    async getE2bKeyForAuth(apiKey) {
      const found = await activeKeyWithTenant(ctx, 'e2b_api_keys', 'key_sha256', sha256(apiKey));
      return found && { key: key(found.row), tenant: found.tenant };
    },
    listE2bKeys: async (tenantId) => (await ctx.all('SELECT * FROM e2b_api_keys WHERE tenant_id = ? ORDER BY seq', [tenantId])).map(key),
    async revokeE2bKey(keyId, tenantId) {
      const r = await revokeKeyRow(ctx, 'e2b_api_keys', 'key_id', keyId, tenantId);
      if (!r) throw new CubbyError('KEY_NOT_FOUND', `E2B API key ${keyId} not found`, { details: { keyId } });
      return key(r);
    },
  };
}
