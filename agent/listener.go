package main

// Accepting across a checkpoint. Inside gVisor, after a checkpoint and a restore (runsc
// --net-disconnect-ok), an epoll registration made before the checkpoint no longer hears its
// descriptor (gVisor issue 13920: the restored interest is not re-registered with the file's
// waiter queue; fixed upstream in August 2026, not in Debian's runsc). For a listener: measured, the
// agent's Accept stayed parked ("IO wait") for good while connections queued behind it (even curl
// from inside the sandbox got no answer), so the first commands.run after Sandbox.connect hung
// until its 60 s timeout. So the listeners are accepted from with a plain blocking accept(2) on
// a thread of their own, outside the netpoller: a blocking call is restarted after a restore and
// waits afresh. Accepted connections stay outside the netpoller too (blocking_conn.go). (Polling
// Accept with a deadline also worked, but cost ~2 ms of CPU per wake-up inside gVisor.)

import (
	"errors"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type blockingListener struct {
	fd   int
	addr net.Addr
	once sync.Once
}

// blockingAccept takes over ln's socket (ln is closed; its duplicate keeps listening).
func blockingAccept(ln interface {
	net.Listener
	File() (*os.File, error)
}) (*blockingListener, error) {
	f, err := ln.File()
	if err != nil {
		return nil, err
	}
	addr := ln.Addr()
	_ = ln.Close()
	fd := int(f.Fd()) // f.Fd() also puts it in blocking mode; f must stay referenced (finalizer)
	nfd, err := syscall.Dup(fd)
	f.Close()
	if err != nil {
		return nil, err
	}
	syscall.CloseOnExec(nfd)
	if err := syscall.SetNonblock(nfd, false); err != nil {
		syscall.Close(nfd)
		return nil, err
	}
	return &blockingListener{fd: nfd, addr: addr}, nil
}

func (l *blockingListener) Accept() (net.Conn, error) {
	for {
		nfd, _, err := syscall.Accept4(l.fd, syscall.SOCK_CLOEXEC)
		if errors.Is(err, syscall.EINTR) || errors.Is(err, syscall.ECONNABORTED) {
			continue
		}
		if err != nil {
			return nil, err
		}
		kickPoller()
		if _, unix := l.addr.(*net.UnixAddr); unix {
			// The sudo socket: one short exchange with credentials and descriptors attached
			// (ReadMsgUnix), so a *net.UnixConn in the netpoller.
			f := os.NewFile(uintptr(nfd), "accepted")
			c, err := net.FileConn(f)
			f.Close()
			if err != nil {
				continue
			}
			return c, nil
		}
		c, err := newBlockingConn(nfd) // the HTTP server's: outside the netpoller (blocking_conn.go)
		if err != nil {
			continue
		}
		return c, nil
	}
}

// The runtime's own wake-up descriptor (how a new, earlier timer interrupts a thread sleeping in
// epoll_wait) was registered at start, before any checkpoint, so after a restore such a timer may
// wait for the sleeper's earlier timeout. The first connection after a resume comes through
// accept, outside the netpoller: accept interrupts every thread with SIGURG (Go's own preemption
// signal, harmless to it), so epoll_wait returns EINTR and the runtime recomputes its timers.
// At most once a second; a thread in a blocking read or accept restarts it.
var lastKick atomic.Int64 // unix nanoseconds; listeners accept on goroutines of their own

func kickPoller() {
	now := time.Now().UnixNano()
	last := lastKick.Load()
	if now-last < int64(time.Second) || !lastKick.CompareAndSwap(last, now) {
		return
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return
	}
	pid := syscall.Getpid()
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			_ = syscall.Tgkill(pid, tid, syscall.SIGURG)
		}
	}
}

// Close shuts the socket down first: that ends an accept(2) blocked on it (close alone would not).
// Once only: a second close(2) could close a descriptor number reused since.
func (l *blockingListener) Close() error {
	err := net.ErrClosed
	l.once.Do(func() {
		_ = syscall.Shutdown(l.fd, syscall.SHUT_RDWR)
		err = syscall.Close(l.fd)
	})
	return err
}

func (l *blockingListener) Addr() net.Addr { return l.addr }
