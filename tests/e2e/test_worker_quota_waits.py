"""Platform quotas are waited out, not failed, and the wait shows.

A delivery whose platform says its quota is used up (YouTube quotaExceeded,
TikTok rate_limit_exceeded, Meta's throttling codes on Facebook and
Instagram) shows phase "waiting_for_quota" and retryAt, the
time the worker asks again; it counts no attempt, makes no platform call
until then, holds up no other account, and completes once the quota allows
it. /metrics counts the deliveries waiting, by platform.
"""
import datetime
import re
import time
import zoneinfo

import sptest
import workerkit as wk


def parse_iso(text):
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text), text
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def next_pacific_midnight():
    la = zoneinfo.ZoneInfo("America/Los_Angeles")
    now = datetime.datetime.now(la)
    return datetime.datetime.combine(now.date() + datetime.timedelta(days=1), datetime.time(), la)


def waiting(user, job, platform):
    """The platform's result while the delivery waits for its quota, else None."""
    r = wk.status(user, job)["results"].get(platform, {})
    return r if r.get("phase") == "waiting_for_quota" else None


def quota_metric(platform):
    r = sptest.http("GET", "/social-post-status/metrics")
    assert r.status == 200, r.status
    m = re.search(r'^social_post_deliveries_waiting_for_quota\{platform="%s"\} (\d+)$' % platform,
                  r.body.decode(), re.M)
    assert m, r.body.decode()[-1500:]
    return int(m.group(1))


