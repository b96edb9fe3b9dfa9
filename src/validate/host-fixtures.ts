/**
 * Things the boundary probe plants on the host (the validator runs on the Cubby host) for the
 * microVM to look for: a file under /tmp with a random name, a process with a random marker in
 * its command line, and a TCP listener on every host address. All removed by close().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface HostFixtures {
  /** Host-only path (a directory holding a file). */
  hostPath: string;
  marker: string;
  listenerPort: number;
  /** Connections the listener accepted. */
  accepted(): number;
  close(): Promise<void>;
}

export async function plantHostFixtures(): Promise<HostFixtures> {
  const marker = `cubbyvalidate${randomBytes(8).toString('hex')}`;
  const hostPath = await fs.mkdtemp(path.join('/tmp', 'cubby-validate-'));
  let child: ChildProcess | undefined;
  let server: net.Server | undefined;
  try {
    await fs.writeFile(path.join(hostPath, 'host-only'), marker, { mode: 0o600 });
    // Exits by itself after 10 minutes should the validator die without cleaning up.
    child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)', marker], { stdio: 'ignore' });
    let count = 0;
    const srv = net.createServer((sock) => {
      count++;
      sock.destroy();
    });
    server = srv;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(0, '0.0.0.0', () => resolve());
    });
    const port = (srv.address() as net.AddressInfo).port;
    const c = child;
    return {
      hostPath,
      marker,
      listenerPort: port,
      accepted: () => count,
      async close() {
        c.kill('SIGKILL');
        await new Promise<void>((r) => srv.close(() => r()));
        await fs.rm(hostPath, { recursive: true, force: true });
      },
    };
  } catch (e) {
    child?.kill('SIGKILL');
    server?.close();
    await fs.rm(hostPath, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The host's own IPv4 addresses worth probing, at most `max`: not loopback, and not the host
 * ends of other sandboxes' links (cbh*), which the probe covers with its own gateway address.
 */
export function hostAddresses(max = 8): string[] {
  const out: string[] = [];
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    if (name.startsWith('cbh')) continue;
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  }
  return [...new Set(out)].slice(0, max);
}

/** Whether this host can open a TCP connection to host:port (so a probe to it is meaningful). */
export function reachableFromHost(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: timeoutMs }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}
