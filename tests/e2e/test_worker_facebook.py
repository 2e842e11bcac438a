"""Facebook Page videos end to end: the resumable start/transfer/finish upload
against the fake Graph API, its faults, and its error classes."""
import sptest
import workerkit as wk

MiB = 1 << 20
PAGE = "1000001"


def setup(p, name, size=3 * MiB, title="FB video", mp4=None):
    url, sha = p.video.add_video(name, size, mp4=mp4)
    user, video = wk.user_with_video(url, title=title)
    wk.connect(user, "facebook", access_token="EAAB-page-token", account_id=PAGE)
    return user, video, sha


VERTICAL = {"width": 1080, "height": 1920, "duration": 12}
LANDSCAPE = {"width": 1920, "height": 1080, "duration": 12}



def test_page_video_is_uploaded_in_chunks_and_published():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_chunk_bytes": MiB})
        user, video, sha = setup(p, "fb.mp4", 3 * MiB + 12345, title="Page launch")
        job = wk.submit(user, video, ["facebook"], description="Now on our Page")
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        fb = s["results"]["facebook"]
        stats = p.graph.stats()
        [made] = stats["fb_videos"]
        assert made["published"] and made["sha256"] == sha and made["page_id"] == PAGE, made
        assert made["title"] == "Page launch" and made["description"] == "Now on our Page"
        assert fb["success"] is True and fb["postId"] == made["video_id"], fb
        assert fb["url"] == f"https://www.facebook.com/{PAGE}/videos/{made['video_id']}/", fb
        assert stats["requests"]["fb_transfer"] == 4 and stats["requests"]["fb_start"] == 1
        assert wk.history(job)[0][:2] == ("facebook", "posted")
        assert w.stop() == 0


