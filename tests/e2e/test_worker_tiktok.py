"""TikTok end to end against the fake built from TikTok's documented answers:
creator_info, video/init, the chunks, status/fetch waited for without a worker,
the result's url and visibility, every error the worker handles, tokens
refreshed with their rotated refresh token stored, and kill -9 during the
upload and during the processing wait posting exactly once."""
import time

import psycopg2

import sptest
import workerkit as wk

MiB = 1 << 20
OPEN_ID = "tt-open-id-0001"


def submit(user, video, platforms, options, **fields):
    return wk.submit_options(user, video, platforms, options, **fields)


def setup(p, size=200_000, privacy="PUBLIC_TO_EVERYONE", name="tt.mp4", title="My clip", description=None,
          extra=None, connect=True, **account):
    url, sha = p.video.add_video(name, size)
    user, video = wk.user_with_video(url, title=title)
    if connect:
        account.setdefault("access_token", "act.valid-token")
        account.setdefault("refresh_token", "rft.first")
        wk.connect(user, "tiktok", account_id=OPEN_ID, **account)
    options = {"tiktok": dict({"privacyLevel": privacy} if privacy else {}, **(extra or {}))}
    fields = {"description": description} if description else {}
    return user, submit(user, video, ["tiktok"], options, **fields), sha


def worker(p, *args):
    return p.worker("--ig-poll", "0.5", *args)


def account_tokens(user):
    return sptest.sql("SELECT access_token, refresh_token, extract(epoch FROM token_expires_at)::bigint"
                      " FROM social_accounts WHERE user_id = %s AND platform = 'tiktok'", (user,))[0]


def received(p):
    return sum(x["received"] for x in p.tiktok.stats()["publishes"])


def test_post_completes_with_the_privacy_it_was_posted_with_as_visibility():
    with wk.Platforms() as p:
        wk.clear_queue()
        user, job, sha = setup(p, title="Cat", description="A #cat video",
                               extra={"disableComment": True, "isAigc": True, "videoCoverTimestampMs": 1500,
                                      "brandOrganicToggle": True})
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        stats = p.tiktok.stats()
        [post] = stats["posts"]
        tt = s["results"]["tiktok"]
        assert tt["success"] is True and tt["postId"] == post["post_id"], tt
        assert tt["url"] == "https://www.tiktok.com/@fakecreator/video/" + post["post_id"], tt
        assert tt["visibility"] == "PUBLIC_TO_EVERYONE", tt
        assert post["sha256"] == sha and post["title"] == "Cat\n\nA #cat video"
        info = post["post_info"]
        assert info["privacy_level"] == "PUBLIC_TO_EVERYONE" and info["disable_comment"] is True
        assert info["is_aigc"] is True and info["video_cover_timestamp_ms"] == 1500
        assert info["brand_organic_toggle"] is True and info["brand_content_toggle"] is False
        assert info["disable_duet"] is False and info["disable_stitch"] is False
        [publish] = stats["publishes"]
        assert publish["chunks"] == 1 and publish["chunk_size"] == 200_000  # under 5 MB: whole
        assert stats["requests"]["creator_info"] == 1 and stats["inits"] == 1
        assert stats["content_types"] == ["video/mp4"]
        assert wk.history(job)[0][:4] == ("tiktok", "posted", tt["url"], post["post_id"])
        assert w.stop() == 0


def test_large_video_goes_up_in_chunks_and_a_private_post_links_the_profile():
    with wk.Platforms() as p:
        wk.clear_queue()
        size = 21 * MiB
        user, job, sha = setup(p, size=size, privacy="SELF_ONLY", name="big.mp4")
        w = worker(p)
        s = wk.wait_job(user, job, timeout=90)
        assert s["status"] == "completed", s
        stats = p.tiktok.stats()
        [publish] = stats["publishes"]
        assert publish["chunk_size"] == 8 * MiB and publish["chunks"] == size // (8 * MiB) == 2
        [post] = stats["posts"]
        assert post["sha256"] == sha and stats["requests"]["put"] == 2
        tt = s["results"]["tiktok"]
        # TikTok names no post id for a non-public post: the profile is the link
        assert tt["url"] == "https://www.tiktok.com/@fakecreator" and tt["visibility"] == "SELF_ONLY", tt
        assert w.stop() == 0


