"""What the worker's end-to-end tests share: the platform fakes, workers as
real processes pointed at them, connected accounts, and waiting for jobs.

    with workerkit.Platforms() as p:
        url, sha = p.video.add_video("a.mp4", 3 << 20)
        user, video = workerkit.user_with_video(url)
        workerkit.connect(user, "youtube")
        job = workerkit.submit(user, video, ["youtube"])
        w = p.worker("--concurrency", "2")
        done = workerkit.wait_job(user, job)
        w.stop()

Workers connect as the database superuser (the worker needs a role that
bypasses RLS), write JSON logs into the stack folder, and under the sanitizer
build write their reports where `stack.py stop` looks for them.
"""
import http.server
import itertools
import json
import os
import signal
import subprocess
import threading
import time

import fakectl
import sptest

_counter = itertools.count(1)


class Worker:
    """A social-post-worker process."""

    def __init__(self, args, env, prefix=(), preexec_fn=None):
        """prefix: a command the worker runs under (it must exec the worker,
        keeping the pid); preexec_fn: run in the child before exec."""
        st = sptest.state()
        n = next(_counter)
        self.log_path = os.path.join(st["stack_dir"], f"worker-{os.getpid()}-{n}.log")
        self.log = open(self.log_path, "wb")
        binary = os.path.join(st["build_dir"], "social-post-worker")
        self.proc = subprocess.Popen([*prefix, binary, *args], env=env, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True, preexec_fn=preexec_fn)

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout):
        """Exit code, or None when still running after timeout seconds."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit code (SIGKILL after timeout)."""
        self.signal(signal.SIGTERM)
        code = self.wait(timeout)
        if code is None:
            self.proc.kill()
            code = self.proc.wait()
        self.log.close()
        return code

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def rss_peak_kib(self):
        """VmHWM of the running process, from /proc."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return None

    def output(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


class Platforms:
    """Fake YouTube, Graph API, TikTok and video server, plus workers pointed at them."""

    def __init__(self):
        self.youtube = fakectl.Fake.start("youtube")
        self.graph = fakectl.Fake.start("graph")
        self.tiktok = fakectl.Fake.start("tiktok")
        self.video = fakectl.Fake.start("video")
        self.workers = []

    def env(self):
        st = sptest.state()
        stack = st["stack_dir"]
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": st["database_url"],
            "YOUTUBE_UPLOAD_URL": self.youtube.url + "/upload/youtube/v3/videos",
            "YOUTUBE_THUMBNAILS_URL": self.youtube.url + "/upload/youtube/v3/thumbnails/set",
            "GOOGLE_TOKEN_URL": self.youtube.url + "/token",
            "GOOGLE_CLIENT_ID": "test-client-id",
            "GOOGLE_CLIENT_SECRET": "test-client-secret",
            "FACEBOOK_GRAPH_URL": self.graph.url + "/v27.0",
            "FACEBOOK_VIDEO_URL": self.graph.url + "/v27.0",
            "FACEBOOK_RUPLOAD_URL": self.graph.url + "/video-upload/v27.0",
            "INSTAGRAM_GRAPH_URL": self.graph.url + "/instagram/v27.0",
            "TIKTOK_API_URL": self.tiktok.url,
            "TIKTOK_CLIENT_KEY": "test-client-key",
            "TIKTOK_CLIENT_SECRET": "test-client-secret",
            "SOCIAL_POST_SPOOL_DIR": os.path.join(stack, "spool"),
            "SOCIAL_POST_ALLOW_PRIVATE_VIDEO_URLS": "1",  # the test videos are on 127.0.0.1
            "SOCIAL_POST_WEBHOOK_SECRET": st["webhook_secret"],
            "SOCIAL_POST_ALLOW_PRIVATE_CALLBACK_URLS": "1",  # so are the test receivers
            "ASAN_OPTIONS": "detect_leaks=1:log_path=" + os.path.join(stack, "asan"),
            "UBSAN_OPTIONS": "print_stacktrace=1:log_path=" + os.path.join(stack, "ubsan"),
        })
        return env

    def worker(self, *args, fast=True, env=None, prefix=(), preexec_fn=None):
        """Starts a worker; fast shortens backoff and polling for tests; env
        entries set to None are removed (see Worker for prefix, preexec_fn)."""
        base = ["--backoff-base", "0.2", "--webhook-backoff", "0.2", "--poll", "1"] if fast else []
        e = self.env()
        e.update(env or {})
        w = Worker(base + list(args), {k: v for k, v in e.items() if v is not None},
                   prefix=prefix, preexec_fn=preexec_fn)
        self.workers.append(w)
        return w

    def close(self):
        for w in self.workers:
            if w.proc.poll() is None:
                w.stop()
        for fake in (self.youtube, self.graph, self.tiktok, self.video):
            fake.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def user_with_video(video_url, title="Launch teaser"):
    user = sptest.new_user()
    return user, sptest.new_video(user, title=title, video_url=video_url)


def connect(user, platform, access_token="ya29.valid-token", refresh_token="1//refresh-token",
            account_id=None, expires_in=3600):
    """Connects user's account on platform (a social_accounts row)."""
    account = account_id or {"youtube": None, "facebook": "1000001", "instagram": "1780001",
                             "tiktok": "tt-open-id-0001"}[platform]
    sptest.sql("INSERT INTO social_accounts (user_id, platform, account_id, access_token,"
               " refresh_token, token_expires_at)"
               " VALUES (%s, %s, %s, %s, %s, now() + make_interval(secs => %s))",
               (user, platform, account, access_token, refresh_token, expires_in))


