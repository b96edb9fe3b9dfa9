package main

// Processes the agent starts for its callers (process.Process). A process belongs to the agent,
// not to the call that started it: it keeps running, and its output keeps being drained, when
// every client has gone; clients attach and detach at will (live output only, as envd does).

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// subscriberQueue bounds what one slow client may hold back; past it that client is cut off
// (the process itself is never slowed down).
const subscriberQueue = 4096

type processConfig struct {
	Cmd  string            `json:"cmd"`
	Args []string          `json:"args"`
	Envs map[string]string `json:"envs"`
	Cwd  *string           `json:"cwd,omitempty"`
}

type ptySize struct {
	Size struct {
		Cols uint16 `json:"cols"`
		Rows uint16 `json:"rows"`
	} `json:"size"`
}

type event struct {
	Start     *startEvent `json:"start,omitempty"`
	Data      *dataEvent  `json:"data,omitempty"`
	End       *endEvent   `json:"end,omitempty"`
	Keepalive *struct{}   `json:"keepalive,omitempty"`
}

type startEvent struct {
	Pid int `json:"pid"`
}

type dataEvent struct {
	Stdout []byte `json:"stdout,omitempty"`
	Stderr []byte `json:"stderr,omitempty"`
	Pty    []byte `json:"pty,omitempty"`
}

type endEvent struct {
	ExitCode int     `json:"exitCode"`
	Exited   bool    `json:"exited"`
	Status   string  `json:"status"`
	Error    *string `json:"error,omitempty"`
}

type subscriber struct {
	ch       chan *event
	overflow bool
}

type process struct {
	pid    int
	tag    string
	config processConfig
	stdin  *os.File // nil when stdin is off or closed
	pty    *os.File

	mu       sync.Mutex
	wmu      sync.Mutex // orders writes to stdin or the terminal
	subs     map[*subscriber]struct{}
	ended    *endEvent
	lastRead time.Time
	readers  sync.WaitGroup
	done     chan struct{}
}

func (p *process) subscribe() (*subscriber, *endEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended != nil {
		return nil, p.ended
	}
	s := &subscriber{ch: make(chan *event, subscriberQueue)}
	p.subs[s] = struct{}{}
	return s, nil
}

func (p *process) unsubscribe(s *subscriber) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.subs[s]; ok {
		delete(p.subs, s)
		close(s.ch)
	}
}

func (p *process) publish(ev *event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev.Data != nil {
		p.lastRead = time.Now()
	}
	if p.ended != nil {
		return // output of leftover descendants after the end: drained, not delivered
	}
	for s := range p.subs {
		select {
		case s.ch <- ev:
		default:
			s.overflow = true
			delete(p.subs, s)
			close(s.ch)
		}
	}
}

// drain reads f until EOF (or EIO: a PTY whose last slave closed), publishing each chunk.
func (p *process) drain(f *os.File, wrap func([]byte) *dataEvent) {
	defer p.readers.Done()
	buf := make([]byte, 32*1024)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			chunk := make([]byte, n)
			copy(chunk, buf[:n])
			p.publish(&event{Data: wrap(chunk)})
		}
		if err != nil {
			if p.pty != f {
				f.Close()
			}
			return
		}
	}
}

type processManager struct {
	agent *agent
	mu    sync.Mutex
	procs map[int]*process

	zmu       sync.Mutex
	zygotes   map[string]*zygote // by user name; see zygote.go
	zstarting map[string]bool
	zgen      uint64 // bumped when the sandbox's env vars change
}

func newProcessManager(a *agent) *processManager {
	return &processManager{agent: a, procs: map[int]*process{}, zygotes: map[string]*zygote{}, zstarting: map[string]bool{}}
}

func (m *processManager) get(pid int, tag string) (*process, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if pid != 0 {
		if p, ok := m.procs[pid]; ok {
			return p, nil
		}
		return nil, errorf("not_found", "process with pid %d not found", pid)
	}
	if tag != "" {
		for _, p := range m.procs {
			if p.tag == tag {
				return p, nil
			}
		}
		return nil, errorf("not_found", "process with tag %q not found", tag)
	}
	return nil, errorf("invalid_argument", "a pid or tag is required")
}

func (m *processManager) list() []*process {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*process, 0, len(m.procs))
	for _, p := range m.procs {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pid < out[j].pid })
	return out
}

// lookPath finds cmd on the process's PATH (commands without a slash).
func lookPath(cmd, path string) (string, error) {
	if strings.Contains(cmd, "/") {
		return cmd, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, cmd)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errorf("invalid_argument", "command %q not found in PATH", cmd)
}

