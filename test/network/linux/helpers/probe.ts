/**
 * Run inside a network namespace (`ip netns exec NS node probe.js '<json>'`): tries a TCP
 * connection to each target at once and prints {results: {"ip:port": "open" | "timeout" | <error
 * code>}, seenAs: {"ip:port": the source address the listener saw}}. "open" needs the listener's
 * banner, so a stray service on the port does not count.
 */
import { connect } from 'node:net';

interface Target {
  host: string;
  port: number;
  localAddress?: string;
}

const seenAs: Record<string, string> = {};
const keyOf = (t: Target): string => `${t.localAddress ? `${t.localAddress}>` : ''}${t.host}:${t.port}`;

function tryOne(t: Target, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect({ host: t.host, port: t.port, ...(t.localAddress ? { localAddress: t.localAddress } : {}) });
    const done = (r: string): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    let got = '';
    sock.on('data', (b) => {
      got += b.toString();
      const m = /cubby-listener (\S+)\n/.exec(got);
      if (m) {
        seenAs[keyOf(t)] = m[1] ?? '';
        done('open');
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => done(e.code ?? 'error'));
    sock.on('end', () => done(got.includes('cubby-listener') ? 'open' : 'no-banner'));
  });
}

const targets = JSON.parse(process.argv[2] ?? '[]') as Target[];
const timeoutMs = Number(process.argv[3] ?? 1000);
const results = await Promise.all(targets.map((t) => tryOne(t, timeoutMs)));
const out: Record<string, string> = {};
targets.forEach((t, i) => {
  out[keyOf(t)] = results[i] ?? 'error';
});
process.stdout.write(`${JSON.stringify({ results: out, seenAs })}\n`);
