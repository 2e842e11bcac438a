"""Instagram Reels end to end: container, processing wait (without holding a
worker slot), publish exactly once, permalink, and every fault path."""
import time

import sptest
import workerkit as wk

IG_USER = "1780001"


def setup(p, name="ig.mp4", title="Reel", description=None, connect=True):
    url, _ = p.video.add_video(name, 100_000)
    user, video = wk.user_with_video(url, title=title)
    if connect:
        wk.connect(user, "instagram", access_token="IGQ-token", account_id=IG_USER)
    fields = {"description": description} if description else {}
    return user, wk.submit(user, video, ["instagram"], **fields), url


def worker(p, *args):
    return p.worker("--ig-poll", "0.5", *args)


def test_reel_is_created_processed_published_once():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 2})
        user, job, url = setup(p, title="My reel", description="With a caption")
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        ig = s["results"]["instagram"]
        stats = p.graph.stats()
        [container] = stats["ig_containers"]
        assert container["video_url"] == url and container["ig_user_id"] == IG_USER
        assert container["caption"] == "My reel\n\nWith a caption"
        [media] = stats["ig_media"]
        assert ig["success"] is True and ig["postId"] == media["id"], ig
        assert ig["url"] == media["permalink"] and ig["url"].startswith("https://www.instagram.com/reel/")
        assert stats["requests"]["ig_status"] >= 2  # it waited for processing
        assert wk.history(job)[0][:2] == ("instagram", "posted")
        assert w.stop() == 0


def test_processing_error_and_expiry_fail_with_platform_status():
    for outcome, expected in (("ERROR", "could not process"), ("EXPIRED", "expired")):
        with wk.Platforms() as p:
            wk.clear_queue()
            p.graph.config({"ig_container_outcome": outcome})
            user, job, _ = setup(p, title=f"Reel {outcome}")
            w = worker(p)
            s = wk.wait_job(user, job)
            assert s["status"] == "failed" and expected in s["error"], s
            assert p.graph.stats()["ig_media_published"] == 0
            assert w.stop() == 0


def test_processing_past_the_deadline_fails():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 600})
        user, job, _ = setup(p, title="Slow reel")
        w = worker(p, "--ig-deadline", "2")
        s = wk.wait_job(user, job, timeout=30)
        assert s["status"] == "failed" and "did not finish processing" in s["error"], s
        assert p.graph.stats()["ig_media_published"] == 0
        assert w.stop() == 0


def test_publishing_limit_met_at_publish_waits_instead_of_failing():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 0})
        user, job, _ = setup(p, title="Limited")
        p.graph.faults([{"op": "ig_publish", "status": 400, "code": 9, "error_subcode": 2207042}])
        w = worker(p)
        wk.wait_for("the refused publish", lambda: p.graph.stats()["requests"].get("ig_publish") == 1)
        time.sleep(2)
        s = wk.status(user, job)
        assert s["status"] not in ("completed", "failed"), s
        assert p.graph.stats()["ig_media_published"] == 0
        assert w.stop() == 0


def set_login(user, login):
    sptest.sql("UPDATE social_accounts SET login = %s WHERE user_id = %s AND platform = 'instagram'",
               (login, user))


def test_instagram_login_token_is_sent_to_graph_instagram_com():
    """Issue 15 item 3: an Instagram Login token works only on graph.instagram.com
    (before, it went to graph.facebook.com and failed as a dead token)."""
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 0})
        url, _ = p.video.add_video("iglogin.mp4", 100_000)
        user, video = wk.user_with_video(url, title="Instagram Login")
        wk.connect(user, "instagram", access_token="IGAA-login-token", account_id=IG_USER)
        set_login(user, "instagram")
        job = wk.submit(user, video, ["instagram"])
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        stats = p.graph.stats()
        [container] = stats["ig_containers"]
        assert container["host"] == "instagram" and stats["refused_hosts"] == 0, stats
        assert stats["ig_media_published"] == 1 and stats["requests"]["ig_limit"] == 1, stats
        assert w.stop() == 0


def test_a_full_publishing_window_is_waited_for_not_failed():
    """Issue 15 item 3: at 50 posts in the window no container is made; the
    delivery waits (holding no slot) and posts once there is room."""
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 0, "ig_quota_used": 50, "ig_quota_duration": 48})
        user, job, _ = setup(p, title="Window full")
        w = worker(p)
        wk.wait_for("two looks at the limit", lambda: p.graph.stats()["requests"].get("ig_limit", 0) >= 2,
                    timeout=20)
        s = wk.status(user, job)
        assert s["status"] not in ("completed", "failed"), s
        ig = s["results"]["instagram"]  # a quota wait shows as one (issue 17), no attempt counted
        assert ig["phase"] == "waiting_for_quota" and "retryAt" in ig and ig["attempts"] == 0, ig
        assert "ig_create" not in p.graph.stats()["requests"]
        p.graph.config({"ig_quota_used": 0})
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        assert p.graph.stats()["ig_media_published"] == 1
        assert w.stop() == 0


def test_anti_spam_restriction_fails_with_a_message_that_says_so():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 0})
        user, job, _ = setup(p, title="Restricted")
        p.graph.faults([{"op": "ig_publish", "status": 400, "code": 4, "error_subcode": 2207051}])
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "failed" and "restricted this account" in s["error"], s
        assert s["results"]["instagram"]["attempts"] == 0, s  # not retried as a rate limit
        assert p.graph.stats()["ig_media_published"] == 0
        assert w.stop() == 0


