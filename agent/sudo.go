package main

// sudo without setuid. gVisor (runsc 20240729) always sets PR_SET_NO_NEW_PRIVS on every task and
// ignores the OCI noNewPrivileges flag, so a setuid-root /usr/bin/sudo can never become root in a
// sandbox. E2B's base convention is passwordless sudo for `user`, so the agent (root, the only
// privileged process) runs it instead: `/usr/local/bin/sudo` is a link to this binary, which in
// that role sends its argv, environment, working directory and stdio descriptors (SCM_RIGHTS)
// over a Unix socket; the agent checks the caller's uid (SO_PEERCRED) against the `sudo` group,
// starts the command as root with those descriptors, forwards signals and returns its status.
// This grants nothing new: the agent's own port already runs commands as root for in-sandbox
// callers; gVisor stays the isolation boundary.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const sudoSocket = "/run/cubby-agent/sudo.sock"

type sudoRequest struct {
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
	Cwd  string   `json:"cwd"`
}

// sudoReply is a line from the agent: a signal number to forward (client to agent), or the end.
type sudoReply struct {
	Code  int    `json:"code"`
	Error string `json:"error,omitempty"`
}

type sudoSignal struct {
	Signal int `json:"signal"`
}

// The client role is chosen by the name it is run as, before main parses the agent's flags.
func init() {
	if filepath.Base(os.Args[0]) == "sudo" {
		os.Exit(runSudo(os.Args[1:]))
	}
}

// serveSudo listens on sudoSocket (anyone may connect; the uid check is per request). Only the
// sandbox's first process serves it (never the agent's unit tests on a host).
func serveSudo(rp *reaper) {
	if os.Getpid() != 1 || os.Getuid() != 0 {
		return
	}
	_ = os.MkdirAll(filepath.Dir(sudoSocket), 0o755)
	_ = os.Remove(sudoSocket)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sudoSocket, Net: "unix"})
	if err != nil {
		fmt.Fprintf(os.Stderr, "cubby-agent: sudo socket: %v\n", err)
		return
	}
	_ = os.Chmod(sudoSocket, 0o666)
	if raw, err := ln.SyscallConn(); err == nil {
		_ = raw.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PASSCRED, 1) })
	}
	ln.SetUnlinkOnClose(false) // blockingAccept closes ln; the socket file stays
	bl, err := blockingAccept(ln)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cubby-agent: sudo socket: %v\n", err)
		return
	}
	for {
		conn, err := bl.Accept()
		if err != nil {
			fmt.Fprintf(os.Stderr, "cubby-agent: sudo socket: %v\n", err)
			return
		}
		if c, ok := conn.(*net.UnixConn); ok {
			go handleSudo(rp, c)
		} else {
			conn.Close()
		}
	}
}

// sudoAllowed: root, or a member of the `sudo` group (E2B's `user` is; sudoers itself is not parsed).
func sudoAllowed(uid int) bool {
	if uid == 0 {
		return true
	}
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return false
	}
	g, err := user.LookupGroup("sudo")
	if err != nil {
		return false
	}
	ids, err := u.GroupIds()
	if err != nil {
		return false
	}
	for _, id := range ids {
		if id == g.Gid {
			return true
		}
	}
	return false
}

