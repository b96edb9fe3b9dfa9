package main

// Pre-started login shells for commands.run. Measured inside gVisor (systrap, this project's
// runtime): one fork+exec costs 25-35 ms, and `/bin/bash -l -c CMD` ~80 ms before CMD runs (bash's
// exec, then Debian's /etc/profile, which itself execs `id -u`). envd's convention is exactly
// that login shell, so its cost cannot be skipped, only moved off the request path: a zygote is
// the same `/bin/bash -l` with the same user, environment, working directory (the home) and
// process group, started ahead of time. Its login profile has already run, its stdio are pipes
// the agent holds, and it waits on fd 3 for the command text, which it then evals; it becomes
// the command's process (same pid). Only a request a zygote can serve faithfully uses one
// (`/bin/bash -l -c CMD`, no terminal, no per-call env vars, the default working directory);
// every other start, or one that finds no zygote ready, forks as before. At most one zygote per
// user exists, started only after that user's first command, and replaced after each use.

import (
	"os"
	"strings"
	"syscall"
	"time"
)

// zygoteLoader runs after the login profile: read "<stdin flag>\0<command>\0" from fd 3, then
// run the command as `bash -c` would (its shell variables unset first).
const zygoteLoader = `IFS= read -r -d '' __cubby_in <&3 && IFS= read -r -d '' __cubby_cmd <&3 || exit 111
exec 3<&-
[ "$__cubby_in" = 1 ] || exec </dev/null
eval "unset __cubby_in __cubby_cmd
$__cubby_cmd"`

// zygoteMaxCmd: bash reads fd 3 a byte at a time, so long command texts take the ordinary path.
const zygoteMaxCmd = 16 * 1024

type zygote struct {
	p                   *process
	gen                 uint64
	ctl, in, outR, errR *os.File
	cwd                 string
}

func (z *zygote) discard() {
	_ = z.p.signal(syscall.SIGKILL)
	for _, f := range []*os.File{z.ctl, z.in, z.outR, z.errR} {
		f.Close()
	}
}

// zygoteCommand is CMD when a request is `/bin/bash -l -c CMD` as commands.run sends it.
func zygoteCommand(o startOptions) (string, bool) {
	c := o.config
	if o.pty != nil || c.Cmd != "/bin/bash" || len(c.Args) != 3 || c.Args[0] != "-l" || c.Args[1] != "-c" {
		return "", false
	}
	if len(c.Envs) > 0 || (c.Cwd != nil && *c.Cwd != "") || len(c.Args[2]) > zygoteMaxCmd || strings.IndexByte(c.Args[2], 0) >= 0 {
		return "", false
	}
	return c.Args[2], true
}

// takeZygote hands a start request to the user's zygote; ok is false when none could take it
// (the caller then forks). Either way, start prepares a fresh zygote (refillAfter).
func (m *processManager) takeZygote(o startOptions) (*process, *subscriber, bool) {
	cmd, eligible := zygoteCommand(o)
	if !eligible {
		return nil, nil, false
	}
	m.zmu.Lock()
	z := m.zygotes[o.acc.Name]
	delete(m.zygotes, o.acc.Name)
	stale := z != nil && z.gen != m.zgen
	m.zmu.Unlock()
	if z == nil {
		return nil, nil, false
	}
	if stale || z.cwd != defaultCwd(o.acc) {
		z.discard()
		return nil, nil, false
	}
	p := z.p
	p.config = o.config
	p.tag = o.tag
	m.mu.Lock()
	select {
	case <-p.done:
		m.mu.Unlock()
		z.discard()
		return nil, nil, false
	default:
	}
	m.procs[p.pid] = p
	first, _ := p.subscribe()
	m.mu.Unlock()
	flag := "0"
	if o.stdin {
		flag = "1"
		p.stdin = z.in
	} else {
		z.in.Close()
	}
	// Readers first (counted at spawn), so no byte is lost; the pipes already hold whatever the
	// login profile printed, which `bash -l -c` would have printed too.
	go p.drain(z.outR, func(b []byte) *dataEvent { return &dataEvent{Stdout: b} })
	go p.drain(z.errR, func(b []byte) *dataEvent { return &dataEvent{Stderr: b} })
	_, err := z.ctl.Write([]byte(flag + "\x00" + cmd + "\x00"))
	z.ctl.Close()
	if err != nil {
		// It died before taking the command (EPIPE): forget it and fork instead.
		p.unsubscribe(first)
		_ = p.signal(syscall.SIGKILL)
		m.mu.Lock()
		if m.procs[p.pid] == p {
			delete(m.procs, p.pid)
		}
		m.mu.Unlock()
		return nil, nil, false
	}
	return p, first, true
}

func defaultCwd(acc *account) string {
	if fi, err := os.Stat(acc.Home); err == nil && fi.IsDir() {
		return acc.Home
	}
	return "/"
}

