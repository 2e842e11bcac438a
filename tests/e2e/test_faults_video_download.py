"""Faults of the video download (the spool): error pages, cut transfers, a
206 that starts elsewhere, a file that changed between attempts, a full disk,
a whole file a worker killed before its rename left as a partial one.

What must hold: only the video's own bytes reach the platform (the sha256 the
platform received equals the file's), a failure ends the delivery sanely, and
a full spool disk neither posts garbage nor blocks the jobs after it.
"""

import os
import urllib.request

import faultkit as fk
import sptest
import workerkit as wk

MiB = 1 << 20
ERROR_PAGE = ("<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body>"
              "<h1>Service Unavailable</h1><p>The server is temporarily unable to service your request"
              " due to maintenance downtime or capacity problems. Please try again later.</p>"
              + "<!-- padding -->" * 40 + "</body></html>\n")
TOO_MANY = ("<html><body><h1>429 Too Many Requests</h1><p>You have sent too many requests in a given"
            " amount of time.</p></body></html>\n")


def youtube_job(p, name, size, title):
    url, sha = p.video.add_video(name, size)
    user, video = wk.user_with_video(url, title=title)
    wk.connect(user, "youtube")
    return user, wk.submit(user, video, ["youtube"]), sha


def check_uploaded(checks, p, size, sha):
    videos = p.youtube.stats()["videos"]
    checks.check(len(videos) == 1, f"expected exactly one YouTube video, got {len(videos)}")
    for v in videos:
        checks.check(v["size"] == size, f"YouTube got {v['size']} bytes, the video has {size}")
        checks.check(v["sha256"] == sha, "the uploaded video is not the file: sha256 "
                     f"{v['sha256'][:16]}... != {sha[:16]}... (an error page or a misplaced range "
                     "reached the spool)")


def test_error_body_never_reaches_the_spool():
    """429 and 503 answers with HTML bodies, and a transfer cut in the middle:
    the spool must hold only 200/206 bodies, so the upload is the file."""
    with fk.Platforms() as p:
        wk.clear_queue()
        size = 6 * MiB
        p.video.faults([
            {"op": "get", "status": 429, "headers": {"Content-Type": "text/html", "Retry-After": "1"},
             "body": TOO_MANY},
            {"op": "get", "drop_after_bytes": 1 * MiB},
            {"op": "get", "status": 503, "headers": {"Content-Type": "text/html"}, "body": ERROR_PAGE},
        ])
        user, job, sha = youtube_job(p, "errors.mp4", size, "Error pages")
        w = p.worker("--max-attempts", "8")
        checks = fk.Checks("error bodies must not reach the spool")
        s = wk.wait_job(user, job, timeout=60)
        checks.check(s["status"] == "completed", f"job ended {s['status']}: {s.get('error')}")
        check_uploaded(checks, p, size, sha)
        gets = p.video.stats()["requests"].get("get", 0)
        checks.check(gets >= 4, f"expected at least 4 GETs of the video (3 faults), saw {gets}")
        checks.check(fk.worker_problem(w) is None, str(fk.worker_problem(w)))
        checks.check(w.stop() == 0, "worker did not exit 0 on SIGTERM")
        checks.done()


def test_resumed_download_must_start_where_it_asked():
    """After a cut, the server answers the resume with a 206 that starts
    1000 bytes earlier than asked (a truthful Content-Range): the worker must
    see it, and either skip the overlap or start over; never append it.
    (Today libcurl itself refuses a Content-Range that does not start at
    CURLOPT_RESUME_FROM; this test keeps that true if the download code
    changes.)"""
    with fk.Platforms() as p:
        wk.clear_queue()
        size = 5 * MiB
        p.video.faults([{"op": "get", "drop_after_bytes": 2 * MiB},
                        {"op": "get", "serve_from": 2 * MiB - 1000}])
        user, job, sha = youtube_job(p, "overlap.mp4", size, "Overlapping range")
        w = p.worker()
        checks = fk.Checks("a 206 must start where the worker asked")
        s = wk.wait_job(user, job, timeout=60)
        checks.check(s["status"] == "completed", f"job ended {s['status']}: {s.get('error')}")
        check_uploaded(checks, p, size, sha)
        checks.check(w.stop() == 0, "worker did not exit 0 on SIGTERM")
        checks.done()