def test_unknown_upload_error_makes_a_new_container_and_posts_once():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 0})
        user, job, _ = setup(p, title="Remade")
        p.graph.faults([{"op": "ig_publish", "status": 400, "code": -1, "error_subcode": 2207053},
                        {"op": "ig_create", "status": 400, "code": -1, "error_subcode": 2207001},
                        {"op": "ig_create", "status": 400, "code": -1, "error_subcode": 2207032, "skip": 1}])
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        stats = p.graph.stats()
        assert len(stats["ig_containers"]) == 2 and stats["ig_media_published"] == 1, stats
        [media] = stats["ig_media"]
        assert s["results"]["instagram"]["postId"] == media["id"], s
        assert w.stop() == 0


def test_reels_options_reach_the_container():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 0})
        options = {"coverUrl": "https://example.com/cover.jpg", "thumbOffsetMs": 2500, "shareToFeed": False,
                   "collaborators": ["a_friend", "b_friend"], "locationId": "7640348500"}
        url, _ = p.video.add_video("igopts.mp4", 100_000)
        user, video = wk.user_with_video(url, title="Options")
        wk.connect(user, "instagram", access_token="IGQ-token", account_id=IG_USER)
        job = wk.submit(user, video, ["instagram"], options={"instagram": options})
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        [c] = p.graph.stats()["ig_containers"]
        assert (c["cover_url"], c["thumb_offset"], c["share_to_feed"], c["collaborators"], c["location_id"]) == (
            "https://example.com/cover.jpg", 2500, "false", ["a_friend", "b_friend"], "7640348500"), c
        assert w.stop() == 0


def test_transient_publish_errors_are_retried():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 0})
        user, job, _ = setup(p, title="Retried reel")
        p.graph.faults([{"op": "ig_publish", "status": 400, "code": -1, "error_subcode": 2207003},
                        {"op": "ig_publish", "status": 400, "code": -1, "error_subcode": 2207052},
                        {"op": "ig_create", "status": 500, "is_transient": True, "skip": 0}])
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        assert s["results"]["instagram"]["attempts"] == 3, s
        assert p.graph.stats()["ig_media_published"] == 1
        assert w.stop() == 0


def test_publish_not_ready_waits_instead_of_failing():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 0})
        user, job, _ = setup(p, title="Not ready")
        p.graph.faults([{"op": "ig_publish", "status": 400, "code": 9007, "error_subcode": 2207027}])
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        assert s["results"]["instagram"]["attempts"] == 0, s
        assert w.stop() == 0


def recorded_as_its_container(status, stats):
    """A publish whose answer was lost is recorded by the container it
    published: the Graph API links no media to its container, and matching by
    caption could take another job's reel. The fake's stats (not its API) say
    which container the one media came from."""
    result = status["results"]["instagram"]
    assert result["postId"] == stats["ig_media"][0]["container_id"], (result, stats["ig_media"])
    assert result["url"] == "https://www.instagram.com/", result


def test_lost_publish_answer_is_recorded_not_republished():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 0})
        user, job, _ = setup(p, title="Answer lost")
        p.graph.faults([{"op": "ig_publish", "drop_response": True}])
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        stats = p.graph.stats()
        assert stats["ig_media_published"] == 1 and stats["requests"]["ig_publish"] == 1, stats
        recorded_as_its_container(s, stats)
        assert w.stop() == 0


def test_lagging_container_status_after_a_lost_publish_does_not_publish_twice():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 0})
        user, job, _ = setup(p, title="Status lags")
        p.graph.faults([{"op": "ig_publish", "drop_response": True},
                        {"op": "ig_status", "skip": 1, "status": 200,
                         "body": {"status_code": "FINISHED", "status": "Finished."}}])
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        stats = p.graph.stats()
        assert stats["requests"]["ig_publish"] == 1 and stats["ig_media_published"] == 1, stats
        recorded_as_its_container(s, stats)
        assert w.stop() == 0


def test_worker_killed_between_publish_and_record_does_not_publish_twice():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 0})
        user, job, _ = setup(p, title="Killed after publish")
        p.graph.faults([{"op": "ig_publish", "hold_ms": 5000}])
        a = worker(p, "--lease", "3")
        wk.wait_for("the publish", lambda: p.graph.stats()["ig_media_published"] == 1, timeout=30)
        a.kill()  # the media exists; the worker never heard of it
        b = worker(p, "--lease", "3")
        s = wk.wait_job(user, job, timeout=60)
        assert s["status"] == "completed", s
        stats = p.graph.stats()
        assert stats["ig_media_published"] == 1 and stats["requests"]["ig_publish"] == 1, stats
        recorded_as_its_container(s, stats)
        assert b.stop() == 0


def test_20_reels_transcoding_30s_do_not_block_two_slots():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 30})
        url, _ = p.video.add_video("many.mp4", 10_000)
        user = sptest.new_user()
        wk.connect(user, "instagram", access_token="IGQ-token", account_id=IG_USER)
        jobs = [wk.submit(user, sptest.new_video(user, title=f"Reel {i}", video_url=url), ["instagram"])
                for i in range(20)]
        started = time.time()
        w = p.worker("--concurrency", "2", "--ig-poll", "1")
        for job in jobs:
            s = wk.wait_job(user, job, timeout=240)
            assert s["status"] == "completed", s
        elapsed = time.time() - started
        print(f"20 reels with 30 s processing, 2 slots: all done in {elapsed:.1f} s")
        assert elapsed < 90, elapsed  # blocking slots would take 20 * 30 / 2 = 300 s
        assert p.graph.stats()["ig_media_published"] == 20
        assert w.stop() == 0


def test_no_instagram_account_fails():
    with wk.Platforms() as p:
        wk.clear_queue()
        user, job, _ = setup(p, title="No IG", connect=False)
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "failed" and "no Instagram account" in s["error"], s
        assert w.stop() == 0


if __name__ == "__main__":
    sptest.run(globals())
