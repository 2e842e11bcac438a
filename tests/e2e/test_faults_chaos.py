"""Chaos: workers killed with SIGKILL at random (seeded) moments while they
post many jobs to all three platforms, and Postgres restarted under a load of
submits.

What must hold: every job is completed, each platform got exactly one post
per job with the video's own bytes, and no submit that was answered 202 is
lost; while the database is down submits get 503 with Retry-After, and once it
is back they succeed again without restarting anything.

The in-suite run is small (SP_CHAOS_JOBS=100 jobs, well under two minutes);
scripts/chaos.sh runs the same test long (more jobs, other seeds), see
docs/RELIABILITY.md. Settings: SP_CHAOS_JOBS, SP_CHAOS_SEED,
SP_CHAOS_KILL_EVERY ("min,max" seconds between kills), SP_CHAOS_SECONDS (how
long the kills go on at most).
"""
import os
import random
import threading
import time

import faultkit as fk
import sptest
import workerkit as wk

MiB = 1 << 20
PLATFORMS = ["youtube", "facebook", "instagram"]


def setting(name, default):
    return type(default)(os.environ.get(name, default))


def test_kill_9_at_random_moments_posts_every_job_exactly_once():
    jobs_n = setting("SP_CHAOS_JOBS", 100)
    seed = setting("SP_CHAOS_SEED", 20260123)
    low, high = (float(x) for x in os.environ.get("SP_CHAOS_KILL_EVERY", "0.5,1.5").split(","))
    kill_seconds = setting("SP_CHAOS_SECONDS", 60.0)
    rnd = random.Random(seed)
    print(f"chaos: {jobs_n} jobs x {len(PLATFORMS)} platforms, seed {seed}, a kill every {low}-{high} s")
    with fk.Platforms() as p:
        wk.clear_queue()
        size = 3 * MiB
        url, sha = p.video.add_video("chaos.mp4", size)
        p.youtube.config({"bandwidth_bytes_per_sec": 16 * MiB})
        # every job posts to one Instagram account: lift Meta's 50 a day, this
        # test is about kills, not the publishing limit
        p.graph.config({"bandwidth_bytes_per_sec": 16 * MiB, "fb_chunk_bytes": 1 * MiB,
                        "ig_transcode_seconds": 1, "ig_quota_total": 100000})
        users = [sptest.new_user() for _ in range(max(1, jobs_n // 10))]
        for u in users:
            wk.connect(u, "youtube")
            wk.connect(u, "facebook", access_token="EAAB-page-token")
            wk.connect(u, "instagram", access_token="IGQ-token")
        jobs = {}
        for i in range(jobs_n):
            u = users[i % len(users)]
            title = f"Chaos {seed} {i}"
            jobs[wk.submit(u, sptest.new_video(u, title=title, video_url=url), PLATFORMS)] = (u, title)
        args = ("--concurrency", "4", "--lease", "3", "--ig-poll", "0.5", "--grace", "5")
        workers = [p.worker(*args), p.worker(*args)]
        ids = list(jobs)

        def open_jobs():
            return sptest.sql("SELECT count(*) FROM social_post_jobs WHERE id = ANY(%s::uuid[])"
                              " AND status NOT IN ('completed', 'failed')", (ids,))[0][0]

        kills, started = 0, time.time()
        while time.time() - started < kill_seconds and open_jobs():
            time.sleep(rnd.uniform(low, high))
            i = rnd.randrange(len(workers))
            problem = fk.worker_problem(workers[i])
            assert problem is None, problem
            workers[i].kill()
            kills += 1
            workers[i] = p.worker(*args)
        left = fk.wait_until(lambda: open_jobs() == 0, 90, every=0.5)
        took = time.time() - started
        checks = fk.Checks(f"chaos (seed {seed}, {kills} kills)")
        statuses = sptest.sql("SELECT status, count(*) FROM social_post_jobs WHERE id = ANY(%s::uuid[])"
                              " GROUP BY status ORDER BY status", (ids,))
        checks.check(left is not None, f"jobs still open 90 s after the last kill: {statuses}")
        checks.check(statuses == [("completed", jobs_n)], f"job statuses {statuses}")
        bad = sptest.sql("SELECT d.platform, d.state, d.attempts, d.takeovers, d.last_error"
                         " FROM social_post_deliveries d WHERE d.job_id = ANY(%s::uuid[])"
                         " AND d.state <> 'succeeded' LIMIT 5", (ids,))
        checks.check(not bad, f"deliveries not succeeded: {bad}")
        takeovers = sptest.sql("SELECT coalesce(sum(takeovers), 0), count(*) FILTER (WHERE takeovers > 0)"
                               " FROM social_post_deliveries WHERE job_id = ANY(%s::uuid[])", (ids,))[0]
        titles = sorted(t for _, t in jobs.values())
        yt, gr = p.youtube.stats(), p.graph.stats()
        yt_titles = sorted(v["title"] for v in yt["videos"])
        checks.check(yt_titles == titles, f"YouTube: {len(yt_titles)} videos for {jobs_n} jobs, "
                     f"{len(set(yt_titles))} distinct")
        checks.check(all(v["sha256"] == sha for v in yt["videos"]), "a YouTube video is not the file")
        fb = [v for v in gr["fb_videos"] if v["published"]]
        checks.check(sorted(v["title"] for v in fb) == titles,
                     f"Facebook: {len(fb)} published videos for {jobs_n} jobs")
        checks.check(all(v["sha256"] == sha for v in fb), "a Facebook video is not the file")
        ig = sorted(m["caption"] for m in gr["ig_media"])
        checks.check(ig == titles, f"Instagram: {len(ig)} reels for {jobs_n} jobs, {len(set(ig))} distinct")
        print(f"chaos: {jobs_n} jobs, {kills} kills, {takeovers[0]} takeovers of {takeovers[1]} deliveries, "
              f"done in {took:.1f} s; lost 0 of {jobs_n} if no check failed")
        for w in workers:
            code, _ = fk.stop_within(w, 20)
            checks.check(code == 0, f"worker: {fk.describe_exit(code)} on SIGTERM")
        checks.done()


def test_postgres_restart_under_submit_load_keeps_every_202():
    """Four clients submit without pause while Postgres is stopped (fast:
    every connection cut) and started again. Every answer is 202 or 503 with
    Retry-After; every 202's job exists afterwards; submits succeed again
    soon after the restart, with the same program processes."""
    user = sptest.new_user()
    video = sptest.new_video(user)
    tok = sptest.token(user, exp_in=600)
    pids = [e["pid"] for e in sptest.state()["programs"].values() if e.get("pid")]
    answers, lock, stop = [], threading.Lock(), threading.Event()

    def client():
        while not stop.is_set():
            t = time.time()
            try:
                r = sptest.http("POST", "/social-post", {"videoId": video, "platforms": ["youtube"]},
                                token=tok, timeout=20)
                item = (t, r.status, (r.json or {}).get("jobId"), r.headers.get("retry-after"),
                        (r.json or {}).get("code"))
            except OSError as e:
                item = (t, "error", None, None, repr(e))
            with lock:
                answers.append(item)
            time.sleep(0.02)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(2)
        down = time.time()
        sptest.pg_stop()
        time.sleep(3)
        sptest.pg_start()
        up = time.time()
        time.sleep(6)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        if not sptest.sql("SELECT 1"):
            sptest.pg_start()
    checks = fk.Checks("a Postgres restart under submit load")
    statuses = {}
    for a in answers:
        statuses[a[1]] = statuses.get(a[1], 0) + 1
    odd = [a for a in answers if a[1] not in (202, 503)]
    checks.check(not odd, f"answers other than 202/503: {odd[:5]} (all: {statuses})")
    no_retry = [a for a in answers if a[1] == 503 and (not a[3] or not a[4])]
    checks.check(not no_retry, f"503 without Retry-After or code: {no_retry[:3]}")
    checks.check(statuses.get(503, 0) > 0, f"no 503 while the database was down: {statuses}")
    accepted = [a[2] for a in answers if a[1] == 202]
    found = sptest.sql("SELECT count(*) FROM social_post_jobs WHERE id = ANY(%s::uuid[])", (accepted,))[0][0]
    checks.check(found == len(accepted), f"{len(accepted) - found} of {len(accepted)} accepted jobs are lost")
    after = [a for a in answers if a[0] > up + 3]
    checks.check(after and all(a[1] == 202 for a in after),
                 f"3 s after the restart submits still fail: {[a[1] for a in after][:10]}")
    first_ok = min((a[0] for a in answers if a[0] > up and a[1] == 202), default=None)
    print(f"answers {statuses} (database down {up - down:.1f} s); " +
          (f"first 202 {first_ok - up:.2f} s after the restart" if first_ok else "no 202 after the restart"))
    checks.check(all(os.path.exists(f"/proc/{pid}") for pid in pids), "a program died")
    wk.clear_queue()
    checks.done()


if __name__ == "__main__":
    sptest.run(globals())
