package main

// One reaper for every child: the agent may be PID 1, so it must collect orphans too. A fork runs
// outside the reaper's lock (inside gVisor it takes 2-25 ms, and a reap held up behind it delayed
// another command's end by as much); while any fork is in flight, a status reaped for a pid
// nobody has registered yet is kept for the spawner, so no exit status is lost or stolen.

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

type reaper struct {
	mu      sync.Mutex
	waiters map[int]func(syscall.WaitStatus)
	forking int                        // forks in flight
	unowned map[int]syscall.WaitStatus // reaped while forking > 0, not (yet) registered
}

func newReaper() *reaper {
	rp := &reaper{waiters: map[int]func(syscall.WaitStatus){}, unowned: map[int]syscall.WaitStatus{}}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGCHLD)
	go func() {
		for range sigs {
			rp.reap()
		}
	}()
	go serveSudo(rp)
	return rp
}

func (rp *reaper) reap() {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return
		}
		if fn, ok := rp.waiters[pid]; ok {
			delete(rp.waiters, pid)
			go fn(ws)
		} else if rp.forking > 0 {
			rp.unowned[pid] = ws
		}
	}
}

// spawn runs start (a fork/exec) and registers onExit for the new pid; if the child was reaped
// before that, onExit runs at once.
func (rp *reaper) spawn(start func() (int, error), onExit func(syscall.WaitStatus)) (int, error) {
	rp.mu.Lock()
	rp.forking++
	rp.mu.Unlock()
	pid, err := start()
	rp.mu.Lock()
	defer rp.mu.Unlock()
	rp.forking--
	if err == nil {
		if ws, ok := rp.unowned[pid]; ok {
			delete(rp.unowned, pid)
			go onExit(ws)
		} else {
			rp.waiters[pid] = onExit
		}
	}
	if rp.forking == 0 && len(rp.unowned) > 0 {
		rp.unowned = map[int]syscall.WaitStatus{} // orphans' statuses: nobody will claim them
	}
	return pid, err
}

// exitInfo renders a wait status the way Go's ProcessState does ("exit status 1", "signal: killed").
func exitInfo(ws syscall.WaitStatus) (code int, exited bool, status string) {
	switch {
	case ws.Exited():
		return ws.ExitStatus(), true, "exit status " + itoa(ws.ExitStatus())
	case ws.Signaled():
		s := "signal: " + ws.Signal().String()
		if ws.CoreDump() {
			s += " (core dumped)"
		}
		return -1, false, s
	}
	return -1, false, "unknown wait status"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
