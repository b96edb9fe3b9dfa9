/**
 * A tiny HTTP / Connect-JSON client run INSIDE a sandbox with `runsc exec ... python3 -c`, so a
 * sandbox with --network=none (loopback only) can be driven without any host networking.
 * Modes: `unary PATH JSON`, `stream PATH JSON N` (the first N messages, then it disconnects),
 * `usage` (of PID 1: VmRSS and its anonymous part in KiB, utime+stime in clock ticks).
 */
export const PY_CLIENT = String.raw`
import sys, json, struct, http.client
mode = sys.argv[1]
if mode == 'usage':
    rss = [l.split()[1] for l in open('/proc/1/status') if l.startswith('VmRSS:')][0]
    anon, name = 0, ''
    for l in open('/proc/1/smaps'):
        parts = l.split()
        if '-' in parts[0] and len(parts) >= 5 and ':' not in parts[0]:
            name = parts[5] if len(parts) > 5 else ''
        elif parts[0] == 'Rss:' and not name.startswith('/'):
            anon += int(parts[1])
    f = open('/proc/1/stat').read().rsplit(')', 1)[1].split()
    print(json.dumps({'rssKiB': int(rss), 'anonKiB': anon, 'ticks': int(f[11]) + int(f[12])}))
    sys.exit(0)
path, body = sys.argv[2], sys.argv[3]
c = http.client.HTTPConnection('127.0.0.1', 49983, timeout=20)
if mode == 'unary':
    c.request('POST', path, body, {'Content-Type': 'application/json'})
    r = c.getresponse()
    print(json.dumps({'status': r.status, 'json': json.loads(r.read() or b'{}')}))
else:
    want = int(sys.argv[4])
    p = body.encode()
    c.request('POST', path, b'\x00' + struct.pack('>I', len(p)) + p, {'Content-Type': 'application/connect+json'})
    r = c.getresponse()
    msgs, end = [], None
    while len(msgs) < want:
        h = r.read(5)
        if len(h) < 5:
            break
        m = json.loads(r.read(struct.unpack('>I', h[1:])[0]))
        if h[0] & 2:
            end = m
            break
        msgs.append(m)
    print(json.dumps({'status': r.status, 'messages': msgs, 'end': end}))
c.close()
`;
