"""fcgikit: talking FastCGI to a program directly, and running programs of
our own beside the stack's (another port, spawn-fcgi -F 2, valgrind).

    with fcgikit.Program(["social-post-status"]) as p:     # --listen on a free port
        conn = fcgikit.Connection(p.port)
        r = conn.request("GET", "", query="jobId=...", headers={"Authorization": ...},
                         keep=True)                          # FCGI_KEEP_CONN: reuse conn
        r.status, r.headers, r.body

Only what the tests need: the responder role, one request at a time per
connection, parameters as nginx's snippet sets them.
"""
import json
import os
import signal
import socket
import struct
import subprocess
import time

import sptest

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7
KEEP_CONN = 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _record(rtype, content, req_id=1):
    pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBx", 1, rtype, req_id, len(content), pad) + content + b"\0" * pad


def _length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def _params(params):
    body = b""
    for k, v in params.items():
        k, v = k.encode(), v.encode()
        body += _length(len(k)) + _length(len(v)) + k + v
    return body


class Answer:
    """A FastCGI responder's answer: status, headers (lower-case), body, json."""

    def __init__(self, raw):
        head, _, self.body = raw.partition(b"\r\n\r\n")
        self.headers = {}
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.status = int(self.headers.get("status", "200").split()[0])
        try:
            self.json = json.loads(self.body) if self.body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"<Answer {self.status} {self.body[:200]!r}>"


class Connection:
    """One FastCGI connection to 127.0.0.1:port."""

    def __init__(self, port, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def send(self, method, path_info="", query="", headers=None, body=b"", keep=False):
        params = {"REQUEST_METHOD": method, "QUERY_STRING": query, "PATH_INFO": path_info,
                  "DOCUMENT_URI": "/social-post-status" + path_info, "REMOTE_ADDR": "127.0.0.1",
                  "CONTENT_LENGTH": str(len(body))}
        for name, value in (headers or {}).items():
            params["HTTP_" + name.upper().replace("-", "_")] = value
        data = _record(BEGIN_REQUEST, struct.pack(">HB5x", 1, KEEP_CONN if keep else 0))
        data += _record(PARAMS, _params(params)) + _record(PARAMS, b"")
        if body:
            data += _record(STDIN, body)
        data += _record(STDIN, b"")
        self.sock.sendall(data)

    def receive(self):
        """Reads records until END_REQUEST; the Answer, or None when the
        program closed the connection first."""
        out = b""
        while True:
            head = self._read(8)
            if head is None:
                return None
            _, rtype, _, length, pad = struct.unpack(">BBHHBx", head)
            content = self._read(length + pad)
            if content is None:
                return None
            if rtype == STDOUT:
                out += content[:length]
            elif rtype == END_REQUEST:
                return Answer(out)

    def request(self, *args, **kwargs):
        self.send(*args, **kwargs)
        return self.receive()

    def closed_by_peer(self, timeout=2):
        """True when the program closes this (idle) connection within timeout."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except socket.timeout:
            return False

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def close(self):
        self.sock.close()


def program_env():
    """The environment the stack gives its FastCGI programs."""
    st = sptest.state()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "SUPABASE_URL", "CORS_ALLOWED_ORIGINS")}
    env.update({"DATABASE_URL": st["api_database_url"], "SUPABASE_JWT_SECRET": st["hs256_secret"],
                "SUPABASE_JWKS_FILE": st["jwks_file"]})
    if os.environ.get("SP_SANITIZE") == "ON":
        env["ASAN_OPTIONS"] = "detect_leaks=1:log_path=" + os.path.join(st["stack_dir"], "asan")
    return env


class Program:
    """A FastCGI program of the build on its own port: argv[0] is the
    program's name, prefix (e.g. valgrind) goes in front. spawn=N starts N
    processes on one socket with spawn-fcgi -F N instead of --listen; env
    adds to (or overrides) the stack's environment."""

    def __init__(self, argv, prefix=(), spawn=0, env=None):
        st = sptest.state()
        self.port = free_port()
        binary = os.path.join(st["build_dir"], argv[0])
        self.log_path = os.path.join(st["stack_dir"], f"{argv[0]}-{self.port}.log")
        self.log = open(self.log_path, "wb")
        if spawn:
            cmd = ["spawn-fcgi", "-a", "127.0.0.1", "-p", str(self.port), "-F", str(spawn),
                   "--", *prefix, binary, *argv[1:]]
        else:
            cmd = [*prefix, binary, *argv[1:], "--listen", f"127.0.0.1:{self.port}"]
        self.proc = subprocess.Popen(cmd, env={**program_env(), **(env or {})}, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if spawn:  # spawn-fcgi exits once it has forked its children
            self.proc.wait(60)
        self._wait_up()

    def _wait_up(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None and not self.spawned_children():
                    raise RuntimeError(f"program exited; see {self.log_path}")
                time.sleep(0.05)
        raise RuntimeError(f"program did not listen; see {self.log_path}")

    def spawned_children(self):
        """Pids of the processes listening on our port (spawn-fcgi forks them)."""
        out = subprocess.run(["ss", "-Htlnp", f"sport = :{self.port}"], capture_output=True,
                             text=True).stdout
        return sorted({int(p.split("=")[1]) for p in out.replace(",", " ").split()
                       if p.startswith("pid=")})

    def stop(self, timeout=60):
        """SIGTERM (every process) and wait; returns the exit code (spawn-fcgi's
        when it spawned them)."""
        pids = self.spawned_children() if self.proc.poll() is not None else [self.proc.pid]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.05)
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        code = self.proc.wait(timeout)
        self.log.close()
        return code

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None or self.spawned_children():
            self.stop()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False