def test_creator_disabled_interactions_stay_disabled():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.config({"comment_disabled": True, "duet_disabled": True, "stitch_disabled": True})
        user, job, _ = setup(p)
        w = worker(p)
        assert wk.wait_job(user, job)["status"] == "completed"
        info = p.tiktok.stats()["posts"][0]["post_info"]
        assert info["disable_comment"] is True and info["disable_duet"] is True
        assert info["disable_stitch"] is True
        assert w.stop() == 0


def test_privacy_level_the_creator_does_not_offer_fails_before_init():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.config({"privacy_level_options": ["SELF_ONLY"]})
        user, job, _ = setup(p, privacy="PUBLIC_TO_EVERYONE")
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "failed", s
        err = s["results"]["tiktok"]["error"]
        assert "PUBLIC_TO_EVERYONE" in err and "SELF_ONLY" in err, err
        assert p.tiktok.stats()["inits"] == 0
        assert w.stop() == 0


def test_missing_privacy_level_is_refused_before_anything_is_posted():
    # The API and the database refuse such a job (migration 0013); the worker's
    # own check (tiktok.c, unit-tested) is for rows from before those rules.
    with wk.Platforms() as p:
        wk.clear_queue()
        before = sptest.sql("SELECT count(*) FROM social_post_jobs")[0][0]
        try:
            setup(p, privacy=None)
            raise AssertionError("a TikTok job without privacyLevel was written")
        except psycopg2.Error as e:
            assert "options.tiktok.privacyLevel" in str(e), e
        assert sptest.sql("SELECT count(*) FROM social_post_jobs")[0][0] == before
        assert p.tiktok.stats()["requests"].get("init", 0) == 0


def test_video_longer_than_the_creator_may_post_fails():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.config({"max_video_post_duration_sec": 60})
        url, _ = p.video.add_video("long.mp4", 400_000, mp4={"width": 1080, "height": 1920, "duration": 90})
        user, video = wk.user_with_video(url)
        wk.connect(user, "tiktok", access_token="act.valid-token", refresh_token="rft.first",
                   account_id=OPEN_ID)
        job = submit(user, video, ["tiktok"], {"tiktok": {"privacyLevel": "SELF_ONLY"}})
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "failed", s
        err = s["results"]["tiktok"]["error"]
        assert "90 seconds" in err and "60" in err, err
        assert p.tiktok.stats()["inits"] == 0
        assert w.stop() == 0


def test_unaudited_app_fails_saying_what_to_do_and_self_only_still_posts():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.config({"unaudited": True})
        user, job, _ = setup(p, privacy="PUBLIC_TO_EVERYONE")
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "failed", s
        err = s["results"]["tiktok"]["error"]
        assert "SELF_ONLY" in err and "audit" in err, err
        assert s["results"]["tiktok"]["attempts"] <= 1, s  # not retried
        user2, job2, _ = setup(p, privacy="SELF_ONLY", name="private.mp4")
        s2 = wk.wait_job(user2, job2)
        assert s2["status"] == "completed" and s2["results"]["tiktok"]["visibility"] == "SELF_ONLY", s2
        assert len(p.tiktok.stats()["posts"]) == 1
        assert w.stop() == 0


def run_at_in(job):
    return sptest.sql("SELECT extract(epoch FROM run_at - now()), attempts, state, last_error"
                      " FROM social_post_deliveries WHERE job_id = %s AND platform = 'tiktok'", (job,))[0]


def test_daily_post_cap_waits_for_the_next_day():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.config({"spam_risk": True})
        user, job, _ = setup(p)
        w = worker(p)
        wk.wait_for("the delivery to be put off", lambda: run_at_in(job)[0] > 3600, timeout=30)
        wait, attempts, state, last_error = run_at_in(job)
        assert state == "queued" and attempts == 0 and 23 * 3600 < wait <= 24 * 3600 + 5, run_at_in(job)
        assert "daily" in last_error and "spam_risk_too_many_posts" in last_error, last_error
        assert wk.status(user, job)["status"] in ("pending", "processing")
        assert p.tiktok.stats()["posts"] == []
        assert w.stop() == 0


def test_rate_limit_waits_and_honours_retry_after():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.config({"init_rate_per_minute": 1, "rate_limit_retry_after": 1})
        p.tiktok.faults({"op": "init", "status": 429, "headers": {"Retry-After": "1"},
                         "body": {"data": {}, "error": {"code": "rate_limit_exceeded",
                                                        "message": "rate limited", "log_id": "X"}}})
        user, job, _ = setup(p)
        w = worker(p)
        s = wk.wait_job(user, job, timeout=60)
        assert s["status"] == "completed", s
        assert p.tiktok.stats()["requests"]["init"] == 2 and len(p.tiktok.stats()["posts"]) == 1
        assert w.stop() == 0


