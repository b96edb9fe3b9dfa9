/**
 * The excess cases of issue 10 as Python cells, and what the offender must see for each: shared
 * by the runtime-level test (test/faults/excess.test.ts) and the endpoint-level one.
 */
export const EXCESS: Record<string, string> = {
  // Children count against the cap until reaped: the cell cleans up after itself, as a harness would.
  'fork loop': `
import os, time, errno, signal
kids = []
try:
    while True:
        p = os.fork()
        if p == 0:
            time.sleep(60); os._exit(0)
        kids.append(p)
except OSError as e:
    print('fork failed', errno.errorcode.get(e.errno), 'after', len(kids))
for p in kids: os.kill(p, signal.SIGKILL)
for p in kids: os.waitpid(p, 0)
`,
  '3 GiB write': `
import os, errno
n = 0
try:
    with open('/var/tmp/big', 'wb') as f:
        while n < 3072:
            f.write(b'x' * (1 << 20)); n += 1
        f.flush(); os.fsync(f.fileno())
    print('wrote', n, 'MiB')
except OSError as e:
    print('write failed', errno.errorcode.get(e.errno), 'after', n, 'MiB')
os.remove('/var/tmp/big')
`,
  'memory hog': `
l = []
try:
    while True: l.append(b'\\x01' * (64 << 20))
except MemoryError:
    print('MemoryError after', len(l) * 64, 'MiB')
l = None
`,
  // Threads parked on an event (no timers): they all live at once, then all end.
  'thread explosion': `
import threading
ev = threading.Event(); ts = []
try:
    while True:
        t = threading.Thread(target=ev.wait, daemon=True); t.start(); ts.append(t)
except RuntimeError as e:
    print('thread failed after', len(ts), e)
ev.set()
for t in ts: t.join()
`,
  'many open files': `
import os, errno
fds = []
try:
    while True: fds.append(os.open('/etc/hostname', os.O_RDONLY))
except OSError as e:
    print('open failed', errno.errorcode.get(e.errno), 'after', len(fds))
for fd in fds: os.close(fd)
`,
};

/** What each cell prints when its excess is refused (64 tasks at 1024 MiB: one per 16 MiB). */
export const EXPECT: Record<string, RegExp> = {
  'fork loop': /fork failed EAGAIN after ([3-5]\d|6[0-3])\b/,
  '3 GiB write': /write failed ENOSPC after \d+ MiB/,
  'memory hog': /MemoryError after \d+ MiB/,
  // Bounded by RLIMIT_NPROC too (not by RLIMIT_AS first: the runtime sets MALLOC_ARENA_MAX).
  'thread explosion': /thread failed after ([3-5]\d|6[0-3]) can't start new thread/,
  'many open files': /open failed EMFILE after \d+/,
};
