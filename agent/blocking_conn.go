package main

// Connections outside Go's netpoller. After a gVisor restore the agent's epoll instance is not to
// be trusted (gVisor issue 13920 and the ready-list corruption fixed in gVisor PR 14147, neither
// in Debian's runsc): measured, a request arriving on a kept-alive connection accepted after the
// resume was never read, about once in eight resumes, while the agent logged nothing. So every
// accepted connection is a blocking socket served by plain read(2)/write(2) on a thread of its
// own (the runtime adds threads for blocking calls); a blocking call is restarted after a restore.
//
// Deadlines are not supported (SetDeadline and friends do nothing): net/http uses them for its
// header and idle timeouts, which this agent then does without (the gateway closes its idle
// connections after a few seconds), and to cut short its background read when a handler ends,
// which instead ends when the client's next request or EOF arrives, as it would anyway.

import (
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

type blockingConn struct {
	f      *os.File
	local  net.Addr
	remote net.Addr
	once   sync.Once
}

// newBlockingConn takes over fd, an accepted TCP socket, and puts it in blocking mode.
func newBlockingConn(fd int) (*blockingConn, error) {
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	c := &blockingConn{}
	if sa, err := syscall.Getsockname(fd); err == nil {
		c.local = tcpAddr(sa)
	}
	if sa, err := syscall.Getpeername(fd); err == nil {
		c.remote = tcpAddr(sa)
	}
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	// A blocking descriptor stays out of the netpoller: os.File then reads and writes with plain
	// system calls, and its reference count keeps Close from freeing the number under a reader.
	c.f = os.NewFile(uintptr(fd), "tcp")
	return c, nil
}

func tcpAddr(sa syscall.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *syscall.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	}
	return &net.TCPAddr{}
}

func (c *blockingConn) Read(b []byte) (int, error)  { return c.f.Read(b) }
func (c *blockingConn) Write(b []byte) (int, error) { return c.f.Write(b) }

// Close shuts the socket down first: that wakes a read blocked on it (close alone would not),
// and the descriptor is freed once that read has returned.
func (c *blockingConn) Close() error {
	var err error
	c.once.Do(func() {
		_ = c.shutdown(syscall.SHUT_RDWR)
		err = c.f.Close()
	})
	return err
}

// CloseWrite half-closes, as net/http does before it closes a connection it will not reuse.
func (c *blockingConn) CloseWrite() error { return c.shutdown(syscall.SHUT_WR) }

func (c *blockingConn) shutdown(how int) error {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Shutdown(int(fd), how) }); err != nil {
		return err
	}
	return serr
}

func (c *blockingConn) LocalAddr() net.Addr                { return c.local }
func (c *blockingConn) RemoteAddr() net.Addr               { return c.remote }
func (c *blockingConn) SetDeadline(_ time.Time) error      { return nil }
func (c *blockingConn) SetReadDeadline(_ time.Time) error  { return nil }
func (c *blockingConn) SetWriteDeadline(_ time.Time) error { return nil }