// buildEnv: a login-like base for the user, then the sandbox's env vars (run hook), then the call's.
func buildEnv(acc *account, global, own map[string]string) ([]string, string) {
	env := map[string]string{
		"PATH": defaultPath, "HOME": acc.Home, "USER": acc.Name, "LOGNAME": acc.Name,
	}
	for k, v := range global {
		env[k] = v
	}
	for k, v := range own {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out, env["PATH"]
}

type startOptions struct {
	config processConfig
	tag    string
	pty    *ptySize
	stdin  bool
	acc    *account
}

// start launches a process and returns it with a first subscriber already attached, so the
// caller sees every byte of output.
func (m *processManager) start(o startOptions) (*process, *subscriber, error) {
	if o.config.Cmd == "" {
		return nil, nil, errorf("invalid_argument", "process.cmd is required")
	}
	if _, eligible := zygoteCommand(o); eligible {
		p, first, ok := m.takeZygote(o)
		if !ok {
			p, first, err := m.fork(o)
			if err == nil {
				m.refillAfter(o.acc, p)
			}
			return p, first, err
		}
		m.refillAfter(o.acc, p)
		return p, first, nil
	}
	return m.fork(o)
}

// fork starts a new process for the request (no zygote).
func (m *processManager) fork(o startOptions) (*process, *subscriber, error) {
	cwd := o.acc.Home
	if o.config.Cwd != nil && *o.config.Cwd != "" {
		c, err := resolvePath(*o.config.Cwd, o.acc.Home)
		if err != nil {
			return nil, nil, err
		}
		cwd = c
	}
	if fi, err := os.Stat(cwd); err != nil || !fi.IsDir() {
		if o.config.Cwd != nil && *o.config.Cwd != "" {
			return nil, nil, errorf("invalid_argument", "cwd %q is not an existing directory", cwd)
		}
		cwd = "/"
	}
	env, path := buildEnv(o.acc, m.agent.sandboxEnv(), o.config.Envs)
	argv0, err := lookPath(o.config.Cmd, path)
	if err != nil {
		return nil, nil, err
	}

	p := &process{tag: o.tag, config: o.config, subs: map[*subscriber]struct{}{}, done: make(chan struct{})}
	sys := &syscall.SysProcAttr{}
	// Switching user needs CAP_SETUID/CAP_SETGID; running as the agent's own user needs nothing.
	if os.Geteuid() == 0 && (o.acc.UID != 0 || o.acc.GID != os.Getegid()) {
		sys.Credential = &syscall.Credential{Uid: uint32(o.acc.UID), Gid: uint32(o.acc.GID), Groups: o.acc.Groups}
	}
	var files []*os.File      // the child's 0, 1, 2
	var closeAfter []*os.File // our copies of the child's ends
	var outR, errR *os.File
	fail := func(err error) (*process, *subscriber, error) {
		for _, f := range append(closeAfter, outR, errR, p.stdin, p.pty) {
			if f != nil {
				f.Close()
			}
		}
		return nil, nil, err
	}
	if o.pty != nil {
		master, slave, err := openPTY(o.pty.Size.Cols, o.pty.Size.Rows)
		if err != nil {
			return fail(errorf("internal", "opening a terminal: %v", err))
		}
		p.pty = master
		closeAfter = append(closeAfter, slave)
		files = []*os.File{slave, slave, slave}
		sys.Setsid, sys.Setctty, sys.Ctty = true, true, 0
	} else {
		var in *os.File
		if o.stdin {
			r, w, err := blockingPipe()
			if err != nil {
				return fail(err)
			}
			in, p.stdin = r, w
		} else if in, err = os.Open(os.DevNull); err != nil {
			return fail(err)
		}
		closeAfter = append(closeAfter, in)
		var outW, errW *os.File
		if outR, outW, err = blockingPipe(); err != nil {
			return fail(err)
		}
		closeAfter = append(closeAfter, outW)
		if errR, errW, err = blockingPipe(); err != nil {
			return fail(err)
		}
		closeAfter = append(closeAfter, errW)
		files = []*os.File{in, outW, errW}
		sys.Setpgid = true // its own group, so a signal reaches what it started too
	}
	fds := make([]uintptr, len(files))
	for i, f := range files {
		fds[i] = f.Fd()
	}
	args := append([]string{o.config.Cmd}, o.config.Args...)
	// Readers are counted before the child can exit, so finish always waits for its output.
	if p.pty != nil {
		p.readers.Add(1)
	} else {
		p.readers.Add(2)
	}
	m.mu.Lock()
	pid, err := m.agent.reaper.spawn(func() (int, error) {
		return syscall.ForkExec(argv0, args, &syscall.ProcAttr{Dir: cwd, Env: env, Files: fds, Sys: sys})
	}, func(ws syscall.WaitStatus) { m.finish(p, ws) })
	if err != nil {
		m.mu.Unlock()
		return fail(errorf("invalid_argument", "starting %s: %v", o.config.Cmd, err))
	}
	p.pid = pid
	m.procs[pid] = p
	first, _ := p.subscribe()
	m.mu.Unlock()
	for _, f := range closeAfter {
		f.Close()
	}
	if p.pty != nil {
		go p.drain(p.pty, func(b []byte) *dataEvent { return &dataEvent{Pty: b} })
	} else {
		go p.drain(outR, func(b []byte) *dataEvent { return &dataEvent{Stdout: b} })
		go p.drain(errR, func(b []byte) *dataEvent { return &dataEvent{Stderr: b} })
	}
	return p, first, nil
}

// finish runs once the process has exited: it waits for the output still in the pipes (until
// EOF, or until they stay quiet while some leftover descendant keeps them open), then ends
// every attached stream and forgets the process.
func (m *processManager) finish(p *process, ws syscall.WaitStatus) {
	drained := make(chan struct{})
	go func() { p.readers.Wait(); close(drained) }()
	quiet := 100 * time.Millisecond
	exitedAt := time.Now()
wait:
	for {
		select {
		case <-drained:
			break wait
		case <-time.After(20 * time.Millisecond):
			p.mu.Lock()
			last := p.lastRead
			p.mu.Unlock()
			if last.Before(exitedAt) {
				last = exitedAt
			}
			if time.Since(last) > quiet {
				break wait
			}
		}
	}
	code, exited, status := exitInfo(ws)
	end := &endEvent{ExitCode: code, Exited: exited, Status: status}
	m.mu.Lock()
	if m.procs[p.pid] == p { // a pid reused since the exit belongs to another process
		delete(m.procs, p.pid)
	}
	m.mu.Unlock()
	p.mu.Lock()
	for s := range p.subs {
		select {
		case s.ch <- &event{End: end}:
		default:
			s.overflow = true
		}
		close(s.ch)
		delete(p.subs, s)
	}
	p.ended = end
	if p.stdin != nil {
		p.stdin.Close()
		p.stdin = nil
	}
	p.mu.Unlock()
	close(p.done)
	if p.pty != nil {
		// The master stays open while leftover descendants hold the terminal; once they are gone
		// its reader ends and the master can go.
		go func() { p.readers.Wait(); p.pty.Close() }()
	}
}

func (p *process) signal(sig syscall.Signal) error {
	// The process leads its own group (Setpgid / Setsid): signal the group, or the process alone
	// if it left it.
	if err := syscall.Kill(-p.pid, sig); err != nil {
		if err := syscall.Kill(p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
	}
	return nil
}

func (p *process) write(b []byte, toPTY bool) error {
	p.mu.Lock()
	f := p.stdin
	if toPTY {
		f = p.pty
	}
	ended := p.ended != nil
	p.mu.Unlock()
	if ended {
		return errorf("not_found", "process %d has ended", p.pid)
	}
	if f == nil {
		if toPTY {
			return errorf("failed_precondition", "process %d has no terminal", p.pid)
		}
		return errorf("failed_precondition", "process %d has no open stdin", p.pid)
	}
	return p.writeWithin(f, b, 10*time.Second)
}

// writeWithin writes b in order with other writes, answering within d. The descriptors are
// blocking (outside the netpoller, see blockingPipe), so a write to a process that does not read
// waits on its own goroutine; past d the caller hears so, and the bytes still go in order.
func (p *process) writeWithin(f *os.File, b []byte, d time.Duration) error {
	done := make(chan error, 1)
	go func() {
		p.wmu.Lock()
		defer p.wmu.Unlock()
		_, err := f.Write(b)
		done <- err
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return errorf("internal", "writing to process %d: %v", p.pid, err)
		}
		return nil
	case <-t.C:
		return errorf("deadline_exceeded", "process %d did not read its input within %s", p.pid, d)
	}
}

func (p *process) closeStdin() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stdin == nil {
		if p.pty != nil {
			return errorf("failed_precondition", "process %d has a terminal, not a stdin pipe", p.pid)
		}
		return nil // already closed, or never open: EOF either way
	}
	err := p.stdin.Close()
	p.stdin = nil
	return err
}