def test_rate_limit_without_retry_after_waits_about_a_minute():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.faults({"op": "init", "status": 429})
        user, job, _ = setup(p)
        w = worker(p)
        wk.wait_for("the delivery to be put off", lambda: run_at_in(job)[0] > 30, timeout=30)
        wait, attempts, state, last_error = run_at_in(job)
        assert state == "queued" and attempts == 0 and wait <= 61, run_at_in(job)
        assert "rate limit" in last_error, last_error
        assert w.stop() == 0


def test_expired_token_is_refreshed_and_the_rotated_refresh_token_stored():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.config({"expired_tokens": ["act.expired"], "token_expires_in": 5000,
                         "client_key": "test-client-key", "client_secret": "test-client-secret"})
        user, job, _ = setup(p, access_token="act.expired", refresh_token="rft.first")
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        stats = p.tiktok.stats()
        assert stats["tokens_issued"] == 1 and stats["spent_refresh_tokens"] == ["rft.first"]
        access, refresh, expires = account_tokens(user)
        assert access.startswith("act.fake-1-") and refresh.startswith("rft.fake-1-"), (access, refresh)
        assert abs(expires - (time.time() + 5000)) < 120  # from expires_in, not a fixed lifetime
        # the next job uses the stored tokens; a refresh with the spent token would fail
        sptest.sql("UPDATE social_accounts SET token_expires_at = now() - interval '1 minute'"
                   " WHERE user_id = %s AND platform = 'tiktok'", (user,))
        url, _ = p.video.add_video("second.mp4", 100_000)
        video2 = sptest.new_video(user, title="Second", video_url=url)
        job2 = submit(user, video2, ["tiktok"], {"tiktok": {"privacyLevel": "SELF_ONLY"}})
        s2 = wk.wait_job(user, job2)
        assert s2["status"] == "completed", s2
        assert p.tiktok.stats()["tokens_issued"] == 2
        assert account_tokens(user)[1].startswith("rft.fake-2-")
        assert w.stop() == 0


def test_revoked_refresh_token_fails_asking_to_reconnect():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.config({"expired_tokens": ["act.expired"], "revoked_refresh_tokens": ["rft.revoked"]})
        user, job, _ = setup(p, access_token="act.expired", refresh_token="rft.revoked")
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "failed" and "reconnect" in s["results"]["tiktok"]["error"], s
        assert p.tiktok.stats()["inits"] == 0
        assert w.stop() == 0


def test_two_posts_refreshing_one_account_at_once_both_post():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.config({"token_expires_in": 5000})
        p.tiktok.faults({"op": "token", "delay_ms": 800, "times": 0})  # refreshes overlap
        url, _ = p.video.add_video("race.mp4", 100_000)
        user, video = wk.user_with_video(url)
        wk.connect(user, "tiktok", access_token="act.old", refresh_token="rft.first", account_id=OPEN_ID,
                   expires_in=-60)
        jobs = [submit(user, video, ["tiktok"], {"tiktok": {"privacyLevel": "SELF_ONLY"}}) for _ in range(2)]
        w = worker(p, "--concurrency", "4")
        for job in jobs:
            s = wk.wait_job(user, job, timeout=60)
            assert s["status"] == "completed", s
        assert len(p.tiktok.stats()["posts"]) == 2
        access, refresh, _ = account_tokens(user)
        assert refresh not in p.tiktok.stats()["spent_refresh_tokens"], refresh  # a live one is stored
        assert w.stop() == 0


def test_a_chunk_tiktok_did_not_expect_continues_from_its_count():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.faults({"op": "put", "status": 416, "skip": 1})  # the second chunk
        user, job, sha = setup(p, size=17 * MiB, name="range.mp4")
        w = worker(p)
        s = wk.wait_job(user, job, timeout=60)
        assert s["status"] == "completed", s
        stats = p.tiktok.stats()
        assert stats["inits"] == 1 and stats["posts"][0]["sha256"] == sha
        assert stats["requests"]["put"] == 3 and stats["requests"]["status"] >= 2
        assert w.stop() == 0


