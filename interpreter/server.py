"""cubby-code-interpreter: the code-interpreter service on port 49999 that E2B's
`@e2b/code-interpreter` client calls (wire facts: ../shared/reference/e2b-protocol.md).

  POST /execute {code, context_id?, language?, env_vars?}  -> NDJSON stream of the cell's events
  POST /contexts {language?, cwd?} -> {id, language, cwd};  GET /contexts -> [...]
  POST /contexts/<id>/restart;  DELETE /contexts/<id>;  GET /health -> "OK"
  POST /aws/lambda-microvms/runtime/v1/<hook>: Cubby's hooks. `ready` answers 503 until the default
  python and javascript kernels are started and warm, so the image's snapshot holds warm kernels;
  `run` carries the sandbox's env vars (every context gets them) and is passed on to the agent.

It runs as `user` (it drops root at start when it may; root without capabilities stays root) with
one kernel per context; a client that goes away
mid-cell (disconnect, timeout) interrupts the cell.
"""
import json
import os
import pwd
import select
import socket
import sys
import threading
import traceback
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import kernels

PORT = int(os.environ.get("CUBBY_INTERPRETER_PORT", "49999"))
AGENT_HOOKS = "http://127.0.0.1:49983/aws/lambda-microvms/runtime/v1/"
HOOK_PREFIX = "/aws/lambda-microvms/runtime/v1/"
LANGUAGES = {"python": "python", "py": "python", "javascript": "javascript", "js": "javascript",
             "typescript": "typescript", "ts": "typescript", "bash": "bash", "sh": "bash"}
MAX_BODY = 16 << 20


class Context:
    def __init__(self, language, cwd, env):
        self.id = str(uuid.uuid4())
        self.language = language
        self.cwd = cwd
        self.lock = threading.Lock()
        self.env_version = 0
        if language == "python":
            self.kernel = kernels.PythonKernel(cwd, env)
        elif language in ("javascript", "typescript"):
            self.kernel = kernels.NodeKernel(cwd, env, typescript=language == "typescript")
        else:
            self.kernel = kernels.BashKernel(cwd, env)

    def wire(self):
        return {"id": self.id, "language": self.language, "cwd": self.cwd}


