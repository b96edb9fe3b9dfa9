/** `node listener.js HOST PORT...`: answers every connection with a banner naming the caller's address; prints "ready". */
import { createServer } from 'node:net';

const [host, ...ports] = process.argv.slice(2);
await Promise.all(
  ports.map(
    (p) =>
      new Promise<void>((resolve, reject) => {
        const srv = createServer((s) => {
          s.on('error', () => {});
          s.end(`cubby-listener ${s.remoteAddress ?? '?'}\n`);
        });
        srv.on('error', reject);
        srv.listen(Number(p), host, () => resolve());
      }),
  ),
);
process.stdout.write('ready\n');