def test_processing_is_waited_for_without_holding_a_worker():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.config({"processing_seconds": 3, "processing_status": "PROCESSING_DOWNLOAD"})
        user, job, _ = setup(p)
        user2, job2, _ = setup(p, name="other.mp4", privacy="SELF_ONLY")
        w = worker(p, "--concurrency", "1")
        s2 = wk.wait_job(user2, job2, timeout=60)
        assert s2["status"] == "completed", s2
        s = wk.wait_job(user, job, timeout=60)
        assert s["status"] == "completed", s
        stats = p.tiktok.stats()
        assert stats["requests"]["status"] >= 4 and len(stats["posts"]) == 2, stats["requests"]
        assert w.stop() == 0


def test_processing_past_the_deadline_fails_and_a_retry_records_the_post_without_posting_again():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.config({"processing_seconds": 6})
        user, job, sha = setup(p)
        started = time.time()
        w = worker(p, "--ig-deadline", "2")
        s = wk.wait_job(user, job, timeout=30)
        assert s["status"] == "failed" and "did not finish" in s["results"]["tiktok"]["error"], s
        time.sleep(max(0.0, started + 7 - time.time()))  # TikTok has posted it meanwhile
        r = sptest.http("POST", f"/social-post/{job}/retry", token=sptest.token(user))
        assert r.status == 202 and r.json["retried"] == ["tiktok"], r.body
        s = wk.wait_job(user, job, until=("completed",), timeout=30)
        stats = p.tiktok.stats()
        assert stats["inits"] == 1 and len(stats["posts"]) == 1 and stats["posts"][0]["sha256"] == sha
        assert s["results"]["tiktok"]["postId"] == stats["posts"][0]["post_id"], s
        assert w.stop() == 0


def test_failed_post_fails_with_tiktoks_reason():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.config({"outcome": "FAILED", "fail_reason": "duration_check_failed"})
        user, job, _ = setup(p)
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "failed" and "duration_check_failed" in s["results"]["tiktok"]["error"], s
        assert p.tiktok.stats()["inits"] == 1
        assert w.stop() == 0


def test_lost_upload_starts_a_new_publish_only_because_nothing_was_posted():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.faults({"op": "put", "status": 404})
        user, job, sha = setup(p)
        w = worker(p)
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", s
        stats = p.tiktok.stats()
        assert stats["inits"] == 2 and len(stats["posts"]) == 1 and stats["posts"][0]["sha256"] == sha
        assert w.stop() == 0


def test_kill_9_during_the_upload_posts_exactly_once():
    with wk.Platforms() as p:
        wk.clear_queue()
        size = 24 * MiB
        p.tiktok.config({"bandwidth_bytes_per_sec": 4 * MiB})
        user, job, sha = setup(p, size=size, name="kill-upload.mp4")
        a = worker(p, "--lease", "3")
        wk.wait_for("the first chunk to be taken", lambda: received(p) >= 8 * MiB, timeout=60)
        a.kill()
        state, _, checkpoint = wk.delivery(job, "tiktok")
        assert checkpoint["phase"] == "uploading" and checkpoint["publishId"], checkpoint
        b = worker(p, "--lease", "3")
        s = wk.wait_job(user, job, timeout=120)
        assert s["status"] == "completed", s
        stats = p.tiktok.stats()
        assert stats["inits"] == 1 and len(stats["posts"]) == 1, stats  # the same publish, continued
        assert stats["posts"][0]["sha256"] == sha
        assert stats["bytes_received"] < 1.5 * size, stats["bytes_received"]
        assert b.stop() == 0


def test_kill_9_during_the_processing_wait_posts_exactly_once():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.tiktok.config({"processing_seconds": 4})
        user, job, sha = setup(p, name="kill-wait.mp4")
        a = worker(p, "--lease", "3")
        wk.wait_for("the upload to complete", lambda: any(x["complete"] for x in p.tiktok.stats()["publishes"]),
                    timeout=30)
        wk.wait_for("the processing wait", lambda: p.tiktok.stats()["requests"].get("status", 0) >= 1,
                    timeout=30)
        a.kill()
        assert wk.delivery(job, "tiktok")[2]["phase"] == "publishing"
        b = worker(p, "--lease", "3")
        s = wk.wait_job(user, job, timeout=60)
        assert s["status"] == "completed", s
        stats = p.tiktok.stats()
        assert stats["inits"] == 1 and len(stats["posts"]) == 1 and stats["posts"][0]["sha256"] == sha
        assert s["results"]["tiktok"]["postId"] == stats["posts"][0]["post_id"]
        assert b.stop() == 0


if __name__ == "__main__":
    sptest.run(globals())