class Interpreter:
    def __init__(self, home):
        self.home = home
        self.lock = threading.Lock()
        self.contexts = {}
        self.defaults = {}  # language -> context id
        self.global_env = {}
        self.env_version = 0
        self.ready = False
        self.failed = None

    def base_env(self):
        env = dict(os.environ)
        env.update(self.global_env)
        return env

    def warm_up(self):
        try:
            py = self.default_context("python")
            with py.lock:
                py.kernel.silent(kernels.PYTHON_WARMUP, timeout=300)
            self.default_context("javascript")
            self.ready = True
            log("kernels warm; ready")
        except Exception as e:  # reported by the ready hook
            self.failed = "%s: %s" % (type(e).__name__, e)
            log("warm-up failed: " + traceback.format_exc())

    def create(self, language, cwd):
        ctx = Context(language, cwd or self.home, self.base_env())
        ctx.env_version = self.env_version
        with self.lock:
            self.contexts[ctx.id] = ctx
        return ctx

    def default_context(self, language):
        with self.lock:
            cid = self.defaults.get(language)
            if cid in self.contexts:
                return self.contexts[cid]
        ctx = self.create(language, self.home)
        with self.lock:
            if self.defaults.get(language) in self.contexts:  # a racing request made one first
                other = ctx
                ctx = self.contexts[self.defaults[language]]
                del self.contexts[other.id]
                threading.Thread(target=other.kernel.shutdown, daemon=True).start()
            else:
                self.defaults[language] = ctx.id
        return ctx

    def get(self, cid):
        with self.lock:
            return self.contexts.get(cid)

    def remove(self, cid):
        with self.lock:
            ctx = self.contexts.pop(cid, None)
            for lang, d in list(self.defaults.items()):
                if d == cid:
                    del self.defaults[lang]
        if ctx:
            with ctx.lock:
                ctx.kernel.shutdown()
        return ctx

    def set_global_env(self, env):
        with self.lock:
            self.global_env = dict(env)
            self.env_version += 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cubby-code-interpreter"
    interp = None  # set in main

    def log_message(self, fmt, *args):
        pass

    # --- plumbing ---
    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("request body too large")
        raw = self.rfile.read(n) if n else b""
        return raw

    def _json_body(self):
        raw = self._body()
        if not raw.strip():
            return {}
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    def _send(self, status, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else (json.dumps(body) if ctype == "application/json" else str(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _text(self, status, text):
        self._send(status, text, "text/plain; charset=utf-8")

    def _path(self):
        return self.path.split("?", 1)[0].rstrip("/") or "/"

    def _route(self, method):
        try:
            p = self._path()
            if p.startswith(HOOK_PREFIX) and method == "POST":
                return self.hook(p[len(HOOK_PREFIX):])
            if p == "/health" and method == "GET":
                return self._text(200, "OK") if self.interp.ready else self._text(503, self.interp.failed or "starting")
            if p == "/execute" and method == "POST":
                return self.execute()
            if p == "/contexts" and method == "POST":
                return self.create_context()
            if p == "/contexts" and method == "GET":
                with self.interp.lock:
                    items = [c.wire() for c in self.interp.contexts.values()]
                return self._send(200, items)
            parts = p.split("/")
            if len(parts) == 4 and parts[1] == "contexts" and parts[3] == "restart" and method == "POST":
                return self.restart_context(parts[2])
            if len(parts) == 3 and parts[1] == "contexts" and method == "DELETE":
                if not self.interp.remove(parts[2]):
                    return self._text(404, "Context %s not found" % parts[2])
                return self._send(200, {})
            return self._text(404, "not found: %s %s" % (method, p))
        except (ValueError, json.JSONDecodeError) as e:
            return self._text(400, str(e))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:
            log("error: " + traceback.format_exc())
            try:
                return self._text(500, "%s: %s" % (type(e).__name__, e))
            except OSError:
                self.close_connection = True

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_DELETE(self):
        self._route("DELETE")

    # --- hooks ---
    def hook(self, name):
        raw = self._body()
        if name == "ready":
            if self.interp.failed:
                return self._text(500, "the kernels could not start: " + self.interp.failed)
            return self._send(200, {}) if self.interp.ready else self._text(503, "kernels are starting")
        if name == "run":
            if raw.strip():
                call = json.loads(raw)
                payload = json.loads(call.get("runHookPayload") or "{}")
                env = payload.get("envVars") or {}
                if not isinstance(env, dict):
                    raise ValueError("envVars must be an object")
                self.interp.set_global_env({str(k): str(v) for k, v in env.items() if kernels.valid_env_name(str(k))})
            forward_to_agent(name, raw)
        return self._send(200, {})

    # --- contexts ---
    def create_context(self):
        body = self._json_body()
        lang = LANGUAGES.get((body.get("language") or "python").lower())
        if not lang:
            return self._text(400, "language %r is not supported (python, javascript, typescript, bash)" % body.get("language"))
        cwd = body.get("cwd") or self.interp.home
        if not os.path.isdir(cwd):
            return self._text(400, "cwd %s is not a directory" % cwd)
        ctx = self.interp.create(lang, cwd)
        return self._send(200, ctx.wire())

    def restart_context(self, cid):
        ctx = self.interp.get(cid)
        if not ctx:
            return self._text(404, "Context %s not found" % cid)
        with ctx.lock:
            ctx.kernel.env = self.interp.base_env()
            ctx.kernel.restart()
            ctx.env_version = self.interp.env_version
        return self._send(200, {})

    # --- execute ---
    def execute(self):
        body = self._json_body()
        code = body.get("code")
        if not isinstance(code, str):
            return self._text(400, "code must be a string")
        if body.get("context_id") and body.get("language"):
            return self._text(400, "give context_id or language, not both")
        env = body.get("env_vars") or {}
        if not isinstance(env, dict) or not all(kernels.valid_env_name(str(k)) for k in env):
            return self._text(400, "env_vars must map variable names to strings")
        env = {str(k): str(v) for k, v in env.items()}
        if body.get("context_id"):
            ctx = self.interp.get(body["context_id"])
            if not ctx:
                return self._text(404, "Context %s not found" % body["context_id"])
        else:
            lang = LANGUAGES.get((body.get("language") or "python").lower())
            if not lang:
                return self._text(400, "language %r is not supported (python, javascript, typescript, bash)" % body.get("language"))
            ctx = self.interp.default_context(lang)

        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        gone = [False]

        def emit(ev):
            if gone[0]:
                return
            line = (json.dumps(ev) + "\n").encode()
            try:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            except OSError:
                gone[0] = True

        def cancelled():
            if not gone[0] and client_closed(self.connection):
                gone[0] = True
            return gone[0]

        with ctx.lock:
            k = ctx.kernel
            try:
                if ctx.env_version != self.interp.env_version:
                    k.set_global_env(self.interp.global_env)
                    ctx.env_version = self.interp.env_version
                if isinstance(k, kernels.PythonKernel):
                    undo = k.set_env(env) if env else None
                    try:
                        k.execute(code, emit, cancelled)
                    finally:
                        if undo:
                            k.silent(undo)
                else:
                    k.execute(code, emit, cancelled, env)
                emit({"type": "number_of_executions", "execution_count": k.execution_count})
                emit({"type": "end_of_execution"})
            except kernels.Interrupted:
                log("cell in context %s interrupted (client gone)" % ctx.id)
                emit({"type": "error", "name": "KeyboardInterrupt", "value": "interrupted", "traceback": ""})
                emit({"type": "end_of_execution"})
            except kernels.KernelDied as e:
                emit({"type": "error", "name": "KernelDied", "value": str(e), "traceback": ""})
                emit({"type": "unexpected_end_of_execution"})
            except Exception as e:
                # The 200 and its headers are out: a 500 now would corrupt the stream. Report the
                # failure as the cell's error and end the stream; the kernel itself is untouched.
                log("error in /execute: " + traceback.format_exc())
                emit({"type": "error", "name": type(e).__name__, "value": str(e), "traceback": traceback.format_exc()})
                emit({"type": "end_of_execution"})
        if gone[0]:
            self.close_connection = True
            return
        try:
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True


def client_closed(sock):
    """True when the client hung up (EOF or reset on a connection that has nothing more to send)."""
    try:
        r, _, _ = select.select([sock], [], [], 0)
        if not r:
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def forward_to_agent(name, raw):
    try:
        req = urllib.request.Request(AGENT_HOOKS + name, data=raw or b"{}", method="POST", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()
    except OSError as e:  # no agent in this image (a Lambda image without cubbyAgent)
        log("could not pass the %s hook to the agent: %s" % (name, e))


def log(msg):
    sys.stderr.write("cubby-code-interpreter: %s\n" % msg)
    sys.stderr.flush()


def drop_privileges(user):
    """Kernels run as `user` (E2B's convention); sudo still works through the agent."""
    if os.getuid() != 0:
        return os.path.expanduser("~")
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        return "/root"
    try:
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    except PermissionError as e:
        # Root without CAP_SETGID/CAP_SETUID (a Lambda image's app under gVisor: no capabilities,
        # no_new_privs): setgroups, the first call, fails and nothing changed; go on as this user.
        log("cannot switch to %s (%s); running as uid %d" % (user, e.strerror or e, os.getuid()))
        return os.path.expanduser("~")
    os.environ.update({"HOME": pw.pw_dir, "USER": user, "LOGNAME": user})
    return pw.pw_dir


def main():
    home = drop_privileges(os.environ.get("CUBBY_INTERPRETER_USER", "user"))
    os.environ.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    os.environ.setdefault("LANG", "C.UTF-8")
    os.chdir(home)
    Handler.interp = Interpreter(home)
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    server.daemon_threads = True
    threading.Thread(target=Handler.interp.warm_up, daemon=True).start()
    log("serving on port %d" % PORT)
    server.serve_forever()


if __name__ == "__main__":
    main()
