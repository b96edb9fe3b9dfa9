/**
 * Attacker programs run inside a microVM (through sandbox-shell.ts), each printing one JSON
 * line: what the sandbox can see of its own network, which addresses it can connect to, and
 * which processes it can see, signal or trace.
 */
import assert from 'node:assert/strict';
import { sandboxPython, type ShellTarget } from './sandbox-shell.js';

export type ConnectOutcome = 'open' | 'refused' | 'timeout' | `error:${string}`;

async function pyJson<T>(target: ShellTarget, id: string, token: string, program: string, timeoutMs = 60_000): Promise<T> {
  const r = await sandboxPython(target, id, token, program, timeoutMs);
  assert.equal(r.code, 0, `probe failed in ${id}:\n${r.output}`);
  const line = r.output
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  assert.ok(line, `probe printed no JSON in ${id}:\n${r.output}`);
  return JSON.parse(line) as T;
}

/** The sandbox's own address and its default gateway (the host side of its /30). */
export function selfNetwork(target: ShellTarget, id: string, token: string): Promise<{ address: string; gateway: string }> {
  return pyJson(
    target,
    id,
    token,
    `
import json, socket, struct
gw = None
for line in open('/proc/net/route').read().splitlines()[1:]:
    f = line.split()
    if f[1] == '00000000':
        gw = socket.inet_ntoa(struct.pack('<L', int(f[2], 16)))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((gw, 9))
print(json.dumps({'address': s.getsockname()[0], 'gateway': gw}))
`,
  );
}

/**
 * TCP connects to every target in parallel (1.5 s timeout each); with `banner`, an open
 * connection also reports the first bytes the server sends.
 */
export function connectProbe(
  target: ShellTarget,
  id: string,
  token: string,
  targets: Array<[string, number]>,
): Promise<Record<string, { outcome: ConnectOutcome; banner?: string }>> {
  return pyJson(
    target,
    id,
    token,
    `
import json, socket
from concurrent.futures import ThreadPoolExecutor
def probe(t):
    host, port = t
    s = socket.socket(); s.settimeout(1.5)
    try:
        s.connect((host, port))
        try:
            s.settimeout(0.5); b = s.recv(64).decode('latin1')
        except Exception:
            b = ''
        return ('%s:%d' % (host, port), {'outcome': 'open', 'banner': b})
    except socket.timeout:
        return ('%s:%d' % (host, port), {'outcome': 'timeout'})
    except ConnectionRefusedError:
        return ('%s:%d' % (host, port), {'outcome': 'refused'})
    except OSError as e:
        return ('%s:%d' % (host, port), {'outcome': 'error:%s' % e.errno})
    finally:
        s.close()
with ThreadPoolExecutor(len(${JSON.stringify(targets)}) or 1) as ex:
    print(json.dumps(dict(ex.map(probe, ${JSON.stringify(targets)}))))
`,
  );
}

export interface ProcessProbe {
  /** pid -> command line, for every process visible in /proc. */
  visible: Record<string, string>;
  /** For each target pid: the errno name of kill(pid, SIGKILL) and of ptrace(PTRACE_ATTACH, pid), or 'ok'. */
  kill: Record<string, string>;
  ptrace: Record<string, string>;
}

/** Lists /proc, then tries to SIGKILL and ptrace-attach each of `pids` (numbers from outside). */
export function processProbe(target: ShellTarget, id: string, token: string, pids: number[]): Promise<ProcessProbe> {
  return pyJson(
    target,
    id,
    token,
    `
import ctypes, errno, json, os
visible = {}
for p in os.listdir('/proc'):
    if p.isdigit():
        try:
            visible[p] = open('/proc/%s/cmdline' % p, 'rb').read().replace(b'\\0', b' ').decode('latin1').strip()
        except Exception as e:
            visible[p] = '?' + str(e)
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
kill, trace = {}, {}
for pid in ${JSON.stringify(pids)}:
    try:
        os.kill(pid, 9); kill[str(pid)] = 'ok'
    except OSError as e:
        kill[str(pid)] = errno.errorcode.get(e.errno, str(e.errno))
    if libc.ptrace(16, pid, None, None) == 0:
        trace[str(pid)] = 'ok'; libc.ptrace(17, pid, None, None)
    else:
        trace[str(pid)] = errno.errorcode.get(ctypes.get_errno(), '?')
print(json.dumps({'visible': visible, 'kill': kill, 'ptrace': trace}))
`,
  );
}
