/**
 * A "test host": a network namespace the test creates, joined to the host by a veth, with a
 * TCP listener on two ports. It stands in for a server outside (egress targets) without any
 * traffic leaving the machine. Addresses come from 203.0.113.0/24 (TEST-NET-3), a /30 each.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { lookup } from 'node:dns/promises';
import { runCommand } from '../../src/util/command.js';

/** `address` is the namespace's side of the veth, `hostAddress` the host's side. */
export interface TestHost {
  ns: string;
  address: string;
  hostAddress: string;
  ports: [number, number];
}

/**
 * Where test hosts live. Documentation space is refused by Cubby's address policy like a
 * private range, so a test that uses a test host as an egress target runs its daemon or
 * network driver as an operator who allows this range (`--egress-allow-private`).
 */
export const TEST_HOST_RANGE = '203.0.113.0/24';

async function sh(cmd: string, args: string[]): Promise<void> {
  const r = await runCommand(cmd, args, { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function reachable(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port, timeout: 500 }, () => {
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

/**
 * The package mirrors some machines reach at a TEST-NET-3 address (behind a proxy): a test
 * subnet over one would take the host's route to it away while the test runs.
 */
const MIRRORS = ['deb.debian.org', 'registry.npmjs.org'];

async function mirrorSlots(): Promise<Set<number>> {
  const slots = new Set<number>();
  for (const name of MIRRORS) {
    const found = await lookup(name, { all: true, family: 4 }).catch(() => []);
    for (const { address } of found) {
      const m = /^203\.0\.113\.(\d+)$/.exec(address);
      if (m) slots.add(Math.floor(Number(m[1]) / 4));
    }
  }
  return slots;
}

/** A /30 of 203.0.113.0/24 no interface on this host uses yet (a leftover must not collide), away from the mirrors. */
async function freeSlot(): Promise<number> {
  const used = (await runCommand('ip', ['-o', '-4', 'addr', 'show'], { timeoutMs: 10_000 })).stdout;
  const mirrors = await mirrorSlots();
  for (let tries = 0; tries < 200; tries++) {
    const n = 1 + Math.floor(Math.random() * 62);
    if (mirrors.has(n)) continue;
    if (!used.includes(`203.0.113.${n * 4 + 1}/`) && !used.includes(`203.0.113.${n * 4 + 2}/`)) return n;
  }
  throw new Error('no free test host subnet in 203.0.113.0/24');
}

export async function withTestHost<T>(fn: (h: TestHost) => Promise<T>): Promise<T> {
  const n = await freeSlot();
  const ns = `cth${process.pid % 10000}x${n}`;
  const hostIf = `cthh${n}x${process.pid % 1000}`.slice(0, 15);
  const inIf = `cths${n}x${process.pid % 1000}`.slice(0, 15);
  const base = n * 4;
  const address = `203.0.113.${base + 2}`;
  const ports: [number, number] = [18000 + n, 19000 + n];
  await sh('ip', ['netns', 'add', ns]);
  const server = { kill: () => undefined as unknown } as { kill: (s?: NodeJS.Signals) => unknown };
  try {
    await sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', inIf]);
    await sh('ip', ['link', 'set', inIf, 'netns', ns]);
    await sh('ip', ['addr', 'add', `203.0.113.${base + 1}/30`, 'dev', hostIf]);
    await sh('ip', ['link', 'set', hostIf, 'up']);
    await sh('ip', ['-n', ns, 'addr', 'add', `${address}/30`, 'dev', inIf]);
    await sh('ip', ['-n', ns, 'link', 'set', inIf, 'up']);
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const code = `import socket,threading\ndef serve(p):\n  s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0',p)); s.listen(16)\n  while True:\n    c,_=s.accept(); c.sendall(b'test-host'); c.close()\nfor p in (${ports[0]},${ports[1]}): threading.Thread(target=serve,args=(p,),daemon=True).start()\nimport time\nwhile True: time.sleep(60)`;
    const child = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', code], { stdio: 'ignore' });
    server.kill = (s) => child.kill(s);
    const deadline = Date.now() + 10_000;
    while (!(await reachable(address, ports[0]))) {
      if (Date.now() > deadline) throw new Error('test host listener did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    return await fn({ ns, address, hostAddress: `203.0.113.${base + 1}`, ports });
  } finally {
    server.kill('SIGKILL');
    await runCommand('ip', ['link', 'del', hostIf]).catch(() => undefined);
    await runCommand('ip', ['netns', 'del', ns]).catch(() => undefined);
  }
}
