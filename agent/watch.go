package main

// filesystem.Filesystem/WatchDir with inotify: names relative to the watched directory,
// subdirectories (and ones created later) watched too when recursive.

import (
	"os"
	"path/filepath"
	"syscall"
	"time"
	"unsafe"
)

type watchRequest struct {
	Path         string `json:"path"`
	Recursive    bool   `json:"recursive"`
	IncludeEntry bool   `json:"includeEntry"`
}

type fsEvent struct {
	Name  string     `json:"name"`
	Type  string     `json:"type"`
	Entry *entryInfo `json:"entry,omitempty"`
}

type watchMsg struct {
	Start      *struct{} `json:"start,omitempty"`
	Filesystem *fsEvent  `json:"filesystem,omitempty"`
	Keepalive  *struct{} `json:"keepalive,omitempty"`
}

const watchMask = syscall.IN_CREATE | syscall.IN_MODIFY | syscall.IN_DELETE | syscall.IN_MOVED_FROM |
	syscall.IN_MOVED_TO | syscall.IN_ATTRIB | syscall.IN_DELETE_SELF

type watcher struct {
	f    *os.File
	fd   int
	dirs map[int]string // watch descriptor -> absolute dir
}

func (w *watcher) add(dir string, recursive bool) {
	var wd int
	_ = control(w.f, func(fd uintptr) error {
		var err error
		wd, err = syscall.InotifyAddWatch(int(fd), dir, watchMask|syscall.IN_ONLYDIR)
		return err
	})
	if wd > 0 {
		w.dirs[wd] = dir
	}
	if !recursive {
		return
	}
	names, _ := readNames(dir)
	for _, n := range names {
		p := filepath.Join(dir, n)
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			w.add(p, true)
		}
	}
}

func eventType(mask uint32) string {
	switch {
	case mask&(syscall.IN_CREATE|syscall.IN_MOVED_TO) != 0:
		return "EVENT_TYPE_CREATE"
	case mask&syscall.IN_MODIFY != 0:
		return "EVENT_TYPE_WRITE"
	case mask&(syscall.IN_DELETE|syscall.IN_DELETE_SELF) != 0:
		return "EVENT_TYPE_REMOVE"
	case mask&syscall.IN_MOVED_FROM != 0:
		return "EVENT_TYPE_RENAME"
	case mask&syscall.IN_ATTRIB != 0:
		return "EVENT_TYPE_CHMOD"
	}
	return ""
}

func (a *agent) fsWatchDir(s *stream, req *watchRequest) error {
	root, _, err := a.resolveFor(s.r, req.Path)
	if err != nil {
		return err
	}
	fi, err := os.Stat(root)
	if err != nil {
		return fsError(err, root)
	}
	if !fi.IsDir() {
		return errorf("invalid_argument", "%s is not a directory", root)
	}
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		return errorf("internal", "inotify: %v", err)
	}
	w := &watcher{f: os.NewFile(uintptr(fd), "inotify"), fd: fd, dirs: map[int]string{}}
	defer w.f.Close()
	w.add(root, req.Recursive)
	if len(w.dirs) == 0 {
		return errorf("internal", "cannot watch %s", root)
	}

	events := make(chan []byte, 64)
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		defer close(events)
		for {
			buf := make([]byte, 64*1024)
			n, err := w.f.Read(buf)
			if err != nil {
				return
			}
			select {
			case events <- buf[:n]:
			case <-quit:
				return
			}
		}
	}()
	if err := s.Send(watchMsg{Start: &struct{}{}}); err != nil {
		return nil
	}
	tick := time.NewTicker(keepaliveInterval(s.r))
	defer tick.Stop()
	for {
		select {
		case buf, ok := <-events:
			if !ok {
				return errorf("internal", "watch of %s ended", root)
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= len(buf); {
				ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
				nameBytes := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
				off += syscall.SizeofInotifyEvent + int(ev.Len)
				dir, known := w.dirs[int(ev.Wd)]
				if ev.Mask&syscall.IN_IGNORED != 0 {
					delete(w.dirs, int(ev.Wd))
					if int(ev.Wd) >= 0 && dir == root {
						return errorf("not_found", "watched directory %s was removed", root)
					}
					continue
				}
				if !known {
					continue
				}
				name := cString(nameBytes)
				full := dir
				if name != "" {
					full = filepath.Join(dir, name)
				}
				if ev.Mask&syscall.IN_DELETE_SELF != 0 && dir != root {
					continue // reported by the parent's IN_DELETE already
				}
				if req.Recursive && ev.Mask&syscall.IN_ISDIR != 0 && ev.Mask&(syscall.IN_CREATE|syscall.IN_MOVED_TO) != 0 {
					w.add(full, true)
				}
				typ := eventType(ev.Mask)
				if typ == "" {
					continue
				}
				rel, err := filepath.Rel(root, full)
				if err != nil {
					rel = full
				}
				out := &fsEvent{Name: rel, Type: typ}
				if req.IncludeEntry && typ != "EVENT_TYPE_REMOVE" && typ != "EVENT_TYPE_RENAME" {
					out.Entry, _ = statEntry(full)
				}
				if err := s.Send(watchMsg{Filesystem: out}); err != nil {
					return nil
				}
			}
		case <-tick.C:
			if err := s.Send(watchMsg{Keepalive: &struct{}{}}); err != nil {
				return nil
			}
		case <-s.r.Context().Done():
			return nil
		}
	}
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
