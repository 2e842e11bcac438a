#!/usr/bin/python3
"""prune.py: retention (migration 0020) on a million rows: how long pruning
takes, the longest lock it holds, and the tables' size before and after.

    prune.py [--jobs 250000] [--old-days 60] [--batch 1000]

Fills the queue's history with --jobs finished jobs of 10,000 users, four
deliveries each (a million with the default) with a checkpoint and a last
error, and four delivered webhook events each, their ages spread evenly over
--old-days days (triggers off while filling, as a bulk load). Then prunes as
the worker does: social_post_prune('30 days', NULL, --batch) until a batch
finds nothing, each call its own transaction. Row locks of a batch are held
until its commit, so the longest lock held is at most the longest batch.
A second pass prunes "a day's worth": rows that turned 30 days old in the
last day (after ageing the remaining rows by a day), which is what an hourly
worker meets in practice.

Prints: rows removed, seconds, batches, the longest batch (the longest lock
held) against the 100 ms target with its ratio, and each table's heap and
index size before, after pruning, and after a plain VACUUM (which makes the
space reusable; the files shrink only with VACUUM FULL or pg_repack).
Every job still exists at the end (checked).
"""
import argparse
import sys
import time

import sptest

TARGET_MS = 100.0
TABLES = ("social_post_deliveries", "social_post_webhooks", "social_post_jobs")


def sizes():
    return {t: sptest.sql("SELECT pg_table_size(%s::regclass), pg_indexes_size(%s::regclass)",
                          (t, t))[0] for t in TABLES}


def fill(jobs, old_days):
    users = 10000
    sptest.sql("INSERT INTO auth.users (id) SELECT gen_random_uuid() FROM generate_series(1, %s)"
               " ON CONFLICT DO NOTHING", (users,))
    sptest.sql("""
        BEGIN;
        SET LOCAL session_replication_role = replica;
        CREATE TEMP TABLE bench_users ON COMMIT DROP AS
            SELECT id, row_number() OVER () AS n FROM auth.users ORDER BY id LIMIT %(users)s;
        CREATE TEMP TABLE bench_videos ON COMMIT DROP AS
            WITH v AS (INSERT INTO product_videos (user_id, title, video_url)
                       SELECT id, 'bench', 'http://127.0.0.1:9/v.mp4' FROM bench_users
                       RETURNING id, user_id)
            SELECT v.id, v.user_id, u.n FROM v JOIN bench_users u ON u.id = v.user_id;
        CREATE TEMP TABLE bench_jobs ON COMMIT DROP AS
            SELECT gen_random_uuid() AS id, v.user_id, v.id AS video_id,
                   now() - make_interval(secs => %(span)s::double precision * g / %(jobs)s) AS at
            FROM generate_series(1, %(jobs)s) g
            JOIN bench_videos v ON v.n = 1 + g %% %(users)s;
        INSERT INTO social_post_jobs (id, user_id, video_id, platforms, status, results,
                                      created_at, updated_at)
            SELECT id, user_id, video_id, '["youtube","facebook","instagram","tiktok"]',
                   'completed', '{}', at, at FROM bench_jobs;
        INSERT INTO social_post_deliveries (job_id, platform, state, checkpoint, last_error,
                                            result, created_at, updated_at)
            SELECT j.id, p, 'succeeded',
                   '{"phase": "published", "upload_url": "https://example.invalid/upload/session/0123456789abcdef"}',
                   'a transient error before the last attempt', '{"postId": "1"}', j.at, j.at
            FROM bench_jobs j, unnest(ARRAY['youtube','facebook','instagram','tiktok']) p;
        INSERT INTO social_post_webhooks (job_id, url, status, body, state, created_at,
                                          updated_at, delivered_at)
            SELECT j.id, 'https://example.invalid/hook', 'completed',
                   '{"jobId": "' || j.id || '", "status": "completed"}', 'delivered',
                   j.at, j.at, j.at
            FROM bench_jobs j, generate_series(1, 4);
        COMMIT;
        ANALYZE social_post_jobs; ANALYZE social_post_deliveries; ANALYZE social_post_webhooks;
    """, {"users": users, "jobs": jobs, "span": old_days * 86400})


def prune(batch):
    """Batches until nothing is left, on one connection as the worker does:
    (rows removed, seconds, batch durations in ms, sorted)."""
    removed, times = 0, []
    conn = sptest.db()
    start = time.monotonic()
    try:
        with conn.cursor() as cur:
            while True:
                t = time.monotonic()
                cur.execute("SELECT * FROM social_post_prune('30 days', NULL, %s)", (batch,))
                got = cur.fetchone()
                times.append((time.monotonic() - t) * 1000)
                removed += sum(got)
                if max(got) < batch:
                    return removed, time.monotonic() - start, sorted(times)
    finally:
        conn.close()


def show_sizes(label, s):
    for t in TABLES:
        heap, idx = s[t]
        print(f"  {label:<14} {t:<24} table {heap / 2**20:8.1f} MiB  indexes {idx / 2**20:8.1f} MiB")


def report(what, r):
    removed, seconds, times = r
    longest, median = times[-1], times[len(times) // 2]
    print(f"{what}: {removed} rows in {seconds:.2f} s ({len(times)} batches, median"
          f" {median:.1f} ms); longest batch (lock held) {longest:.1f} ms, target <="
          f" {TARGET_MS:.0f} ms: ratio {longest / TARGET_MS:.2f} of the limit;"
          f" load average {open('/proc/loadavg').read().split()[0]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=250000)
    ap.add_argument("--old-days", type=int, default=60)
    ap.add_argument("--batch", type=int, default=500)
    a = ap.parse_args()
    jobs_before = sptest.sql("SELECT count(*) FROM social_post_jobs")[0][0]
    t = time.monotonic()
    fill(a.jobs, a.old_days)
    print(f"filled {a.jobs} jobs, {a.jobs * 4} deliveries, {a.jobs * 4} webhook events"
          f" over {a.old_days} days in {time.monotonic() - t:.1f} s")
    before = sizes()
    report("prune everything older than 30 days", prune(a.batch))
    after = sizes()
    sptest.sql("VACUUM social_post_deliveries")
    sptest.sql("VACUUM social_post_webhooks")
    vacuumed = sizes()
    # a day later: what turned 30 days old since
    sptest.sql("BEGIN; SET LOCAL session_replication_role = replica;"
               " UPDATE social_post_deliveries SET updated_at = updated_at - interval '1 day'"
               "  WHERE checkpoint <> '{}';"
               " UPDATE social_post_webhooks SET updated_at = updated_at - interval '1 day';"
               " COMMIT")
    report("a day's worth, a day later", prune(a.batch))
    show_sizes("before", before)
    show_sizes("after prune", after)
    show_sizes("after VACUUM", vacuumed)
    jobs_after = sptest.sql("SELECT count(*) FROM social_post_jobs")[0][0]
    kept = jobs_after == jobs_before + a.jobs
    print(f"jobs kept: {jobs_after - jobs_before} of {a.jobs}")
    return 0 if kept else 1


if __name__ == "__main__":
    sys.exit(main())
