"""Instagram: which reel is ours after a publish whose answer was lost.

Graph's real API gives no link from a container to the media it became (IG
Container has id, status, status_code, copyright_check_status; IG Media has
no creation_id), and the fake models exactly that: the link is only in its
/_control/stats, for the tests. So when the media_publish answer is lost the
worker cannot learn its media id from the API by asking about the container;
what it must never do is publish again, or record another job's reel as its
own (a reel with the same, or an empty, caption). Recording the container id
with a generic link, when the media cannot be told apart, is honest.
"""
import faultkit as fk
import sptest
import workerkit as wk

IG_USER = "1780001"


def ig_job(p, user, title, name):
    url, _ = p.video.add_video(name, 100_000)
    video = sptest.new_video(user, title=title, video_url=url)
    return wk.submit(user, video, ["instagram"])


def own_media_or_container(stats, job_post_id, container_id):
    """True when job_post_id is the media published from container_id, or the
    container itself (unknown media)."""
    mine = [m["id"] for m in stats["ig_media"] if m.get("container_id") == container_id]
    return job_post_id in mine + [container_id]


def container_of(job):
    row = fk.delivery(job, "instagram")
    return (row["checkpoint"] or {}).get("containerId")


def test_failed_media_lookup_never_publishes_again():
    """The publish goes through but its answer is lost; the container still
    reads FINISHED for a while (Meta's status lags), and looking through the
    account's media fails: first a 500, then a 403 (code 10, a permission
    the look-up needs). A failed look-up is not "not published": the worker
    must not publish again, and the job must end completed with its own reel."""
    with fk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 0})
        user = sptest.new_user()
        wk.connect(user, "instagram", access_token="IGQ-token", account_id=IG_USER)
        finished = {"status_code": "FINISHED", "status": "Finished: Media has been uploaded."}
        p.graph.faults([
            {"op": "ig_publish", "drop_response": True},
            {"op": "ig_status", "skip": 1, "status": 200, "body": finished, "times": 2},
            {"op": "ig_list", "status": 500, "code": 1, "is_transient": True},
            {"op": "ig_list", "status": 403, "code": 10},
        ])
        job = ig_job(p, user, "Look-up fails", "lookup.mp4")
        w = p.worker("--ig-poll", "0.3", "--max-attempts", "6")
        checks = fk.Checks("a failed media look-up after a lost publish answer")
        s = wk.wait_job(user, job, timeout=45)
        stats = p.graph.stats()
        checks.check(stats["requests"].get("ig_publish", 0) == 1,
                     f"media_publish was sent {stats['requests'].get('ig_publish', 0)} times (a failed "
                     "look-up was read as 'not published')")
        checks.check(stats["ig_media_published"] == 1, f"{stats['ig_media_published']} reels published")
        checks.check(s["status"] == "completed",
                     f"the job ended {s['status']} although its reel was published: {s.get('error')}")
        if s["status"] == "completed":
            post = s["results"]["instagram"].get("postId")
            checks.check(own_media_or_container(stats, post, container_of(job)),
                         f"recorded post {post} is neither our media nor our container")
        checks.check(fk.worker_problem(w) is None, str(fk.worker_problem(w)))
        checks.check(w.stop() == 0, "worker did not exit 0 on SIGTERM")
        checks.done()


def same_caption_case(caption):
    """Job A's publish answer is lost; job B, same account and the same
    caption, publishes right after; then A looks for its reel."""
    with fk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 0})
        user = sptest.new_user()
        wk.connect(user, "instagram", access_token="IGQ-token", account_id=IG_USER)
        p.graph.faults([{"op": "ig_publish", "drop_response": True}])
        a = ig_job(p, user, caption, "a.mp4")
        # A's retry comes after the backoff (at least 2 s): B publishes before it
        w = p.worker("--ig-poll", "0.2", "--backoff-base", "4", "--concurrency", "2", fast=False)
        assert fk.wait_until(lambda: p.graph.stats()["requests"].get("ig_publish"), 30), "A never published"
        b = ig_job(p, user, caption, "b.mp4")
        sa, sb = wk.wait_job(user, a, timeout=60), wk.wait_job(user, b, timeout=60)
        stats = p.graph.stats()
        problems = []
        if sa["status"] != "completed" or sb["status"] != "completed":
            problems.append(f"jobs ended {sa['status']} / {sb['status']}: {sa.get('error')} {sb.get('error')}")
        pa = sa["results"]["instagram"].get("postId")
        pb = sb["results"]["instagram"].get("postId")
        if stats["ig_media_published"] != 2 or stats["requests"].get("ig_publish") != 2:
            problems.append(f"{stats['ig_media_published']} reels from {stats['requests'].get('ig_publish')} "
                            "publishes, expected 2 and 2")
        if pa is not None and pa == pb:
            problems.append(f"both jobs recorded the same reel {pa} (caption {caption!r})")
        if not own_media_or_container(stats, pa, container_of(a)):
            problems.append(f"job A recorded {pa}, which is not its own reel (B's is {pb})")
        if not own_media_or_container(stats, pb, container_of(b)):
            problems.append(f"job B recorded {pb}, which is not its own reel")
        if w.stop() != 0:
            problems.append("worker did not exit 0 on SIGTERM")
        return problems


def test_jobs_with_the_same_caption_each_record_their_own_reel():
    checks = fk.Checks("two jobs with one caption")
    for problem in same_caption_case("Same caption for both"):
        checks.check(False, problem)
    checks.done()


def test_jobs_with_empty_captions_each_record_their_own_reel():
    checks = fk.Checks("two jobs with empty captions")
    for problem in same_caption_case(""):
        checks.check(False, problem)
    checks.done()


if __name__ == "__main__":
    sptest.run(globals())
