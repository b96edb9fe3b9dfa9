import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyRing, MemoryTokenKeyStore } from '../../src/gateway/index.js';
import { tokenIssuer } from '../../src/gateway/token-issuer.js';
import { TokenService } from '../../src/gateway/tokens.js';
import { runTokensContract } from './contract.js';

runTokensContract('gateway', async () => tokenIssuer(new TokenService(await KeyRing.open({ store: new MemoryTokenKeyStore() }))));

test('gateway tokens verify for the microVM, port and kind they were minted for, and nothing else', async () => {
  const service = new TokenService(await KeyRing.open({ store: new MemoryTokenKeyStore() }));
  const { token } = await tokenIssuer(service).mint({
    microvmId: 'abc123',
    tenantId: 't1',
    ports: [{ from: 8080, to: 8081 }],
    minutes: 5,
    kind: 'endpoint',
  });
  assert.equal(service.verify(token, 'abc123', 8081, 'endpoint').microvmId, 'abc123');
  assert.throws(() => service.verify(token, 'abc124', 8080, 'endpoint'), /invalid token/);
  assert.throws(() => service.verify(token, 'abc123', 8080, 'shell'), /invalid token/);
  assert.throws(() => service.verify(token, 'abc123', 9000, 'endpoint'));
});
