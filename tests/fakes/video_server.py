#!/usr/bin/env python3
"""Serves test videos over HTTP, as Supabase Storage serves product_videos.video_url.

The idea: a test asks for a video of a given size and gets back its sha256, so
whatever reaches a platform fake can be compared with what was served. Files are
generated on disk (a temp dir, removed on reset and exit) from a 1 MiB random block
seeded by the name, with the block number written into each MiB so that no two MiB
are alike and a misplaced chunk changes the hash; 1 GiB takes seconds.

  POST /_control/videos  {"name": "a.mp4", "size": N, "content_type": "video/mp4", "seed"?,
                          "mp4"?: {"width", "height", "duration", "rotation"?, "moov_at_end"?}}
                          -> {"name", "size", "sha256", "url", "content_type"}
  GET  /_control/videos   -> the list
  GET|HEAD /videos/<name> (Range: bytes=a-b | a- | -n supported)   ops "get" / "head"

Posting a video again under the same name (another "seed") replaces its content:
its ETag and Last-Modified change, as when a user re-uploads a file to Storage.
Each version is a file of its own, so an answer under way when the video is
replaced goes on with the version its headers named (as a real server's does).
An If-Range that no longer matches gets the whole new file (200), as RFC 9110 says.

Config: bandwidth_bytes_per_sec (paces sending), validators (true: send ETag and
Last-Modified), if_range (false: ignore If-Range, answering a Range with a 206 of
whatever the file is now, as some servers do). Faults on "get": "status" answers instead of the file (with the
rule's "body", e.g. an HTML error page, and "headers"), "drop_after_bytes" closes
the connection after sending K body bytes (a FIN, so the client gets exactly K
bytes of the promised Content-Length), "delay_ms" waits before answering, and
keys only this fake reads:
  "serve_from": N            answer 206 with the file from byte N (a truthful
                             Content-Range), whatever range was asked for
  "content_range": "bytes a-b/n"   send this Content-Range instead (a lie)
  "rate_bytes_per_sec": R    pace this answer at R bytes/s (a trickling server)
  "hold_at_bytes": K         stop after K body bytes and wait until the config
                             has "release_holds": true (at most 60 s), then go
                             on (or drop, with "drop_after_bytes": K too): lets
                             a test look at the other fakes while this answer
                             is known to be unfinished
"path_contains" picks the video a rule applies to. Stats: "get_log" lists every
GET's {name, range, if_range, status, from}.
It does not accept uploads or serve anything but the generated files.
"""
import email.utils
import hashlib
import os
import random
import re
import shutil
import struct
import tempfile
import threading
import time

import fakebase
import mp4file
from fakebase import Drop, Reply

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
BLOCK = 1 << 20
WRITE_BLOCKS = 8


def generate(path, size, seed, mp4=None):
    """Writes the deterministic file of size bytes for seed; returns its sha256.
    With mp4 ({"width", "height", "duration", "rotation"?, "moov_at_end"?}) the
    file is an MP4 of that picture and duration (mp4file.py) whose media data
    is the same deterministic bytes."""
    prefix, suffix = b"", b""
    if mp4 is not None:
        prefix, size, suffix = mp4file.layout(
            size, int(mp4["width"]), int(mp4["height"]), float(mp4["duration"]),
            int(mp4.get("rotation", 0)), bool(mp4.get("moov_at_end", False)))
    rnd = random.Random(hashlib.sha256(seed.encode()).digest())
    block = rnd.randbytes(BLOCK)
    buf = bytearray(block * WRITE_BLOCKS)
    view = memoryview(buf)
    sha = hashlib.sha256()
    index = 0
    with open(path, "wb", buffering=0) as f:
        f.write(prefix)
        sha.update(prefix)
        left = size
        while left:
            for j in range(WRITE_BLOCKS):
                struct.pack_into("<Q", buf, j * BLOCK, index + j)
            n = min(left, len(buf))
            f.write(view[:n])
            sha.update(view[:n])
            left -= n
            index += WRITE_BLOCKS
        f.write(suffix)
        sha.update(suffix)
    return sha.hexdigest()


