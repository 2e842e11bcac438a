"""Security and fairness, found by review: proxies and the private-address
guard, one user holding every worker slot, tokens with duplicated claims or
the wrong issuer, scheduledAt forms the README does not document.

What must hold: a user's video URL never reaches a private address, through a
proxy or not; one user's slow downloads never stop another user's job; a
token the C code and Postgres could read differently is refused; only the
documented ISO 8601 forms are accepted.
"""
import datetime
import hashlib
import hmac
import http.server
import os
import subprocess
import threading
import time
import uuid

import fakectl
import faultkit as fk
import sptest
import workerkit as wk

MiB = 1 << 20


def test_proxy_variables_do_not_bypass_the_private_address_guard():
    """The worker's environment names a proxy for every scheme. A video on a
    link-local address (169.254.169.254, the cloud metadata service) must
    still be refused, and the proxy must never be asked for it: libcurl
    would otherwise connect to the proxy and let the proxy fetch the private
    address for us.
    (Black-box this holds today only because the test proxy itself is on
    127.0.0.1, which the guard refuses too; a proxy on a public address would
    be let through. A C test must check that the download handle sets no
    proxy, or that the guard judges the final target.)"""
    proxy = fakectl.Fake.start("http_proxy")
    try:
        with fk.Platforms() as p:
            wk.clear_queue()
            user, video = wk.user_with_video("http://169.254.169.254/latest/video.mp4", title="Metadata")
            wk.connect(user, "youtube")
            job = wk.submit(user, video, ["youtube"])
            env = {"SOCIAL_POST_ALLOW_PRIVATE_VIDEO_URLS": None,
                   "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
            for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
                env[name] = proxy.url
            w = p.worker("--max-attempts", "2", env=env)
            row, _ = fk.wait_final(job, "youtube", timeout=30, hurry_queued=True)
            asked = proxy.stats()["requests"]
            checks = fk.Checks("proxy variables and the private-address guard")
            checks.check(not [r for r in asked if "169.254" in (r["target"] or "") + (r["host"] or "")],
                         f"the proxy was asked for the private video: {asked}")
            checks.check(row["state"] == "failed" and "private" in (row["last_error"] or ""),
                         f"the private video's delivery is {row['state']}: {row['last_error']!r}")
            checks.check(p.youtube.stats()["bytes_received"] == 0, "bytes reached YouTube")
            checks.check(w.stop() == 0, "worker did not exit 0 on SIGTERM")
            checks.done()
    finally:
        proxy.stop()


def slow_jobs_and_one_quick(p, user_a, user_b, slow_count):
    """slow_count jobs of user_a whose videos trickle at 1.2 kB/s (just above
    libcurl's 1 kB/s stall limit, so the download never counts as stalled),
    then one quick job of user_b. Returns (slow jobs, quick job)."""
    p.video.faults([{"op": "get", "path_contains": "/videos/slow-", "rate_bytes_per_sec": 1200, "times": 0}])
    slow = []
    for i in range(slow_count):
        url, _ = p.video.add_video(f"slow-{i}.mp4", 2 * MiB)
        slow.append(wk.submit(user_a, sptest.new_video(user_a, title=f"Trickle {i}", video_url=url),
                              ["youtube"]))
    return slow


def test_one_users_trickling_downloads_do_not_block_another_user():
    """User A's two videos trickle in at 1.2 kB/s (days for 2 MiB); the
    worker has two slots. User B's job must still be posted soon: at most
    half the slots (default --per-user) may work for one user."""
    with fk.Platforms() as p:
        wk.clear_queue()
        a, b = sptest.new_user(), sptest.new_user()
        wk.connect(a, "youtube")
        wk.connect(b, "youtube")
        slow_jobs_and_one_quick(p, a, b, 2)
        w = p.worker("--concurrency", "2", "--grace", "2")
        fk.wait_until(lambda: p.video.stats()["requests"].get("get", 0) >= 2, 10)
        url, sha = p.video.add_video("quick.mp4", 256 * 1024)
        quick = wk.submit(b, sptest.new_video(b, title="Quick one", video_url=url), ["youtube"])
        s = fk.wait_until(lambda: (lambda s: s if s["status"] in ("completed", "failed") else None)(
            wk.status(b, quick)), 30)
        checks = fk.Checks("per-user fairness")
        running = sptest.sql("SELECT count(*) FROM social_post_deliveries d JOIN social_post_jobs j"
                             " ON j.id = d.job_id WHERE j.user_id = %s AND d.state = 'running'", (a,))[0][0]
        checks.check(s is not None and s["status"] == "completed",
                     f"user B's job was not posted within 30 s while {running} slots trickled user A's "
                     f"downloads: {wk.status(b, quick)['status']}")
        code, taken = fk.stop_within(w, 2 + 10)
        checks.check(code == 0, f"SIGTERM with trickling downloads: {fk.describe_exit(code)} after {taken:.1f} s")
        checks.done()


def test_per_user_flag_is_accepted():
    """--per-user N (the fairness limit) is a flag of the worker."""
    with fk.Platforms() as p:
        wk.clear_queue()
        w = p.worker("--per-user", "1", "--once")
        code = w.wait(30)
        assert code == 0, f"social-post-worker --per-user 1 --once: {fk.describe_exit(code)}: {w.output()[-500:]}"


def hs256(header_json, payload_json):
    """A token signed with the stack's HS256 secret, header and payload given
    as JSON text (so they may hold duplicate keys)."""
    signing = sptest.b64url(header_json.encode()) + "." + sptest.b64url(payload_json.encode())
    sig = hmac.new(sptest.state()["hs256_secret"].encode(), signing.encode(), hashlib.sha256).digest()
    return signing + "." + sptest.b64url(sig)


def test_tokens_with_duplicate_keys_are_refused():
    """Two "sub" claims: the C code and Postgres (jsonb keeps the last) could
    read different users, so such a token must be 401. Same for a header
    with two "alg" keys."""
    a, b = sptest.new_user(), sptest.new_user()
    now = int(time.time())
    claims = (f'{{"sub":"{a}","aud":"authenticated","role":"authenticated","iat":{now},'
              f'"exp":{now + 600},"sub":"{b}"}}')
    checks = fk.Checks("duplicate keys in a token")
    r = sptest.http("GET", "/social-post-status", token=hs256('{"alg":"HS256","typ":"JWT"}', claims))
    checks.check(r.status == 401, f"a token with two sub claims got {r.status}: {r.body[:200]}")
    single = (f'{{"sub":"{a}","aud":"authenticated","role":"authenticated","iat":{now},"exp":{now + 600}}}')
    r = sptest.http("GET", "/social-post-status",
                    token=hs256('{"alg":"HS256","alg":"HS256","typ":"JWT"}', single))
    checks.check(r.status == 401, f"a token header with two alg keys got {r.status}: {r.body[:200]}")
    r = sptest.http("GET", "/social-post-status", token=hs256('{"alg":"HS256","typ":"JWT"}', single))
    checks.check(r.status == 200, f"the same token without duplicates got {r.status}: {r.body[:200]}")
    checks.done()


class JwksServer:
    """Serves the stack's JWKS at /auth/v1/.well-known/jwks.json, as Supabase does."""

    def __init__(self):
        with open(sptest.state()["jwks_file"], "rb") as f:
            body = f.read()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                ok = self.path == "/auth/v1/.well-known/jwks.json"
                self.send_response(200 if ok else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body) if ok else 0))
                self.end_headers()
                if ok:
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_issuer_is_checked_when_the_project_url_is_known():
    """With SUPABASE_URL set, a token must carry iss = SUPABASE_URL/auth/v1:
    another project's token (same secret, other issuer) and a token without
    iss are 401. Runs a second social-post-status with SUPABASE_URL, behind a
    stock nginx."""
    st = sptest.state()
    jwks = JwksServer()
    port = fk.free_port()
    stack = st["stack_dir"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPABASE_", "DATABASE_URL"))}
    env.update({"DATABASE_URL": st["api_database_url"], "SUPABASE_JWT_SECRET": st["hs256_secret"],
                "SUPABASE_URL": jwks.url,
                "ASAN_OPTIONS": "detect_leaks=1:log_path=" + os.path.join(stack, "asan"),
                "UBSAN_OPTIONS": "print_stacktrace=1:log_path=" + os.path.join(stack, "ubsan")})
    log = open(os.path.join(stack, f"status-iss-{port}.log"), "wb")
    prog = subprocess.Popen([os.path.join(st["build_dir"], "social-post-status"), "--listen",
                             f"127.0.0.1:{port}", "--threads", "2"], env=env, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    nginx = None
    try:
        assert fk.wait_until(lambda: fk.port_accepts(port), 15), "the second status program did not start"
        nginx = fk.StockNginx(status_port=port)
        user = sptest.new_user()
        path = f"/social-post-status?jobId={uuid.uuid4()}"
        checks = fk.Checks("the issuer check")
        for iss, want in ((jwks.url + "/auth/v1", 404), ("https://other-project.supabase.co/auth/v1", 401),
                          (None, 401)):
            tok = sptest.token(user, iss=iss) if iss else sptest.token(user)
            r = nginx.http("GET", path, token=tok)
            checks.check(r.status == want, f"iss {iss!r}: {r.status} (expected {want}) {r.body[:150]}")
        checks.done()
    finally:
        if nginx:
            nginx.stop()
        prog.terminate()
        try:
            prog.wait(10)
        except subprocess.TimeoutExpired:
            prog.kill()
            prog.wait()
        log.close()
        jwks.stop()
        assert prog.returncode == 0, f"the second status program ended with {prog.returncode}"


def test_scheduled_at_accepts_only_the_documented_forms():
    """ISO 8601 with a zone, as documented: no trailing junk in the offset
    (+05:3x is not +05:03), no negative or sign- or space-padded fields."""
    user = sptest.new_user()
    video = sptest.new_video(user)
    day = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime("%Y-%m-%d")
    checks = fk.Checks("scheduledAt forms")
    for good in (f"{day}T10:00:00Z", f"{day}T10:00:00.123Z", f"{day}T10:00:00+05:30"):
        r = sptest.http("POST", "/social-post", {"videoId": video, "platforms": ["youtube"], "scheduledAt": good},
                        token=sptest.token(user))
        checks.check(r.status == 202, f"{good!r} (documented) got {r.status}: {r.body[:150]}")
    for bad in (f"{day}T10:00:00+05:3x", f"{day}T10:00:00+05:-3", f"{day}T10:-1:00Z",
                f"{day}T+9:00:00Z", f"{day}T 9:00:00Z", f"{day}T10: 0:00Z", f"{day}T10:00:00+5:30"):
        r = sptest.http("POST", "/social-post", {"videoId": video, "platforms": ["youtube"], "scheduledAt": bad},
                        token=sptest.token(user))
        checks.check(r.status == 400, f"{bad!r} got {r.status}, expected 400")
    checks.done()


if __name__ == "__main__":
    sptest.run(globals())
