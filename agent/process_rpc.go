package main

// process.Process endpoints.

import (
	"net/http"
	"syscall"
	"time"
)

type selector struct {
	Pid uintJSON `json:"pid"`
	Tag string   `json:"tag"`
}

type startRequest struct {
	Process processConfig `json:"process"`
	Pty     *ptySize      `json:"pty"`
	Tag     string        `json:"tag"`
	Stdin   *bool         `json:"stdin"`
}

type selectorRequest struct {
	Process selector `json:"process"`
	Signal  string   `json:"signal"`
	Input   struct {
		Stdin []byte `json:"stdin"`
		Pty   []byte `json:"pty"`
	} `json:"input"`
	Pty *ptySize `json:"pty"`
}

type processEventMsg struct {
	Event *event `json:"event"`
}

func (a *agent) procStart(s *stream, req *startRequest) error {
	acc, err := a.callerAccount(s.r)
	if err != nil {
		return err
	}
	stdin := req.Stdin == nil || *req.Stdin // proto default for envd < 0.3 clients: on
	p, sub, err := a.procs.start(startOptions{config: req.Process, tag: req.Tag, pty: req.Pty, stdin: stdin, acc: acc})
	if err != nil {
		return err
	}
	return a.follow(s, p, sub, true)
}

func (a *agent) procConnect(s *stream, req *selectorRequest) error {
	p, err := a.procs.get(int(req.Process.Pid), req.Process.Tag)
	if err != nil {
		return err
	}
	sub, ended := p.subscribe()
	if ended != nil {
		return errorf("not_found", "process %d has ended", p.pid)
	}
	return a.follow(s, p, sub, false)
}

// follow streams a process's events to one client: start at once, then live output, then end;
// keepalives in between. The client leaving detaches it; the process runs on. A Start call's
// deadline (Connect-Timeout-Ms) kills the process, as envd does; a Connect's only ends the call.
func (a *agent) follow(s *stream, p *process, sub *subscriber, killOnDeadline bool) error {
	defer p.unsubscribe(sub)
	if err := s.Send(processEventMsg{&event{Start: &startEvent{Pid: p.pid}}}); err != nil {
		return nil
	}
	tick := time.NewTicker(keepaliveInterval(s.r))
	defer tick.Stop()
	var deadline <-chan time.Time
	if d := streamTimeout(s.r); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		deadline = t.C
	}
	for {
		select {
		case ev, ok := <-sub.ch:
			if !ok {
				if sub.overflow {
					return errorf("resource_exhausted", "client too slow: output of process %d overflowed its queue", p.pid)
				}
				return nil
			}
			if err := s.Send(processEventMsg{ev}); err != nil {
				return nil // client gone
			}
			if ev.End != nil {
				return nil
			}
		case <-tick.C:
			if err := s.Send(processEventMsg{&event{Keepalive: &struct{}{}}}); err != nil {
				return nil
			}
		case <-s.r.Context().Done():
			return nil
		case <-deadline:
			if killOnDeadline {
				_ = p.signal(syscall.SIGKILL)
			}
			return errorf("deadline_exceeded", "deadline exceeded")
		}
	}
}

type processInfo struct {
	Pid    int           `json:"pid"`
	Tag    string        `json:"tag,omitempty"`
	Config processConfig `json:"config"`
}

func (a *agent) procList(_ *http.Request, _ *struct{}) (*struct {
	Processes []processInfo `json:"processes"`
}, error) {
	out := []processInfo{}
	for _, p := range a.procs.list() {
		cfg := p.config
		if cfg.Args == nil {
			cfg.Args = []string{}
		}
		if cfg.Envs == nil {
			cfg.Envs = map[string]string{}
		}
		out = append(out, processInfo{Pid: p.pid, Tag: p.tag, Config: cfg})
	}
	return &struct {
		Processes []processInfo `json:"processes"`
	}{out}, nil
}

func (a *agent) procSendInput(_ *http.Request, req *selectorRequest) (*struct{}, error) {
	p, err := a.procs.get(int(req.Process.Pid), req.Process.Tag)
	if err != nil {
		return nil, err
	}
	if req.Input.Pty != nil {
		err = p.write(req.Input.Pty, true)
	} else {
		err = p.write(req.Input.Stdin, false)
	}
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

func (a *agent) procCloseStdin(_ *http.Request, req *selectorRequest) (*struct{}, error) {
	p, err := a.procs.get(int(req.Process.Pid), req.Process.Tag)
	if err != nil {
		return nil, err
	}
	if err := p.closeStdin(); err != nil {
		return nil, asRPCError(err)
	}
	return &struct{}{}, nil
}

var signals = map[string]syscall.Signal{
	"SIGNAL_SIGKILL": syscall.SIGKILL, "SIGNAL_SIGTERM": syscall.SIGTERM,
	"SIGNAL_SIGINT": syscall.SIGINT, "SIGNAL_SIGHUP": syscall.SIGHUP, "SIGNAL_SIGQUIT": syscall.SIGQUIT,
	"SIGNAL_SIGUSR1": syscall.SIGUSR1, "SIGNAL_SIGUSR2": syscall.SIGUSR2,
	"SIGNAL_SIGSTOP": syscall.SIGSTOP, "SIGNAL_SIGCONT": syscall.SIGCONT,
}

func (a *agent) procSendSignal(_ *http.Request, req *selectorRequest) (*struct{}, error) {
	sig, ok := signals[req.Signal]
	if !ok {
		return nil, errorf("invalid_argument", "unsupported signal %q", req.Signal)
	}
	p, err := a.procs.get(int(req.Process.Pid), req.Process.Tag)
	if err != nil {
		return nil, err
	}
	if err := p.signal(sig); err != nil {
		return nil, errorf("internal", "signalling process %d: %v", p.pid, err)
	}
	return &struct{}{}, nil
}

func (a *agent) procUpdate(_ *http.Request, req *selectorRequest) (*struct{}, error) {
	p, err := a.procs.get(int(req.Process.Pid), req.Process.Tag)
	if err != nil {
		return nil, err
	}
	if req.Pty != nil {
		if p.pty == nil {
			return nil, errorf("failed_precondition", "process %d has no terminal", p.pid)
		}
		if err := setWinsize(p.pty, req.Pty.Size.Cols, req.Pty.Size.Rows); err != nil {
			return nil, errorf("internal", "resizing the terminal: %v", err)
		}
	}
	return &struct{}{}, nil
}
