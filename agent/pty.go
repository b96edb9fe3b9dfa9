package main

// Pseudo-terminals from /dev/ptmx with raw ioctls (no cgo, no modules).

import (
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

type winsize struct{ Rows, Cols, X, Y uint16 }

func ioctl(fd, req, arg uintptr) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, req, arg); e != 0 {
		return e
	}
	return nil
}

// openPTY returns the master and the slave end. The master is a blocking descriptor outside Go's
// netpoller, like the pipes (blockingPipe): a terminal open across a checkpoint must still be read
// after the restore. Its reader ends with EIO once the last slave is closed.
func openPTY(cols, rows uint16) (master, slave *os.File, err error) {
	fd, err := syscall.Open("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		if fd, err = syscall.Open("/dev/pts/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0); err != nil {
			return nil, nil, err
		}
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	var n uint32
	err = control(master, func(fd uintptr) error {
		var unlock int32
		if err := ioctl(fd, syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); err != nil {
			return err
		}
		return ioctl(fd, syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n)))
	})
	if err == nil {
		err = setWinsize(master, cols, rows)
	}
	if err == nil {
		slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	}
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

func setWinsize(f *os.File, cols, rows uint16) error {
	if cols == 0 {
		cols = 80
	}
	if rows == 0 {
		rows = 24
	}
	ws := winsize{Rows: rows, Cols: cols}
	return control(f, func(fd uintptr) error {
		return ioctl(fd, syscall.TIOCSWINSZ, uintptr(unsafe.Pointer(&ws)))
	})
}

// control runs fn on f's descriptor without switching it to blocking mode (as f.Fd() would).
func control(f *os.File, fn func(fd uintptr) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var inner error
	if err := rc.Control(func(fd uintptr) { inner = fn(fd) }); err != nil {
		return err
	}
	return inner
}
