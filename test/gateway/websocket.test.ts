// The upstream app is a real node ws server on 127.0.0.1 standing in for a sandbox: the gateway
// only sees an address and a port.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { rig } from './support/setup.js';

function connect(port: number, host: string, protocols: string[], path = '/'): WebSocket {
  return new WebSocket(`ws://127.0.0.1:${port}${path}`, protocols, { headers: { host } });
}

/** The next message, with its binary flag. */
async function next(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  const [data, binary] = (await once(ws, 'message')) as [Buffer, boolean];
  return { data, binary };
}

test('WebSocket echo through auth and port subprotocols; the gateway ones never reach the app', async (t) => {
  const r = await rig(t, { defaultPort: 1 }); // the port must come from the subprotocol
  const ws = connect(r.port, r.host(), [`lambda-microvms.authentication.${r.token()}`, `lambda-microvms.port.${r.app.port}`, 'chat']);
  t.after(() => ws.terminate());
  await once(ws, 'open');
  assert.equal(ws.protocol, 'chat', "the app's own subprotocol is negotiated end to end");
  ws.send('hello');
  assert.deepEqual(await next(ws), { data: Buffer.from('hello'), binary: false });
  const bin = Buffer.from([0, 1, 2, 255]);
  ws.send(bin);
  assert.deepEqual(await next(ws), { data: bin, binary: true });
  // 300 KB message: larger than any socket buffer, crosses the splice in many pieces.
  const big = Buffer.alloc(300 * 1024, 7);
  ws.send(big);
  assert.ok((await next(ws)).data.equals(big));

  assert.equal(r.app.wsHandshakes.length, 1);
  const hs = r.app.wsHandshakes[0]!;
  assert.equal(hs.protocol, 'chat');
  assert.deepEqual(
    Object.keys(hs.headers).filter((h) => h.startsWith('x-aws-proxy')),
    [],
  );
  assert.equal(hs.headers['x-forwarded-for'], '127.0.0.1');

  ws.send('close:4001');
  const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
  assert.equal(code, 4001, 'close code passes through');
  assert.equal(reason.toString(), 'bye');
  // ws-open/ws-close bracket the connection for the idle policy.
  await waitFor(() => r.targets.busy('vm1') === 0);
  assert.deepEqual(
    r.targets.events.map((e) => e.kind),
    ['ws-open', 'ws-close'],
  );
});

test('a WebSocket with only gateway subprotocols gets one echoed, so strict clients accept it', async (t) => {
  const r = await rig(t);
  const ws = connect(r.port, r.host(), [`lambda-microvms.authentication.${r.token()}`]);
  t.after(() => ws.terminate());
  await once(ws, 'open');
  assert.match(ws.protocol, /^lambda-microvms\./);
  assert.equal(r.app.wsHandshakes[0]?.protocol, undefined, 'the app saw no subprotocol');
  ws.send('x');
  assert.equal((await next(ws)).data.toString(), 'x');
  ws.close(1000);
  await once(ws, 'close');
});

test('WebSocket handshakes without a valid token are refused with 401/403 before the app', async (t) => {
  const r = await rig(t);
  const cases: Array<[string[], number]> = [
    [[], 401],
    [['lambda-microvms.authentication.nope'], 401],
    [[`lambda-microvms.authentication.${r.token({ id: 'vm2' })}`], 401],
    [[`lambda-microvms.authentication.${r.token()}`, 'lambda-microvms.port.1'], 403],
  ];
  for (const [protocols, status] of cases) {
    const ws = connect(r.port, r.host(), protocols);
    ws.on('error', () => {});
    const [req, res] = (await once(ws, 'unexpected-response')) as [import('node:http').ClientRequest, import('node:http').IncomingMessage];
    assert.equal(res.statusCode, status, protocols.join(','));
    req.destroy();
  }
  assert.equal(r.app.wsHandshakes.length, 0);
  assert.equal(r.app.hits.length, 0);
});

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((res) => setTimeout(res, 10));
  }
}
