"""The kernels behind code contexts. Every kernel runs one cell at a time and reports what the
cell does as events (dicts in the wire format of /execute) through a callback:

- PythonKernel: an ipykernel process spoken to over ZMQ with jupyter_client's Session (signing and
  framing only: the sockets are ours, so no event loop ties a kernel to one thread);
- NodeKernel: js_kernel.cjs (JavaScript and TypeScript), JSON lines over pipes;
- BashKernel: a long-lived bash that sources each cell, so variables and cwd persist.

A cell that must stop (the client went away or timed out) is interrupted with SIGINT; a kernel
that does not come back idle soon after is restarted, so the next cell in the context works.
"""
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
# Kept in the snapshot: a template's first cell finds these already imported.
PYTHON_WARMUP = "import numpy, pandas, matplotlib, matplotlib.pyplot"
INTERRUPT_GRACE_S = 3.0

# Jupyter mime types and the keys the E2B client reads them from.
MIME_KEYS = {
    "text/plain": "text",
    "text/html": "html",
    "text/markdown": "markdown",
    "image/svg+xml": "svg",
    "image/png": "png",
    "image/jpeg": "jpeg",
    "application/pdf": "pdf",
    "text/latex": "latex",
    "application/json": "json",
    "application/javascript": "javascript",
}


def now_iso():
    return datetime.now(timezone.utc).isoformat()


def result_event(data, is_main):
    """A display_data / execute_result bundle as a `result` line: known mime types by their key,
    others under `extra`."""
    out = {"type": "result", "is_main_result": bool(is_main)}
    extra = {}
    for mime, value in data.items():
        key = MIME_KEYS.get(mime)
        if isinstance(value, str) and mime in ("image/png", "image/jpeg", "application/pdf"):
            value = value.replace("\n", "")
        if key:
            out[key] = value
        else:
            extra[mime] = value
    if extra:
        out["extra"] = extra
    return out


class KernelDied(Exception):
    pass


class Interrupted(Exception):
    pass


