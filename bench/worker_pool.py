#!/usr/bin/python3
"""worker_pool.py: one worker running many uploads at once on a few database
connections (issue 18's target: 100 concurrent uploads, at most 6
connections).

    worker_pool.py [--uploads 100] [--db-connections 4] [--video-mib 2]
                   [--no-webhooks] [--receiver-delay 0.2]

Submits --uploads Facebook jobs (one user each, so the per-user limit does
not serialise them), starts one social-post-worker with --concurrency equal
to --uploads, and samples every 100 ms: the deliveries running at once, and
the worker's connections in pg_stat_activity (counted by an application_name
of its own, PGAPPNAME). The fake Graph API paces transfers so the uploads
overlap. By default the worker has a webhook secret and every job a
callbackUrl on a local receiver that answers after --receiver-delay seconds,
so the webhook senders work while the uploads run (each job's event when it
completes); --no-webhooks runs without the secret. Either way, every thread
but the listener borrows from the pool: at most --db-connections + 1.

Prints: uploads running at once (peak), connections (peak) against the
target, and the ratio; webhooks delivered; seconds for all. The exit status
is 1 only when a job did not complete or a webhook was not delivered.
"""
import argparse
import http.server
import sys
import threading
import time
import uuid

import sptest
import workerkit as wk

MiB = 1 << 20
TARGET_CONNECTIONS = 6


class Receiver:
    """A local webhook receiver: 200 after delay seconds."""

    def __init__(self, delay):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(delay)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/bench-pool-" + uuid.uuid4().hex[:6]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def undelivered(url):
    return sptest.sql("SELECT count(*) FROM social_post_webhooks"
                      " WHERE url = %s AND state <> 'delivered'", (url,))[0][0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--uploads", type=int, default=100)
    ap.add_argument("--db-connections", type=int, default=4)
    ap.add_argument("--video-mib", type=int, default=2)
    ap.add_argument("--no-webhooks", action="store_true",
                    help="no webhook secret, no callbackUrl")
    ap.add_argument("--receiver-delay", type=float, default=0.2)
    a = ap.parse_args()
    app = "sp-bench-pool-" + uuid.uuid4().hex[:6]
    rx = None if a.no_webhooks else Receiver(a.receiver_delay)
    extra = {"callbackUrl": rx.url} if rx else {}
    env = {"PGAPPNAME": app}
    if not rx:
        env["SOCIAL_POST_WEBHOOK_SECRET"] = None
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_chunk_bytes": 256 << 10, "bandwidth_bytes_per_sec": 512 << 10})
        jobs = []
        for i in range(a.uploads):
            url, _ = p.video.add_video(f"bench-pool-{i}.mp4", a.video_mib * MiB)
            user, video = wk.user_with_video(url)
            wk.connect(user, "facebook", access_token="EAAB-page-token")
            jobs.append((user, wk.submit(user, video, ["facebook"], **extra)))
        peak = {"connections": 0, "running": 0}
        done = threading.Event()

        def sample():
            while not done.is_set():
                n = sptest.sql("SELECT count(*) FROM pg_stat_activity"
                               " WHERE application_name = %s", (app,))[0][0]
                r = sptest.sql("SELECT count(*) FROM social_post_deliveries"
                               " WHERE state = 'running'")[0][0]
                peak["connections"] = max(peak["connections"], n)
                peak["running"] = max(peak["running"], r)
                time.sleep(0.1)

        sampler = threading.Thread(target=sample)
        sampler.start()
        start = time.monotonic()
        w = p.worker("--concurrency", str(a.uploads), "--per-user", "1",
                     "--db-connections", str(a.db_connections),
                     env=env)
        failed = 0
        hooks_left = 0
        try:
            for user, job in jobs:
                s = wk.wait_job(user, job, timeout=600)
                failed += s["status"] != "completed"
            if rx:
                until = time.monotonic() + 120
                while (hooks_left := undelivered(rx.url)) and time.monotonic() < until:
                    time.sleep(0.2)
        finally:
            done.set()
            sampler.join()
            seconds = time.monotonic() - start
            w.stop()
            if rx:
                rx.close()
    print(f"uploads {a.uploads} x {a.video_mib} MiB, --db-connections {a.db_connections}:"
          f" {peak['running']} running at once (peak), all done in {seconds:.1f} s")
    print(f"database connections (peak) {peak['connections']}, target <= {TARGET_CONNECTIONS}:"
          f" ratio {peak['connections'] / TARGET_CONNECTIONS:.2f} of the limit"
          f" ({'with' if rx else 'without'} a webhook secret)")
    if rx:
        print(f"webhooks delivered {a.uploads - hooks_left} of {a.uploads}"
              f" (receiver answering after {a.receiver_delay} s)")
    if failed:
        print(f"{failed} job(s) did not complete", file=sys.stderr)
    if hooks_left:
        print(f"{hooks_left} webhook(s) not delivered", file=sys.stderr)
    return 1 if failed or hooks_left else 0


if __name__ == "__main__":
    sys.exit(main())
