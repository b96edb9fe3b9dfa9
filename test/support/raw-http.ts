/**
 * One HTTP exchange over a raw TCP socket: the request goes out byte for byte (odd bytes in the
 * path, malformed headers), so a test can send what node's HTTP client refuses to.
 */
import net from 'node:net';

export interface RawExchange {
  /** Status code of the answer, or 0 when the server closed without answering. */
  status: number;
  head: string;
  body: string;
}

export function rawExchange(port: number, request: Buffer, timeoutMs = 15_000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${JSON.stringify(request.subarray(0, 300).toString('latin1'))}`));
    }, timeoutMs);
    // No half-close: a proxy may take the client's FIN for a client that gave up.
    s.on('connect', () => s.write(request));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const head = split >= 0 ? text.slice(0, split) : text;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve({ status: m ? Number(m[1]) : 0, head, body: split >= 0 ? text.slice(split + 4) : '' });
    });
  });
}
