"""Crashes, stops and load: a killed worker's delivery is taken over after its
lease lapses, a stopped worker hands its delivery over at once, many jobs are
each posted exactly once, and memory stays flat on a 1 GiB video."""
import os
import time

import sptest
import workerkit as wk

MiB = 1 << 20


def uploaded(p):
    return sum(s["received"] for s in p.youtube.stats()["upload_sessions"])


def test_kill_9_mid_upload_is_taken_over_after_lease_expires():
    with wk.Platforms() as p:
        wk.clear_queue()
        size = 24 * MiB
        url, sha = p.video.add_video("kill.mp4", size)
        user, video = wk.user_with_video(url, title="Killed")
        wk.connect(user, "youtube")
        p.youtube.config({"bandwidth_bytes_per_sec": 4 * MiB})
        job = wk.submit(user, video, ["youtube"])
        a = p.worker("--lease", "3")
        wk.wait_for("a chunk to be stored", lambda: uploaded(p) >= 8 * MiB, timeout=30)
        a.kill()
        assert wk.delivery(job, "youtube")[0] == "running"  # the dead worker's lease
        b = p.worker("--lease", "3")
        s = wk.wait_job(user, job, timeout=90)
        assert s["status"] == "completed", s
        stats = p.youtube.stats()
        assert stats["videos_created"] == 1, stats
        assert stats["videos"][0]["sha256"] == sha
        assert stats["bytes_received"] < 1.5 * size, stats["bytes_received"]  # resumed, not restarted
        assert b.stop() == 0


def test_sigterm_mid_upload_exits_0_within_grace_and_hands_over():
    with wk.Platforms() as p:
        wk.clear_queue()
        size = 32 * MiB
        url, sha = p.video.add_video("term.mp4", size)
        user, video = wk.user_with_video(url, title="Terminated")
        wk.connect(user, "youtube")
        p.youtube.config({"bandwidth_bytes_per_sec": 4 * MiB})
        job = wk.submit(user, video, ["youtube"])
        a = p.worker("--grace", "3")  # too short for the upload to end first
        wk.wait_for("the upload to start", lambda: uploaded(p) >= 2 * MiB, timeout=30)
        started = time.time()
        a.signal(15)
        code = a.wait(30)
        assert code == 0, (code, a.output()[-2000:])
        assert time.time() - started < 25
        state, _, checkpoint = wk.delivery(job, "youtube")
        assert state == "queued" and checkpoint.get("session"), (state, checkpoint)  # released
        b = p.worker()
        s = wk.wait_job(user, job, timeout=90)
        assert s["status"] == "completed", s
        stats = p.youtube.stats()
        assert stats["videos_created"] == 1 and stats["videos"][0]["sha256"] == sha, stats
        assert stats["bytes_received"] < 1.5 * size
        assert b.stop() == 0


def test_200_jobs_two_workers_each_posted_exactly_once():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("bulk.mp4", 64 * 1024)
        user = sptest.new_user()
        wk.connect(user, "youtube")
        jobs = []
        for i in range(200):
            video = sptest.new_video(user, title=f"Bulk {i}", video_url=url)
            jobs.append(wk.submit(user, video, ["youtube"]))
        workers = [p.worker("--concurrency", "4"), p.worker("--concurrency", "4")]

        def open_jobs():
            return sptest.sql("SELECT count(*) FROM social_post_jobs WHERE user_id = %s"
                              " AND status NOT IN ('completed', 'failed')", (user,))[0][0]
        wk.wait_for("all 200 jobs", lambda: open_jobs() == 0, timeout=180, every=0.5)
        statuses = sptest.sql("SELECT status, count(*) FROM social_post_jobs WHERE user_id = %s"
                              " GROUP BY status", (user,))
        assert statuses == [("completed", 200)], statuses
        titles = [v["title"] for v in p.youtube.stats()["videos"]]
        assert sorted(titles) == sorted(f"Bulk {i}" for i in range(200)), len(titles)
        assert sptest.sql("SELECT count(*) FROM social_post_deliveries d JOIN social_post_jobs j"
                          " ON j.id = d.job_id WHERE j.user_id = %s AND d.state <> 'succeeded'",
                          (user,))[0][0] == 0
        assert sptest.sql("SELECT count(*) FROM scheduled_posts WHERE user_id = %s",
                          (user,))[0][0] == 200
        for w in workers:
            assert w.stop() == 0
        # this test's jobs only: earlier tests may leave jobs unfinished (cancelled
        # by clear_queue) and their files
        mine = set(jobs)
        left = [f for f in os.listdir(os.path.join(sptest.state()["stack_dir"], "spool"))
                if f.split(".")[0] in mine]
        assert left == [], left  # every video and lock file removed once its job finished


def test_once_drains_what_is_ready_and_exits_0():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("once.mp4", 64 * 1024)
        user = sptest.new_user()
        wk.connect(user, "youtube")
        jobs = [wk.submit(user, sptest.new_video(user, title=f"Once {i}", video_url=url), ["youtube"])
                for i in range(3)]
        w = p.worker("--once", "--concurrency", "2")
        assert w.wait(60) == 0, w.output()[-2000:]
        assert all(wk.status(user, j)["status"] == "completed" for j in jobs)


def test_max_runtime_stops_claiming_and_exits_0():
    with wk.Platforms() as p:
        wk.clear_queue()
        started = time.time()
        w = p.worker("--max-runtime", "2")
        assert w.wait(30) == 0, w.output()[-2000:]
        assert 1.5 < time.time() - started < 20


def test_bad_flags_exit_2_with_a_message():
    with wk.Platforms() as p:
        for args in (["--concurrency", "0"], ["--lease", "x"], ["--nope"], ["extra"]):
            w = p.worker(*args, fast=False)
            assert w.wait(10) == 2, (args, w.output())
            assert w.output().strip(), args


def test_1_gib_upload_keeps_worker_rss_under_64_mib():
    if os.environ.get("SP_SANITIZE") == "ON":
        print("skipped under the sanitizer build (its shadow memory is not the worker's)")
        return
    with wk.Platforms() as p:
        wk.clear_queue()
        size = 1024 * MiB
        url, sha = p.video.add_video("big.mp4", size)
        user, video = wk.user_with_video(url, title="One GiB")
        wk.connect(user, "youtube")
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        peak = 0
        deadline = time.time() + 300
        while time.time() < deadline:
            peak = max(peak, w.rss_peak_kib() or 0)
            if wk.status(user, job)["status"] in ("completed", "failed"):
                break
            time.sleep(0.2)
        peak = max(peak, w.rss_peak_kib() or 0)
        s = wk.status(user, job)
        assert s["status"] == "completed", s
        assert p.youtube.stats()["videos"][0]["sha256"] == sha
        print(f"worker peak RSS uploading 1 GiB: {peak / 1024:.1f} MiB")
        assert peak < 64 * 1024, peak
        assert w.stop() == 0


if __name__ == "__main__":
    sptest.run(globals())
