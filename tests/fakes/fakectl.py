"""Starts the fakes from tests and drives their control interface.

    yt = Fake.start("youtube")            # also "graph", "tiktok", "video", "http_proxy"
    yt.config({"expired_tokens": ["t1"]})
    yt.faults([{"op": "put", "status": 503}])
    ... point the worker at yt.url ...
    assert yt.stats()["videos_created"] == 1
    yt.stop()

    vs = Fake.start("video")
    url, sha256 = vs.add_video("a.mp4", 3 << 20)

    db = Fake.start("tcp_proxy", args=["--target", "127.0.0.1:5432"])
    db.listen_port; db.mode("stall"); db.mode("pass"); db.cut()

A fake runs as a child process of this interpreter in its own session; it prints
{"port": N} when listening, logs JSON lines to a file (.log_path, .logs(); kept in
$SP_FAKE_LOG_DIR or $SP_STACK_DIR/fakes, else a temp file removed at stop()), and
stops on SIGTERM or when this process goes away. Every fake started here is
stopped at exit. Talks HTTP with http.client directly, so proxy variables never
matter. Only 127.0.0.1 is used.
"""
import atexit
import http.client
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HOST = "127.0.0.1"
SCRIPTS = {"youtube": "fake_youtube.py", "graph": "fake_graph.py", "video": "video_server.py",
           "tcp_proxy": "tcp_proxy.py", "http_proxy": "http_proxy.py", "tiktok": "fake_tiktok.py",
           "oauth": "fake_oauth.py"}
ALIASES = {"fake_youtube": "youtube", "google": "youtube", "fake_graph": "graph", "facebook": "graph",
           "instagram": "graph", "video_server": "video", "videos": "video", "fake_tiktok": "tiktok",
           "fake_oauth": "oauth"}
_running = []


class FakeError(Exception):
    pass


def _log_dir():
    """Where fake logs go (kept), or None: the temp dir, removed at stop()."""
    d = os.environ.get("SP_FAKE_LOG_DIR")
    if not d and os.environ.get("SP_STACK_DIR"):
        d = os.path.join(os.environ["SP_STACK_DIR"], "fakes")
    if d:
        os.makedirs(d, exist_ok=True)
    return d


def _read_port(proc, timeout):
    """The port from the fake's first stdout line, waiting at most timeout."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if sel.select(timeout=max(0.0, deadline - time.monotonic())):
                line = proc.stdout.readline()
                if not line:
                    break
                return int(json.loads(line)["port"])
            if proc.poll() is not None:
                break
    finally:
        sel.close()
    raise FakeError("fake did not report its port (exit code %s)" % proc.poll())


class Fake:
    """A running fake: .url, .port, .kind, .log_path, and its control interface."""

    def __init__(self, kind, proc, port, log_path):
        self.kind, self.proc, self.port, self.log_path = kind, proc, port, log_path
        self.url = "http://%s:%d" % (HOST, port)

    @classmethod
    def start(cls, kind, env=None, timeout=15, args=()):
        """Launches fake kind ("youtube", "graph", "video", "tcp_proxy",
        "http_proxy") on a free port; args are extra command-line arguments."""
        kind = ALIASES.get(kind, kind)
        if kind not in SCRIPTS:
            raise ValueError("unknown fake %r (one of %s)" % (kind, ", ".join(SCRIPTS)))
        penv = dict(os.environ)
        penv.update(env or {})
        penv["PYTHONPATH"] = HERE + (os.pathsep + penv["PYTHONPATH"] if penv.get("PYTHONPATH") else "")
        penv["PYTHONDONTWRITEBYTECODE"] = "1"
        log_dir = _log_dir()
        fd, log_path = tempfile.mkstemp(prefix="fake-%s-" % kind, suffix=".log", dir=log_dir)
        try:
            proc = subprocess.Popen([sys.executable, os.path.join(HERE, SCRIPTS[kind]), "--port", "0",
                                     "--exit-with-parent", *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=fd, env=penv, start_new_session=True)
        finally:
            os.close(fd)
        try:
            port = _read_port(proc, timeout)
        except Exception:
            proc.kill()
            proc.wait()
            raise
        fake = {"video": VideoServer, "tcp_proxy": TcpProxy}.get(kind, cls)(kind, proc, port, log_path)
        fake.keep_log = log_dir is not None
        _running.append(fake)
        return fake

    def request(self, method, path, body=None, headers=None, timeout=60):
        """One HTTP request to the fake: (status, headers with lower-case names, body bytes)."""
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        conn = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
        finally:
            conn.close()

    def _control(self, method, name, payload=None):
        status, _, data = self.request(method, "/_control/" + name, payload)
        if status != 200:
            raise FakeError("%s /_control/%s -> %d %s" % (method, name, status, data[:300]))
        return json.loads(data) if data else None

    def reset(self):
        """Forgets state, config, queued faults and counters."""
        return self._control("POST", "reset")

    def faults(self, rules):
        """Appends fault rules (a dict or a list of dicts) to the queue."""
        return self._control("POST", "faults", rules if isinstance(rules, list) else [rules])

    def pending_faults(self):
        return self._control("GET", "faults")

    def clear_faults(self):
        return self._control("DELETE", "faults")

    def config(self, settings=None):
        """Merges settings into the config (if given); returns the whole config."""
        if settings is None:
            return self._control("GET", "config")
        return self._control("POST", "config", settings)

    def stats(self):
        return self._control("GET", "stats")

    def logs(self):
        """The fake's JSON log lines so far, parsed."""
        out = []
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    out.append({"raw": line.rstrip("\n")})
        return out

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=5):
        """SIGTERM, then SIGKILL after timeout; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        if self in _running:
            _running.remove(self)
            if not self.keep_log:
                try:
                    os.unlink(self.log_path)
                except OSError:
                    pass
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return "<Fake %s %s>" % (self.kind, self.url)


class VideoServer(Fake):
    """The video server fake, with add_video()."""

    def add_video(self, name, size, content_type="video/mp4", seed=None, mp4=None):
        """Creates a deterministic video of size bytes; returns (url, sha256). mp4:
        {"width", "height", "duration" (s), "rotation"?, "moov_at_end"?} makes it an
        MP4 whose header says so (tests/fakes/mp4file.py)."""
        spec = {"name": name, "size": size, "content_type": content_type}
        if seed is not None:
            spec["seed"] = seed
        if mp4 is not None:
            spec["mp4"] = mp4
        status, _, data = self.request("POST", "/_control/videos", spec, timeout=600)
        if status != 200:
            raise FakeError("add_video %s -> %d %s" % (name, status, data[:300]))
        v = json.loads(data)
        return v["url"], v["sha256"]

    def videos(self):
        return self._control("GET", "videos")


class TcpProxy(Fake):
    """The TCP proxy (tcp_proxy.py): start it with Fake.start("tcp_proxy",
    args=["--target", "127.0.0.1:5432"]); clients connect to .listen_port."""

    @property
    def listen_port(self):
        return self.stats()["listen_port"]

    def mode(self, mode, delay_ms=0):
        """pass, delay (delay_ms per forwarded piece), stall or refuse."""
        return self.config({"mode": mode, "delay_ms": delay_ms})

    def cut(self):
        """Resets every open connection; returns how many."""
        return self._control("POST", "cut")["cut"]


@atexit.register
def _stop_all():
    for fake in list(_running):
        try:
            fake.stop(timeout=2)
        except Exception:
            pass