func handleSudo(rp *reaper, c *net.UnixConn) {
	defer c.Close()
	reply := func(r sudoReply) { _ = json.NewEncoder(c).Encode(r) }
	buf := make([]byte, 1<<20)
	oob := make([]byte, syscall.CmsgSpace(3*4)+syscall.CmsgSpace(syscall.SizeofUcred))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return
	}
	// Who is asking: SCM_CREDENTIALS, which the kernel checks against the sender (gVisor's
	// SO_PEERCRED names the listener, not the peer, so it cannot be used).
	var fds []int
	var cred *syscall.Ucred
	if msgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if got, err := syscall.ParseUnixRights(&m); err == nil {
				fds = append(fds, got...)
			} else if uc, err := syscall.ParseUnixCredentials(&m); err == nil {
				cred = uc
			}
		}
	}
	defer func() {
		for _, fd := range fds {
			_ = syscall.Close(fd)
		}
	}()
	var req sudoRequest
	if err := json.Unmarshal(buf[:n], &req); err != nil || len(req.Argv) == 0 || len(fds) != 3 || cred == nil {
		reply(sudoReply{Code: 1, Error: "malformed request"})
		return
	}
	if !sudoAllowed(int(cred.Uid)) {
		reply(sudoReply{Code: 1, Error: "user is not in the sudoers file (group sudo)"})
		return
	}
	pathEnv := defaultPath
	for _, kv := range req.Env {
		if strings.HasPrefix(kv, "PATH=") {
			pathEnv = strings.TrimPrefix(kv, "PATH=")
		}
	}
	path, err := lookPath(req.Argv[0], pathEnv)
	if err != nil {
		reply(sudoReply{Code: 1, Error: fmt.Sprintf("%s: command not found", req.Argv[0])})
		return
	}
	done := make(chan int, 1)
	pid, err := rp.spawn(func() (int, error) {
		return syscall.ForkExec(path, req.Argv, &syscall.ProcAttr{
			Dir:   req.Cwd,
			Env:   req.Env,
			Files: []uintptr{uintptr(fds[0]), uintptr(fds[1]), uintptr(fds[2])},
		})
	}, func(ws syscall.WaitStatus) {
		code, _, _ := exitInfo(ws)
		if ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		done <- code
	})
	if err != nil {
		reply(sudoReply{Code: 1, Error: fmt.Sprintf("%s: %v", req.Argv[0], err)})
		return
	}
	// Signals from the client (it was interrupted) go to the command; EOF ends nothing.
	go func() {
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			var s sudoSignal
			if json.Unmarshal(sc.Bytes(), &s) == nil && s.Signal > 0 {
				_ = syscall.Kill(pid, syscall.Signal(s.Signal))
			}
		}
	}()
	reply(sudoReply{Code: <-done})
}

// runSudo is the client (the agent binary run as `sudo`): a subset of sudo's options, root only.
func runSudo(args []string) int {
	login, keepEnv := false, false
	shell := false
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		switch a {
		case "-n", "--non-interactive", "-S", "--stdin", "-H", "--set-home", "-k", "-b":
		case "-E", "--preserve-env":
			keepEnv = true
		case "-i", "--login":
			login = true
		case "-s", "--shell":
			shell = true
		case "-u", "--user":
			if i+1 >= len(args) || (args[i+1] != "root" && args[i+1] != "#0") {
				fmt.Fprintln(os.Stderr, "sudo: only -u root is supported in this sandbox")
				return 1
			}
			i++
		default:
			if strings.HasPrefix(a, "--preserve-env=") {
				keepEnv = true
				continue
			}
			fmt.Fprintf(os.Stderr, "sudo: unsupported option %s\n", a)
			return 1
		}
	}
	argv := args[i:]
	switch {
	case login:
		argv = append([]string{"/bin/bash", "-l"}, shellCmd(argv)...)
	case shell:
		argv = append([]string{"/bin/bash"}, shellCmd(argv)...)
	case len(argv) == 0:
		fmt.Fprintln(os.Stderr, "usage: sudo [-nEis] [-u root] [--] command [args...]")
		return 1
	}
	env := []string{"HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/bash", "PATH=" + defaultPath}
	if keepEnv {
		env = append(os.Environ(), "USER=root", "LOGNAME=root")
	} else if t := os.Getenv("TERM"); t != "" {
		env = append(env, "TERM="+t)
	}
	cwd, _ := os.Getwd()
	if login {
		cwd = "/root"
	}
	body, _ := json.Marshal(sudoRequest{Argv: argv, Env: env, Cwd: cwd})
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: sudoSocket, Net: "unix"})
	if err != nil {
		fmt.Fprintf(os.Stderr, "sudo: the sandbox's agent is not reachable: %v\n", err)
		return 1
	}
	defer c.Close()
	me := syscall.UnixCredentials(&syscall.Ucred{Pid: int32(os.Getpid()), Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())})
	if _, _, err := c.WriteMsgUnix(body, append(syscall.UnixRights(0, 1, 2), me...), nil); err != nil {
		fmt.Fprintf(os.Stderr, "sudo: %v\n", err)
		return 1
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	go func() {
		for s := range sigs {
			_ = json.NewEncoder(c).Encode(sudoSignal{Signal: int(s.(syscall.Signal))})
		}
	}()
	var r sudoReply
	if err := json.NewDecoder(c).Decode(&r); err != nil {
		fmt.Fprintf(os.Stderr, "sudo: lost the agent: %v\n", err)
		return 1
	}
	if r.Error != "" {
		fmt.Fprintf(os.Stderr, "sudo: %s\n", r.Error)
	}
	return r.Code
}

// shellCmd: `sudo -s cmd args` runs `shell -c "cmd args"`; with no command, an interactive shell.
func shellCmd(argv []string) []string {
	if len(argv) == 0 {
		return nil
	}
	return []string{"-c", strings.Join(argv, " ")}
}
