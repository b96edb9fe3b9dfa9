// cubby-agent: the in-sandbox daemon. It speaks the protocol the E2B SDK expects from envd
// (Connect RPC process/filesystem services, /files, /health, /envs) and Cubby's hook protocol on
// one port, starts the image's app (if any) as its child, and reaps orphans (it may be PID 1).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

type agent struct {
	defaultUser string
	reaper      *reaper
	procs       *processManager

	envMu sync.RWMutex
	env   map[string]string // the sandbox's env vars, from the run hook
}

func (a *agent) sandboxEnv() map[string]string {
	a.envMu.RLock()
	defer a.envMu.RUnlock()
	return a.env
}

func main() {
	port := flag.Int("port", 49983, "TCP port to serve on")
	host := flag.String("host", "0.0.0.0", "address to listen on")
	defaultUser := flag.String("default-user", "user", "user that calls without a user act as")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: cubby-agent [--port 49983] [--host 0.0.0.0] [--default-user user] [--] [app argv...]")
		flag.PrintDefaults()
	}
	flag.Parse()

	a := &agent{defaultUser: *defaultUser, reaper: newReaper(), env: map[string]string{}}
	a.procs = newProcessManager(a)

	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "cubby-agent: %v\n", err)
		os.Exit(1)
	}
	app := 0
	if argv := flag.Args(); len(argv) > 0 {
		if app, err = a.startApp(argv); err != nil {
			fmt.Fprintf(os.Stderr, "cubby-agent: starting the app %q: %v\n", argv[0], err)
			os.Exit(1)
		}
	}
	go a.forwardSignals(app)

	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}
	fmt.Fprintf(os.Stderr, "cubby-agent: serving on %s\n", ln.Addr())
	bl, err := blockingAccept(ln.(*net.TCPListener))
	if err != nil {
		fmt.Fprintf(os.Stderr, "cubby-agent: %v\n", err)
		os.Exit(1)
	}
	if err := srv.Serve(bl); err != nil {
		fmt.Fprintf(os.Stderr, "cubby-agent: %v\n", err)
		os.Exit(1)
	}
}

// startApp runs the image's app with the agent's stdout/stderr and environment.
func (a *agent) startApp(argv []string) (int, error) {
	path, err := lookPath(argv[0], envOr("PATH", defaultPath))
	if err != nil {
		return 0, err
	}
	return a.reaper.spawn(func() (int, error) {
		return syscall.ForkExec(path, argv, &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	}, func(ws syscall.WaitStatus) {
		_, _, status := exitInfo(ws)
		fmt.Fprintf(os.Stderr, "cubby-agent: app %s ended (%s)\n", argv[0], status)
	})
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// forwardSignals passes SIGTERM/SIGINT to the app, kills the processes the agent started (they
// must not outlive it as strays when it runs outside a sandbox), then stops the agent.
func (a *agent) forwardSignals(app int) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	sig := <-ch
	if app > 0 {
		_ = syscall.Kill(app, sig.(syscall.Signal))
	}
	for _, p := range a.procs.list() {
		_ = p.signal(syscall.SIGKILL)
	}
	os.Exit(0)
}

func (a *agent) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/envs", a.handleEnvs)
	mux.HandleFunc("/files", a.handleFiles)
	mux.HandleFunc("/aws/lambda-microvms/runtime/v1/", a.handleHook)

	mux.Handle("/process.Process/Start", serverStream(a.procStart))
	mux.Handle("/process.Process/Connect", serverStream(a.procConnect))
	mux.Handle("/process.Process/List", unary(a.procList))
	mux.Handle("/process.Process/SendInput", unary(a.procSendInput))
	mux.Handle("/process.Process/CloseStdin", unary(a.procCloseStdin))
	mux.Handle("/process.Process/SendSignal", unary(a.procSendSignal))
	mux.Handle("/process.Process/Update", unary(a.procUpdate))

	mux.Handle("/filesystem.Filesystem/Stat", unary(a.fsStat))
	mux.Handle("/filesystem.Filesystem/ListDir", unary(a.fsListDir))
	mux.Handle("/filesystem.Filesystem/MakeDir", unary(a.fsMakeDir))
	mux.Handle("/filesystem.Filesystem/Move", unary(a.fsMove))
	mux.Handle("/filesystem.Filesystem/Remove", unary(a.fsRemove))
	mux.Handle("/filesystem.Filesystem/WatchDir", serverStream(a.fsWatchDir))
	return mux
}

func (a *agent) handleEnvs(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		httpError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	b, _ := json.Marshal(a.sandboxEnv())
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// handleHook serves Cubby's hook protocol. `run` carries the E2B create call's envVars, which
// every process started from then on gets; the rest has nothing to do (processes survive a
// suspend inside the snapshot).
func (a *agent) handleHook(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		httpError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	hook := r.URL.Path[len("/aws/lambda-microvms/runtime/v1/"):]
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	switch hook {
	case "ready", "validate", "suspend", "resume":
	case "run":
		var call struct {
			RunHookPayload string `json:"runHookPayload"`
		}
		if len(body) > 0 {
			if err := json.Unmarshal(body, &call); err != nil {
				httpError(w, http.StatusBadRequest, "bad run hook body: "+err.Error())
				return
			}
		}
		if call.RunHookPayload != "" {
			var payload struct {
				EnvVars map[string]string `json:"envVars"`
			}
			if err := json.Unmarshal([]byte(call.RunHookPayload), &payload); err != nil {
				httpError(w, http.StatusBadRequest, "runHookPayload is not {\"envVars\":{...}}: "+err.Error())
				return
			}
			env := map[string]string{}
			for k, v := range payload.EnvVars {
				env[k] = v
			}
			a.envMu.Lock()
			changed := !sameEnv(a.env, env)
			a.env = env
			a.envMu.Unlock()
			if changed {
				a.procs.dropZygotes() // they were started with the old env vars
			}
		}
	default:
		httpError(w, http.StatusNotFound, "unknown hook "+hook)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("{}"))
}

func sameEnv(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