def parse_range(header, size):
    """(start, end) inclusive for a single bytes range, None to serve all, or 'bad'."""
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header or "")
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    if m.group(1) == "":
        n = int(m.group(2))
        return (max(0, size - n), size - 1) if n and size else "bad"
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else size - 1
    if start >= size or end < start:
        return "bad"
    return start, min(end, size - 1)


class VideoHandler(fakebase.FakeHandler):
    fake_name = "video"
    default_config = {"bandwidth_bytes_per_sec": 0, "validators": True, "if_range": True}

    @classmethod
    def on_start(cls, server):
        server.video_dir = tempfile.mkdtemp(prefix="sp-fake-videos-")

    @classmethod
    def on_reset(cls, server):
        for name in os.listdir(server.video_dir):
            os.unlink(os.path.join(server.video_dir, name))

    @classmethod
    def on_exit(cls, server):
        shutil.rmtree(server.video_dir, ignore_errors=True)

    @classmethod
    def new_state(cls, server):
        return {"videos": {}, "bytes_sent": 0, "gets": {}, "get_log": []}

    def route(self, method, path):
        if path.startswith("/videos/"):
            name = path[len("/videos/"):]
            if method == "GET":
                return "get", self.do_get, (name,)
            if method == "HEAD":
                return "head", self.do_get, (name,)
        return None

    def error_body(self, status, rule):
        return rule.get("message") or "error %d" % status

    def arm_drop(self, k):
        self._send_drop = max(0, int(k))

    # ---- control: creating videos --------------------------------------------------
    def control_extra(self, method, name):
        if name != "videos":
            return False
        if method == "GET":
            with self.lock:
                self.respond(200, [self._public(v) for v in self.state["videos"].values()])
            return True
        if method != "POST":
            return False
        spec = self.read_json()
        if not isinstance(spec, dict):
            raise Reply(400, {"error": "expected a JSON object"})
        name, size = spec.get("name"), spec.get("size")
        if not isinstance(name, str) or not NAME_RE.match(name) or ".." in name:
            raise Reply(400, {"error": "name must match %s" % NAME_RE.pattern})
        if not isinstance(size, int) or size < 0:
            raise Reply(400, {"error": "size must be a non-negative integer"})
        seed = str(spec.get("seed", name))
        mp4 = spec.get("mp4")
        if mp4 is not None and (not isinstance(mp4, dict) or not all(
                isinstance(mp4.get(k), (int, float)) for k in ("width", "height", "duration"))
                or mp4.get("rotation", 0) not in (0, 90, 180, 270)):
            raise Reply(400, {"error": "mp4 must be {width, height, duration, rotation?, moov_at_end?}"})
        tmp = os.path.join(self.server.video_dir, "%s.tmp-%d-%d" % (name, os.getpid(), threading.get_ident()))
        try:
            sha = generate(tmp, size, seed, mp4)
        except ValueError as e:
            raise Reply(400, {"error": str(e)})
        # each version has a file of its own, kept until reset: an answer
        # under way (or about to open the file) sends the version its
        # headers name, never the next one's bytes
        path = os.path.join(self.server.video_dir, "%s.%s" % (name, sha[:32]))
        os.replace(tmp, path)
        video = {"name": name, "size": size, "sha256": sha, "path": path, "mtime": time.time(),
                 "content_type": spec.get("content_type") or "video/mp4"}
        with self.lock:
            self.state["videos"][name] = video
        self.respond(200, self._public(video))
        return True

    def _public(self, v):
        return {"name": v["name"], "size": v["size"], "sha256": v["sha256"], "content_type": v["content_type"],
                "url": "%s/videos/%s" % (self.server.base_url, v["name"])}

    # ---- serving -------------------------------------------------------------------
    def do_get(self, name):
        self.body.drain()
        with self.lock:
            v = self.state["videos"].get(name)
            if v and self.command == "GET":
                self.state["gets"][name] = self.state["gets"].get(name, 0) + 1
        if v is None:
            raise Reply(404, "no such video: %s\n" % name)
        size = v["size"]
        etag = '"%s"' % v["sha256"][:32]
        modified = email.utils.formatdate(v["mtime"], usegmt=True)
        rng = parse_range(self.headers.get("Range"), size)
        if_range = self.headers.get("If-Range")
        if (rng and if_range is not None and if_range.strip() not in (etag, modified)
                and self.cfg.get("if_range", True)):
            rng = None  # the file changed since the client's copy: send all of it
        headers = {"Content-Type": v["content_type"], "Accept-Ranges": "bytes"}
        if self.cfg.get("validators", True):
            headers.update({"ETag": etag, "Last-Modified": modified})
        rule = self._rule or {}
        if rule.get("serve_from") is not None and rng != "bad":
            rng = (min(int(rule["serve_from"]), max(0, size - 1)), size - 1)
        log = {"name": name, "range": self.headers.get("Range"), "if_range": if_range,
               "status": 416 if rng == "bad" else 206 if rng else 200, "from": rng[0] if rng and rng != "bad" else 0}
        with self.lock:
            if self.command == "GET":
                self.state["get_log"].append(log)
        if rng == "bad":
            headers["Content-Range"] = "bytes */%d" % size
            raise Reply(416, "range not satisfiable\n", headers)
        start, end = rng if rng else (0, size - 1)
        length = end - start + 1 if size else 0
        headers["Content-Length"] = length
        if rng:
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, end, size)
        if rule.get("content_range"):
            headers["Content-Range"] = rule["content_range"]
        self.send_head(206 if rng else 200, headers)
        if self.command == "HEAD":
            return
        with open(v["path"], "rb") as f:
            self._send_file(f, start, length)

    def _send_file(self, f, offset, length):
        """Streams length bytes from offset (sendfile unless paced or dropping)."""
        rate = (self._rule or {}).get("rate_bytes_per_sec") or self.cfg.get("bandwidth_bytes_per_sec") or 0
        drop = self._send_drop
        hold = (self._rule or {}).get("hold_at_bytes")
        t0, sent = time.monotonic(), 0
        try:
            while sent < length:
                if hold is not None and sent >= hold:
                    self.wfile.flush()
                    held_until = time.monotonic() + 60
                    while not self.cfg.get("release_holds") and time.monotonic() < held_until:
                        time.sleep(0.02)
                    hold = None
                n = min(length - sent, 8 << 20)
                if hold is not None:
                    n = min(n, hold - sent)
                if rate:
                    n = min(n, max(512, int(rate) // 20))
                if drop is not None:
                    if drop - sent <= 0:
                        raise Drop(graceful=True)
                    n = min(n, drop - sent)
                if rate or drop is not None or hold is not None:
                    f.seek(offset + sent)
                    self.wfile.write(f.read(n))
                else:
                    n = self.connection.sendfile(f, offset + sent, n)
                    if not n:
                        raise fakebase.ClientGone()
                sent += n
                self._out = sent
                with self.lock:
                    self.state["bytes_sent"] += n
                if rate:
                    late = sent / float(rate) - (time.monotonic() - t0)
                    if late > 0:
                        time.sleep(late)
        except OSError as e:
            raise fakebase.ClientGone() from e

    def fake_stats(self):
        return {"bytes_sent": self.state["bytes_sent"], "gets": dict(self.state["gets"]),
                "get_log": list(self.state["get_log"]),
                "videos": [self._public(v) for v in self.state["videos"].values()]}


if __name__ == "__main__":
    raise SystemExit(fakebase.main(VideoHandler))
