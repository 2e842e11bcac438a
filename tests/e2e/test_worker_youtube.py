"""The worker end to end on YouTube: a job submitted over HTTP is uploaded to
the fake YouTube (resumable protocol) and ends completed with its URL, whatever
faults happen in between. The fake answers from YouTube's documented examples
(tests/platform_docs/youtube/)."""
import datetime
import json
import time
import zoneinfo

import sptest
import workerkit as wk

MiB = 1 << 20


def yt_video(stats, title):
    return [v for v in stats["videos"] if v["title"] == title]


def set_options(job, youtube):
    """Gives a submitted job its youtube options (as the submit body's
    options.youtube stores them), before any worker claims it."""
    sptest.sql("UPDATE social_post_jobs SET options = %s::jsonb WHERE id = %s",
               (json.dumps({"youtube": youtube}), job))


def run_at_in(job):
    """(seconds until the job's youtube delivery is due, state, attempts, last_error)."""
    [row] = sptest.sql(
        "SELECT extract(epoch FROM run_at - now())::float, state, attempts, last_error"
        " FROM social_post_deliveries WHERE job_id = %s AND platform = 'youtube'", (job,))
    return row


def wait_queued_with_error(job):
    wk.wait_for("the delivery to wait", lambda: run_at_in(job)[1] == "queued" and run_at_in(job)[3])
    return run_at_in(job)


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
        # a file whose shape is unknown is not claimed to be a Short
        assert yt["postId"] == made["id"] and yt["url"] == f"https://www.youtube.com/watch?v={made['id']}"
        assert yt["visibility"] == "public" and made["privacyStatus"] == "public", (yt, made)
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


def next_pacific_midnight_in():
    """Seconds until the next midnight in Pacific time, when YouTube's quota resets."""
    la = zoneinfo.ZoneInfo("America/Los_Angeles")
    now = datetime.datetime.now(la)
    midnight = datetime.datetime.combine(now.date() + datetime.timedelta(days=1), datetime.time(), la)
    return (midnight - now).total_seconds()


