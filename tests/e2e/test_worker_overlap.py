"""The upload overlaps the download: a video served slowly reaches both platforms
of a job while it is still arriving, through one GET, and they get exactly the
original bytes; a download cut one byte short fails its uploads without either
platform finishing a wrong video, and the next attempt continues the download
(a Range for the rest) and the uploads where they stopped; a video replaced at its URL after an
upload had read part of it fails as changed instead of being stitched; a video
whose server names no version of it is not read before it is whole; a
platform whose lease is lost stops waiting for the video at once, and the
other platform reading the same download goes on with no attempt spent.

The assertions are orderings, not timings: the video server holds its answer
a byte short of the end (or at the cut) until the test releases it, so "the
platform has bytes while the server holds" means the upload began before the
download ended, however slow the machine is."""
import time

import faultkit
import sptest
import workerkit as wk

MiB = 1 << 20
PAGE = "1000001"
SIZE = 32 * MiB


def wait_for_platform_bytes(p, received, timeout=60):
    """Waits (the video server holding its answer) until the platform holds bytes."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = received()
        if got > 0:
            return got
        time.sleep(0.05)
    raise AssertionError("no platform received a byte while the download was unfinished")


def test_two_platforms_upload_while_one_get_downloads():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_chunk_bytes": MiB})
        url, sha = p.video.add_video("overlap-two.mp4", SIZE)
        user, video = wk.user_with_video(url, title="Overlap two")
        wk.connect(user, "youtube")
        wk.connect(user, "facebook", access_token="EAAB-page-token", account_id=PAGE)
        p.video.faults([{"op": "get", "hold_at_bytes": SIZE - 1}])
        job = wk.submit(user, video, ["youtube", "facebook"])
        w = p.worker("--concurrency", "2", "--per-user", "2")
        wait_for_platform_bytes(p, lambda: min(p.youtube.stats()["bytes_received"],
                                               p.graph.stats()["fb_bytes_received"]))
        st = p.video.stats()
        assert st["bytes_sent"] < SIZE, st  # the last byte is held until released
        p.video.config({"release_holds": True})
        s = wk.wait_job(user, job, timeout=120)
        assert s["status"] == "completed", s
        [yt] = [v for v in p.youtube.stats()["videos"] if v["title"] == "Overlap two"]
        [fb] = p.graph.stats()["fb_videos"]
        assert yt["sha256"] == sha and yt["size"] == SIZE and fb["sha256"] == sha, (yt, fb)
        st = p.video.stats()
        assert st["gets"]["overlap-two.mp4"] == 1 and st["bytes_sent"] == SIZE, st
        assert w.stop() == 0


def test_download_cut_before_its_last_byte_finishes_no_platform_then_resumes():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_chunk_bytes": MiB})
        url, sha = p.video.add_video("overlap-cut.mp4", SIZE // 2)
        user, video = wk.user_with_video(url, title="Overlap cut")
        wk.connect(user, "youtube")
        wk.connect(user, "facebook", access_token="EAAB-page-token", account_id=PAGE)
        p.video.config({"bandwidth_bytes_per_sec": 8 * MiB})
        p.video.faults([{"op": "get", "drop_after_bytes": SIZE // 2 - 1}])
        job = wk.submit(user, video, ["youtube", "facebook"])
        w = p.worker("--concurrency", "2", "--per-user", "2")
        s = wk.wait_job(user, job, timeout=120)
        assert s["status"] == "completed", s
        # the cut failed a step (a slot that opened the video after the cut only saw the resume)
        assert sum(r["attempts"] for r in s["results"].values()) >= 1, s
        yts = [v for v in p.youtube.stats()["videos"] if v["title"] == "Overlap cut"]
        fbs = p.graph.stats()["fb_videos"]
        # one video each, the right one: the cut never let an upload finish
        assert [v["sha256"] for v in yts] == [sha] and yts[0]["size"] == SIZE // 2, yts
        assert [v["sha256"] for v in fbs] == [sha] and fbs[0]["published"], fbs
        st = p.video.stats()
        assert st["gets"]["overlap-cut.mp4"] == 2, st["gets"]
        assert st["bytes_sent"] == SIZE // 2, st  # the second GET asked only for the rest
        assert st["get_log"][1]["status"] == 206 and st["get_log"][1]["from"] == SIZE // 2 - 1, st
        assert w.stop() == 0


def test_video_replaced_after_an_upload_read_part_of_it_fails_unstitched():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_chunk_bytes": MiB})
        url, _ = p.video.add_video("overlap-changed.mp4", 8 * MiB)
        user, video = wk.user_with_video(url, title="Overlap changed")
        wk.connect(user, "facebook", access_token="EAAB-page-token", account_id=PAGE)
        p.video.faults([{"op": "get", "hold_at_bytes": 6 * MiB, "drop_after_bytes": 6 * MiB},
                        {"op": "get", "delay_ms": 2000}])
        job = wk.submit(user, video, ["facebook"])
        w = p.worker()
        wait_for_platform_bytes(p, lambda: p.graph.stats()["fb_bytes_received"])
        p.video.config({"release_holds": True})  # now the cut; Facebook holds old bytes
        deadline = time.time() + 60  # the resumed GET waits in the fake: replace the file
        while p.video.stats()["requests"].get("get", 0) < 2 and time.time() < deadline:
            time.sleep(0.05)
        p.video.add_video("overlap-changed.mp4", 8 * MiB, seed="second version")
        s = wk.wait_job(user, job, timeout=60)
        assert s["status"] == "failed" and "changed" in s["error"], s
        assert p.graph.stats()["fb_videos"] == [] or not any(
            v["published"] for v in p.graph.stats()["fb_videos"]), p.graph.stats()["fb_videos"]
        assert w.stop() == 0


def test_a_platform_whose_lease_is_lost_leaves_the_shared_download_and_the_other_goes_on():
    """Two platforms of a job read one download that the video server holds
    part-way; YouTube's delivery is taken over by another worker (its lease
    lost). Its slot must stop waiting for the video's next bytes at its next
    renewal, not when the server goes on, so the slot serves other work while
    the server still holds; and Facebook, still reading, goes on unharmed:
    the same one GET, no attempt spent. Orderings, not timings: the server
    holds until the test releases it (the fake gives up holding after 60 s).
    Failed before the fix: the slot waited on the spool until the release."""
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_chunk_bytes": MiB})
        url, sha = p.video.add_video("overlap-lease.mp4", 16 * MiB)
        user, video = wk.user_with_video(url, title="Overlap lease")
        wk.connect(user, "youtube")
        wk.connect(user, "facebook", access_token="EAAB-page-token", account_id=PAGE)
        p.video.faults([{"op": "get", "path_contains": "overlap-lease", "hold_at_bytes": 12 * MiB}])
        job = wk.submit(user, video, ["youtube", "facebook"])
        w = p.worker("--lease", "6", "--concurrency", "2", "--per-user", "2")
        # YouTube sent its first 8 MiB chunk and waits on the spool for the
        # second; Facebook has bytes and waits for more
        wk.wait_for("both uploads under way", lambda: p.youtube.stats()["bytes_received"] >= 8 * MiB
                    and p.graph.stats()["fb_bytes_received"] > 0, timeout=60)
        other = "elsewhere:1:00000000:1"
        sptest.sql("UPDATE social_post_deliveries SET lease_owner = %s,"
                   " lease_expires_at = now() + interval '1 hour'"
                   " WHERE job_id = %s AND platform = 'youtube'", (other, job))
        wk.wait_for("the lost lease noticed", lambda: "was lost" in w.output(), timeout=15)
        # the freed slot takes another job while the server still holds
        url2, _ = p.video.add_video("overlap-next.mp4", 256 * 1024)
        user2, video2 = wk.user_with_video(url2, title="Overlap next")
        wk.connect(user2, "facebook", access_token="EAAB-page-token", account_id=PAGE)
        job2 = wk.submit(user2, video2, ["facebook"])
        s2 = wk.wait_job(user2, job2, timeout=20)
        assert s2["status"] == "completed", s2
        held = faultkit.delivery(job, "facebook")
        assert held["state"] == "running", held  # still reading the held download
        p.video.config({"release_holds": True})
        row, _ = faultkit.wait_final(job, "facebook", timeout=60)
        assert row["state"] == "succeeded" and row["attempts"] == 0, row  # no attempt spent
        fbs = [v for v in p.graph.stats()["fb_videos"] if v["sha256"] == sha]
        assert len(fbs) == 1 and fbs[0]["published"], p.graph.stats()["fb_videos"]
        assert p.video.stats()["gets"]["overlap-lease.mp4"] == 1, p.video.stats()["gets"]
        yt = faultkit.delivery(job, "youtube")
        assert yt["state"] == "running" and yt["lease_owner"] == other, yt  # not written over
        assert w.stop() == 0


def test_video_without_a_validator_is_not_streamed_so_a_cut_only_retries():
    """A server that names no version of its bytes (no ETag, no Last-Modified):
    a cut download must start over, so uploads must not have read part of it
    (that would fail the job as changed); they wait for the whole file."""
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_chunk_bytes": MiB})
        p.video.config({"validators": False})
        url, sha = p.video.add_video("overlap-unnamed.mp4", 8 * MiB)
        user, video = wk.user_with_video(url, title="Overlap unnamed")
        wk.connect(user, "facebook", access_token="EAAB-page-token", account_id=PAGE)
        p.video.faults([{"op": "get", "hold_at_bytes": 6 * MiB, "drop_after_bytes": 6 * MiB}])
        job = wk.submit(user, video, ["facebook"])
        w = p.worker()
        wk.wait_for("the held GET", lambda: p.video.stats()["requests"].get("get", 0) >= 1,
                    timeout=30)
        time.sleep(2)  # room for an upload to read the held bytes (it must not)
        assert p.graph.stats()["fb_bytes_received"] == 0, p.graph.stats()
        p.video.config({"release_holds": True})  # now the cut, then a whole new GET
        s = wk.wait_job(user, job, timeout=60)
        assert s["status"] == "completed", s
        fbs = p.graph.stats()["fb_videos"]
        assert [v["sha256"] for v in fbs] == [sha] and fbs[0]["published"], fbs
        assert p.video.stats()["gets"]["overlap-unnamed.mp4"] == 2
        assert w.stop() == 0


def test_worker_killed_mid_stream_is_continued_by_the_next_not_failed_as_changed():
    """kill -9 while uploads read a download that has not ended: the killed
    worker saved nothing but the marker; the next worker continues the file
    from where it stopped (a Range with If-Range from the marker's validator)
    and the job completes with the original bytes."""
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_chunk_bytes": MiB})
        url, sha = p.video.add_video("overlap-killed.mp4", 8 * MiB)
        user, video = wk.user_with_video(url, title="Overlap killed")
        wk.connect(user, "facebook", access_token="EAAB-page-token", account_id=PAGE)
        p.video.faults([{"op": "get", "hold_at_bytes": 6 * MiB}])
        job = wk.submit(user, video, ["facebook"])
        w = p.worker("--lease", "3")
        wait_for_platform_bytes(p, lambda: p.graph.stats()["fb_bytes_received"])
        w.kill()
        p.video.config({"release_holds": True})
        w2 = p.worker("--lease", "3")  # takes the delivery over once the lease lapses
        s = wk.wait_job(user, job, timeout=60)
        assert s["status"] == "completed", s
        fbs = p.graph.stats()["fb_videos"]
        assert [v["sha256"] for v in fbs] == [sha] and fbs[0]["published"], fbs
        log = p.video.stats()["get_log"]
        assert len(log) == 2 and log[1]["status"] == 206 and log[1]["if_range"], log
        assert w2.stop() == 0


if __name__ == "__main__":
    sptest.run(globals())
