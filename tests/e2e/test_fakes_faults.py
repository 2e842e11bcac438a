"""Self-test of the fault machinery the fault tests (test_faults_*.py) use: the
TCP proxy (pass, delay, stall, refuse, cut), the recording HTTP proxy, the
video server's ranges, validators and per-rule faults, and the rule keys
every fake shares (path_contains, patch, patch_headers). Needs no database;
under ctest it runs inside the stack fixture and ignores it.
Run directly: /usr/bin/python3 tests/e2e/test_fakes_faults.py [test_name ...]
"""
import hashlib
import os
import socket
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes"))
from fakectl import Fake  # noqa: E402

MIB = 1 << 20


class Echo:
    """A TCP echo server on 127.0.0.1 (the proxy's target)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(c,), daemon=True).start()

    @staticmethod
    def _echo(c):
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        c.close()

    def close(self):
        self.sock.close()


def test_tcp_proxy_passes_delays_stalls_refuses_and_cuts():
    echo = Echo()
    proxy = Fake.start("tcp_proxy", args=["--target", "127.0.0.1:%d" % echo.port])
    try:
        c = socket.create_connection(("127.0.0.1", proxy.listen_port), timeout=5)
        c.sendall(b"ping")
        assert c.recv(10) == b"ping"
        proxy.mode("delay", delay_ms=200)
        t = time.monotonic()
        c.sendall(b"slow")
        assert c.recv(10) == b"slow" and time.monotonic() - t >= 0.35  # 200 ms each way
        proxy.mode("stall")
        c.sendall(b"held")
        c.settimeout(0.8)
        try:
            c.recv(10)
            raise AssertionError("a stalled proxy forwarded bytes")
        except socket.timeout:
            pass
        proxy.mode("pass")
        c.settimeout(5)
        assert c.recv(10) == b"held"  # nothing lost, only held
        assert proxy.cut() == 1
        try:
            assert c.recv(10) == b"", "cut connection still open"
        except ConnectionResetError:
            pass
        proxy.mode("refuse")
        try:  # the reset may come while connecting or on the first read
            c2 = socket.create_connection(("127.0.0.1", proxy.listen_port), timeout=5)
            assert c2.recv(10) == b""
        except ConnectionResetError:
            pass
        stats = proxy.stats()
        assert stats["connections_total"] == 2 and stats["bytes_up"] == 12, stats
        status, _, _ = proxy.request("POST", "/_control/config", {"mode": "stal"})
        assert status == 400  # a typo is refused, not ignored
    finally:
        proxy.stop()
        echo.close()


def test_http_proxy_records_and_forwards_nothing():
    proxy = Fake.start("http_proxy")
    try:
        conn = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        conn.sendall(b"GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n")
        assert conn.recv(100).startswith(b"HTTP/1.1 403")
        conn.close()
        conn = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
        conn.sendall(b"CONNECT 10.0.0.1:443 HTTP/1.1\r\nHost: 10.0.0.1:443\r\n\r\n")
        assert conn.recv(100).startswith(b"HTTP/1.1 403")
        conn.close()
        asked = proxy.stats()["requests"]
        assert [r["method"] for r in asked] == ["GET", "CONNECT"], asked
        assert asked[0]["target"] == "http://169.254.169.254/latest/meta-data/" and asked[1]["target"] == \
            "10.0.0.1:443", asked
    finally:
        proxy.stop()


def test_video_server_if_range_serve_from_content_range_and_trickle():
    video = Fake.start("video")
    try:
        url, sha = video.add_video("v.mp4", 2 * MIB)
        path = url[len(video.url):]
        status, h, body = video.request("GET", path, headers={"Range": "bytes=100-"})
        assert status == 206 and h["content-range"] == "bytes 100-%d/%d" % (2 * MIB - 1, 2 * MIB)
        etag = h["etag"]
        status, h, body = video.request("GET", path, headers={"Range": "bytes=100-", "If-Range": etag})
        assert status == 206
        _, new_sha = video.add_video("v.mp4", 2 * MIB, seed="other")
        status, h, body = video.request("GET", path, headers={"Range": "bytes=100-", "If-Range": etag})
        assert status == 200 and hashlib.sha256(body).hexdigest() == new_sha and h["etag"] != etag
        video.faults([{"op": "get", "serve_from": 50}, {"op": "get", "content_range": "bytes 0-9/10"}])
        status, h, body = video.request("GET", path, headers={"Range": "bytes=1000-"})
        assert status == 206 and h["content-range"].startswith("bytes 50-") and len(body) == 2 * MIB - 50
        status, h, _ = video.request("GET", path, headers={"Range": "bytes=1000-"})
        assert h["content-range"] == "bytes 0-9/10"
        video.config({"validators": False})
        status, h, _ = video.request("HEAD", path)
        assert "etag" not in h and "last-modified" not in h
        video.add_video("slow-1.mp4", 3000)
        video.faults([{"op": "get", "path_contains": "/slow-", "rate_bytes_per_sec": 2000, "times": 0}])
        t = time.monotonic()
        status, _, body = video.request("GET", path)  # not slow: the rule is for /slow-
        assert status == 200 and time.monotonic() - t < 1
        t = time.monotonic()
        status, _, body = video.request("GET", "/videos/slow-1.mp4")
        assert status == 200 and len(body) == 3000 and time.monotonic() - t >= 1.2
        log = video.stats()["get_log"]
        assert log[1]["if_range"] == etag and log[-1]["name"] == "slow-1.mp4", log
        assert sha != new_sha
    finally:
        video.stop()


def test_patch_and_patch_headers_alter_real_answers_only():
    yt = Fake.start("youtube")
    try:
        yt.faults([{"op": "token", "patch": {"expires_in": 1e300}}])
        form = "grant_type=refresh_token&refresh_token=r&client_id=c&client_secret=s"
        status, _, body = yt.request("POST", "/token", form,
                                     {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200 and b'"expires_in": 1e+300' in body and b"ya29.fake-1" in body, body
        status, h, _ = yt.request("POST", "/upload/youtube/v3/videos?uploadType=resumable&part=snippet",
                                  {"snippet": {"title": "t"}},
                                  {"Authorization": "Bearer x", "X-Upload-Content-Length": "10"})
        session = h["location"][len(yt.url):]
        yt.faults([{"op": "put", "patch_headers": {"Range": "bytes=0--50"}}])
        status, h, _ = yt.request("PUT", session, b"", {"Content-Range": "bytes */10"})
        assert status == 308 and h["range"] == "bytes=0--50", h
        status, h, _ = yt.request("PUT", session, b"", {"Content-Range": "bytes -49-9/10"})
        assert status == 400 and yt.stats()["bad_content_ranges"] == ["bytes -49-9/10"]
    finally:
        yt.stop()


def run(selected):
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)]
    if selected:
        tests = [(n, f) for n, f in tests if n in selected]
    passed = failed = 0
    for name, fn in tests:
        t0 = time.monotonic()
        try:
            fn()
            passed += 1
            print("ok   %s (%.2fs)" % (name, time.monotonic() - t0), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s\n%s" % (name, traceback.format_exc()), flush=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
