"""The upload overlaps the download: a video served slowly reaches the platform
while it is still arriving, the platform gets exactly the original bytes (on
YouTube and on Facebook), a download cut mid-way continues where it stopped
and the upload with it, and two platforms of one job share one download.

The assertions are on the fakes' counters, read in an order that makes them
orderings, not timings: the platform's counter is read first, the video
server's after it, so "platform has bytes and the server has not sent the
whole file yet" means the upload began before the download ended."""
import time

import sptest
import workerkit as wk

MiB = 1 << 20
PAGE = "1000001"
SIZE = 24 * MiB
RATE = 3 * MiB  # the download takes about 8 s; YouTube's first 8 MiB chunk is ready after ~3


def watch_overlap(p, received, size, timeout=120):
    """Polls until the platform holds bytes; returns (its bytes, server's bytes sent then)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = received()
        if got > 0:
            return got, p.video.stats()["bytes_sent"]
        time.sleep(0.05)
    raise AssertionError("the platform never received a byte")


def test_youtube_upload_starts_before_the_download_ends():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, sha = p.video.add_video("overlap-yt.mp4", SIZE)
        user, video = wk.user_with_video(url, title="Overlap YT")
        wk.connect(user, "youtube")
        p.video.config({"bandwidth_bytes_per_sec": RATE})
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        got, sent = watch_overlap(p, lambda: p.youtube.stats()["bytes_received"], SIZE)
        assert 0 < got and sent < SIZE, (got, sent)
        s = wk.wait_job(user, job, timeout=120)
        assert s["status"] == "completed", s
        [made] = [v for v in p.youtube.stats()["videos"] if v["title"] == "Overlap YT"]
        assert made["sha256"] == sha and made["size"] == SIZE
        assert p.video.stats()["gets"]["overlap-yt.mp4"] == 1
        assert w.stop() == 0


def test_facebook_transfer_starts_before_the_download_ends():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_chunk_bytes": MiB})
        url, sha = p.video.add_video("overlap-fb.mp4", SIZE)
        user, video = wk.user_with_video(url, title="Overlap FB")
        wk.connect(user, "facebook", access_token="EAAB-page-token", account_id=PAGE)
        p.video.config({"bandwidth_bytes_per_sec": RATE})
        job = wk.submit(user, video, ["facebook"])
        w = p.worker()
        got, sent = watch_overlap(p, lambda: p.graph.stats()["fb_bytes_received"], SIZE)
        assert 0 < got and sent < SIZE, (got, sent)
        s = wk.wait_job(user, job, timeout=120)
        assert s["status"] == "completed", s
        [made] = p.graph.stats()["fb_videos"]
        assert made["published"] and made["sha256"] == sha, made
        assert w.stop() == 0


def test_download_cut_midway_resumes_and_the_upload_is_whole():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, sha = p.video.add_video("overlap-cut.mp4", SIZE)
        user, video = wk.user_with_video(url, title="Overlap cut")
        wk.connect(user, "youtube")
        p.video.config({"bandwidth_bytes_per_sec": 8 * MiB})
        p.video.faults([{"op": "get", "drop_after_bytes": 12 * MiB}])
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        s = wk.wait_job(user, job, timeout=120)
        assert s["status"] == "completed", s
        assert s["results"]["youtube"]["attempts"] >= 1, s  # the cut failed a step
        [made] = [v for v in p.youtube.stats()["videos"] if v["title"] == "Overlap cut"]
        assert made["sha256"] == sha and made["size"] == SIZE
        st = p.video.stats()
        assert st["gets"]["overlap-cut.mp4"] == 2, st["gets"]
        assert st["bytes_sent"] == SIZE, st  # the second GET asked only for the rest
        assert w.stop() == 0


def test_two_platforms_of_one_job_share_one_download():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_chunk_bytes": MiB})
        url, sha = p.video.add_video("overlap-two.mp4", SIZE)
        user, video = wk.user_with_video(url, title="Overlap two")
        wk.connect(user, "youtube")
        wk.connect(user, "facebook", access_token="EAAB-page-token", account_id=PAGE)
        p.video.config({"bandwidth_bytes_per_sec": RATE})
        job = wk.submit(user, video, ["youtube", "facebook"])
        w = p.worker("--concurrency", "2")
        got, sent = watch_overlap(p, lambda: p.youtube.stats()["bytes_received"] +
                                  p.graph.stats()["fb_bytes_received"], SIZE)
        assert 0 < got and sent < SIZE, (got, sent)
        s = wk.wait_job(user, job, timeout=120)
        assert s["status"] == "completed", s
        [yt] = [v for v in p.youtube.stats()["videos"] if v["title"] == "Overlap two"]
        [fb] = p.graph.stats()["fb_videos"]
        assert yt["sha256"] == sha and fb["sha256"] == sha
        st = p.video.stats()
        assert st["gets"]["overlap-two.mp4"] == 1 and st["bytes_sent"] == SIZE, st
        assert w.stop() == 0


if __name__ == "__main__":
    sptest.run(globals())
