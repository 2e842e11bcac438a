"""Shared plumbing of the platform fakes (fake_youtube, fake_graph, video_server).

Each fake is a real HTTP/1.1 server on 127.0.0.1 (keep-alive, one daemon thread per
connection) that the worker's libcurl and the tests talk to. The one idea: every
request is given an operation name ("op") as soon as it is known, and that is the
moment a queued fault rule for the op is taken, so a test can say "the next PUT
drops after 300000 bytes" without the fake's handlers knowing about faults.

Request bodies are streamed (Body: 1 MiB pieces into one reused buffer, chunked
encoding, lazy "100 Continue", optional bandwidth pacing); nothing here holds a
whole upload in memory. Handlers answer through respond() or by raising Reply.

Control interface (not counted as requests, never faulted):
  POST /_control/reset            forget state, config, faults and counters
  POST /_control/faults           a rule or a list of rules, appended to the queue
  GET  /_control/faults           the rules still queued;  DELETE clears them
  GET  /_control/stats            JSON counters ("requests": {op: n}, ... per fake)
  GET|POST /_control/config       read / merge settings (POST body: JSON object)

Fault rule: {"op": name ("*" = any op), "times": 1 (<= 0: forever), "skip": 0
(let that many matching requests pass first), "delay_ms": N, and at most one of
  "status": S with optional "headers" and "body" (object -> JSON, string -> text;
            absent -> the fake's own error format, shaped by extra keys such as
            "reason" (Google) or "code"/"error_subcode" (Graph)),
  "drop_after_bytes": K  close the connection abruptly (RST) after reading K more
            body bytes, or at the end of a shorter body, before answering; what a
            streaming handler received is kept, an atomic one stores nothing,
  "drop_response": true  handle the request fully, then close instead of answering},
and optionally "hold_ms": N (handle the request fully, then wait N ms before
answering: the window in which a test kills the client after the effect),
"path_contains": S (the rule matches only requests whose target contains S),
"patch": {...} (members merged into the JSON object of the real 2xx answer: a
hostile or odd answer from a request that really took effect) and
"patch_headers": {...} (headers set on the real 2xx/3xx answer). A fake may read
more keys of the rule it took (self._rule), e.g. the video server's
"serve_from".

This module does not know any platform protocol; it never listens anywhere but
127.0.0.1 and never writes to stdout except the one {"port": N} line.
"""
import argparse
import copy
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"
PIECE = 1 << 20  # body read size
SMALL_BODY = 1 << 20  # cap for JSON / form bodies
DRAIN_LIMIT = 1 << 20  # unread body up to this is drained to keep the connection
SECRET_PARAMS = {"access_token", "refresh_token", "client_secret", "input_token"}

_log_lock = threading.Lock()


def log_json(**fields):
    """Writes one JSON object as a line on stderr."""
    fields.setdefault("t", round(time.time(), 3))
    line = json.dumps(fields, separators=(",", ":"), default=str)
    with _log_lock:
        try:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass


def redact_path(path):
    """The request target with secret query parameters masked, for logs."""
    parts = urllib.parse.urlsplit(path)
    if not parts.query:
        return path
    q = [(k, "***" if k in SECRET_PARAMS else v)
         for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)]
    return parts.path + "?" + urllib.parse.urlencode(q, safe=",*")