// refillAfter prepares the user's next zygote once p (the command just started for an eligible
// request) has ended, or after zygoteRefillDelay if it runs on. Measured inside gVisor, a refill
// (fork+exec of bash, its login profile, which execs `id -u`) is ~80 ms of CPU; started beside
// a short command, as it was when taken, it held that command up (traced in the agent: 10-22 ms
// from request to end, against 4-10 ms once the refill waited; the fork also held the reaper).
func (m *processManager) refillAfter(acc *account, p *process) {
	go func() {
		t := time.NewTimer(zygoteRefillDelay)
		defer t.Stop()
		select {
		case <-p.done:
		case <-t.C:
		}
		m.refillZygote(acc)
	}()
}

// zygoteRefillDelay bounds how long a long-running command postpones the next zygote. (A request
// that finds the zygote still being forked forks on its own rather than wait: measured, two
// login shells starting side by side on two host cores end sooner than one after the other.)
const zygoteRefillDelay = 100 * time.Millisecond

// refillZygote starts the user's next zygote in the background, unless one exists or is starting.
func (m *processManager) refillZygote(acc *account) {
	m.zmu.Lock()
	if _, ok := m.zygotes[acc.Name]; ok || m.zstarting[acc.Name] {
		m.zmu.Unlock()
		return
	}
	m.zstarting[acc.Name] = true
	gen := m.zgen
	m.zmu.Unlock()
	go func() {
		z, err := m.spawnZygote(acc, gen)
		m.zmu.Lock()
		delete(m.zstarting, acc.Name)
		keep := err == nil && gen == m.zgen
		if keep {
			m.zygotes[acc.Name] = z
		}
		m.zmu.Unlock()
		if err == nil && !keep {
			z.discard()
		}
	}()
}

// dropZygotes retires every zygote: the sandbox's env vars changed, which they were started with.
func (m *processManager) dropZygotes() {
	m.zmu.Lock()
	m.zgen++
	old := m.zygotes
	m.zygotes = map[string]*zygote{}
	m.zmu.Unlock()
	for _, z := range old {
		z.discard()
	}
}

func (m *processManager) spawnZygote(acc *account, gen uint64) (*zygote, error) {
	cwd := defaultCwd(acc)
	env, _ := buildEnv(acc, m.agent.sandboxEnv(), nil)
	z := &zygote{gen: gen, cwd: cwd}
	var inR, outW, errW, ctlR *os.File
	closeAll := func(fs ...*os.File) {
		for _, f := range fs {
			if f != nil {
				f.Close()
			}
		}
	}
	var err error
	if inR, z.in, err = blockingPipe(); err == nil {
		if z.outR, outW, err = blockingPipe(); err == nil {
			if z.errR, errW, err = blockingPipe(); err == nil {
				ctlR, z.ctl, err = blockingPipe()
			}
		}
	}
	if err != nil {
		closeAll(inR, z.in, z.outR, outW, z.errR, errW)
		return nil, err
	}
	sys := &syscall.SysProcAttr{Setpgid: true}
	if os.Geteuid() == 0 && (acc.UID != 0 || acc.GID != os.Getegid()) {
		sys.Credential = &syscall.Credential{Uid: uint32(acc.UID), Gid: uint32(acc.GID), Groups: acc.Groups}
	}
	p := &process{subs: map[*subscriber]struct{}{}, done: make(chan struct{})}
	p.readers.Add(2) // before it can exit: finish waits for the readers takeZygote starts
	fds := []uintptr{inR.Fd(), outW.Fd(), errW.Fd(), ctlR.Fd()}
	argv := []string{"/bin/bash", "-l", "-c", zygoteLoader}
	pid, err := m.agent.reaper.spawn(func() (int, error) {
		return syscall.ForkExec("/bin/bash", argv, &syscall.ProcAttr{Dir: cwd, Env: env, Files: fds, Sys: sys})
	}, func(ws syscall.WaitStatus) { m.finish(p, ws) })
	closeAll(inR, outW, errW, ctlR)
	if err != nil {
		closeAll(z.in, z.outR, z.errR, z.ctl)
		return nil, err
	}
	p.pid = pid
	z.p = p
	return z, nil
}

// blockingPipe is a pipe outside Go's netpoller (blocking reads on their own thread). After a
// gVisor restore, an epoll registration made before the checkpoint no longer hears its
// descriptor (gVisor issue 13920, fixed upstream in 2026, not in Debian's runsc; see listener.go):
// measured, a zygote's command ran and exited while its output was never read, and a background
// process started before a pause went on writing to a pipe nobody read. Every pipe and terminal
// the agent reads from a process is therefore blocking.
func blockingPipe() (r, w *os.File, err error) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1"), nil
}
