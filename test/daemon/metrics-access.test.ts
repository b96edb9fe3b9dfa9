/**
 * /metrics names every tenant and its usage, so only the host (loopback) or a scraper holding the
 * operator's token may read it. Checked over real sockets: the daemon's API listens on the host
 * side of a veth to a network namespace the test creates, and the scrapes come from inside it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestDaemon } from '../support/daemon.js';
import { httpGet } from '../support/http.js';
import { withTestHost } from '../support/test-host.js';
import { runCommand } from '../../src/util/command.js';
import { checkMetricsAccess } from '../../src/daemon/metrics-access.js';
import { isCubbyError } from '../../src/errors/index.js';

const TOKEN = 'scrape-secret-0123456789';

/** GET from inside the namespace; answers "<status> <first bytes of the body>". */
async function getFrom(ns: string, url: string, bearer?: string): Promise<string> {
  const code = `import sys,urllib.request,urllib.error
r=urllib.request.Request(sys.argv[1])
if len(sys.argv)>2: r.add_header('Authorization','Bearer '+sys.argv[2])
try:
  x=urllib.request.urlopen(r,timeout=5); print(x.status, x.read(300).decode())
except urllib.error.HTTPError as e: print(e.code, e.read(300).decode())`;
  const r = await runCommand('ip', ['netns', 'exec', ns, 'python3', '-c', code, url, ...(bearer ? [bearer] : [])], { timeoutMs: 15_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

test('the access rule: loopback, or the token from elsewhere; never a wrong or missing token', () => {
  for (const a of ['127.0.0.1', '127.3.4.5', '::1', '::ffff:127.0.0.1']) checkMetricsAccess(a, undefined, undefined);
  checkMetricsAccess('203.0.113.2', `Bearer ${TOKEN}`, TOKEN);
  const refused = (addr: string | undefined, auth: string | undefined, token: string | undefined) =>
    assert.throws(
      () => checkMetricsAccess(addr, auth, token),
      (e: unknown) => isCubbyError(e, 'METRICS_FORBIDDEN'),
      `${addr} ${auth} ${token}`,
    );
  refused('203.0.113.2', undefined, undefined);
  refused('203.0.113.2', `Bearer ${TOKEN}`, undefined);
  refused('203.0.113.2', undefined, TOKEN);
  refused('203.0.113.2', `Bearer ${TOKEN}x`, TOKEN);
  refused('203.0.113.2', `Bearer ${TOKEN.slice(0, -1)}`, TOKEN);
  refused('203.0.113.2', TOKEN, TOKEN);
  refused('::ffff:10.0.0.1', undefined, undefined);
  refused('128.0.0.1', undefined, undefined);
  refused(undefined, undefined, undefined);
});

test('a daemon listening off loopback serves /metrics to the token only; the API itself is unchanged', async () => {
  await withTestHost(async (h) => {
    const d = await startTestDaemon({ api: `${h.hostAddress}:0`, metricsToken: TOKEN });
    try {
      const url = `${d.apiUrl}/metrics`;
      const none = await getFrom(h.ns, url);
      assert.match(none, /^403 .*metrics token/, none);
      assert.doesNotMatch(none, /cubby_/, 'nothing of the metrics in a refusal');
      assert.match(await getFrom(h.ns, url, 'wrong'), /^403 /);
      const ok = await getFrom(h.ns, url, TOKEN);
      assert.match(ok, /^200 /, ok);
      // From the host too, the API's address is not loopback: the same rule applies.
      assert.equal((await httpGet(url)).status, 403);
      assert.equal((await httpGet(url, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
      // Signed API calls are not affected; an unsigned one is still refused for its missing signature.
      assert.match(await getFrom(h.ns, `${d.apiUrl}/2025-09-09/microvms`), /^403 .*MissingAuthenticationToken/);
    } finally {
      await d.destroy();
    }
  });
});
