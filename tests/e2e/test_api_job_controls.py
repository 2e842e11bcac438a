"""Beyond the seed: retry and cancel, Idempotency-Key, scheduledAt, the job
list, ETag / If-None-Match and the long-poll, and /metrics."""
import threading
import time

import sptest

NIL = "00000000-0000-4000-8000-000000000000"


def submit(user, video, platforms, headers=None, **fields):
    return sptest.http("POST", "/social-post", dict(videoId=video, platforms=platforms, **fields),
                       headers=headers, token=sptest.token(user))


def new_job(platforms=("youtube", "facebook")):
    user = sptest.new_user()
    video = sptest.new_video(user)
    r = submit(user, video, list(platforms))
    assert r.status == 202, r.body
    return user, video, r.json["jobId"]


def finish(job, platform, state):
    """What a worker would record: a final delivery, and the job derived."""
    result = ('{"success": true, "url": "https://example.test/p", "postId": "p"}'
              if state == "succeeded" else '{"success": false, "error": "boom"}')
    sptest.sql("UPDATE social_post_deliveries SET state = %s, result = %s::jsonb,"
               " last_error = CASE WHEN %s = 'failed' THEN 'boom' END"
               " WHERE job_id = %s AND platform = %s", (state, result, state, job, platform))
    sptest.sql("SELECT social_post_refresh_job(%s)", (job,))


def post(user, path):
    return sptest.http("POST", path, token=sptest.token(user))


def get(user, path, headers=None):
    return sptest.http("GET", path, headers=headers, token=sptest.token(user))


def test_retry_requeues_only_failed_platforms_of_a_finished_job():
    user, _, job = new_job()
    finish(job, "youtube", "succeeded")
    finish(job, "facebook", "failed")
    s = get(user, f"/social-post-status?jobId={job}").json
    assert s["status"] == "completed" and s["results"]["facebook"]["success"] is False
    for prefix in ("/social-post", "/.netlify/functions/social-post"):
        r = post(user, f"{prefix}/{job}/retry")
        if prefix == "/social-post":
            assert r.status == 202, r.body
            assert r.json["retried"] == ["facebook"] and r.json["status"] == "processing", r.json
            assert r.headers["location"].endswith(f"social-post-status?jobId={job}")
        else:
            assert r.status == 409 and r.json["code"] == "conflict", r.body  # now in progress
    rows = sptest.sql("SELECT platform, state, attempts FROM social_post_deliveries"
                      " WHERE job_id = %s ORDER BY platform", (job,))
    assert rows == [("facebook", "queued", 0), ("youtube", "succeeded", 0)], rows
    s = get(user, f"/social-post-status?jobId={job}").json
    assert s["status"] == "processing" and s["error"] is None
    assert s["results"]["youtube"]["success"] is True


def test_retry_keeps_the_checkpoint_only_where_the_post_may_exist():
    # the phase alone decides: "publishing" and "published" mean a post may
    # exist (record or finish it); any earlier phase starts afresh
    user, _, job = new_job(["youtube", "facebook", "instagram"])
    checkpoints = {"youtube": '{"phase": "uploading", "session": "s"}',
                   "facebook": '{"phase": "publishing", "videoId": "v", "sessionId": "s"}',
                   "instagram": '{"phase": "published", "mediaId": "m"}'}
    for platform, cp in checkpoints.items():
        sptest.sql("UPDATE social_post_deliveries SET checkpoint = %s::jsonb"
                   " WHERE job_id = %s AND platform = %s", (cp, job, platform))
        finish(job, platform, "failed")
    r = post(user, f"/social-post/{job}/retry")
    assert r.status == 202 and r.json["retried"] == ["facebook", "instagram", "youtube"], r.body
    rows = dict(sptest.sql("SELECT platform, checkpoint->>'phase' FROM social_post_deliveries"
                           " WHERE job_id = %s", (job,)))
    assert rows == {"youtube": None, "facebook": "publishing", "instagram": "published"}, rows


