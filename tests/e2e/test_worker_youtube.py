"""The worker end to end on YouTube: a job submitted over HTTP is uploaded to
the fake YouTube (resumable protocol) and ends completed with its URL, whatever
faults happen in between."""
import time

import sptest
import workerkit as wk

MiB = 1 << 20


def yt_video(stats, title):
    return [v for v in stats["videos"] if v["title"] == title]


def test_job_goes_pending_processing_completed_with_url():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, sha = p.video.add_video("seed.mp4", 3 * MiB)
        user, video = wk.user_with_video(url, title="Seed flow")
        wk.connect(user, "youtube")
        job = wk.submit(user, video, ["youtube"], description="From the test")
        assert wk.status(user, job)["status"] == "pending"
        p.youtube.config({"bandwidth_bytes_per_sec": 2 * MiB})  # slow enough to see processing
        w = p.worker()
        seen = set()
        deadline = time.time() + 60
        while time.time() < deadline:
            s = wk.status(user, job)
            seen.add(s["status"])
            if s["status"] in ("completed", "failed"):
                break
            time.sleep(0.05)
        assert s["status"] == "completed", s
        assert "processing" in seen, seen
        yt = s["results"]["youtube"]
        assert yt["success"] is True and yt["state"] == "succeeded", yt
        stats = p.youtube.stats()
        [made] = yt_video(stats, "Seed flow")
        assert yt["postId"] == made["id"] and yt["url"] == f"https://youtube.com/shorts/{made['id']}"
        assert made["sha256"] == sha and made["size"] == 3 * MiB
        assert made["description"] == "From the test"
        assert s["error"] is None
        assert wk.history(job) == [("youtube", "posted", yt["url"], yt["postId"], None)]
        assert w.stop() == 0


def test_transient_faults_are_retried_until_success():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, sha = p.video.add_video("t.mp4", 1 * MiB)
        user, video = wk.user_with_video(url, title="Transient")
        wk.connect(user, "youtube")
        p.youtube.faults([{"op": "init", "status": 503},
                          {"op": "init", "status": 500},
                          {"op": "put", "status": 502},
                          {"op": "put", "status": 403, "reason": "rateLimitExceeded"}])
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        assert s["results"]["youtube"]["attempts"] >= 2, s
        [made] = yt_video(p.youtube.stats(), "Transient")
        assert made["sha256"] == sha
        assert w.stop() == 0