def submit(user, video, platforms, **fields):
    """Submits through nginx; returns the job id."""
    r = sptest.http("POST", "/social-post", dict(videoId=video, platforms=platforms, **fields),
                    token=sptest.token(user))
    assert r.status == 202, (r.status, r.body)
    return r.json["jobId"]


_api_keeps_options = None


def submit_options(user, video, platforms, options, **fields):
    """Submits a job with options through the API; where this API does not
    keep TikTok options yet (found out once), writes the row the API would."""
    global _api_keeps_options
    if _api_keeps_options is not False:
        r = sptest.http("POST", "/social-post", dict(videoId=video, platforms=platforms, options=options,
                                                      **fields), token=sptest.token(user))
        assert r.status in (202, 400), (r.status, r.body)
        job = r.json["jobId"] if r.status == 202 else None
        stored = job and sptest.sql("SELECT options FROM social_post_jobs WHERE id = %s", (job,))[0][0]
        _api_keeps_options = stored == options
        if _api_keeps_options:
            return job
        if job:  # that job is not the one asked for: out of the way
            sptest.sql("UPDATE social_post_deliveries SET state = 'cancelled' WHERE job_id = %s", (job,))
    return sptest.sql("INSERT INTO social_post_jobs (user_id, video_id, platforms, title, description,"
                      " options) VALUES (%s, %s, %s::jsonb, %s, %s, %s::jsonb) RETURNING id",
                      (user, video, json.dumps(platforms), fields.get("title"), fields.get("description"),
                       json.dumps(options)))[0][0]


def status(user, job):
    r = sptest.http("GET", f"/social-post-status?jobId={job}", token=sptest.token(user))
    assert r.status == 200, (r.status, r.body)
    return r.json


def wait_job(user, job, timeout=60, until=("completed", "failed")):
    """Polls the status endpoint until the job's status is in until."""
    deadline = time.time() + timeout
    while True:
        s = status(user, job)
        if s["status"] in until:
            return s
        if time.time() > deadline:
            raise AssertionError(f"job {job} still {s['status']} after {timeout}s: {s}")
        time.sleep(0.1)


def wait_for(what, check, timeout=30, every=0.05):
    deadline = time.time() + timeout
    while not check():
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(every)


def clear_queue():
    """Cancels every open delivery left by earlier tests, so a test's worker
    works only on that test's jobs."""
    sptest.sql("UPDATE social_post_deliveries SET state = 'cancelled', lease_owner = NULL"
               " WHERE state IN ('queued', 'running')")


def history(job):
    """The scheduled_posts rows of job: (platform, status, post_url, post_id, error)."""
    return sptest.sql("SELECT platform, status, post_url, post_id, error FROM scheduled_posts"
                      " WHERE job_id = %s ORDER BY platform", (job,))


def delivery(job, platform):
    """(state, attempts, checkpoint) of a job's delivery."""
    rows = sptest.sql("SELECT state, attempts, checkpoint FROM social_post_deliveries"
                      " WHERE job_id = %s AND platform = %s", (job, platform))
    return rows[0] if rows else None


class Receiver:
    """A webhook receiver on 127.0.0.1 (workerkit allows private callback URLs):
    answers every POST with 200 after delay seconds; records arrival times."""

    def __init__(self, delay=0.0):
        self.arrivals = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.arrivals.append(time.time())
                time.sleep(delay)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the worker stopped waiting

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
