/** The HTTP hooks adapter honours the hooks contract against local HTTP servers on 127.0.0.1. */
import http from 'node:http';
import net from 'node:net';
import { runHooksContract } from './contract.js';
import { HttpHooks } from '../../src/hooks/http-hooks.js';

runHooksContract('http', async () => {
  const servers: http.Server[] = [];
  const listen = (s: net.Server) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as net.AddressInfo).port)));
  return {
    hooks: new HttpHooks(),
    async app(statuses) {
      const queue = [...statuses];
      const received: Array<{ hook: string; body: unknown }> = [];
      const server = http.createServer((req, res) => {
        let raw = '';
        req.on('data', (d: Buffer) => {
          raw += d.toString();
        });
        req.on('end', () => {
          const hook = (req.url ?? '').replace('/aws/lambda-microvms/runtime/v1/', '');
          const body = JSON.parse(raw || '{}') as Record<string, unknown>;
          received.push({ hook, body: Object.keys(body).length ? body : undefined });
          const status = queue.length > 1 ? (queue.shift() ?? 200) : (queue[0] ?? 200);
          res.writeHead(status).end();
        });
      });
      servers.push(server);
      const port = await listen(server);
      return { address: '127.0.0.1', port, received: () => received as never };
    },
    async nothing() {
      // A port that was just free: bound, then closed.
      const s = net.createServer();
      const port = await listen(s);
      await new Promise((r) => s.close(r));
      return { address: '127.0.0.1', port };
    },
    async close() {
      for (const s of servers) s.close();
    },
  };
});