def test_quota_exceeded_waits_until_midnight_pacific_time_holding_no_slot():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("q.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="Quota")
        wk.connect(user, "youtube")
        p.youtube.faults([{"op": "init", "status": 403, "reason": "quotaExceeded"}])
        job = wk.submit(user, video, ["youtube"])
        w = p.worker("--concurrency", "1")
        in_s, state, attempts, err = wait_queued_with_error(job)
        assert state == "queued" and attempts == 0, (state, attempts)  # not an attempt
        assert "quota" in err and "midnight Pacific time" in err, err
        assert abs(in_s - next_pacific_midnight_in()) < 30, (in_s, next_pacific_midnight_in())
        s = wk.status(user, job)
        assert s["status"] in ("pending", "processing") and "quota" in s["results"]["youtube"]["lastError"], s
        # the one slot is free: another job goes through meanwhile
        url2, _ = p.video.add_video("q2.mp4", 256 * 1024)
        user2, video2 = wk.user_with_video(url2, title="After quota")
        wk.connect(user2, "youtube")
        assert wk.wait_job(user2, wk.submit(user2, video2, ["youtube"]))["status"] == "completed"
        assert p.youtube.stats()["requests"].get("init") == 2
        assert w.stop() == 0


def test_upload_limit_waits_24_hours_without_counting_an_attempt():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("limit.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="Upload limit")
        wk.connect(user, "youtube")
        p.youtube.faults([{"op": "init", "status": 400, "reason": "uploadLimitExceeded"}])
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        in_s, state, attempts, err = wait_queued_with_error(job)
        assert state == "queued" and attempts == 0, (state, attempts)
        assert "daily upload limit" in err and "24 hours" in err, err
        assert 86400 - 60 < in_s <= 86400, in_s
        assert p.youtube.stats()["videos_created"] == 0
        assert w.stop() == 0


def test_channel_less_account_is_told_to_create_a_channel():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("nochan.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="No channel")
        wk.connect(user, "youtube")
        p.youtube.faults([{"op": "init", "status": 401, "reason": "youtubeSignupRequired", "times": 0}])
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "failed", s
        error = s["results"]["youtube"]["error"]
        assert "create a YouTube channel for this account" in error and "reconnect" not in error, error
        assert p.youtube.stats()["tokens_issued"] == 0  # no new token cures it
        assert w.stop() == 0


def test_unaudited_project_uploads_are_reported_private():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("unaudited.mp4", 512 * 1024)
        user, video = wk.user_with_video(url, title="Unaudited")
        wk.connect(user, "youtube")
        p.youtube.config({"unaudited_project": True})
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        yt = s["results"]["youtube"]
        [made] = yt_video(p.youtube.stats(), "Unaudited")
        assert made["requestedPrivacyStatus"] == "public" and made["privacyStatus"] == "private", made
        assert yt["visibility"] == "private", yt
        assert w.stop() == 0


def test_only_a_known_short_gets_a_shorts_url():
    with wk.Platforms() as p:
        wk.clear_queue()
        cases = [("vertical 30 s", {"width": 1080, "height": 1920, "duration": 30}, "shorts/"),
                 ("square 3 min", {"width": 1080, "height": 1080, "duration": 180}, "shorts/"),
                 ("turned 20 s", {"width": 1920, "height": 1080, "duration": 20, "rotation": 90}, "shorts/"),
                 ("landscape 30 s", {"width": 1920, "height": 1080, "duration": 30}, "watch?v="),
                 ("vertical 4 min", {"width": 1080, "height": 1920, "duration": 240}, "watch?v=")]
        jobs = []
        for title, mp4, expected in cases:
            url, _ = p.video.add_video(title.replace(" ", "_") + ".mp4", 300 * 1024, mp4=mp4)
            user, video = wk.user_with_video(url, title=title)
            wk.connect(user, "youtube")
            jobs.append((user, wk.submit(user, video, ["youtube"]), title, expected))
        w = p.worker("--concurrency", "2")
        for user, job, title, expected in jobs:
            s = wk.wait_job(user, job)
            assert s["status"] == "completed", s
            yt = s["results"]["youtube"]
            assert yt["url"] == "https://www.youtube.com/" + expected + yt["postId"], (title, yt)
        assert w.stop() == 0


def test_options_reach_youtube_as_documented():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("opts.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="Options")
        wk.connect(user, "youtube")
        job = wk.submit(user, video, ["youtube"])
        set_options(job, {"privacyStatus": "unlisted", "tags": ["surfing", "Santa Cruz"], "categoryId": "17",
                          "madeForKids": True, "notifySubscribers": False})
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        [made] = yt_video(p.youtube.stats(), "Options")
        assert made["requestedPrivacyStatus"] == "unlisted" and made["privacyStatus"] == "unlisted", made
        assert made["tags"] == ["surfing", "Santa Cruz"] and made["categoryId"] == "17", made
        assert made["selfDeclaredMadeForKids"] is True and made["notifySubscribers"] is False, made
        assert s["results"]["youtube"]["visibility"] == "unlisted", s
        assert w.stop() == 0


def test_without_options_we_send_what_we_always_sent():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("noopts.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="No options")
        wk.connect(user, "youtube")
        w = p.worker()
        assert wk.wait_job(user, wk.submit(user, video, ["youtube"]))["status"] == "completed"
        [made] = yt_video(p.youtube.stats(), "No options")
        assert (made["requestedPrivacyStatus"], made["categoryId"], made["selfDeclaredMadeForKids"],
                made["notifySubscribers"], made["tags"]) == ("public", "22", False, None, None), made
        assert w.stop() == 0


def test_thumbnail_is_set_and_its_failures_do_not_fail_the_post():
    with wk.Platforms() as p:
        wk.clear_queue()
        image, image_sha = p.video.add_video("thumb.jpg", 40 * 1024, content_type="image/jpeg")
        big, _ = p.video.add_video("big.jpg", 3 * MiB, content_type="image/jpeg")
        page, _ = p.video.add_video("page.html", 1000, content_type="text/html")
        cases = [("Thumb ok", image, None), ("Thumb refused", image, "verified"),
                 ("Thumb too big", big, "thumbnail"), ("Thumb not an image", page, "thumbnail")]
        p.youtube.faults([{"op": "thumbnail", "status": 403, "reason": "forbidden", "skip": 1}])
        jobs = []
        for title, thumb, error in cases:
            url, _ = p.video.add_video(title.replace(" ", "_") + ".mp4", 256 * 1024)
            user, video = wk.user_with_video(url, title=title)
            wk.connect(user, "youtube")
            job = wk.submit(user, video, ["youtube"])
            set_options(job, {"thumbnailUrl": thumb})
            jobs.append((user, job, title, error))
            w = p.worker("--once")
            assert wk.wait_job(user, job)["status"] == "completed"
            assert w.stop() == 0
        stats = p.youtube.stats()
        for user, job, title, error in jobs:
            yt = wk.status(user, job)["results"]["youtube"]
            assert yt["success"] is True, (title, yt)
            if error is None:
                assert "thumbnailError" not in yt, yt
            else:
                assert error in yt["thumbnailError"], (title, yt)
        [ok] = yt_video(stats, "Thumb ok")
        sent = [t for t in stats["thumbnails"]]
        assert [(t["videoId"], t["sha256"], t["content_type"]) for t in sent] == [(ok["id"], image_sha, "image/jpeg")]
        assert stats["requests"]["thumbnail"] == 2  # the too big and the not-an-image never went out


def test_thumbnail_is_sent_at_most_once_across_a_crash():
    with wk.Platforms() as p:
        wk.clear_queue()
        image, _ = p.video.add_video("crash.jpg", 40 * 1024, content_type="image/jpeg")
        url, _ = p.video.add_video("crash.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="Thumb crash")
        wk.connect(user, "youtube")
        p.youtube.faults([{"op": "thumbnail", "hold_ms": 20000}])  # stored, then no answer for a while
        job = wk.submit(user, video, ["youtube"])
        set_options(job, {"thumbnailUrl": image})
        a = p.worker("--lease", "3")
        wk.wait_for("the thumbnail to arrive", lambda: p.youtube.stats()["thumbnails"], timeout=30)
        a.kill()
        b = p.worker("--lease", "3")
        s = wk.wait_job(user, job, timeout=60)
        assert s["status"] == "completed", s
        stats = p.youtube.stats()
        assert stats["videos_created"] == 1 and stats["requests"]["thumbnail"] == 1, stats
        assert "may not be set" in s["results"]["youtube"]["thumbnailError"], s
        assert b.stop() == 0


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
