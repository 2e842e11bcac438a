"""A worker that stops while it uploads: cron's line (`--max-runtime`, a new
worker every minute) or a restart (SIGTERM). An upload longer than one run
must go on run after run until it is posted, as long as each run moves it
forward; and a stop lets the transfer in flight go on for most of the grace
period, so an upload close to its end finishes instead of being put back."""
import time

import faultkit as fk
import sptest
import workerkit as wk

MiB = 1 << 20
PAGE = "102938475610"


def uploaded(p):
    return sum(s["received"] for s in p.youtube.stats()["upload_sessions"])


def test_an_upload_longer_than_a_run_completes_over_many_max_runtime_runs():
    """YouTube and Facebook take the video at 16 MiB/s each (YouTube in 8 MiB
    chunks, Facebook in 4 MiB ones): 160 MiB need about 10 s of uploading,
    and each cron-style run (`--max-runtime 1 --grace 1`) uploads for under
    2 s before it stops and releases the deliveries. Every release comes after
    checkpointed chunks, so none may count against a delivery: with
    `--max-attempts 1` the old rule (three free releases in a row, then each
    one an attempt) failed them at the fourth run, as `--max-runtime 600`
    failed a 100-minute upload for good."""
    with wk.Platforms() as p:
        wk.clear_queue()
        size = 160 * MiB
        url, sha = p.video.add_video("long.mp4", size)
        user, video = wk.user_with_video(url, title="Longer than a run")
        wk.connect(user, "youtube")
        wk.connect(user, "facebook", access_token="EAAB-page-token", account_id=PAGE)
        p.youtube.config({"bandwidth_bytes_per_sec": 16 * MiB})
        p.graph.config({"bandwidth_bytes_per_sec": 16 * MiB, "fb_chunk_bytes": 4 * MiB})
        job = wk.submit(user, video, ["youtube", "facebook"])
        runs = []
        s = wk.status(user, job)
        while s["status"] not in ("completed", "failed") and len(runs) < 30:
            w = p.worker("--max-runtime", "1", "--grace", "1", "--max-attempts", "1",
                         "--concurrency", "2", "--per-user", "2")
            code = w.wait(30)
            assert code == 0, (code, w.output()[-2000:])
            runs.append(uploaded(p))
            s = wk.status(user, job)
        assert s["status"] == "completed", (f"after {len(runs)} runs (bytes stored after each: "
                                            f"{runs}): {s}")
        assert len(runs) > 4, f"the upload took only {len(runs)} runs: the test proves nothing"
        for platform in ("youtube", "facebook"):
            state, attempts, _ = wk.delivery(job, platform)
            assert state == "succeeded" and attempts == 0, (platform, state, attempts)
        stats = p.youtube.stats()
        assert stats["videos_created"] == 1 and stats["videos"][0]["sha256"] == sha, stats
        assert stats["bytes_received"] < 2 * size, stats["bytes_received"]  # resumed each run
        fb = p.graph.stats()
        assert fb["fb_videos_published"] == 1 and fb["fb_videos"][0]["sha256"] == sha, fb


def offset(job):
    """The YouTube offset the delivery's checkpoint holds (bytes confirmed)."""
    rows = sptest.sql("SELECT coalesce((checkpoint->>'offset')::bigint, 0) FROM"
                      " social_post_deliveries WHERE job_id = %s", (job,))
    return rows[0][0] if rows else 0


def test_an_upload_whose_workers_are_killed_after_progress_each_time_completes():
    """kill -9 the worker eight times during one upload, each time after it
    checkpointed at least one more chunk: every next worker takes the lapsed
    lease over and continues. Takeovers that follow progress are forgiven;
    before, the sixth takeover failed the delivery ("workers stopped 6
    times") although every worker had moved it on."""
    with wk.Platforms() as p:
        wk.clear_queue()
        size = 160 * MiB
        url, sha = p.video.add_video("killed.mp4", size)
        user, video = wk.user_with_video(url, title="Killed and killed again")
        wk.connect(user, "youtube")
        p.youtube.config({"bandwidth_bytes_per_sec": 16 * MiB})
        job = wk.submit(user, video, ["youtube"])
        kills = 0
        for _ in range(8):
            before = offset(job)
            w = p.worker("--lease", "3")
            wk.wait_for("a chunk checkpointed by this worker",
                        lambda: offset(job) > before or wk.status(user, job)["status"] != "processing"
                        and wk.status(user, job)["status"] != "pending", timeout=60)
            if wk.status(user, job)["status"] in ("completed", "failed"):
                w.stop()
                break
            w.kill()
            kills += 1
        last = p.worker("--lease", "3")
        s = wk.wait_job(user, job, timeout=120)
        assert s["status"] == "completed", (kills, s)
        assert kills > 6, f"only {kills} kills before the upload ended: the test proves nothing"
        stats = p.youtube.stats()
        assert stats["videos_created"] == 1 and stats["videos"][0]["sha256"] == sha, stats
        assert last.stop() == 0


def test_sigterm_lets_an_upload_near_its_end_finish_within_the_grace_period():
    """SIGTERM with 24 MiB of a 32 MiB upload still to go at 8 MiB/s (about
    3 s) and `--grace 20`: the transfer goes on, the video is posted by this
    worker, and it exits 0 as soon as it is done, well within the grace
    period. Before, the upload was put back at the next chunk and the job
    was left for another worker."""
    with wk.Platforms() as p:
        wk.clear_queue()
        size = 32 * MiB
        url, sha = p.video.add_video("near.mp4", size)
        user, video = wk.user_with_video(url, title="Nearly there")
        wk.connect(user, "youtube")
        p.youtube.config({"bandwidth_bytes_per_sec": 8 * MiB})
        job = wk.submit(user, video, ["youtube"])
        w = p.worker("--grace", "20")
        wk.wait_for("the upload to start", lambda: uploaded(p) >= 1 * MiB, timeout=30)
        started = time.monotonic()
        w.signal(15)
        code = w.wait(30)
        taken = time.monotonic() - started
        assert code == 0, (code, w.output()[-2000:])
        assert taken < 15, f"the worker took {taken:.1f} s to stop after its upload ended"
        s = wk.status(user, job)
        assert s["status"] == "completed", (s, w.output()[-2000:])
        stats = p.youtube.stats()
        assert stats["videos_created"] == 1 and stats["videos"][0]["sha256"] == sha, stats
        outcomes = [step["outcome"] for step in fk.steps_logged(w, job)]
        assert outcomes == ["done"], outcomes  # one step, never put back


if __name__ == "__main__":
    sptest.run(globals())