def test_retry_after_of_429_is_respected():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("r.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="Retry after")
        wk.connect(user, "youtube")
        p.youtube.faults([{"op": "init", "status": 429, "headers": {"Retry-After": "3"}}])
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        inits = [e["t"] for e in p.youtube.logs() if e.get("op") == "init" and "status" in e]
        assert len(inits) >= 2, inits
        assert inits[1] - inits[0] >= 2.9, inits  # the worker waited as asked
        assert w.stop() == 0


def test_dropped_upload_resumes_from_server_offset():
    with wk.Platforms() as p:
        wk.clear_queue()
        size = 20 * MiB
        url, sha = p.video.add_video("drop.mp4", size)
        user, video = wk.user_with_video(url, title="Dropped")
        wk.connect(user, "youtube")
        p.youtube.faults([{"op": "put", "skip": 1, "drop_after_bytes": 5 * MiB}])
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        stats = p.youtube.stats()
        [made] = yt_video(stats, "Dropped")
        assert made["sha256"] == sha
        assert stats["bytes_received"] < 1.5 * size, stats["bytes_received"]
        assert stats["videos_created"] == 1
        assert w.stop() == 0


def test_expired_token_is_refreshed_and_stored():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("tok.mp4", 512 * 1024)
        user, video = wk.user_with_video(url, title="Token")
        wk.connect(user, "youtube", access_token="ya29.expired")
        p.youtube.config({"expired_tokens": ["ya29.expired"]})
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        [(token,)] = sptest.sql("SELECT access_token FROM social_accounts WHERE user_id = %s", (user,))
        assert token != "ya29.expired" and token.startswith("ya29."), token
        assert p.youtube.stats()["tokens_issued"] == 1
        assert w.stop() == 0


def test_revoked_refresh_token_fails_with_reconnect_message():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("rev.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="Revoked")
        wk.connect(user, "youtube", access_token="ya29.dead", refresh_token="1//revoked")
        p.youtube.config({"expired_tokens": ["ya29.dead"], "revoked_refresh_tokens": ["1//revoked"]})
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "failed", s
        assert "reconnect your YouTube account" in s["results"]["youtube"]["error"], s
        assert "reconnect your YouTube account" in s["error"], s
        assert s["results"]["youtube"]["success"] is False
        assert wk.history(job)[0][1] == "failed"
        assert w.stop() == 0


def test_quota_exceeded_fails_at_once():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("q.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="Quota")
        wk.connect(user, "youtube")
        p.youtube.faults([{"op": "init", "status": 403, "reason": "quotaExceeded", "times": 0}])
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "failed", s
        assert "quota" in s["results"]["youtube"]["error"].lower(), s
        assert s["results"]["youtube"]["attempts"] == 0, s  # not retried
        assert p.youtube.stats()["requests"].get("init") == 1
        assert w.stop() == 0


def test_lost_session_starts_over_and_posts_once():
    with wk.Platforms() as p:
        wk.clear_queue()
        size = 20 * MiB
        url, sha = p.video.add_video("lost.mp4", size)
        user, video = wk.user_with_video(url, title="Lost session")
        wk.connect(user, "youtube")
        p.youtube.faults([{"op": "put", "skip": 1, "status": 410}])
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        stats = p.youtube.stats()
        assert stats["videos_created"] == 1 and stats["sessions"] == 2, stats
        assert yt_video(stats, "Lost session")[0]["sha256"] == sha
        assert w.stop() == 0


def test_video_url_problems_fail_with_clear_messages():
    with wk.Platforms() as p:
        wk.clear_queue()
        page_url, _ = p.video.add_video("page.html", 1000, content_type="text/html")
        cases = [(p.video.url + "/videos/missing.mp4", "HTTP 404"),
                 (page_url, "not a video")]
        jobs = []
        for i, (url, expected) in enumerate(cases):
            user, video = wk.user_with_video(url, title=f"Bad video {i}")
            wk.connect(user, "youtube")
            jobs.append((user, wk.submit(user, video, ["youtube"]), expected))
        big_url, _ = p.video.add_video("big.mp4", 3 * MiB)
        user, video = wk.user_with_video(big_url, title="Too big")
        wk.connect(user, "youtube")
        jobs.append((user, wk.submit(user, video, ["youtube"]), "larger than"))
        w = p.worker("--max-video-bytes", str(2 * MiB))
        for user, job, expected in jobs:
            s = wk.wait_job(user, job)
            assert s["status"] == "failed", s
            assert expected in s["results"]["youtube"]["error"], (expected, s)
        assert p.youtube.stats()["videos_created"] == 0
        assert w.stop() == 0


def test_interrupted_video_download_continues_where_it_stopped():
    with wk.Platforms() as p:
        wk.clear_queue()
        size = 8 * MiB
        url, sha = p.video.add_video("resume.mp4", size)
        user, video = wk.user_with_video(url, title="Resumed download")
        wk.connect(user, "youtube")
        p.video.faults([{"op": "get", "drop_after_bytes": 6 * MiB}])
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        assert yt_video(p.youtube.stats(), "Resumed download")[0]["sha256"] == sha
        sent = p.video.stats()["bytes_sent"]
        assert sent < 1.5 * size, sent  # the second GET asked only for the rest
        assert w.stop() == 0


def test_video_on_a_private_address_is_refused_unless_allowed():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("private.mp4", 1000)
        user, video = wk.user_with_video(url, title="Private")
        wk.connect(user, "youtube")
        job = wk.submit(user, video, ["youtube"])
        w = p.worker(env={"SOCIAL_POST_ALLOW_PRIVATE_VIDEO_URLS": None})
        s = wk.wait_job(user, job)
        assert s["status"] == "failed" and "private network address" in s["error"], s
        assert p.video.stats()["bytes_sent"] == 0
        assert w.stop() == 0


def test_no_connected_account_fails_the_platform():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("na.mp4", 1000)
        user, video = wk.user_with_video(url, title="No account")
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "failed" and "no YouTube account" in s["error"], s
        assert w.stop() == 0


if __name__ == "__main__":
    sptest.run(globals())
