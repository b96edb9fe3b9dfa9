package main

import (
	"syscall"
	"testing"
	"time"
)

// A child reaped while its fork is still in flight (spawn no longer holds the reaper's lock over
// the fork) keeps its status for the spawner, and orphans' statuses are dropped afterwards.
func TestReaperKeepsStatusReapedDuringFork(t *testing.T) {
	rp := &reaper{waiters: map[int]func(syscall.WaitStatus){}, unowned: map[int]syscall.WaitStatus{}}
	got := make(chan syscall.WaitStatus, 1)
	var orphan int
	pid, err := rp.spawn(func() (int, error) {
		pid, err := syscall.ForkExec("/bin/sh", []string{"sh", "-c", "exit 7"}, &syscall.ProcAttr{})
		if err != nil {
			return 0, err
		}
		// An unrelated child too: its status has no owner.
		if orphan, err = syscall.ForkExec("/bin/true", []string{"true"}, &syscall.ProcAttr{}); err != nil {
			return 0, err
		}
		// Both exit and are reaped before spawn registers pid: as if SIGCHLD came mid-fork.
		for deadline := time.Now().Add(10 * time.Second); len(rp.unowned) < 2 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
			rp.reap()
		}
		return pid, nil
	}, func(ws syscall.WaitStatus) { got <- ws })
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ws := <-got:
		if !ws.Exited() || ws.ExitStatus() != 7 {
			t.Fatalf("pid %d: status %v, want exit 7", pid, ws)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("pid %d: onExit never ran", pid)
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if len(rp.unowned) != 0 || len(rp.waiters) != 0 || rp.forking != 0 {
		t.Fatalf("leftovers after spawn: unowned %v (orphan %d), waiters %d, forking %d", rp.unowned, orphan, len(rp.waiters), rp.forking)
	}
}
