#!/usr/bin/python3
"""worker_pool.py: one worker running many uploads at once on a few database
connections (issue 18's target: 100 concurrent uploads, at most 6
connections).

    worker_pool.py [--uploads 100] [--db-connections 4] [--video-mib 2]

Submits --uploads Facebook jobs (one user each, so the per-user limit does
not serialise them), starts one social-post-worker with --concurrency equal
to --uploads, and samples every 100 ms: the deliveries running at once, and
the worker's connections in pg_stat_activity (counted by an application_name
of its own, PGAPPNAME). The fake Graph API paces transfers so the uploads
overlap. Without a webhook secret the worker's connections are the pool, the
listener and the thread that expires unsent webhook events; the webhook
senders (with a secret) have their own, not counted here.

Prints: uploads running at once (peak), connections (peak) against the
target, and the ratio; seconds for all. The exit status is 1 only when a job
did not complete.
"""
import argparse
import sys
import threading
import time
import uuid

import sptest
import workerkit as wk

MiB = 1 << 20
TARGET_CONNECTIONS = 6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--uploads", type=int, default=100)
    ap.add_argument("--db-connections", type=int, default=4)
    ap.add_argument("--video-mib", type=int, default=2)
    a = ap.parse_args()
    app = "sp-bench-pool-" + uuid.uuid4().hex[:6]
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_chunk_bytes": 256 << 10, "bandwidth_bytes_per_sec": 512 << 10})
        jobs = []
        for i in range(a.uploads):
            url, _ = p.video.add_video(f"bench-pool-{i}.mp4", a.video_mib * MiB)
            user, video = wk.user_with_video(url)
            wk.connect(user, "facebook", access_token="EAAB-page-token")
            jobs.append((user, wk.submit(user, video, ["facebook"])))
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
                     env={"PGAPPNAME": app, "SOCIAL_POST_WEBHOOK_SECRET": None})
        failed = 0
        try:
            for user, job in jobs:
                s = wk.wait_job(user, job, timeout=600)
                failed += s["status"] != "completed"
        finally:
            done.set()
            sampler.join()
            seconds = time.monotonic() - start
            w.stop()
    print(f"uploads {a.uploads} x {a.video_mib} MiB, --db-connections {a.db_connections}:"
          f" {peak['running']} running at once (peak), all done in {seconds:.1f} s")
    print(f"database connections (peak) {peak['connections']}, target <= {TARGET_CONNECTIONS}:"
          f" ratio {peak['connections'] / TARGET_CONNECTIONS:.2f} of the limit")
    if failed:
        print(f"{failed} job(s) did not complete", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