def test_206_with_a_lying_content_range_is_not_appended():
    """The resume's 206 says it starts at 0 (Content-Range: bytes 0-...), not
    where the worker asked: the body cannot be trusted to continue the file."""
    with fk.Platforms() as p:
        wk.clear_queue()
        size = 4 * MiB
        p.video.faults([{"op": "get", "drop_after_bytes": 1 * MiB},
                        {"op": "get", "serve_from": 0, "times": 1}])
        user, job, sha = youtube_job(p, "restart.mp4", size, "Range from zero")
        w = p.worker()
        checks = fk.Checks("a 206 from byte 0 must not be appended to the partial file")
        s = wk.wait_job(user, job, timeout=60)
        checks.check(s["status"] == "completed", f"job ended {s['status']}: {s.get('error')}")
        check_uploaded(checks, p, size, sha)
        checks.check(w.stop() == 0, "worker did not exit 0 on SIGTERM")
        checks.done()


def test_video_changed_between_attempts_is_not_stitched():
    """The file is replaced (new ETag and Last-Modified) after a cut: the
    resumed download must not stitch old and new bytes together. What reaches
    YouTube must be the new file (If-Range, or a start over on a changed ETag)."""
    with fk.Platforms() as p:
        wk.clear_queue()
        size = 6 * MiB
        p.video.faults([{"op": "get", "drop_after_bytes": 2 * MiB},
                        {"op": "get", "delay_ms": 2500}])
        user, job, old_sha = youtube_job(p, "changing.mp4", size, "Changed file")
        w = p.worker()
        checks = fk.Checks("a changed video must not be stitched from two versions")
        # the second GET (the resume) waits 2.5 s in the fake: replace the file meanwhile
        seen = fk.wait_until(lambda: p.video.stats()["requests"].get("get", 0) >= 2, timeout=30)
        assert seen, "the worker never resumed the cut download"
        _, new_sha = p.video.add_video("changing.mp4", size, seed="second version")
        assert new_sha != old_sha
        s = wk.wait_job(user, job, timeout=60)
        checks.check(s["status"] == "completed", f"job ended {s['status']}: {s.get('error')}")
        check_uploaded(checks, p, size, new_sha)
        checks.check(w.stop() == 0, "worker did not exit 0 on SIGTERM")
        checks.done()


def test_full_spool_disk_fails_cleanly_and_frees_the_space():
    """The spool holds 3 MiB; a 5 MiB video cannot be spooled. Its delivery
    must end (failed, attempts counted) without uploading a byte, the worker
    must live on, and the partial file must not keep the disk full: the next
    job's 1 MiB video posts."""
    with fk.Platforms() as p:
        wk.clear_queue()
        spool = p.spool  # the worker's own spool folder, here a 3 MiB disk
        prefix, preexec, how = fk.small_disk(spool, 3 * MiB)
        print(f"full disk by: {how}")
        big_url, _ = p.video.add_video("big.mp4", 5 * MiB)
        user, video = wk.user_with_video(big_url, title="Does not fit")
        wk.connect(user, "youtube")
        job = wk.submit(user, video, ["youtube"])
        w = p.worker("--max-attempts", "3", env={"SOCIAL_POST_SPOOL_DIR": spool},
                     prefix=prefix, preexec_fn=preexec)
        checks = fk.Checks("a full spool disk")
        row, _ = fk.wait_final(job, "youtube", timeout=60, hurry_queued=True)
        checks.check(row["state"] == "failed",
                     f"the delivery that cannot be spooled is {row['state']} "
                     f"(attempts {row['attempts']}), not failed: {row['last_error']}")
        checks.check(p.youtube.stats()["bytes_received"] == 0,
                     f"YouTube received {p.youtube.stats()['bytes_received']} bytes of a video "
                     "that was never spooled whole")
        checks.check(fk.worker_problem(w) is None, str(fk.worker_problem(w)))
        small_url, small_sha = p.video.add_video("small.mp4", 1 * MiB)
        video2 = sptest.new_video(user, title="Fits", video_url=small_url)
        job2 = wk.submit(user, video2, ["youtube"])
        row2, _ = fk.wait_final(job2, "youtube", timeout=45, hurry_queued=True)
        checks.check(row2["state"] == "succeeded",
                     f"a 1 MiB video after the failed 5 MiB one is {row2['state']}: "
                     f"{row2['last_error']} (the failed job's partial file still fills the spool)")
        shas = [v["sha256"] for v in p.youtube.stats()["videos"]]
        checks.check(shas in ([], [small_sha]), f"YouTube got unexpected videos: {shas}")
        code, _ = fk.stop_within(w, 30)
        checks.check(code == 0, f"worker: {fk.describe_exit(code)} on SIGTERM")
        checks.done()


