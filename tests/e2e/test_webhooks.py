"""Webhooks end to end: a submit's callbackUrl gets one signed POST per final
state of the job, from the worker's durable outbox, retried with the same
webhook-id until a 2xx; bad callbackUrls are refused with 400 and nothing
stored.

The receiver is a local HTTP server (Python's standard library) on
127.0.0.1; the workers of these tests may call it because workerkit sets
SOCIAL_POST_ALLOW_PRIVATE_CALLBACK_URLS=1, except where a test removes it.
Signatures are checked with an HMAC computed here, independently of the C
code, from the stack's SOCIAL_POST_WEBHOOK_SECRET.
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import socket
import struct
import subprocess
import threading
import time

import sptest
import workerkit as wk

MiB = 1 << 20


class Receiver:
    """A webhook receiver on 127.0.0.1. answers is a list of (status, delay)
    for the requests in order; the last one repeats. While handling each POST
    it reads the job's status through the API (as the job's owner), so a test
    can tell what the status was before the receiver answered."""

    def __init__(self, answers=((200, 0),), user=None):
        self.answers = list(answers)
        self.user = user
        self.requests = []  # in the order they arrived, each once its status was read
        self.count = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                seen = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body, "at": time.time(), "status_then": None}
                with receiver.lock:
                    n = receiver.count
                    receiver.count += 1
                    status, delay = receiver.answers[min(n, len(receiver.answers) - 1)]
                if receiver.user:
                    job = json.loads(body)["jobId"]
                    seen["status_then"] = wk.status(receiver.user, job)["status"]
                with receiver.lock:
                    receiver.requests.append(seen)
                    receiver.requests.sort(key=lambda r: r["at"])
                time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the worker gave up waiting (a timeout test)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, n, timeout=60):
        wk.wait_for(f"{n} webhook requests", lambda: len(self.requests) >= n, timeout)
        return self.requests[:n]

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def expected_signature(headers, body):
    """v1,<base64 HMAC-SHA256 of id.timestamp.body>, keyed as the spec says."""
    key = base64.b64decode(sptest.state()["webhook_secret"].removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def assert_signed(request):
    h = request["headers"]
    assert re.fullmatch(r"msg_[0-9a-f]{32}", h["webhook-id"]), h
    assert abs(int(h["webhook-timestamp"]) - request["at"]) < 60, h
    assert hmac.compare_digest(h["webhook-signature"], expected_signature(h, request["body"])), h
    assert h["content-type"] == "application/json", h


def events(job):
    """The outbox rows of job: (state, status, attempts, last_error), oldest first."""
    return sptest.sql("SELECT state, status, attempts, last_error FROM social_post_webhooks"
                      " WHERE job_id = %s ORDER BY created_at", (job,))


# A time no worker reaches during the tests: jobs stay pending.
LATER = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))


def youtube_user(p, name="hook.mp4"):
    url, _ = p.video.add_video(name, 256 * 1024)
    user, video = wk.user_with_video(url, title="Hooked")
    wk.connect(user, "youtube")
    return user, video


def test_a_completed_job_is_posted_once_signed_with_its_status_body():
    with wk.Platforms() as p:
        wk.clear_queue()
        user, video = youtube_user(p)
        with Receiver(user=user) as rx:
            job = wk.submit(user, video, ["youtube"], callbackUrl=rx.url + "/hooks/sp?token=abc")
            w = p.worker()
            [req] = rx.wait(1)
            assert req["path"] == "/hooks/sp?token=abc", req["path"]
            assert_signed(req)
            body = json.loads(req["body"])
            assert body == wk.status(user, job), body  # the status body, byte for byte in JSON
            assert body["status"] == "completed" and body["results"]["youtube"]["success"], body
            wk.wait_for("the delivery recorded", lambda: events(job)[0][0] == "delivered")
            time.sleep(1.5)  # nothing else comes
            assert len(rx.requests) == 1 and events(job) == [("delivered", "completed", 1, None)]
            assert w.stop() == 0


def test_the_job_is_final_before_the_receiver_answers():
    with wk.Platforms() as p:
        wk.clear_queue()
        user, video = youtube_user(p)
        with Receiver(answers=[(200, 1)], user=user) as rx:
            job = wk.submit(user, video, ["youtube"], callbackUrl=rx.url + "/")
            w = p.worker()
            [req] = rx.wait(1)
            wk.wait_for("the receiver's status read", lambda: req["status_then"] is not None)
            assert req["status_then"] == "completed", req  # read while the POST was held
            assert w.stop() == 0
        assert job


def test_500s_and_a_timeout_are_retried_with_the_same_webhook_id():
    with wk.Platforms() as p:
        wk.clear_queue()
        user, video = youtube_user(p)
        # 500, 503, no answer within 10 s, then 204
        with Receiver(answers=[(500, 0), (503, 0), (200, 12), (204, 0)], user=user) as rx:
            job = wk.submit(user, video, ["youtube"], callbackUrl=rx.url + "/retry")
            w = p.worker()
            reqs = rx.wait(4, timeout=90)
            ids = {r["headers"]["webhook-id"] for r in reqs}
            assert len(ids) == 1, ids
            for r in reqs:
                assert_signed(r)  # each attempt signs its own timestamp
                assert r["body"] == reqs[0]["body"] and r["status_then"] == "completed"
            assert reqs[3]["at"] - reqs[2]["at"] >= 9.5, "the third attempt was not waited for"
            wk.wait_for("delivered", lambda: events(job)[0][0] == "delivered")
            [(state, status, attempts, error)] = events(job)
            assert (state, status, attempts) == ("delivered", "completed", 4), events(job)
            assert w.stop() == 0


def test_a_retried_job_sends_one_event_per_final_state():
    with wk.Platforms() as p:
        wk.clear_queue()
        user, video = youtube_user(p)
        p.youtube.faults([{"op": "init", "status": 401, "reason": "youtubeSignupRequired"}])
        with Receiver() as rx:
            job = wk.submit(user, video, ["youtube"], callbackUrl=rx.url + "/again")
            w = p.worker()
            [first] = rx.wait(1)
            assert json.loads(first["body"])["status"] == "failed"
            r = sptest.http("POST", f"/social-post/{job}/retry", token=sptest.token(user))
            assert r.status == 202, r.body
            first_two = rx.wait(2)
            second = first_two[1]
            assert_signed(second)
            assert json.loads(second["body"])["status"] == "completed"
            assert second["headers"]["webhook-id"] != first["headers"]["webhook-id"]
            time.sleep(1.5)
            assert len(rx.requests) == 2
            assert [e[:2] for e in events(job)] == [("delivered", "failed"),
                                                    ("delivered", "completed")]
            assert w.stop() == 0


def test_a_cancelled_job_sends_its_final_state():
    user = sptest.new_user()
    video = sptest.new_video(user)
    with Receiver() as rx:
        later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        job = wk.submit(user, video, ["youtube"], scheduledAt=later, callbackUrl=rx.url + "/c")
        r = sptest.http("POST", f"/social-post/{job}/cancel", token=sptest.token(user))
        assert r.status == 200 and r.json["status"] == "failed", r.body
        # written with the cancel, before any worker ran
        assert [e[:3] for e in events(job)] == [("pending", "failed", 0)]
        with wk.Platforms() as p:
            w = p.worker()
            [req] = rx.wait(1)
            assert_signed(req)
            assert json.loads(req["body"])["results"]["youtube"]["state"] == "cancelled"
            assert w.stop() == 0


def test_410_gone_stops_the_attempts():
    with wk.Platforms() as p:
        wk.clear_queue()
        user, video = youtube_user(p)
        with Receiver(answers=[(410, 0)]) as rx:
            job = wk.submit(user, video, ["youtube"], callbackUrl=rx.url + "/gone")
            w = p.worker()
            rx.wait(1)
            wk.wait_for("given up", lambda: events(job)[0][0] == "failed")
            time.sleep(1.5)
            assert len(rx.requests) == 1
            assert events(job)[0][2:] == (1, "the receiver answered 410 Gone"), events(job)
            assert w.stop() == 0


def test_an_event_is_given_up_after_the_give_up_age():
    with wk.Platforms() as p:
        wk.clear_queue()
        user, video = youtube_user(p)
        with Receiver(answers=[(500, 0)]) as rx:
            job = wk.submit(user, video, ["youtube"], callbackUrl=rx.url + "/down")
            w = p.worker("--webhook-give-up", "2")
            wk.wait_for("given up", lambda: events(job) and events(job)[0][0] == "failed", 30)
            [(state, status, attempts, error)] = events(job)
            assert attempts >= 2 and len(rx.requests) == attempts, (attempts, len(rx.requests))
            assert error.startswith(f"gave up after {attempts} attempts") and "HTTP 500" in error
            assert w.stop() == 0


def test_private_addresses_are_refused_without_the_flag():
    with wk.Platforms() as p:
        wk.clear_queue()
        user, video = youtube_user(p)
        with Receiver() as rx:
            job = wk.submit(user, video, ["youtube"], callbackUrl=rx.url + "/private")
            w = p.worker(env={"SOCIAL_POST_ALLOW_PRIVATE_CALLBACK_URLS": None})
            wk.wait_for("an attempt", lambda: events(job) and events(job)[0][2] >= 1, 30)
            [(state, status, attempts, error)] = events(job)
            assert state in ("pending", "sending") and "private network address" in error, error
            assert rx.requests == []
            assert w.stop() == 0
    sptest.sql("UPDATE social_post_webhooks SET state = 'failed' WHERE job_id = %s", (job,))


def test_a_once_worker_sends_the_events_of_its_jobs_before_it_exits():
    with wk.Platforms() as p:
        wk.clear_queue()
        sptest.sql("UPDATE social_post_webhooks SET state = 'failed' WHERE state <> 'delivered'")
        user, video = youtube_user(p)
        with Receiver() as rx:
            job = wk.submit(user, video, ["youtube"], callbackUrl=rx.url + "/cron")
            w = p.worker("--once")
            assert w.wait(60) == 0, w.output()
            assert len(rx.requests) == 1 and events(job)[0][0] == "delivered", events(job)


def test_a_job_without_a_callback_url_has_no_event():
    with wk.Platforms() as p:
        wk.clear_queue()
        user, video = youtube_user(p)
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        assert wk.wait_job(user, job)["status"] == "completed"
        assert events(job) == []
        assert w.stop() == 0


BAD_CALLBACK_URLS = [
    ("ftp://example.com/hook", "http:// or https://"),
    ("http://user:pass@example.com/hook", "credentials"),
    ("https://example.com/" + "a" * (2049 - len("https://example.com/")), "2048"),
    (42, "string"),
    (["https://example.com/"], "string"),
    ("http:///hook", "no host"),
    ("https://", "no host"),
    ("", "http or https URL"),
    ("https://example.com/hook#part", "fragment"),
    ("https://exa mple.com/", "ASCII"),
    ("https://example.com/caf\u00e9", "ASCII"),
    ("https://example.com:99999/", "port"),
    ("https://example.com:/", "port"),
    ("http://2130706433/", "dotted"),
    ("http://[::1/", "IPv6"),
    ("https://example..com/", "host name"),
    ("https://example.com/%zz", "%-escape"),
    ("https://example.com/a\\b", "percent-encoded"),
    ("javascript:alert(1)", "http:// or https://"),
]


def test_bad_callback_urls_are_refused_with_400_and_nothing_stored():
    user = sptest.new_user()
    video = sptest.new_video(user)
    for value, words in BAD_CALLBACK_URLS:
        r = sptest.http("POST", "/social-post",
                        {"videoId": video, "platforms": ["youtube"], "callbackUrl": value},
                        token=sptest.token(user))
        assert r.status == 400 and r.json["code"] == "invalid_callback_url", (value, r.body)
        assert words in r.json["error"], (value, r.json["error"])
    assert sptest.sql("SELECT count(*) FROM social_post_jobs WHERE user_id = %s", (user,)) == [(0,)]


def test_callback_urls_that_follow_the_rules_are_stored():
    user = sptest.new_user()
    video = sptest.new_video(user)
    longest = "https://example.com/" + "a" * (2048 - len("https://example.com/"))
    for value in (longest, "HTTP://Example.COM:8080/a/b?c=d&e=%2F", "https://[2001:db8::1]/x",
                  "http://192.0.2.7", "https://hooks.example.com?x=1", None):
        job = wk.submit(user, video, ["youtube"], scheduledAt=LATER, callbackUrl=value)
        assert sptest.sql("SELECT callback_url FROM social_post_jobs WHERE id = %s",
                          (job,)) == [(value,)]
    wk.clear_queue()


def test_the_idempotency_key_covers_the_callback_url():
    user = sptest.new_user()
    video = sptest.new_video(user)
    headers = {"Idempotency-Key": "hook-" + user}
    body = {"videoId": video, "platforms": ["youtube"], "callbackUrl": "https://example.com/a",
            "scheduledAt": LATER}
    first = sptest.http("POST", "/social-post", body, headers=headers, token=sptest.token(user))
    again = sptest.http("POST", "/social-post", body, headers=headers, token=sptest.token(user))
    assert first.status == 202 and again.status == 202, (first.body, again.body)
    assert again.json["jobId"] == first.json["jobId"]
    other = dict(body, callbackUrl="https://example.com/b")
    r = sptest.http("POST", "/social-post", other, headers=headers, token=sptest.token(user))
    assert r.status == 422 and r.json["code"] == "idempotency_key_reused", r.body
    wk.clear_queue()


# ---------------------------------------------------------------- no secret

def fastcgi(port, method, path_info, body=b"", headers=None):
    """One request to a FastCGI responder on 127.0.0.1:port, as nginx would
    send it; returns (status, body bytes)."""
    params = {"REQUEST_METHOD": method, "PATH_INFO": path_info, "QUERY_STRING": "",
              "DOCUMENT_URI": "/social-post" + path_info, "CONTENT_TYPE": "application/json",
              "CONTENT_LENGTH": str(len(body)), "SERVER_PROTOCOL": "HTTP/1.1"}
    params.update(headers or {})

    def record(kind, content):
        return struct.pack("!BBHHBx", 1, kind, 1, len(content), 0) + content

    def length(n):
        return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)

    pairs = b"".join(length(len(k)) + length(len(v.encode())) + k.encode() + v.encode()
                     for k, v in params.items())
    message = (record(1, struct.pack("!HB5x", 1, 0)) + record(4, pairs) + record(4, b"")
               + (record(5, body) if body else b"") + record(5, b""))
    out = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(message)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    while len(data) >= 8:
        _, kind, _, n, pad = struct.unpack("!BBHHBx", data[:8])
        if kind == 6:
            out += data[8:8 + n]
        data = data[8 + n + pad:]
    head, _, rest = out.partition(b"\r\n\r\n")
    status = 200
    for line in head.decode().split("\r\n"):
        if line.lower().startswith("status:"):
            status = int(line.split()[1])
    return status, rest


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_callback_url_is_refused_when_no_secret_is_configured():
    st = sptest.state()
    port = free_port()
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": st["api_database_url"],
           "SUPABASE_JWT_SECRET": st["hs256_secret"],
           "ASAN_OPTIONS": "detect_leaks=1:log_path=" + os.path.join(st["stack_dir"], "asan")}
    log = open(os.path.join(st["stack_dir"], "social-post-nosecret.log"), "wb")
    proc = subprocess.Popen([os.path.join(st["build_dir"], "social-post"), "--listen",
                             f"127.0.0.1:{port}", "--threads", "1"], env=env,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        wk.wait_for("the program to listen", lambda: sptest_port_open(port), 20)
        user = sptest.new_user()
        video = sptest.new_video(user)
        auth = {"HTTP_AUTHORIZATION": "Bearer " + sptest.token(user)}
        hook = json.dumps({"videoId": video, "platforms": ["youtube"],
                           "callbackUrl": "https://example.com/hook"}).encode()
        status, body = fastcgi(port, "POST", "", hook, auth)
        assert status == 400 and json.loads(body)["code"] == "webhooks_not_configured", body
        assert sptest.sql("SELECT count(*) FROM social_post_jobs WHERE user_id = %s",
                          (user,)) == [(0,)]
        plain = json.dumps({"videoId": video, "platforms": ["youtube"],
                            "scheduledAt": LATER}).encode()
        status, body = fastcgi(port, "POST", "", plain, auth)
        assert status == 202, body  # the same program takes a job without one
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        wk.clear_queue()


def sptest_port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


sptest.run(globals())
