/** Test fixtures: namespaces that stand in for outside hosts, listeners, probes, child drivers. */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SandboxNetwork } from '../../../../src/core/ports/network.js';
import { describeFailure, exec } from '../../../../src/network/linux/exec.js';

const here = (f: string): string => fileURLToPath(new URL(f, import.meta.url));

export async function run(cmd: string, args: string[], input?: string): Promise<string> {
  const res = await exec(cmd, args, input === undefined ? {} : { input });
  if (res.code !== 0) throw new Error(describeFailure(cmd, args, res));
  return res.stdout;
}

// Below the ephemeral range (32768+), so no outgoing connection on the host holds it.
export const randomPort = (): number => randomInt(20_000, 32_000);

/** A namespace joined to the host by a /30 veth: an outside host only the test talks to. */
export interface PeerNetns {
  name: string;
  hostAddress: string;
  peerAddress: string;
  remove(): Promise<void>;
}

/** `subnet` is the /30's first address, e.g. "198.51.100.8". */
export async function createPeerNetns(subnet: string): Promise<PeerNetns> {
  const tag = randomBytes(3).toString('hex');
  const name = `cbt-${tag}`;
  const hostIf = `cbt${tag}h`;
  const parts = subnet.split('.').map(Number);
  const last = parts[3] ?? 0;
  const addr = (k: number): string => [...parts.slice(0, 3), last + k].join('.');
  const peer: PeerNetns = {
    name,
    hostAddress: addr(1),
    peerAddress: addr(2),
    async remove() {
      if (existsSync(`/sys/class/net/${hostIf}`)) await run('ip', ['link', 'del', hostIf]);
      if (existsSync(`/var/run/netns/${name}`)) await run('ip', ['netns', 'del', name]);
    },
  };
  try {
    await run(
      'ip',
      ['-batch', '-'],
      [
        `netns add ${name}`,
        `link add ${hostIf} type veth peer name eth0 netns ${name}`,
        `addr add ${peer.hostAddress}/30 dev ${hostIf}`,
        `link set ${hostIf} up`,
        '',
      ].join('\n'),
    );
    await run(
      'ip',
      ['-n', name, '-batch', '-'],
      [
        'link set lo up',
        `addr add ${peer.peerAddress}/30 dev eth0`,
        'link set eth0 up',
        `route add default via ${peer.hostAddress}`,
        '',
      ].join('\n'),
    );
  } catch (e) {
    await peer.remove();
    throw e;
  }
  return peer;
}

function inNetns(ns: string | null, args: string[]): [string, string[]] {
  return ns === null ? [args[0] ?? '', args.slice(1)] : ['ip', ['netns', 'exec', ns, ...args]];
}

function waitForLine(child: ChildProcessWithoutNullStreams, what: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let errBuf = '';
    const timer = setTimeout(() => reject(new Error(`${what}: no output within ${timeoutMs} ms; stderr: ${errBuf}`)), timeoutMs);
    child.stderr.on('data', (b: Buffer) => {
      errBuf += b.toString();
    });
    child.stdout.on('data', (b: Buffer) => {
      buf += b.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited ${code}; stderr: ${errBuf}`));
    });
  });
}

export interface Stoppable {
  stop(): Promise<void>;
}

async function killAndWait(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await exited;
}

/** A TCP listener on `host` (inside `ns`, or on the host when null) that sends a banner. */
export async function startListener(ns: string | null, host: string, ports: number[]): Promise<Stoppable> {
  const [cmd, args] = inNetns(ns, [process.execPath, here('./listener.js'), host, ...ports.map(String)]);
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    const line = await waitForLine(child, `listener in ${ns ?? 'host'}`);
    if (line !== 'ready') throw new Error(`listener said ${line}`);
  } catch (e) {
    await killAndWait(child);
    throw e;
  }
  return { stop: () => killAndWait(child) };
}

export interface Target {
  host: string;
  port: number;
  localAddress?: string;
}

export interface ProbeReport {
  /** Per target: "open", "timeout" (dropped) or the connect error code. */
  results: Record<string, string>;
  /** Per open target: the source address its listener saw. */
  seenAs: Record<string, string>;
}

/** Connects from inside `ns` (a stand-in for the sandbox) to each target at once. */
export async function probeReport(ns: string | null, targets: Target[]): Promise<ProbeReport> {
  const [cmd, args] = inNetns(ns, [process.execPath, here('./probe.js'), JSON.stringify(targets), '1000']);
  return JSON.parse(await run(cmd, args)) as ProbeReport;
}

/** Per target: "open" or why not. */
export async function probe(ns: string | null, targets: Target[]): Promise<Record<string, string>> {
  return (await probeReport(ns, targets)).results;
}

export const key = (t: Target): string => `${t.localAddress ? `${t.localAddress}>` : ''}${t.host}:${t.port}`;

/** A child process running its own driver (helpers/child-allocate.ts). */
export interface ChildDriver {
  pid: number;
  nets: SandboxNetwork[];
  error?: { code?: string; message?: string };
  release(): Promise<void>;
  kill(): Promise<void>;
}

export async function spawnChildDriver(
  opts: { owner: string; count: number; poolCidr?: string },
  env?: NodeJS.ProcessEnv,
): Promise<ChildDriver> {
  const child = spawn(process.execPath, [here('./child-allocate.js'), JSON.stringify(opts)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: env ?? process.env,
  });
  let first: string;
  try {
    first = await waitForLine(child, 'child driver', 30_000);
  } catch (e) {
    await killAndWait(child);
    throw e;
  }
  const parsed = JSON.parse(first) as { nets: SandboxNetwork[]; error?: { code?: string; message?: string } };
  return {
    pid: child.pid ?? -1,
    nets: parsed.nets,
    ...(parsed.error ? { error: parsed.error } : {}),
    async release() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.stdin.write('release\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`child driver exited ${code}`);
    },
    kill: () => killAndWait(child),
  };
}

/** What of a slot's network exists on the host right now. */
export async function footprint(
  net: Pick<SandboxNetwork, 'index' | 'netnsName' | 'hostInterface' | 'sandboxInterface'>,
): Promise<string[]> {
  const found: string[] = [];
  if (existsSync(`/var/run/netns/${net.netnsName}`)) found.push('netns');
  if (existsSync(`/sys/class/net/${net.hostInterface}`)) found.push('host veth');
  if (existsSync(`/sys/class/net/${net.sandboxInterface}`)) found.push('sandbox veth on host');
  if (existsSync(`/run/cubby/net/slots/${net.index}`)) found.push('slot file');
  const table = await run('nft', ['list', 'table', 'inet', 'cubby']);
  if (table.includes(`chain sbx${net.index} `)) found.push('chain');
  if (table.includes(`"${net.hostInterface}" :`)) found.push('egress element');
  if (table.includes(`"${net.hostInterface}" .`)) found.push('sources element');
  return found;
}