def test_retry_refuses_jobs_without_failures_and_others_jobs():
    user, _, job = new_job(["youtube"])
    finish(job, "youtube", "succeeded")
    r = post(user, f"/social-post/{job}/retry")
    assert r.status == 409 and "nothing to retry" in r.json["error"], r.body
    stranger = sptest.new_user()
    finish_job = new_job(["facebook"])
    finish(finish_job[2], "facebook", "failed")
    for path in (f"/social-post/{finish_job[2]}/retry", f"/social-post/{NIL}/retry",
                 "/social-post/not-a-uuid/retry", f"/social-post/{finish_job[2]}/cancel"):
        r = post(stranger, path)
        assert r.status == 404, (path, r.status, r.body)
    assert sptest.http("GET", f"/social-post/{job}/retry", token=sptest.token(user)).status == 405
    assert sptest.http("POST", f"/social-post/{job}/retry").status == 401


def test_cancel_stops_platforms_not_yet_started():
    user, _, job = new_job(["youtube", "instagram"])
    sptest.sql("UPDATE social_post_deliveries SET checkpoint = '{\"session\": \"x\"}'"
               " WHERE job_id = %s AND platform = 'youtube'", (job,))  # youtube has started
    r = post(user, f"/social-post/{job}/cancel")
    assert r.status == 200 and r.json["cancelled"] == ["instagram"], r.body
    r = post(user, f"/social-post/{job}/cancel")
    assert r.status == 409, r.body
    finish(job, "youtube", "failed")
    s = get(user, f"/social-post-status?jobId={job}").json
    assert s["status"] == "failed" and "instagram: cancelled" in s["error"], s
    assert s["results"]["instagram"]["state"] == "cancelled"


def test_idempotency_key_returns_the_first_job():
    user = sptest.new_user()
    video = sptest.new_video(user)
    key = {"Idempotency-Key": "order-42-post"}
    first = submit(user, video, ["youtube"], headers=key, title="Once")
    again = submit(user, video, ["youtube"], headers=key, title="Once")
    assert first.status == 202 and again.status == 202, (first.body, again.body)
    assert again.json["jobId"] == first.json["jobId"]
    assert again.headers.get("idempotent-replayed") == "true"
    other = submit(user, video, ["youtube"], headers=key, title="Different")
    assert other.status == 422 and other.json["code"] == "idempotency_key_reused", other.body
    assert sptest.sql("SELECT count(*) FROM social_post_jobs WHERE user_id = %s", (user,))[0][0] == 1
    # the same key from another user is another job
    user2 = sptest.new_user()
    video2 = sptest.new_video(user2)
    assert submit(user2, video2, ["youtube"], headers=key).json["jobId"] != first.json["jobId"]


def test_concurrent_submits_with_one_key_make_one_job():
    user = sptest.new_user()
    video = sptest.new_video(user)
    answers = []

    def go():
        answers.append(submit(user, video, ["facebook"], headers={"Idempotency-Key": "race-1"}))
    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a.status == 202 for a in answers), [(a.status, a.body) for a in answers]
    assert len({a.json["jobId"] for a in answers}) == 1
    assert sptest.sql("SELECT count(*) FROM social_post_jobs WHERE user_id = %s", (user,))[0][0] == 1


def test_bad_idempotency_keys_are_400():
    user = sptest.new_user()
    video = sptest.new_video(user)
    for key in ("x" * 256, "has space", "tab\there"):
        r = submit(user, video, ["youtube"], headers={"Idempotency-Key": key})
        assert r.status == 400 and r.json["code"] == "invalid_idempotency_key", (key, r.body)


def test_scheduled_at_delays_the_deliveries():
    user = sptest.new_user()
    video = sptest.new_video(user)
    later = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 3600))
    r = submit(user, video, ["youtube", "facebook"], scheduledAt=later)
    assert r.status == 202, r.body
    rows = sptest.sql("SELECT DISTINCT to_char(run_at AT TIME ZONE 'UTC',"
                      " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM social_post_deliveries"
                      " WHERE job_id = %s", (r.json["jobId"],))
    assert rows == [(later,)], rows
    past = submit(user, video, ["youtube"], scheduledAt="2001-01-01T00:00:00+02:00")
    assert past.status == 202
    due = sptest.sql("SELECT run_at <= now() FROM social_post_deliveries WHERE job_id = %s",
                     (past.json["jobId"],))
    assert due == [(True,)]