class Reply(Exception):
    """Raised by a handler to answer at once with status, body and headers."""

    def __init__(self, status, body=None, headers=None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


class Drop(Exception):
    """Close the connection without (the rest of) an answer (a fault): a reset by
    default; graceful=True sends a FIN after what was already written instead, so
    the client gets exactly those bytes and then end-of-file."""

    def __init__(self, graceful=False):
        super().__init__("drop")
        self.graceful = graceful


class ClientGone(Exception):
    """The client closed or reset the connection in the middle of a request."""


class Body:
    """The request body as a stream of pieces (memoryviews of one reused buffer).

    read() returns the next piece (valid until the next call) or an empty view at
    the end. Content-Length and chunked encoding are both handled; "100 Continue"
    is sent only when the handler first reads, so an early error answer never
    invites the client to send its upload. An armed drop raises Drop after K more
    bytes or at the end of the body; rate (bytes/s, or a function giving it, read
    again for every piece) paces reading.
    """

    def __init__(self, handler):
        self._h = handler
        te = handler.headers.get("Transfer-Encoding", "").lower()
        self.chunked = "chunked" in te
        cl = handler.headers.get("Content-Length")
        if self.chunked:
            self.remaining = None
        elif cl is None or cl.strip() == "":
            self.remaining = 0
        else:
            if not cl.strip().isdigit():
                raise ValueError("bad Content-Length")
            self.remaining = int(cl)
        self.length = self.remaining
        self.done = self.remaining == 0
        self.read_bytes = 0
        self.drop_left = None
        self.rate = 0
        self.on_bytes = None
        self._chunk_left = 0
        self._buf = None

    @property
    def expect_pending(self):
        return self._h._expect_pending

    def arm_drop(self, k):
        self.drop_left = max(0, int(k))

    def _send_continue(self):
        if self._h._expect_pending:
            self._h._expect_pending = False
            self._h.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def read(self, n=PIECE):
        """Next piece of the body, empty at the end; raises Drop or ClientGone."""
        if self.drop_left is not None and self.drop_left <= 0:
            raise Drop()
        if self.done:
            if self.drop_left is not None:
                raise Drop()
            return memoryview(b"")
        if self._buf is None:
            self._buf = memoryview(bytearray(PIECE))
        self._send_continue()
        n = min(n, PIECE)
        if self.drop_left is not None:
            n = min(n, self.drop_left)
        rate = self.rate() if callable(self.rate) else self.rate
        if rate:
            n = min(n, max(4096, int(rate) // 20))
        t_piece = time.monotonic()
        try:
            got = self._read_chunked(n) if self.chunked else self._read_plain(n)
        except (ConnectionError, TimeoutError, OSError) as e:
            raise ClientGone() from e
        if got == 0:  # end of a chunked body
            return self.read(n)
        self.read_bytes += got
        if self.drop_left is not None:
            self.drop_left -= got
        if self.on_bytes:
            self.on_bytes(got)
        if rate:
            late = got / float(rate) - (time.monotonic() - t_piece)
            if late > 0:
                time.sleep(late)
        return self._buf[:got]

    def _read_plain(self, n):
        n = min(n, self.remaining)
        got = self._h.rfile.readinto(self._buf[:n])
        if not got:
            raise ClientGone()
        self.remaining -= got
        if self.remaining == 0:
            self.done = True
        return got

    def _read_chunked(self, n):
        rfile = self._h.rfile
        if self._chunk_left == 0:
            line = rfile.readline(1024)
            if not line:
                raise ClientGone()
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise Reply(400, "bad chunk size", {"Connection": "close"})
            if size == 0:
                while rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                    pass
                self.done = True
                return 0
            self._chunk_left = size
        got = rfile.readinto(self._buf[:min(n, self._chunk_left)])
        if not got:
            raise ClientGone()
        self._chunk_left -= got
        if self._chunk_left == 0:
            rfile.readline(16)
        return got

    def read_all(self, cap=SMALL_BODY):
        """The whole (small) body as bytes; Reply 413 beyond cap."""
        out = bytearray()
        while True:
            piece = self.read()
            if not piece:
                return bytes(out)
            out += piece
            if len(out) > cap:
                raise Reply(413, "request body too large", {"Connection": "close"})

    def drain(self, limit=None):
        """Reads and discards the rest; False if more than limit was left."""
        if not self.done and limit is not None and (self.remaining is None or self.remaining > limit):
            return False
        while self.read():
            pass
        return True


class MultipartParser:
    """Streams a multipart/form-data body: plain fields are collected (each capped)
    and passed to on_field(name, value) as soon as they end; a file part goes piece
    by piece to open_file(name, filename, content_type).write(bytes)."""

    def __init__(self, body, boundary, on_field, open_file, field_cap=1 << 20, total_cap=64 << 20):
        self.body, self.on_field, self.open_file = body, on_field, open_file
        self.dash = b"--" + boundary
        self.field_cap, self.total_cap = field_cap, total_cap
        self.buf = bytearray()

    def _fill(self):
        piece = self.body.read()
        if not piece:
            return False
        if self.body.read_bytes > self.total_cap:
            raise Reply(413, "multipart body over the fake's cap", {"Connection": "close"})
        self.buf += piece
        return True

    def _need(self, n):
        while len(self.buf) < n:
            if not self._fill():
                raise Reply(400, "truncated multipart body")

    def parse(self):
        buf = self.buf
        while True:
            i = buf.find(self.dash)
            if i >= 0:
                break
            if len(buf) > 65536 or not self._fill():
                raise Reply(400, "multipart boundary not found")
        del buf[:i + len(self.dash)]
        while True:
            self._need(2)
            if buf[:2] == b"--":
                while self.body.read():
                    pass
                return
            if buf[:2] != b"\r\n":
                raise Reply(400, "malformed multipart delimiter")
            del buf[:2]
            while True:
                j = buf.find(b"\r\n\r\n")
                if j >= 0:
                    break
                if len(buf) > 16384 or not self._fill():
                    raise Reply(400, "malformed multipart part headers")
            name, filename, ctype = self._part_headers(bytes(buf[:j]))
            del buf[:j + 4]
            self._part_data(name, filename, ctype)

    @staticmethod
    def _part_headers(raw):
        name = filename = None
        ctype = "text/plain"
        for line in raw.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            key = key.strip().lower()
            if key == "content-disposition":
                for m in re.finditer(r';\s*([\w*]+)="((?:[^"\\]|\\.)*)"|;\s*([\w*]+)=([^;\s]*)', value):
                    k = (m.group(1) or m.group(3)).lower()
                    v = m.group(2) if m.group(1) else m.group(4)
                    if k == "name":
                        name = v
                    elif k == "filename":
                        filename = v
            elif key == "content-type":
                ctype = value.strip()
        if name is None:
            raise Reply(400, "multipart part without a name")
        return name, filename, ctype

    def _part_data(self, name, filename, ctype):
        buf, sep = self.buf, b"\r\n" + self.dash
        sink = self.open_file(name, filename, ctype) if filename is not None else None
        value = bytearray()
        start = 0
        while True:
            k = buf.find(sep, start)
            end = k if k >= 0 else max(0, len(buf) - (len(sep) - 1))
            if end:
                if sink is not None:
                    sink.write(bytes(buf[:end]))
                else:
                    value += buf[:end]
                    if len(value) > self.field_cap:
                        raise Reply(413, "multipart field too large", {"Connection": "close"})
                del buf[:end]
            if k >= 0:
                del buf[:len(sep)]
                break
            start = len(buf)
            if not self._fill():
                raise Reply(400, "unterminated multipart part")
            start = max(0, start - (len(sep) - 1))
        if sink is None:
            self.on_field(name, value.decode("utf-8", "replace"))
        elif hasattr(sink, "close_part"):
            sink.close_part()


class FakeServer(ThreadingHTTPServer):
    """The listening server; holds a fake's state, config, fault queue and counters
    under one lock (handlers keep I/O outside it)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, port, handler_class):
        super().__init__((HOST, port), handler_class)
        self.lock = threading.RLock()
        self.port = self.server_address[1]
        self.base_url = "http://%s:%d" % (HOST, self.port)
        handler_class.on_start(self)
        self.reset()

    def reset(self):
        with self.lock:
            cls = self.RequestHandlerClass
            cls.on_reset(self)
            self.config = copy.deepcopy(cls.default_config)
            self.state = cls.new_state(self)
            self.faults = []
            self.requests = {}
            self.faults_fired = {}

    def take_fault(self, op, target=""):
        """The first queued rule for op (and, when the rule has "path_contains",
        for a request target containing that text), consumed once, or None."""
        with self.lock:
            for i, rule in enumerate(self.faults):
                if rule["op"] not in (op, "*"):
                    continue
                if rule.get("path_contains") and rule["path_contains"] not in target:
                    continue
                if rule.get("skip", 0) > 0:
                    rule["skip"] -= 1
                    return None
                times = rule.get("times", 1)
                if times > 0:
                    if times == 1:
                        del self.faults[i]
                    else:
                        rule["times"] = times - 1
                self.faults_fired[op] = self.faults_fired.get(op, 0) + 1
                return copy.deepcopy(rule)
        return None


class FakeHandler(BaseHTTPRequestHandler):
    """Base request handler: dispatch, control interface, faults, responses, logs.

    A fake subclasses it and defines fake_name, default_config, new_state(server),
    route(method, path) -> (op or None, function, args) or None, error_body(status,
    rule) for faults without a body, and fake_stats(). A handler whose op is only
    known from the body calls set_op() itself once it knows.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 300
    fake_name = "fake"
    default_config = {}
    server_version = "fake"

    def version_string(self):
        return "%s-fake" % self.fake_name

    # ---- hooks for the fakes -------------------------------------------------
    @classmethod
    def on_start(cls, server):
        pass

    @classmethod
    def on_reset(cls, server):
        pass

    @classmethod
    def on_exit(cls, server):
        pass

    @classmethod
    def new_state(cls, server):
        return {}

    def route(self, method, path):
        return None

    def error_body(self, status, rule):
        return {"error": rule.get("message") or "injected fault %d" % status}

    def on_fault(self, rule):
        pass

    def fake_stats(self):
        return {}

    def control_extra(self, method, name):
        return False

    # ---- plumbing ------------------------------------------------------------
    @property
    def cfg(self):
        return self.server.config

    @property
    def state(self):
        return self.server.state

    @property
    def lock(self):
        return self.server.lock

    def log_message(self, format, *args):  # noqa: A002 (http.server's signature)
        pass

    def handle_expect_100(self):
        self._expect_pending = True
        return True

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_GET

    def _dispatch(self):
        t0 = time.monotonic()
        self._op, self._status, self._out = None, None, 0
        self._drop_response = self._aborted = False
        self._hold_ms = 0
        self._send_drop = None
        self._rule = None
        self._expect_pending = getattr(self, "_expect_pending", False)
        parts = urllib.parse.urlsplit(self.path)
        self.url_path = parts.path
        self.query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        self.body = None
        try:
            try:
                self.body = Body(self)
            except ValueError:
                raise Reply(400, "bad Content-Length", {"Connection": "close"})
            if self.url_path.startswith("/_control/"):
                self._control(self.url_path[len("/_control/"):])
            else:
                found = self.route(self.command, self.url_path)
                if found is None:
                    self.set_op("unknown")
                    raise Reply(404, self.error_body(404, {"message": "no such endpoint"}))
                op, fn, args = found
                if op:
                    self.set_op(op)
                fn(*args)
        except Reply as r:
            self.respond(r.status, r.body, r.headers)
        except Drop as d:
            self._abort(d.graceful)
        except ClientGone:
            self._abort()
        except (BrokenPipeError, ConnectionResetError):
            self._abort()
        except Exception as e:  # a bug in a fake: say so, keep serving
            log_json(fake=self.fake_name, event="error", error=repr(e), trace=traceback.format_exc())
            if self._status is None and not self._aborted:
                try:
                    self.respond(500, {"error": "fake internal error: %r" % e}, {"Connection": "close"})
                except Exception:
                    self._abort()
        finally:
            self._expect_pending = False
            if not self.url_path.startswith("/_control/"):
                log_json(fake=self.fake_name, method=self.command, path=redact_path(self.path), op=self._op,
                         status=self._status if not self._aborted else "dropped",
                         bytes_in=self.body.read_bytes if self.body else 0, bytes_out=self._out,
                         ms=round((time.monotonic() - t0) * 1000, 1))

    def set_op(self, op):
        """Names this request's operation: counts it and applies a queued fault."""
        self._op = op
        with self.lock:
            self.server.requests[op] = self.server.requests.get(op, 0) + 1
        rule = self.server.take_fault(op, self.path)
        self._rule = rule
        if not rule:
            return
        if rule.get("delay_ms"):
            time.sleep(rule["delay_ms"] / 1000.0)
        if "status" in rule:
            self.on_fault(rule)
            body = rule.get("body")
            if body is None:
                body = self.error_body(int(rule["status"]), rule)
            raise Reply(int(rule["status"]), body, rule.get("headers"))
        if "drop_after_bytes" in rule:
            self.arm_drop(rule["drop_after_bytes"])
        if rule.get("drop_response"):
            self._drop_response = True
        if rule.get("hold_ms"):
            self._hold_ms = rule["hold_ms"]

    def arm_drop(self, k):
        """Request-side drop: after k more body bytes, or now if none are left."""
        if self.body.done:
            raise Drop()
        self.body.arm_drop(k)

    def respond(self, status, body=None, headers=None, reason=None):
        """Sends a complete answer in one write (dict/list -> JSON, str -> text)."""
        if self._hold_ms:
            time.sleep(self._hold_ms / 1000.0)
        if self._drop_response:
            self._abort()
            return
        headers = dict(headers or {})
        ctype = None
        patch = self._rule.get("patch") if self._rule else None
        if isinstance(patch, dict) and isinstance(body, dict) and 200 <= status < 300:
            body = dict(body, **patch)
        if self._rule and isinstance(self._rule.get("patch_headers"), dict) and 200 <= status < 400:
            headers.update(self._rule["patch_headers"])
        if isinstance(body, (dict, list)):
            data, ctype = json.dumps(body).encode(), "application/json; charset=UTF-8"
        elif isinstance(body, str):
            data, ctype = body.encode(), "text/plain; charset=utf-8"
        else:
            data = body or b""
        if ctype and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = ctype
        if self._must_close():
            headers["Connection"] = "close"
        self.send_response(status, reason)
        for k, v in headers.items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(data)))
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD" and data:
            self._headers_buffer.append(data)
        self._status, self._out = status, len(data)
        try:
            self.flush_headers()
        except OSError:
            self._abort()

    def send_head(self, status, headers):
        """Sends status and headers only (the caller streams the body)."""
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, str(v))
        self.end_headers()
        self._status = status

    def _must_close(self):
        """Whether the unread rest of the body forces closing the connection."""
        b = self.body
        if b is None or b.done:
            return False
        if b.expect_pending:
            return True
        b.drop_left = None
        try:
            return not b.drain(DRAIN_LIMIT)
        except (ClientGone, Reply):
            return True

    def _abort(self, graceful=False):
        """Resets the TCP connection now (SO_LINGER 0), whatever is in flight;
        graceful: half-closes it after the bytes already sent instead."""
        self._aborted = True
        self.close_connection = True
        sock = self.connection
        if graceful:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            fd = sock.detach()
            if fd >= 0:
                os.close(fd)
        except OSError:
            pass

    def read_json(self, cap=SMALL_BODY):
        raw = self.body.read_all(cap)
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise Reply(400, self.error_body(400, {"message": "body is not valid JSON"}))

    # ---- control interface ---------------------------------------------------
    def _control(self, name):
        srv, method = self.server, self.command
        if method == "POST" and name == "reset":
            self.body.drain()
            srv.reset()
            return self.respond(200, {"ok": True})
        if name == "faults":
            if method == "GET":
                with self.lock:
                    return self.respond(200, copy.deepcopy(srv.faults))
            if method == "DELETE":
                with self.lock:
                    srv.faults = []
                return self.respond(200, {"ok": True})
            if method == "POST":
                rules = self.read_json(16 << 20)
                rules = rules if isinstance(rules, list) else [rules]
                for r in rules:
                    if not isinstance(r, dict) or not isinstance(r.get("op"), str):
                        return self.respond(400, {"error": "each rule needs an \"op\""})
                with self.lock:
                    for r in rules:
                        r = dict(r)
                        r.setdefault("times", 1)
                        srv.faults.append(r)
                    return self.respond(200, {"queued": len(srv.faults)})
        if name == "stats" and method == "GET":
            with self.lock:
                out = {"requests": dict(srv.requests), "faults_fired": dict(srv.faults_fired),
                       "faults_pending": len(srv.faults)}
                out.update(self.fake_stats())
            return self.respond(200, out)
        if name == "config":
            if method == "POST":
                patch = self.read_json()
                if not isinstance(patch, dict):
                    return self.respond(400, {"error": "config must be a JSON object"})
                with self.lock:
                    srv.config.update(patch)
            with self.lock:
                return self.respond(200, copy.deepcopy(srv.config))
        if name == "health":
            return self.respond(200, {"ok": True, "fake": self.fake_name})
        if not self.control_extra(method, name):
            self.respond(404, {"error": "unknown control endpoint %s %s" % (method, name)})


def main(handler_class, argv=None):
    """Runs a fake: prints {"port": N} once listening, serves until SIGTERM/SIGINT."""
    ap = argparse.ArgumentParser(description="%s fake (listens on %s only)" % (handler_class.fake_name, HOST))
    ap.add_argument("--port", type=int, default=0, help="port to listen on (0: pick a free one)")
    ap.add_argument("--exit-with-parent", action="store_true",
                    help="stop when the process that started this one goes away")
    args = ap.parse_args(argv)
    server = FakeServer(args.port, handler_class)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    parent = os.getppid()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    sys.stdout.write(json.dumps({"port": server.port}) + "\n")
    sys.stdout.flush()
    log_json(fake=handler_class.fake_name, event="listening", port=server.port)
    while not stop.wait(0.5):
        if args.exit_with_parent and os.getppid() != parent:
            break
    server.shutdown()
    server.server_close()
    handler_class.on_exit(server)
    log_json(fake=handler_class.fake_name, event="stopped")
    return 0