def test_a_whole_part_left_by_a_kill_before_its_rename_costs_no_attempt():
    """A worker killed (SIGKILL) after the video's last byte reached its
    .part and before the rename leaves the whole file with its validator
    beside it (the ETag, and the size the answer announced, as the spool
    writes them when it accepts the answer). The next worker must post it
    with no attempt lost and no byte downloaded again: it asked for a Range
    past the end, got a 416 and failed the attempt (then fetched the video
    from its start). Made here as the kill leaves it: the window between the
    last byte and the rename is too short to kill in from outside. A
    validator that gives no size (a spool of an earlier version, an answer
    without Content-Length) is judged by the 416: this server's names the
    same ETag, so the file is whole there too."""
    with fk.Platforms() as p:
        wk.clear_queue()
        size = 3 * MiB
        os.makedirs(p.spool, mode=0o700, exist_ok=True)
        jobs = []
        for name, with_size in (("whole-part-sized.mp4", True), ("whole-part-unsized.mp4", False)):
            url, sha = p.video.add_video(name, size)
            with urllib.request.urlopen(url) as r:  # the bytes and the ETag the kill left
                body, etag = r.read(), r.headers["ETag"]
            assert len(body) == size and etag, (len(body), etag)
            user, video = wk.user_with_video(url, title=name)
            wk.connect(user, "youtube")
            job = wk.submit(user, video, ["youtube"])
            with open(os.path.join(p.spool, job + ".part"), "wb") as f:
                f.write(body)
            with open(os.path.join(p.spool, job + ".validator"), "w") as f:
                f.write(etag + "\n" + (f"{size}\n" if with_size else ""))
            jobs.append((name, user, job, sha))
        seen = len(p.video.stats()["get_log"])  # the test's own GETs above
        w = p.worker()
        checks = fk.Checks("a whole .part left by a kill before its rename")
        for name, user, job, sha in jobs:
            s = wk.wait_job(user, job, timeout=60)
            checks.check(s["status"] == "completed", f"{name}: job ended {s['status']}: {s.get('error')}")
            row = fk.delivery(job, "youtube")
            checks.check(row["attempts"] == 0,
                         f"{name}: an attempt was lost (attempts {row['attempts']}, "
                         f"last error {row['last_error']!r})")
        log = p.video.stats()["get_log"][seen:]
        sized = [g for g in log if g["name"] == "whole-part-sized.mp4"]
        unsized = [g for g in log if g["name"] == "whole-part-unsized.mp4"]
        checks.check(sized == [], f"the whole file whose size is known was asked for again: {sized}")
        checks.check([g["status"] for g in unsized] == [416],
                     f"the whole file without its size: expected one 416 and no body, got {unsized}")
        shas = sorted(v["sha256"] for v in p.youtube.stats()["videos"])
        checks.check(shas == sorted(sha for _, _, _, sha in jobs), f"YouTube got {shas}")
        checks.check(w.stop() == 0, "worker did not exit 0 on SIGTERM")
        checks.done()


if __name__ == "__main__":
    sptest.run(globals())