def test_bad_scheduled_at_is_400():
    user = sptest.new_user()
    video = sptest.new_video(user)
    far = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 400 * 86400))
    for bad in ("tomorrow", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-01-01T00:00:00",
                "2026-01-01", 1767225600, far):
        r = submit(user, video, ["youtube"], scheduledAt=bad)
        assert r.status == 400, (bad, r.body)


def test_list_pages_through_own_jobs_newest_first():
    user = sptest.new_user()
    video = sptest.new_video(user)
    jobs = [submit(user, video, ["youtube"], title=f"T{i}").json["jobId"] for i in range(3)]
    new_job()  # someone else's
    r = get(user, "/social-post-status?limit=2")
    assert r.status == 200, r.body
    assert [j["jobId"] for j in r.json["jobs"]] == jobs[::-1][:2]
    assert set(r.json["jobs"][0]) >= {"jobId", "status", "platforms", "createdAt"}
    import urllib.parse
    page2 = get(user, "/social-post-status?limit=2&before=" + urllib.parse.quote(r.json["next"]))
    assert [j["jobId"] for j in page2.json["jobs"]] == [jobs[0]], page2.json
    assert page2.json["next"] is None
    finish(jobs[1], "youtube", "failed")
    failed = get(user, "/social-post-status?status=failed").json["jobs"]
    assert [j["jobId"] for j in failed] == [jobs[1]]
    for q in ("limit=0", "limit=101", "limit=x", "status=done", "before=yesterday",
              "before=2026-01-01T00:00:00Z,nope"):
        bad = get(user, "/social-post-status?" + q)
        assert bad.status == 400, (q, bad.body)


def test_etag_and_if_none_match():
    user, _, job = new_job(["youtube"])
    path = f"/social-post-status?jobId={job}"
    first = get(user, path)
    etag = first.headers["etag"]
    same = get(user, path, headers={"If-None-Match": etag})
    assert same.status == 304 and same.body == b"", (same.status, same.body)
    finish(job, "youtube", "failed")
    # the status program answers 304 from the versions it knows until the
    # job's notification reaches it (issue 18): a change shows once it has
    deadline = time.monotonic() + 5
    changed = get(user, path, headers={"If-None-Match": etag})
    while changed.status == 304 and time.monotonic() < deadline:
        time.sleep(0.05)
        changed = get(user, path, headers={"If-None-Match": etag})
    assert changed.status == 200 and changed.headers["etag"] != etag, (changed.status, changed.body)
    assert changed.json["status"] == "failed"


def test_long_poll_answers_when_the_job_changes():
    user, _, job = new_job(["youtube"])
    path = f"/social-post-status?jobId={job}"
    etag = get(user, path).headers["etag"]
    threading.Timer(1.0, finish, (job, "youtube", "succeeded")).start()
    started = time.time()
    r = get(user, path + "&wait=20", headers={"If-None-Match": etag})
    took = time.time() - started
    assert r.status == 200 and r.json["status"] == "completed", r.body
    assert 0.8 < took < 15, took
    quiet = get(user, path + "&wait=1", headers={"If-None-Match": r.headers["etag"]})
    assert quiet.status == 304  # final jobs answer at once, unchanged
    for q in ("wait=x", "wait=61", "wait=-1"):
        assert get(user, path + "&" + q).status == 400


def test_metrics_are_prometheus_text():
    r = sptest.http("GET", "/social-post-status/metrics")
    assert r.status == 200, r.body
    assert r.headers["content-type"].startswith("text/plain")
    text = r.body.decode()
    assert 'social_post_http_requests_total{program="social-post-status",code="2xx"}' in text
    assert 'social_post_deliveries{platform="youtube",state="queued"}' in text
    assert "social_post_database_up 1" in text


if __name__ == "__main__":
    sptest.run(globals())