class PythonKernel:
    """An ipykernel process and our own ZMQ sockets to it."""

    language = "python"

    def __init__(self, cwd, env):
        self.cwd = cwd
        self.env = env
        self.proc = None
        self.execution_count = 0
        self._start()

    def _start(self):
        import zmq
        from jupyter_client.connect import write_connection_file
        from jupyter_client.session import Session

        runtime = os.path.join(tempfile.gettempdir(), "cubby-interpreter")
        os.makedirs(runtime, mode=0o700, exist_ok=True)
        key = uuid.uuid4().hex.encode()
        self.conn_file, cfg = write_connection_file(
            fname=os.path.join(runtime, "kernel-%s.json" % uuid.uuid4().hex), ip="127.0.0.1", key=key
        )
        env = dict(self.env)
        env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ipykernel_launcher", "-f", self.conn_file, "--HistoryManager.enabled=False"],
            cwd=self.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.session = Session(key=key, signature_scheme="hmac-sha256")
        ctx = zmq.Context.instance()
        url = lambda port: "tcp://127.0.0.1:%d" % cfg[port]  # noqa: E731
        self.shell = ctx.socket(zmq.DEALER)
        self.shell.linger = 0
        self.shell.connect(url("shell_port"))
        self.iopub = ctx.socket(zmq.SUB)
        self.iopub.linger = 0
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
        self.iopub.connect(url("iopub_port"))
        self.poller = zmq.Poller()
        self.poller.register(self.shell, zmq.POLLIN)
        self.poller.register(self.iopub, zmq.POLLIN)
        self._wait_ready(120)

    def _recv(self, sock):
        idents, parts = self.session.feed_identities(sock.recv_multipart())
        return self.session.deserialize(parts)

    def _wait_ready(self, timeout):
        """Until a kernel_info request is answered on shell AND its status reaches us on iopub
        (a SUB socket misses whatever was published before it joined)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise KernelDied("the python kernel exited while starting (status %s)" % self.proc.returncode)
            msg = self.session.send(self.shell, "kernel_info_request", {})
            msg_id = msg["header"]["msg_id"]
            end = time.monotonic() + 1.0
            seen_iopub = False
            while time.monotonic() < end:
                for sock, _ in self.poller.poll(200):
                    m = self._recv(sock)
                    if sock is self.iopub and m["parent_header"].get("msg_id") == msg_id:
                        seen_iopub = True
                if seen_iopub:
                    self._drain(0.2)
                    return
        raise KernelDied("the python kernel did not start within %d s" % timeout)

    def _drain(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            socks = self.poller.poll(50)
            if not socks:
                return
            for sock, _ in socks:
                self._recv(sock)

    def silent(self, code, timeout=60):
        """Runs code without output, history or a count (env vars, warm-up)."""
        events = []
        self._run(code, events.append, lambda: False, silent=True, timeout=timeout)
        errs = [e for e in events if e["type"] == "error"]
        if errs:
            raise RuntimeError("%s: %s" % (errs[0]["name"], errs[0]["value"]))

    def execute(self, code, emit, cancelled):
        self._run(code, emit, cancelled, silent=False)

    def _run(self, code, emit, cancelled, silent, timeout=None):
        if self.proc.poll() is not None:
            raise KernelDied("the python kernel is not running")
        content = {
            "code": code,
            "silent": silent,
            "store_history": not silent,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        msg_id = self.session.send(self.shell, "execute_request", content)["header"]["msg_id"]
        idle = replied = False
        interrupted_at = None
        deadline = time.monotonic() + timeout if timeout else None
        while not (idle and replied):
            if interrupted_at is None and (cancelled() or (deadline and time.monotonic() > deadline)):
                self.interrupt()
                interrupted_at = time.monotonic()
            if interrupted_at is not None and time.monotonic() - interrupted_at > INTERRUPT_GRACE_S:
                # The kernel ignores SIGINT (a C extension's loop): start a fresh one.
                self.restart()
                raise Interrupted()
            if self.proc.poll() is not None:
                raise KernelDied("the python kernel died (status %s)" % self.proc.returncode)
            for sock, _ in self.poller.poll(100):
                m = self._recv(sock)
                if m["parent_header"].get("msg_id") != msg_id:
                    continue
                t = m["msg_type"]
                c = m["content"]
                if sock is self.shell:
                    if t == "execute_reply":
                        replied = True
                        if not silent and c.get("execution_count") is not None:
                            self.execution_count = c["execution_count"]
                    continue
                if t == "status":
                    idle = c.get("execution_state") == "idle"
                elif t == "stream":
                    emit({"type": "stdout" if c.get("name") == "stdout" else "stderr", "text": c.get("text", ""), "timestamp": now_iso()})
                elif t == "execute_result":
                    emit(result_event(c.get("data", {}), True))
                elif t == "display_data":
                    emit(result_event(c.get("data", {}), False))
                elif t == "error":
                    emit({"type": "error", "name": c.get("ename", ""), "value": c.get("evalue", ""), "traceback": "\n".join(c.get("traceback", []))})
                elif t == "execute_input" and not silent:
                    self.execution_count = c.get("execution_count", self.execution_count)
        if interrupted_at is not None:
            raise Interrupted()

    def set_env(self, env):
        """Sets env vars in the kernel; returns code that undoes it."""
        keys = list(env)
        self.silent(
            "import os as _cubby_os\n_cubby_env_saved = {k: _cubby_os.environ.get(k) for k in %r}\n"
            "_cubby_os.environ.update(%r)" % (keys, env)
        )
        return (
            "for _k, _v in _cubby_env_saved.items():\n"
            "    _cubby_os.environ.pop(_k, None) if _v is None else _cubby_os.environ.__setitem__(_k, _v)\n"
            "del _cubby_env_saved"
        )

    def set_global_env(self, env):
        self.silent("import os as _cubby_os\n_cubby_os.environ.update(%r)" % (env,))

    def interrupt(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)

    def restart(self):
        self.shutdown()
        self.execution_count = 0
        self._start()

    def shutdown(self):
        for s in (getattr(self, "shell", None), getattr(self, "iopub", None)):
            if s is not None:
                self.poller.unregister(s) if hasattr(self, "poller") else None
                s.close(0)
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        try:
            os.unlink(self.conn_file)
        except OSError:
            pass


class PipeKernel:
    """A kernel that is a child process writing JSON events to a pipe."""

    def __init__(self, cwd, env):
        self.cwd = cwd
        self.env = env
        self.execution_count = 0
        self.proc = None
        self.events = queue.Queue()
        self._start()

    def _spawn(self):
        raise NotImplementedError

    def _start(self):
        self.events = queue.Queue()
        self.proc = self._spawn()

    def _pump(self, stream, kind, q):
        """Forwards one of the child's pipes as events (binary lines, decoded leniently)."""
        for raw in iter(stream.readline, b""):
            q.put(self._parse(raw, kind))
        q.put({"type": "_eof", "stream": kind})

    def _parse(self, raw, kind):
        return {"type": kind, "text": raw.decode("utf-8", "replace")}

    def interrupt(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGINT)
            except ProcessLookupError:
                pass

    def restart(self):
        self.shutdown()
        self.execution_count = 0
        self._start()

    def shutdown(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def _wait_cell(self, cell_id, emit, cancelled, done_streams):
        """Events of one cell until its end marker(s); interrupt and, failing that, restart."""
        interrupted_at = None
        ended = set()
        while ended != done_streams:
            if interrupted_at is None and cancelled():
                self.interrupt()
                interrupted_at = time.monotonic()
            if interrupted_at is not None and time.monotonic() - interrupted_at > INTERRUPT_GRACE_S:
                self.restart()
                raise Interrupted()
            try:
                ev = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            t = ev["type"]
            if t == "_eof":
                if self.proc.poll() is None:
                    try:
                        self.proc.wait(timeout=1)
                    except subprocess.TimeoutExpired:
                        pass
                code = self.proc.returncode
                self.restart()
                if interrupted_at is not None:
                    raise Interrupted()
                raise KernelDied("the %s kernel exited (status %s); it was restarted" % (self.language, code))
            if t == "_done":
                if ev.get("id") == cell_id:
                    ended.add(ev.get("stream", "events"))
                    if "execution_count" in ev:
                        self.execution_count = ev["execution_count"]
                    if ev.get("status"):
                        emit({"type": "error", "name": "ExitCodeError", "value": "exit status %s" % ev["status"], "traceback": ""})
                continue
            if ev.get("id") not in (None, cell_id):
                continue
            ev.pop("id", None)
            if t in ("stdout", "stderr"):
                ev["timestamp"] = now_iso()
            emit(ev)
        if interrupted_at is not None:
            raise Interrupted()


class NodeKernel(PipeKernel):
    """js_kernel.cjs: JavaScript, or TypeScript transpiled first."""

    def __init__(self, cwd, env, typescript=False):
        self.language = "typescript" if typescript else "javascript"
        self.typescript = typescript
        super().__init__(cwd, env)

    def _spawn(self):
        r, w = os.pipe()
        env = dict(self.env)
        env["CUBBY_EVENTS_FD"] = str(w)
        env["CUBBY_KERNEL_LANG"] = "ts" if self.typescript else "js"
        proc = subprocess.Popen(
            ["node", os.path.join(HERE, "js_kernel.cjs")],
            cwd=self.cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(w,),
            start_new_session=True,
        )
        os.close(w)
        events = os.fdopen(r, "rb", buffering=0)
        for stream, kind in ((events, "_json"), (proc.stdout, "stdout"), (proc.stderr, "stderr")):
            threading.Thread(target=self._pump, args=(stream, kind, self.events), daemon=True).start()
        ready = self.events.get(timeout=120)
        if ready.get("type") != "_ready":
            raise KernelDied("the %s kernel did not start: %s" % (self.language, ready.get("text", ready)))
        return proc

    def _parse(self, raw, kind):
        if kind == "_json":
            return json.loads(raw)
        return super()._parse(raw, kind)

    def _pump(self, stream, kind, q):
        # Only the event pipe's end means the kernel is gone; stdout/stderr may be closed by code.
        for raw in iter(stream.readline, b""):
            q.put(self._parse(raw, kind))
        if kind == "_json":
            q.put({"type": "_eof", "stream": kind})

    def execute(self, code, emit, cancelled, env=None):
        cell_id = uuid.uuid4().hex
        self._send({"id": cell_id, "code": code, "env": env or {}})
        self._wait_cell(cell_id, emit, cancelled, {"events"})

    def set_global_env(self, env):
        self._send({"id": None, "setEnv": env})

    def _send(self, obj):
        if self.proc.poll() is not None:
            raise KernelDied("the %s kernel is not running" % self.language)
        self.proc.stdin.write((json.dumps(obj) + "\n").encode())
        self.proc.stdin.flush()


class BashKernel(PipeKernel):
    """A bash that sources each cell from a file; the end of a cell is a marker on both streams."""

    language = "bash"
    MARK = "\x00cubby-end "

    def _spawn(self):
        self.cells = tempfile.mkdtemp(prefix="cubby-bash-")
        proc = subprocess.Popen(
            ["/bin/bash", "--login"],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        for stream, kind in ((proc.stdout, "stdout"), (proc.stderr, "stderr")):
            threading.Thread(target=self._pump, args=(stream, kind, self.events), daemon=True).start()
        # Ctrl-C ends the cell being sourced, not the shell.
        proc.stdin.write(b"trap 'return 130 2>/dev/null' INT\n")
        proc.stdin.flush()
        return proc

    def _parse(self, raw, kind):
        text = raw.decode("utf-8", "replace")
        i = text.find(self.MARK)
        if i < 0:
            return {"type": kind, "text": text}
        # "<output without newline>\0cubby-end <id> <status>\n"
        cell_id, status = text[i + len(self.MARK):].split()[:2]
        if i > 0:
            self.events.put({"type": kind, "text": text[:i]})
        return {"type": "_done", "id": cell_id, "stream": kind, **({"status": int(status)} if kind == "stdout" and status != "0" else {})}

    def execute(self, code, emit, cancelled, env=None):
        cell_id = uuid.uuid4().hex
        path = os.path.join(self.cells, cell_id)
        with open(path, "w") as f:
            f.write(code + "\n")
        pre = post = ""
        for k, v in (env or {}).items():
            q = shell_quote(v)
            pre += "_cubby_saved_%s=$(declare -p %s 2>/dev/null); export %s=%s; " % (k, k, k, q)
            post += "unset %s; eval \"$_cubby_saved_%s\"; unset _cubby_saved_%s; " % (k, k, k)
        script = "%ssource %s; _cubby_st=$?; %srm -f %s; printf '\\0cubby-end %s %%s\\n' $_cubby_st; printf '\\0cubby-end %s %%s\\n' $_cubby_st >&2\n" % (
            pre, shell_quote(path), post, shell_quote(path), cell_id, cell_id)
        if self.proc.poll() is not None:
            raise KernelDied("the bash kernel is not running")
        self.proc.stdin.write(script.encode())
        self.proc.stdin.flush()
        self._wait_cell(cell_id, emit, cancelled, {"stdout", "stderr"})
        self.execution_count += 1

    def set_global_env(self, env):
        self.proc.stdin.write(("".join("export %s=%s\n" % (k, shell_quote(v)) for k, v in env.items())).encode())
        self.proc.stdin.flush()


def shell_quote(s):
    return "'" + str(s).replace("'", "'\\''") + "'"


def valid_env_name(k):
    return isinstance(k, str) and k != "" and (k[0].isalpha() or k[0] == "_") and all(c.isalnum() or c == "_" for c in k)

