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
	"io"
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

// copyBufSize: what one read(2)/write(2) of a body moves. Inside gVisor every system call is a
// trap into the sentry, so a 10 MiB transfer in 32 KiB pieces (io.Copy's) costs 320 of them each way.
const copyBufSize = 256 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// ReadFrom lets net/http hand a download's file to the socket (response.ReadFrom calls it once
// the headers are out): sendfile(2), a blocking call like the rest, so the bytes never pass
// through the agent (a *net.TCPConn did the same before connections left the netpoller).
// Anything else is copied in copyBufSize pieces.
func (c *blockingConn) ReadFrom(r io.Reader) (int64, error) {
	src, limit := r, int64(-1)
	if lr, ok := r.(*io.LimitedReader); ok {
		src, limit = lr.R, lr.N
	}
	// An *os.File, or one wrapped as os does it (its WriteTo's fallback hides WriteTo only).
	f, ok := src.(syscall.Conn)
	if !ok {
		return copyBuffered(c, r)
	}
	n, handled, err := c.sendfile(f, limit)
	if lr, ok := r.(*io.LimitedReader); ok {
		lr.N -= n
	}
	if handled || err != nil {
		return n, err
	}
	// Not a regular file sendfile takes (a pipe, say): the rest by copying.
	m, err := copyBuffered(c, r)
	return n + m, err
}

// sendfile sends f from its current offset until EOF (or limit bytes, when >= 0). handled is
// false when sendfile cannot serve f at all and nothing was sent.
func (c *blockingConn) sendfile(f syscall.Conn, limit int64) (written int64, handled bool, err error) {
	dst, err := c.f.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	srcConn, err := f.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	var serr error
	cerr := dst.Control(func(dfd uintptr) {
		serr = srcConn.Control(func(sfd uintptr) {
			for limit < 0 || written < limit {
				chunk := 4 << 20
				if limit >= 0 && limit-written < int64(chunk) {
					chunk = int(limit - written)
				}
				n, err := syscall.Sendfile(int(dfd), int(sfd), nil, chunk)
				if n > 0 {
					written += int64(n)
					handled = true
				}
				switch {
				case err == syscall.EINTR || err == syscall.EAGAIN:
					continue
				case err == syscall.EINVAL || err == syscall.ENOSYS:
					if !handled {
						return
					}
					serr = err
					return
				case err != nil:
					handled = true
					serr = err
					return
				case n == 0:
					handled = true
					return
				}
			}
		})
	})
	if cerr != nil && serr == nil {
		serr = cerr
	}
	if serr != nil {
		return written, true, serr
	}
	return written, handled, nil
}

// copyBuffered copies with a pooled copyBufSize buffer: w's ReadFrom and r's WriteTo are hidden
// (os.File's fall back to io.Copy's 32 KiB).
func copyBuffered(w io.Writer, r io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{r}, *bp)
}

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
