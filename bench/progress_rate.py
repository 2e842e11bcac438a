#!/usr/bin/python3
"""progress_rate.py: what progress reports cost the database, with and
without coalescing (issue 18): 3 workers x 50 uploads reporting progress.

    progress_rate.py [--workers 3] [--uploads 50] [--video-mib 4] [--seconds 5]

Each run submits workers x uploads Facebook jobs (one user each), starts the
workers (--concurrency uploads each) and measures, from the first claim to
the last job completed: commits per second (pg_stat_database.xact_commit of
the stack's database) and job row updates per second (pg_stat_user_tables
n_tup_upd of social_post_jobs: each one is a NOTIFY and, on Supabase, a
Realtime change). The fake Graph API asks for 64 KiB per transfer, so an
upload reports progress many times a second.
  with     the defaults: a delivery reports at most once a second, a job
           changes at most once a second (migration 0021)
  without  SOCIAL_POST_PROGRESS_EVERY=0 and social_post.progress_every=0:
           every report reaches the delivery and the job
Next to them, pgbench's plain update rate on the same server (single-row
UPDATEs of a 150-row table, 8 clients, --seconds): the commit rate this
Postgres can give in all. Prints each rate and its ratio to pgbench's.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import sptest
import workerkit as wk

MiB = 1 << 20


def counters():
    commits = sptest.sql("SELECT xact_commit FROM pg_stat_database"
                         " WHERE datname = current_database()")[0][0]
    updates = sptest.sql("SELECT n_tup_upd FROM pg_stat_user_tables"
                         " WHERE relname = 'social_post_jobs'")[0][0]
    return commits, updates


def stats_settle():
    time.sleep(0.6)  # backends report their counters at most every 500 ms (idle)


def one_run(a, coalesce):
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_chunk_bytes": 64 << 10, "bandwidth_bytes_per_sec": 1 * MiB})
        jobs = []
        for i in range(a.workers * a.uploads):
            url, _ = p.video.add_video(f"progress-rate-{coalesce}-{i}.mp4", a.video_mib * MiB)
            user, video = wk.user_with_video(url)
            wk.connect(user, "facebook", access_token="EAAB-page-token")
            jobs.append((user, wk.submit(user, video, ["facebook"])))
        env = {"SOCIAL_POST_WEBHOOK_SECRET": None}
        if not coalesce:
            env.update({"SOCIAL_POST_PROGRESS_EVERY": "0",
                        "PGOPTIONS": "-c social_post.progress_every=0"})
        stats_settle()
        c0, u0 = counters()
        start = time.monotonic()
        workers = [p.worker("--concurrency", str(a.uploads), "--per-user", "1", env=env)
                   for _ in range(a.workers)]
        failed = 0
        for user, job in jobs:
            failed += wk.wait_job(user, job, timeout=900)["status"] != "completed"
        seconds = time.monotonic() - start
        for w in workers:
            w.stop()
        stats_settle()
        c1, u1 = counters()
    return (c1 - c0) / seconds, (u1 - u0) / seconds, seconds, failed


def pgbench_updates(seconds):
    st = sptest.state()
    sptest.sql("DROP TABLE IF EXISTS bench_progress_rows;"
               " CREATE TABLE bench_progress_rows (id int PRIMARY KEY, n bigint NOT NULL);"
               " INSERT INTO bench_progress_rows SELECT g, 0 FROM generate_series(1, 150) g")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("\\set id random(1, 150)\nUPDATE bench_progress_rows SET n = n + 1 WHERE id = :id;\n")
        script = f.name
    pgb = os.path.join(st["pg"]["bin_dir"], "pgbench")
    try:
        out = subprocess.run([pgb, "-n", "-c", "8", "-j", "2", "-T", str(seconds), "-f", script,
                              st["database_url"]], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script)
        sptest.sql("DROP TABLE IF EXISTS bench_progress_rows")
    m = re.search(r"tps = ([0-9.]+)", out)
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--uploads", type=int, default=50)
    ap.add_argument("--video-mib", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=5)
    a = ap.parse_args()
    base = pgbench_updates(a.seconds)
    print(f"pgbench plain single-row updates (8 clients): {base:.0f} commits/s")
    failed = 0
    for coalesce in (True, False):
        commits, updates, seconds, bad = one_run(a, coalesce)
        failed += bad
        name = "with coalescing" if coalesce else "without"
        print(f"{name:<16} {a.workers} workers x {a.uploads} uploads of {a.video_mib} MiB in"
              f" {seconds:.1f} s: {commits:.0f} commits/s (ratio {commits / base:.3f} of"
              f" pgbench), {updates:.0f} job updates (NOTIFYs)/s")
    if failed:
        print(f"{failed} job(s) did not complete", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
