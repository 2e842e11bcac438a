"""The seed's whole flow for ["youtube","facebook","instagram"] (and with
TikTok, all four): submit, poll, completed with per-platform results; one
platform's failure never stops the others; all failing ends failed with error
set."""
import time

import sptest
import workerkit as wk

MiB = 1 << 20


def connect_all(user):
    wk.connect(user, "youtube")
    wk.connect(user, "facebook", access_token="EAAB-page-token", account_id="1000001")
    wk.connect(user, "instagram", access_token="IGQ-token", account_id="1780001")


def test_seed_flow_posts_to_all_three():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 1})
        url, sha = p.video.add_video("all.mp4", 4 * MiB)
        user, video = wk.user_with_video(url, title="Everywhere")
        connect_all(user)
        r = sptest.http("POST", "/.netlify/functions/social-post",
                        {"videoId": video, "platforms": ["youtube", "facebook", "instagram"]},
                        token=sptest.token(user))
        assert r.status == 202 and r.json["status"] == "pending", r.body
        w = p.worker("--ig-poll", "0.5")
        s = wk.wait_job(user, r.json["jobId"])
        assert s["status"] == "completed" and s["error"] is None, s
        for platform in ("youtube", "facebook", "instagram"):
            res = s["results"][platform]
            assert res["success"] is True and res["url"] and res["postId"], (platform, res)
        assert p.youtube.stats()["videos"][0]["sha256"] == sha
        assert p.graph.stats()["fb_videos"][0]["sha256"] == sha
        assert p.graph.stats()["ig_media_published"] == 1
        assert len(wk.history(r.json["jobId"])) == 3
        assert w.stop() == 0


def test_a_job_for_all_four_platforms_completes():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 1})
        url, sha = p.video.add_video("four.mp4", 2 * MiB)
        user, video = wk.user_with_video(url, title="Four ways")
        connect_all(user)
        wk.connect(user, "tiktok", access_token="act.valid-token", refresh_token="rft.first")
        platforms = ["youtube", "facebook", "instagram", "tiktok"]
        job = wk.submit_options(user, video, platforms, {"tiktok": {"privacyLevel": "SELF_ONLY"}})
        w = p.worker("--ig-poll", "0.5")
        s = wk.wait_job(user, job)
        assert s["status"] == "completed" and s["error"] is None, s
        for platform in platforms:
            res = s["results"][platform]
            assert res["success"] is True and res["url"] and res["postId"], (platform, res)
        assert s["results"]["tiktok"]["visibility"] == "SELF_ONLY"
        assert p.tiktok.stats()["posts"][0]["sha256"] == sha
        assert len(wk.history(job)) == 4
        assert w.stop() == 0


def test_one_permanent_failure_still_completes_with_the_others():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 0})
        url, _ = p.video.add_video("mixed.mp4", MiB)
        user, video = wk.user_with_video(url, title="Mixed")
        connect_all(user)
        p.graph.faults([{"op": "fb_start", "status": 400, "code": 200}])
        job = wk.submit(user, video, ["youtube", "facebook", "instagram"])
        w = p.worker("--ig-poll", "0.5")
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        res = s["results"]
        assert res["youtube"]["success"] is True and res["instagram"]["success"] is True, res
        assert res["facebook"]["success"] is False and "code 200" in res["facebook"]["error"], res
        assert s["error"] is None
        history = {row[0]: row[1] for row in wk.history(job)}
        assert history == {"youtube": "posted", "facebook": "failed", "instagram": "posted"}
        assert w.stop() == 0


def test_all_failing_ends_failed_with_error():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("fail.mp4", MiB)
        user, video = wk.user_with_video(url, title="Doomed")
        connect_all(user)
        p.youtube.faults([{"op": "init", "status": 401, "reason": "youtubeSignupRequired"}])
        p.graph.faults([{"op": "fb_start", "status": 400, "code": 190},
                        {"op": "ig_create", "status": 400, "code": 100}])
        job = wk.submit(user, video, ["youtube", "facebook", "instagram"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "failed", s
        assert all(s["results"][x]["success"] is False for x in ("youtube", "facebook", "instagram"))
        for word in ("youtube:", "facebook:", "instagram:", "YouTube channel", "reconnect"):
            assert word in s["error"], (word, s["error"])
        assert w.stop() == 0


def test_retry_after_a_failure_posts_the_failed_platform_only():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("again.mp4", MiB)
        user, video = wk.user_with_video(url, title="Try again")
        connect_all(user)
        p.graph.faults([{"op": "fb_start", "status": 400, "code": 200}])
        job = wk.submit(user, video, ["youtube", "facebook"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed" and s["results"]["facebook"]["success"] is False, s
        r = sptest.http("POST", f"/social-post/{job}/retry", token=sptest.token(user))
        assert r.status == 202 and r.json["retried"] == ["facebook"], r.body
        s = wk.wait_job(user, job, until=("completed",))
        wk.wait_for("facebook", lambda: wk.status(user, job)["results"]["facebook"].get("success"))
        s = wk.status(user, job)
        assert s["results"]["facebook"]["success"] is True and s["results"]["youtube"]["success"]
        assert p.youtube.stats()["videos_created"] == 1  # youtube was not posted again
        assert p.graph.stats()["fb_videos_published"] == 1
        assert w.stop() == 0


def test_scheduled_job_waits_for_its_time():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("later.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="Later")
        wk.connect(user, "youtube")
        at = time.time() + 3
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + ".%03dZ" % int(at % 1 * 1000)
        job = wk.submit(user, video, ["youtube"], scheduledAt=when)
        w = p.worker()
        time.sleep(1.5)
        assert wk.status(user, job)["status"] == "pending"
        assert p.youtube.stats()["videos_created"] == 0
        s = wk.wait_job(user, job, timeout=30)
        assert s["status"] == "completed" and time.time() >= at, s
        assert w.stop() == 0


if __name__ == "__main__":
    sptest.run(globals())
