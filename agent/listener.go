package main

// Accepting across a checkpoint. Inside gVisor, after a checkpoint and a restore (runsc
// --net-disconnect-ok), a listening socket's netpoller (epoll) wake-up can be lost: measured, the
// agent's Accept stayed parked ("IO wait") for good while connections queued behind it (even curl
// from inside the sandbox got no answer), so the first commands.run after Sandbox.connect hung
// until its 60 s timeout. So the listeners are accepted from with a plain blocking accept(2) on
// a thread of their own, outside the netpoller: a blocking call is restarted after a restore and
// waits afresh. Accepted connections join the netpoller as new descriptors. (Polling Accept with
// a deadline also worked, but cost ~2 ms of CPU per wake-up inside gVisor.)

import (
	"errors"
	"net"
	"os"
	"syscall"
)

type blockingListener struct {
	fd   int
	addr net.Addr
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
		f := os.NewFile(uintptr(nfd), "accepted")
		c, err := net.FileConn(f) // a non-blocking duplicate in the netpoller
		f.Close()
		if err != nil {
			continue
		}
		return c, nil
	}
}

func (l *blockingListener) Close() error   { return syscall.Close(l.fd) }
func (l *blockingListener) Addr() net.Addr { return l.addr }