def test_dropped_transfer_resumes_at_server_offset():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_chunk_bytes": 2 * MiB})
        size = 10 * MiB
        user, video, sha = setup(p, "fbdrop.mp4", size, title="FB dropped")
        p.graph.faults([{"op": "fb_transfer", "skip": 2, "drop_after_bytes": MiB}])
        job = wk.submit(user, video, ["facebook"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        stats = p.graph.stats()
        assert stats["fb_videos_published"] == 1 and stats["fb_videos"][0]["sha256"] == sha
        assert stats["requests"]["fb_start"] == 1  # one session: resumed, not restarted
        assert s["results"]["facebook"]["attempts"] == 1
        assert w.stop() == 0


def test_offset_mismatch_error_is_followed():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_chunk_bytes": MiB, "fb_offset_mismatch": "error"})
        user, video, sha = setup(p, "fbmis.mp4", 3 * MiB, title="FB mismatch")
        job = wk.submit(user, video, ["facebook"])
        # the server stores a chunk whose answer is lost: the worker resends it
        # at an offset the server has passed and must follow error_data
        p.graph.faults([{"op": "fb_transfer", "drop_response": True}])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        assert p.graph.stats()["fb_videos"][0]["sha256"] == sha
        assert w.stop() == 0


def test_lost_transfer_answer_then_the_retry_at_the_old_offset_continues_where_facebook_is():
    """Issue 15 item 1: Graph answers the resent chunk 6001/1363037 with numeric
    offsets (the fake's documented default); this failed as "Facebook rejected
    the video" before."""
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_chunk_bytes": MiB})
        user, video, sha = setup(p, "fblost.mp4", 4 * MiB, title="FB lost answer")
        p.graph.faults([{"op": "fb_transfer", "skip": 1, "drop_response": True}])
        job = wk.submit(user, video, ["facebook"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        stats = p.graph.stats()
        [made] = stats["fb_videos"]
        assert made["published"] and made["sha256"] == sha and not made["reel"], made
        assert stats["requests"]["fb_start"] == 1, stats  # the same session, continued
        assert stats["fb_bytes_received"] < 6 * MiB, stats  # not sent from the start again
        assert w.stop() == 0


def test_another_file_error_fails_at_once_with_its_message():
    with wk.Platforms() as p:
        wk.clear_queue()
        user, video, _ = setup(p, "fb45.mp4", MiB, title="FB other file")
        p.graph.faults([{"op": "fb_transfer", "status": 400, "code": 6000, "error_subcode": 1363045}])
        job = wk.submit(user, video, ["facebook"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "failed", s
        assert "try another file" in s["results"]["facebook"]["error"], s
        assert s["results"]["facebook"]["attempts"] == 0, s
        assert w.stop() == 0


def test_vertical_video_is_published_as_a_reel():
    """Issue 15 item 5: a vertical video goes through video_reels and rupload
    (before, it went to /videos and could end up a draft)."""
    with wk.Platforms() as p:
        wk.clear_queue()
        user, video, sha = setup(p, "reel.mp4", 2 * MiB, title="Vertical", mp4=VERTICAL)
        job = wk.submit(user, video, ["facebook"], description="A reel")
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        stats = p.graph.stats()
        [made] = stats["fb_videos"]
        assert made["reel"] and made["published"] and made["state"] == "PUBLISHED", made
        assert made["sha256"] == sha and made["description"] == "A reel", made
        assert "fb_start" not in stats["requests"] and stats["requests"]["fb_reel_start"] == 1, stats
        fb = s["results"]["facebook"]
        assert fb["url"] == "https://www.facebook.com/reel/%s" % made["video_id"], fb
        assert w.stop() == 0


def test_landscape_and_unknown_videos_stay_regular_videos_and_as_reel_overrides():
    with wk.Platforms() as p:
        wk.clear_queue()
        cases = [("land.mp4", LANDSCAPE, None, False), ("plain.mp4", None, None, False),
                 ("forced.mp4", LANDSCAPE, {"asReel": True}, True),
                 ("kept.mp4", VERTICAL, {"asReel": False}, False)]
        jobs = []
        for name, mp4, options, reel in cases:
            user, video, sha = setup(p, name, MiB, title=name, mp4=mp4)
            fields = {"options": {"facebook": options}} if options else {}
            job = wk.submit(user, video, ["facebook"], **fields)
            jobs.append((user, job, sha, reel))
        w = p.worker()
        for user, job, sha, reel in jobs:
            s = wk.wait_job(user, job)
            assert s["status"] == "completed", s
            made = [v for v in p.graph.stats()["fb_videos"] if v["video_id"] == s["results"]["facebook"]["postId"]]
            assert made and made[0]["reel"] == reel and made[0]["sha256"] == sha, (made, reel)
        assert w.stop() == 0


def test_reel_upload_cut_midway_resumes_where_facebook_holds_it():
    with wk.Platforms() as p:
        wk.clear_queue()
        size = 6 * MiB
        user, video, sha = setup(p, "reelcut.mp4", size, title="Reel cut", mp4=VERTICAL)
        p.graph.faults([{"op": "fb_rupload", "drop_after_bytes": 2 * MiB}])
        job = wk.submit(user, video, ["facebook"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        stats = p.graph.stats()
        [made] = stats["fb_videos"]
        assert made["reel"] and made["published"] and made["sha256"] == sha, made
        assert stats["requests"]["fb_reel_start"] == 1 and stats["requests"]["fb_rupload"] == 2, stats
        assert stats["requests"].get("fb_video", 0) >= 1  # it asked where the bytes end
        assert stats["fb_bytes_received"] < size + 2 * MiB + MiB, stats  # resumed, not restarted
        assert w.stop() == 0


def test_lost_reel_finish_answer_is_checked_not_sent_again():
    with wk.Platforms() as p:
        wk.clear_queue()
        user, video, sha = setup(p, "reelfin.mp4", MiB, title="Reel finish lost", mp4=VERTICAL)
        p.graph.faults([{"op": "fb_reel_finish", "drop_response": True}])
        job = wk.submit(user, video, ["facebook"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        stats = p.graph.stats()
        assert stats["requests"]["fb_reel_finish"] == 1 and stats["fb_videos_published"] == 1, stats
        assert w.stop() == 0


def test_reel_is_reported_once_facebook_has_published_it():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_reel_publish_seconds": 3})
        user, video, sha = setup(p, "reelwait.mp4", MiB, title="Reel processing", mp4=VERTICAL)
        job = wk.submit(user, video, ["facebook"])
        w = p.worker("--ig-poll", "0.5")
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        stats = p.graph.stats()
        assert stats["requests"]["fb_reel_finish"] == 1 and stats["requests"]["fb_video"] >= 2, stats
        assert s["results"]["facebook"]["attempts"] == 0, s  # waited, not retried
        assert w.stop() == 0


def test_reel_facebook_cannot_process_fails_with_its_message():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_reel_outcome": "error"})
        user, video, sha = setup(p, "reelerr.mp4", MiB, title="Reel error", mp4=VERTICAL)
        job = wk.submit(user, video, ["facebook"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "failed", s
        assert "too short" in s["results"]["facebook"]["error"], s
        assert p.graph.stats()["requests"]["fb_reel_finish"] == 1
        assert w.stop() == 0


def test_kill_9_during_a_reel_upload_posts_one_reel():
    with wk.Platforms() as p:
        wk.clear_queue()
        size = 12 * MiB
        user, video, sha = setup(p, "reelkill.mp4", size, title="Reel killed", mp4=VERTICAL)
        p.graph.config({"bandwidth_bytes_per_sec": 3 * MiB})
        job = wk.submit(user, video, ["facebook"])
        a = p.worker("--lease", "3")
        wk.wait_for("reel bytes to arrive", lambda: p.graph.stats()["fb_bytes_received"] >= 3 * MiB, timeout=30)
        a.kill()
        p.graph.config({"bandwidth_bytes_per_sec": 0})
        b = p.worker("--lease", "3")
        s = wk.wait_job(user, job, timeout=90)
        assert s["status"] == "completed", s
        stats = p.graph.stats()
        [made] = stats["fb_videos"]
        assert made["reel"] and made["published"] and made["sha256"] == sha, made
        assert stats["fb_videos_published"] == 1 and stats["requests"]["fb_reel_start"] == 1, stats
        assert b.stop() == 0


def test_a_graph_version_the_platform_does_not_serve_fails_clearly():
    with wk.Platforms() as p:
        wk.clear_queue()
        user, video, _ = setup(p, "fbver.mp4", MiB, title="FB old version")
        job = wk.submit(user, video, ["facebook"])
        w = p.worker(env={"FACEBOOK_VIDEO_URL": p.graph.url + "/v20.0"})  # retired 24 Sep 2026
        s = wk.wait_job(user, job)
        assert s["status"] == "failed" and "Unknown path components" in s["error"], s
        assert p.graph.stats()["refused_versions"] == ["v20.0"]
        assert w.stop() == 0


def test_lost_finish_answer_is_checked_not_sent_again():
    with wk.Platforms() as p:
        wk.clear_queue()
        user, video, sha = setup(p, "fbfin.mp4", MiB, title="FB finish lost")
        p.graph.faults([{"op": "fb_finish", "drop_response": True}])
        job = wk.submit(user, video, ["facebook"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        stats = p.graph.stats()
        assert stats["requests"]["fb_finish"] == 1 and stats["fb_videos_published"] == 1, stats
        assert stats["requests"].get("fb_video", 0) >= 1  # it asked the video instead
        assert w.stop() == 0


def test_transient_graph_errors_are_retried():
    with wk.Platforms() as p:
        wk.clear_queue()
        user, video, sha = setup(p, "fbt.mp4", MiB, title="FB transient")
        # throttling codes (4, 17, ...) are quota waits: test_worker_quota_waits
        p.graph.faults([{"op": "fb_start", "status": 400, "code": 2},
                        {"op": "fb_transfer", "status": 500, "is_transient": True},
                        {"op": "fb_transfer", "status": 400, "code": 6000, "error_subcode": 1363030},
                        {"op": "fb_finish", "status": 400, "code": 1},
                        {"op": "fb_finish", "status": 400, "code": 100, "is_transient": True}])
        job = wk.submit(user, video, ["facebook"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        assert s["results"]["facebook"]["attempts"] == 5, s
        assert p.graph.stats()["fb_videos_published"] == 1
        assert w.stop() == 0


def test_expired_token_fails_with_reconnect_message():
    with wk.Platforms() as p:
        wk.clear_queue()
        user, video, _ = setup(p, "fb190.mp4", MiB, title="FB token")
        p.graph.config({"expired_tokens": ["EAAB-page-token"]})
        job = wk.submit(user, video, ["facebook"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "failed", s
        assert "reconnect your Facebook account" in s["results"]["facebook"]["error"], s
        assert s["results"]["facebook"]["attempts"] == 0
        assert w.stop() == 0


def test_permission_and_parameter_errors_fail_at_once():
    with wk.Platforms() as p:
        wk.clear_queue()
        cases = [(10, None), (200, None), (100, None), (506, None)]
        jobs = []
        for code, _ in cases:
            user, video, _ = setup(p, f"fbp{code}.mp4", 1000, title=f"FB perm {code}")
            jobs.append((user, wk.submit(user, video, ["facebook"]), code))
        p.graph.faults([{"op": "fb_start", "status": 400, "code": code} for _, _, code in jobs])
        w = p.worker("--concurrency", "1")
        for user, job, code in jobs:
            s = wk.wait_job(user, job)
            assert s["status"] == "failed", s
            assert f"code {code}" in s["results"]["facebook"]["error"], s
            assert s["results"]["facebook"]["attempts"] == 0, s
        assert p.graph.stats()["fb_videos_published"] == 0
        assert w.stop() == 0


def test_no_page_connected_fails():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("fbnone.mp4", 1000)
        user, video = wk.user_with_video(url)
        job = wk.submit(user, video, ["facebook"])
        w = p.worker()
        s = wk.wait_job(user, job)
        assert s["status"] == "failed" and "no Facebook Page" in s["error"], s
        assert w.stop() == 0


if __name__ == "__main__":
    sptest.run(globals())
