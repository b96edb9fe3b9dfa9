/**
 * A hung sandbox: its address takes no connection at all (every SYN is dropped, as when a
 * restored app's network stack is broken). A hook call must give up at its own deadline, not
 * after the kernel's SYN retries (about two minutes): a microVM whose app is broken must fail
 * its resume within the resume hook's timeout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpHooks } from '../../src/hooks/http-hooks.js';
import { runCommand } from '../../src/util/command.js';
import { withTestHost } from '../support/test-host.js';

test('a hook call to an address that drops every SYN gives up at its deadline', { timeout: 20_000 }, async () => {
  await withTestHost(async (h) => {
    // Inside the test host's own namespace: drop everything that comes in.
    const nft = await runCommand(
      'ip',
      [
        'netns',
        'exec',
        h.ns,
        'nft',
        'add table inet blackhole; add chain inet blackhole in { type filter hook input priority 0; policy drop; }',
      ],
      { timeoutMs: 10_000 },
    );
    assert.equal(nft.code, 0, nft.stderr);
    const t0 = Date.now();
    await assert.rejects(
      new HttpHooks().call({ address: h.address, port: h.ports[0], hook: 'resume', timeoutMs: 1500 }),
      /resume hook on port \d+ no answer within/,
    );
    const took = Date.now() - t0;
    assert.ok(took >= 1400 && took < 4000, `gave up after ${took} ms (deadline 1500 ms)`);
  });
});