def test_youtube_quota_wait_shows_its_retry_time_and_completes_after_the_reset():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, sha = p.video.add_video("quota-wait.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="Quota wait")
        wk.connect(user, "youtube")
        p.youtube.faults([{"op": "init", "status": 403, "reason": "quotaExceeded"}])
        job = wk.submit(user, video, ["youtube"])
        w = p.worker("--concurrency", "1")
        wk.wait_for("the quota wait to show", lambda: waiting(user, job, "youtube"))
        r = waiting(user, job, "youtube")
        assert r["state"] == "queued" and r["attempts"] == 0, r  # not an attempt
        assert "quota" in r["lastError"], r
        retry_at = parse_iso(r["retryAt"])
        assert abs((retry_at - next_pacific_midnight()).total_seconds()) < 30, (r, next_pacific_midnight())
        assert quota_metric("youtube") >= 1
        # another account goes through meanwhile, on the one slot
        url2, _ = p.video.add_video("quota-other.mp4", 256 * 1024)
        user2, video2 = wk.user_with_video(url2, title="Other account")
        wk.connect(user2, "youtube")
        assert wk.wait_job(user2, wk.submit(user2, video2, ["youtube"]))["status"] == "completed"
        time.sleep(2)  # two polls: nothing is asked of YouTube for the waiting one
        assert p.youtube.stats()["requests"].get("init") == 2, p.youtube.stats()["requests"]
        assert waiting(user, job, "youtube"), wk.status(user, job)
        # midnight Pacific time comes: the quota is back
        sptest.sql("UPDATE social_post_deliveries SET run_at = now() WHERE job_id = %s", (job,))
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        y = s["results"]["youtube"]
        assert y["attempts"] == 0 and "phase" not in y and "retryAt" not in y, y
        assert sha in [v["sha256"] for v in p.youtube.stats()["videos"]]
        assert quota_metric("youtube") == 0
        assert w.stop() == 0


def test_a_quota_wait_can_be_cancelled_and_then_shows_no_wait():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("quota-cancel.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="Quota cancelled")
        wk.connect(user, "youtube")
        p.youtube.faults([{"op": "init", "status": 403, "reason": "quotaExceeded"}])
        job = wk.submit(user, video, ["youtube"])
        w = p.worker("--concurrency", "1")
        wk.wait_for("the quota wait to show", lambda: waiting(user, job, "youtube"))
        assert w.stop() == 0
        before = quota_metric("youtube")
        r = sptest.http("POST", f"/social-post/{job}/cancel", token=sptest.token(user))
        assert r.status == 200, (r.status, r.body)
        s = wk.status(user, job)
        y = s["results"]["youtube"]
        assert s["status"] == "failed" and y["state"] == "cancelled", s
        assert "retryAt" not in y and "phase" not in y, y
        assert quota_metric("youtube") == before - 1
        assert sptest.sql("SELECT waiting_for_quota FROM social_post_deliveries WHERE job_id = %s",
                          (job,)) == [(False,)]


def test_tiktok_rate_limit_waits_for_retry_after_and_posts_when_it_lifts():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.config({"init_rate_per_minute": 1, "rate_limit_retry_after": 4})
        user = sptest.new_user()
        wk.connect(user, "tiktok", access_token="act.quota-" + user)
        jobs = []
        for n in range(2):
            url, _ = p.video.add_video(f"tt-quota-{n}.mp4", 256 * 1024)
            video = sptest.new_video(user, title=f"Rate {n}", video_url=url)
            jobs.append(wk.submit_options(user, video, ["tiktok"],
                                          {"tiktok": {"privacyLevel": "SELF_ONLY"}}))
        w = p.worker("--concurrency", "1")
        wk.wait_for("one post to wait for TikTok's rate limit",
                    lambda: any(waiting(user, j, "tiktok") for j in jobs), timeout=60)
        [job] = [j for j in jobs if waiting(user, j, "tiktok")]
        r = waiting(user, job, "tiktok")
        assert r["attempts"] == 0 and "rate_limit_exceeded" in r["lastError"], r
        in_s = (parse_iso(r["retryAt"]) - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        assert -2 < in_s <= 5, r  # TikTok's Retry-After: 4
        assert quota_metric("tiktok") >= 1
        p.tiktok.config({"init_rate_per_minute": 0})  # the minute is over
        for j in jobs:
            s = wk.wait_job(user, j, timeout=60)
            assert s["status"] == "completed", s
            assert s["results"]["tiktok"]["attempts"] == 0, s
        assert len(p.tiktok.stats()["posts"]) == 2
        assert w.stop() == 0


def seconds_until(text):
    return (parse_iso(text) - datetime.datetime.now(datetime.timezone.utc)).total_seconds()


def test_facebook_throttling_waits_as_long_as_meta_estimates_and_posts_when_it_lifts():
    """Issue 17: Meta's Page rate limit (80001, X-Business-Use-Case-Usage
    saying 19 minutes) is waited out: no attempt, no call until then, other
    Pages go on, and the post goes out once Meta lets calls through."""
    with wk.Platforms() as p:
        wk.clear_queue()
        url, sha = p.video.add_video("fb-throttled.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="Throttled Page")
        wk.connect(user, "facebook", access_token="EAAG-page-throttled", account_id="1000001")
        # Meta throttles this Page (and only it) until the test says it lifts
        p.graph.faults([{"op": "*", "throttle": "page_80001", "regain_minutes": 19, "times": 0,
                         "path_contains": "/1000001/"}])
        job = wk.submit(user, video, ["facebook"])
        w = p.worker("--concurrency", "1")
        wk.wait_for("the quota wait to show", lambda: waiting(user, job, "facebook"))
        r = waiting(user, job, "facebook")
        assert r["state"] == "queued" and r["attempts"] == 0, r  # not an attempt
        assert "rate limit" in r["lastError"] and "80001" in r["lastError"], r
        assert 19 * 60 - 30 < seconds_until(r["retryAt"]) <= 19 * 60 + 2, r  # Meta's estimate
        assert quota_metric("facebook") >= 1
        assert p.graph.stats()["requests"].get("fb_start") == 1, p.graph.stats()["requests"]
        # another Page goes through meanwhile, on the one slot
        url2, sha2 = p.video.add_video("fb-other-page.mp4", 256 * 1024)
        user2, video2 = wk.user_with_video(url2, title="Other Page")
        wk.connect(user2, "facebook", access_token="EAAG-page-other", account_id="1000002")
        assert wk.wait_job(user2, wk.submit(user2, video2, ["facebook"]))["status"] == "completed"
        time.sleep(2)  # two polls: nothing is asked of Facebook for the waiting one
        assert p.graph.stats()["requests"].get("fb_start") == 2, p.graph.stats()["requests"]
        assert waiting(user, job, "facebook"), wk.status(user, job)
        # the 19 minutes pass and Meta lets the Page's calls through again
        p.graph.clear_faults()
        sptest.sql("UPDATE social_post_deliveries SET run_at = now() WHERE job_id = %s", (job,))
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        f = s["results"]["facebook"]
        assert f["attempts"] == 0 and "phase" not in f and "retryAt" not in f, f
        published = {v["sha256"]: v["page_id"] for v in p.graph.stats()["fb_videos"] if v["published"]}
        assert published == {sha: "1000001", sha2: "1000002"}, published
        assert quota_metric("facebook") == 0
        assert w.stop() == 0


def quota_backoffs(job, platform):
    """The worker's count of quota waits without a time in a row (None: none)."""
    [(n,)] = sptest.sql("SELECT checkpoint -> 'quotaBackoffs' FROM social_post_deliveries"
                        " WHERE job_id = %s AND platform = %s", (job, platform))
    return n


def test_app_and_instagram_throttling_wait_too_and_post_after():
    """Code 4 (X-App-Usage: percentages, no estimate) waits on the worker's
    backoff (--backoff-base 0.2 here), growing while Meta keeps refusing,
    without an attempt, and the post goes out as soon as Meta lets it;
    Instagram's 80002 waits as its usage header says."""
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("throttled-app.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="Throttled app")
        wk.connect(user, "facebook", access_token="EAAG-app-throttled")
        wk.connect(user, "instagram", access_token="EAAG-ig-throttled")
        # the app stays over its limit until the test says it is not
        p.graph.faults([{"op": "fb_start", "throttle": "app_4", "times": 0},
                        {"op": "ig_limit", "throttle": "instagram_80002", "regain_minutes": 7}])
        job = wk.submit(user, video, ["facebook", "instagram"])
        w = p.worker("--concurrency", "2")
        wk.wait_for("both quota waits to show",
                    lambda: waiting(user, job, "facebook") and waiting(user, job, "instagram"))
        f, i = waiting(user, job, "facebook"), waiting(user, job, "instagram")
        assert f["attempts"] == 0 and "100% of the limit" in f["lastError"], f
        assert "did not say" in f["lastError"] and "minutes" not in f["lastError"], f
        assert seconds_until(f["retryAt"]) < 60, f  # no estimate: the backoff, not 15 minutes
        assert i["attempts"] == 0 and "80002" in i["lastError"], i
        assert 7 * 60 - 30 < seconds_until(i["retryAt"]) <= 7 * 60 + 2, i
        assert not p.graph.stats()["requests"].get("ig_create"), p.graph.stats()["requests"]
        time.sleep(4)  # Meta keeps refusing: the waits grow (0.2 s, 0.4 s, ... with jitter)
        looks = p.graph.stats()["requests"]["fb_start"]
        assert 3 <= looks <= 9, looks  # not a call every 0.2 s, nor one every 15 minutes
        assert (quota_backoffs(job, "facebook") or 0) >= 2, quota_backoffs(job, "facebook")
        assert wk.status(user, job)["results"]["facebook"]["attempts"] == 0
        p.graph.clear_faults()  # the app's calls go through again: no one moves run_at
        wk.wait_for("Facebook to post on its own",
                    lambda: wk.status(user, job)["results"]["facebook"]["state"] == "succeeded",
                    timeout=40)  # the wait under way ends first (up to 0.2 s * 2^6 * 1.5)
        assert quota_backoffs(job, "facebook") is None  # the row ended with the post
        assert waiting(user, job, "instagram"), wk.status(user, job)
        sptest.sql("UPDATE social_post_deliveries SET run_at = now() WHERE job_id = %s", (job,))
        s = wk.wait_job(user, job, timeout=120)
        assert s["status"] == "completed", s
        for platform in ("facebook", "instagram"):
            assert s["results"][platform]["attempts"] == 0, s
        assert w.stop() == 0


def test_a_throttled_facebook_post_that_never_started_can_be_cancelled():
    """A wait on the worker's backoff leaves only the worker's count in the
    checkpoint ("quotaBackoffs"): nothing reached Meta, so cancel takes it
    (migration 0023; before, the key read as "started": 409)."""
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("throttled-cancel.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="Throttled, cancelled")
        wk.connect(user, "facebook", access_token="EAAG-app-throttled-cancel")
        p.graph.faults([{"op": "fb_start", "throttle": "app_4", "times": 0}])
        job = wk.submit(user, video, ["facebook"])
        w = p.worker("--concurrency", "1")
        wk.wait_for("the count of backoff waits", lambda: (quota_backoffs(job, "facebook") or 0) >= 1)
        assert w.stop() == 0
        r = sptest.http("POST", f"/social-post/{job}/cancel", token=sptest.token(user))
        assert r.status == 200, (r.status, r.body)
        s = wk.status(user, job)
        assert s["results"]["facebook"]["state"] == "cancelled", s
        assert "retryAt" not in s["results"]["facebook"], s
        p.graph.clear_faults()


def test_one_user_throttle_mid_upload_backs_off_and_completes():
    """A single code 17 (user request limit, no usage header) on the Facebook
    upload is a quota wait on the worker's backoff: the upload goes on where
    it stopped seconds later, with no attempt counted."""
    with wk.Platforms() as p:
        wk.clear_queue()
        url, sha = p.video.add_video("fb-user-throttle.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="User throttled once")
        wk.connect(user, "facebook", access_token="EAAG-user-throttled")
        p.graph.faults([{"op": "fb_transfer", "status": 400, "code": 17}])
        job = wk.submit(user, video, ["facebook"])
        began = time.time()
        w = p.worker("--concurrency", "1")
        s = wk.wait_job(user, job, timeout=20)
        assert s["status"] == "completed", s
        assert time.time() - began < 20
        assert s["results"]["facebook"]["attempts"] == 0, s
        requests = p.graph.stats()["requests"]
        assert requests.get("fb_start") == 1 and requests.get("fb_transfer") == 2, requests
        assert sha in [v["sha256"] for v in p.graph.stats()["fb_videos"] if v["published"]]
        assert w.stop() == 0


if __name__ == "__main__":
    sptest.run(globals())
