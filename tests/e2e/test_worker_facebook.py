"""Facebook Page videos end to end: the resumable start/transfer/finish upload
against the fake Graph API, its faults, and its error classes."""
import sptest
import workerkit as wk

MiB = 1 << 20
PAGE = "1000001"


def setup(p, name, size=3 * MiB, title="FB video"):
    url, sha = p.video.add_video(name, size)
    user, video = wk.user_with_video(url, title=title)
    wk.connect(user, "facebook", access_token="EAAB-page-token", account_id=PAGE)
    return user, video, sha


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
        p.graph.faults([{"op": "fb_start", "status": 400, "code": 4},
                        {"op": "fb_transfer", "status": 500, "is_transient": True},
                        {"op": "fb_transfer", "status": 400, "code": 6000, "error_subcode": 1363030},
                        {"op": "fb_finish", "status": 400, "code": 17},
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
