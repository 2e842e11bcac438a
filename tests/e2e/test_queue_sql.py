"""The queue's SQL under concurrency: two transactions finishing two platforms
of one job at once both count, whatever order they commit in. And the
worker's one-statement claim, record and progress (migration 0011): the same
details and effects as the statements they replace, a failing history insert
that never loses the outcome, nothing changed without the lease."""
import json
import threading
import time

import sptest
import workerkit


def make_job(platforms):
    user = sptest.new_user()
    video = sptest.new_video(user)
    job = sptest.sql("INSERT INTO social_post_jobs (user_id, video_id, platforms)"
                     " VALUES (%s, %s, %s::jsonb) RETURNING id::text",
                     (user, video, json.dumps(platforms)))[0][0]
    return job


def finish(conn, job, platform, state):
    with conn.cursor() as cur:
        cur.execute("UPDATE social_post_deliveries SET state = %s, result = %s::jsonb,"
                    " last_error = 'boom' WHERE job_id = %s AND platform = %s",
                    (state, '{"success": false, "error": "boom"}', job, platform))
        cur.execute("SELECT social_post_refresh_job(%s)", (job,))


def test_concurrent_refreshes_of_one_job_see_each_other():
    job = make_job(["youtube", "facebook"])
    a, b = sptest.db(), sptest.db()
    a.autocommit = b.autocommit = False
    try:
        finish(a, job, "youtube", "failed")  # holds the job row until commit
        t = threading.Thread(target=lambda: (finish(b, job, "facebook", "failed"), b.commit()))
        t.start()
        time.sleep(0.5)  # b is now waiting for a's lock on the job row
        assert t.is_alive(), "the second refresh did not wait for the first"
        a.commit()
        t.join(10)
        assert not t.is_alive()
    finally:
        a.close()
        b.close()
    status, error, results = sptest.sql("SELECT status, error, results FROM social_post_jobs"
                                        " WHERE id = %s", (job,))[0]
    assert status == "failed", (status, results)
    assert results["youtube"]["state"] == "failed" and results["facebook"]["state"] == "failed"
    assert error == "facebook: boom; youtube: boom", error


def test_new_job_has_one_queued_delivery_per_known_platform():
    user = sptest.new_user()
    video = sptest.new_video(user)
    job = sptest.sql("INSERT INTO social_post_jobs (user_id, video_id, platforms)"
                     " VALUES (%s, %s, %s::jsonb) RETURNING id::text",
                     (user, video, '["instagram", "youtube", "instagram", "myspace"]'))[0][0]
    rows = sptest.sql("SELECT platform, state FROM social_post_deliveries WHERE job_id = %s"
                      " ORDER BY platform", (job,))
    assert rows == [("instagram", "queued"), ("youtube", "queued")], rows
    status, results = sptest.sql("SELECT status, results FROM social_post_jobs WHERE id = %s", (job,))[0]
    assert status == "pending" and set(results) == {"instagram", "youtube"}, results


def test_job_with_no_known_platform_fails_at_once():
    user = sptest.new_user()
    video = sptest.new_video(user)
    job = sptest.sql("INSERT INTO social_post_jobs (user_id, video_id, platforms)"
                     " VALUES (%s, %s, '[\"myspace\"]'::jsonb) RETURNING id::text", (user, video))[0][0]
    status, error = sptest.sql("SELECT status, error FROM social_post_jobs WHERE id = %s", (job,))[0]
    assert status == "failed" and error == "no known platform to post to", (status, error)


def test_a_job_final_from_its_insert_has_its_one_webhook_event():
    """A job with no known platform is failed by its insert (migration 0024 sets
    its results there instead of a second update): with a callback_url it gets
    exactly one webhook event, as a job that becomes final later does; without
    one, none."""
    user = sptest.new_user()
    video = sptest.new_video(user)
    url = "https://hooks.example.test/social-post"
    rows = sptest.sql("INSERT INTO social_post_jobs (user_id, video_id, platforms, callback_url)"
                      " VALUES (%s, %s, '[]', %s), (%s, %s, '[\"myspace\"]', %s),"
                      " (%s, %s, '[]', NULL), (%s, %s, '[\"youtube\"]', %s) RETURNING id::text, status",
                      (user, video, url, user, video, url, user, video, user, video, url))
    assert [r[1] for r in rows] == ["failed", "failed", "failed", "pending"], rows
    events = dict(sptest.sql("SELECT job_id::text, count(*) FROM social_post_webhooks"
                             " WHERE job_id = ANY (%s::uuid[]) GROUP BY job_id",
                             ([r[0] for r in rows],)))
    assert events == {rows[0][0]: 1, rows[1][0]: 1}, events
    [(status, body)] = sptest.sql("SELECT status, body FROM social_post_webhooks WHERE job_id = %s",
                                  (rows[0][0],))
    body = body if isinstance(body, dict) else json.loads(body)
    assert status == "failed" and body["status"] == "failed", (status, body)
    sptest.sql("UPDATE social_post_webhooks SET state = 'failed' WHERE job_id = ANY (%s::uuid[])",
               ([r[0] for r in rows],))


def test_a_new_job_is_written_once_with_the_results_its_refresh_derives():
    """A submit's job row is not updated again by its own insert (migration 0024):
    its results, status and error are already what social_post_refresh_job derives
    from the new deliveries, so neither the insert nor a refresh after it updates it."""
    user = sptest.new_user()
    video = sptest.new_video(user)
    tiktok = '{"tiktok": {"privacyLevel": "SELF_ONLY"}}'
    cases = [('["youtube"]', "{}", "pending"),
             ('["instagram", "youtube", "instagram", "myspace"]', "{}", "pending"),
             ('["tiktok", "facebook"]', tiktok, "processing"),
             ('["myspace"]', "{}", "pending"), ("[]", "{}", "pending"),
             ('"youtube"', "{}", "pending"), ('{"youtube": 1}', "{}", "pending")]
    conn = sptest.db()
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            jobs = []
            for platforms, options, status in cases:  # as the service writes them
                cur.execute("INSERT INTO social_post_jobs (user_id, video_id, platforms, options,"
                            " status) VALUES (%s, %s, %s::jsonb, %s::jsonb, %s) RETURNING id::text",
                            (user, video, platforms, options, status))
                jobs.append(cur.fetchone()[0])
            # and as a user writes one, through the guard
            cur.execute("SELECT set_config('role', 'authenticated', true),"
                        " set_config('request.jwt.claims', %s, true)",
                        (json.dumps({"sub": user, "role": "authenticated"}),))
            cur.execute("INSERT INTO social_post_jobs (user_id, video_id, platforms, title)"
                        " VALUES (%s, %s, '[\"facebook\", \"youtube\"]', 'Clip') RETURNING id::text",
                        (user, video))
            jobs.append(cur.fetchone()[0])
            cur.execute("RESET ROLE")
            updates = ("SELECT n_tup_upd FROM pg_stat_xact_user_tables"
                       " WHERE relid = 'public.social_post_jobs'::regclass")
            cur.execute(updates)
            assert cur.fetchone()[0] == 0, "a new job's row was updated by its own insert"
            for job in jobs:
                cur.execute("SELECT social_post_refresh_job(%s)", (job,))
            cur.execute(updates)
            assert cur.fetchone()[0] == 0, "a refresh changed a new job's results, status or error"
            cur.execute("SELECT status, error, results FROM social_post_jobs WHERE id = ANY (%s::uuid[])"
                        " ORDER BY array_position(%s::uuid[], id)", (jobs, jobs))
            rows = cur.fetchall()
        assert [r[0] for r in rows] == ["pending", "pending", "processing", "failed", "failed",
                                        "failed", "failed", "pending"], rows
        assert rows[3][1] == "no known platform to post to" and rows[0][1] is None, rows
        assert rows[1][2] == {"instagram": {"state": "queued", "attempts": 0},
                              "youtube": {"state": "queued", "attempts": 0}}, rows[1]
        assert set(rows[7][2]) == {"facebook", "youtube"} and rows[6][2] == {}, rows
    finally:
        conn.rollback()
        conn.close()


def test_users_cannot_read_or_write_deliveries():
    user = sptest.new_user()
    try:
        sptest.sql_as(user, "SELECT count(*) FROM social_post_deliveries")
    except Exception as e:  # psycopg2 InsufficientPrivilege
        assert "permission denied" in str(e), e
    else:
        raise AssertionError("authenticated could read deliveries")



def test_queue_counts_are_for_the_metrics_role_only():
    user = sptest.new_user()
    try:
        sptest.sql_as(user, "SELECT * FROM social_post_queue_stats()")
    except Exception as e:
        assert "permission denied" in str(e), e
    else:
        raise AssertionError("a user could read the queue's counts")



# ---------------------------------------------------------------- migration 0011
# The worker's claim, record and progress are one statement each: what the
# statements they replace did, in the same transaction.

# The details as the worker read them before 0011 (its queue_details statement).
DETAILS_BEFORE = (
    "SELECT j.user_id::text, j.video_id::text, coalesce(nullif(j.title, ''), v.title, ''),"
    " coalesce(j.description, ''), v.video_url, a.account_id, a.access_token,"
    " a.refresh_token, coalesce(extract(epoch FROM a.token_expires_at)::bigint, 0),"
    " v.id IS NOT NULL"
    " FROM public.social_post_jobs j"
    " LEFT JOIN public.product_videos v ON v.id = j.video_id AND v.user_id = j.user_id"
    " LEFT JOIN LATERAL (SELECT * FROM public.social_accounts s"
    "   WHERE s.user_id = j.user_id AND s.platform = %s"
    "   ORDER BY s.token_expires_at DESC NULLS LAST LIMIT 1) a ON true"
    " WHERE j.id = %s::uuid")

CLAIM = ("SELECT id, job_id, platform, attempts, checkpoint, takeovers, releases, user_id,"
         " video_id, title, description, video_url, account_id, access_token, refresh_token,"
         " token_expires_at, video_owned FROM social_post_claim(%s, 30, %s::uuid[])")

RECORD = ("SELECT held, open_count, history_error FROM social_post_record(%s, %s, %s, 0, 0,"
          " '{\"phase\": \"published\"}', %s::jsonb, %s, false, %s, %s, %s, %s, %s)")


def queued_job(platforms=("youtube",), title="Queue SQL"):
    """A job of a new user with a video and a YouTube account, its deliveries
    the only open ones."""
    workerkit.clear_queue()
    user = sptest.new_user()
    video = sptest.new_video(user, title=title)
    workerkit.connect(user, "youtube")
    job = sptest.sql("INSERT INTO social_post_jobs (user_id, video_id, platforms, description)"
                     " VALUES (%s, %s, %s::jsonb, 'about it') RETURNING id::text",
                     (user, video, json.dumps(list(platforms))))[0][0]
    return user, video, job


def claim(owner, busy="{}"):
    rows = sptest.sql(CLAIM, (owner, busy))
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def test_claim_returns_the_delivery_with_the_details_the_statements_read():
    user, video, job = queued_job()
    row = claim("queue-sql:1")
    assert row is not None
    delivery, claimed_job, platform, attempts, checkpoint, takeovers, releases = row[:7]
    assert (claimed_job, platform, attempts, json.loads(checkpoint), takeovers, releases) == \
        (job, "youtube", 0, {}, 0, 0), row
    details = sptest.sql(DETAILS_BEFORE, ("youtube", job))[0]
    assert tuple(row[7:]) == details, (row[7:], details)
    assert row[7:10] == (user, video, "Queue SQL") and row[16] is True
    assert row[13] == "ya29.valid-token" and row[15] > 0, row
    state, owner = sptest.sql("SELECT state, lease_owner FROM social_post_deliveries"
                              " WHERE id = %s", (delivery,))[0]
    assert (state, owner) == ("running", "queue-sql:1")
    # the job was refreshed in the same statement
    assert sptest.sql("SELECT status FROM social_post_jobs WHERE id = %s", (job,))[0][0] == \
        "processing"
    assert claim("queue-sql:2") is None  # nothing else is due


def test_claim_skips_busy_users_and_takes_over_lapsed_leases():
    user, _, job = queued_job()
    assert claim("queue-sql:busy", "{%s}" % user) is None
    row = claim("queue-sql:first")
    sptest.sql("UPDATE social_post_deliveries SET lease_expires_at = now() - interval '1 s'"
               " WHERE id = %s", (row[0],))
    again = claim("queue-sql:second")
    assert again[0] == row[0] and again[5] == 1, again  # one takeover


def test_claim_of_a_job_without_video_or_account_says_so():
    workerkit.clear_queue()
    user = sptest.new_user()
    other = sptest.new_user()
    video = sptest.new_video(other)  # not this user's
    job = sptest.sql("INSERT INTO social_post_jobs (user_id, video_id, platforms)"
                     " VALUES (%s, %s, '[\"youtube\"]') RETURNING id::text", (user, video))[0][0]
    row = claim("queue-sql:novideo")
    assert row[1] == job and row[11] is None and row[12:15] == (None, None, None), row
    assert row[16] is False and row[15] == 0, row


def record(delivery, owner, job_user, video, state="succeeded", posted="posted",
           post_id="vid1", error=""):
    result = json.dumps({"success": state == "succeeded", "url": "https://youtu.be/" + post_id,
                         "postId": post_id}) if posted else None
    return sptest.sql(RECORD, (delivery, owner, state, result, error, posted, job_user, video,
                               "https://youtu.be/" + post_id if posted == "posted" else "",
                               post_id if posted == "posted" else ""))[0]


def test_record_writes_outcome_history_and_refresh_in_one_statement():
    user, video, job = queued_job()
    delivery = claim("queue-sql:rec")[0]
    assert record(delivery, "queue-sql:rec", user, video) == (True, 0, None)
    state, result, owner = sptest.sql("SELECT state, result, lease_owner FROM"
                                      " social_post_deliveries WHERE id = %s", (delivery,))[0]
    assert state == "succeeded" and result["postId"] == "vid1" and owner is None
    assert workerkit.history(job) == [("youtube", "posted", "https://youtu.be/vid1", "vid1", None)]
    status, results = sptest.sql("SELECT status, results FROM social_post_jobs WHERE id = %s",
                                 (job,))[0]
    assert status == "completed" and results["youtube"]["url"] == "https://youtu.be/vid1"


def test_record_counts_the_jobs_open_deliveries_and_writes_no_history_while_open():
    user, video, job = queued_job(("youtube", "facebook"))
    workerkit.connect(user, "facebook")
    delivery = claim("queue-sql:open")[0]
    held, open_count, error = sptest.sql(
        "SELECT held, open_count, history_error FROM social_post_record(%s, 'queue-sql:open',"
        " 'queued', 30, 1, '{}', NULL, 'try later', false, NULL, %s, %s, '', '')",
        (delivery, user, video))[0]
    assert (held, open_count, error) == (True, 2, None)
    assert workerkit.history(job) == []
    attempts, last_error = sptest.sql("SELECT attempts, last_error FROM social_post_deliveries"
                                      " WHERE id = %s", (delivery,))[0]
    assert (attempts, last_error) == (1, "try later")


def test_a_failing_history_insert_never_loses_the_outcome():
    """scheduled_posts may be the app's own table: when its insert fails, the
    outcome, the refresh and the count still commit (the SAVEPOINT's promise)."""
    user, video, job = queued_job()
    delivery = claim("queue-sql:hist")[0]
    sptest.sql("ALTER TABLE scheduled_posts ADD CONSTRAINT queue_sql_rejects"
               " CHECK (post_id IS DISTINCT FROM 'reject-me') NOT VALID")
    try:
        held, open_count, error = record(delivery, "queue-sql:hist", user, video,
                                         post_id="reject-me")
    finally:
        sptest.sql("ALTER TABLE scheduled_posts DROP CONSTRAINT queue_sql_rejects")
    assert (held, open_count) == (True, 0) and "queue_sql_rejects" in error, error
    assert workerkit.history(job) == []
    assert sptest.sql("SELECT state FROM social_post_deliveries WHERE id = %s",
                      (delivery,))[0][0] == "succeeded"
    assert sptest.sql("SELECT status FROM social_post_jobs WHERE id = %s", (job,))[0][0] == \
        "completed"


def test_record_and_progress_change_nothing_once_the_lease_is_lost():
    user, video, job = queued_job()
    delivery = claim("queue-sql:mine")[0]
    assert sptest.sql("SELECT social_post_progress(%s, 'queue-sql:other', 5, 10)",
                      (delivery,))[0][0] is False
    assert record(delivery, "queue-sql:other", user, video) == (False, 0, None)
    state, owner, progress = sptest.sql("SELECT state, lease_owner, progress FROM"
                                        " social_post_deliveries WHERE id = %s", (delivery,))[0]
    assert (state, owner, progress) == ("running", "queue-sql:mine", None)
    assert workerkit.history(job) == []


def test_progress_shows_on_the_job_in_one_statement():
    """A report lands on its delivery at once and on the job at most about once a
    second (migration 0021): a report a second after the job last changed shows the
    latest progress and phase on the job."""
    _, _, job = queued_job()
    delivery = claim("queue-sql:prog")[0]
    sptest.sql("UPDATE social_post_deliveries SET checkpoint = '{\"phase\": \"uploading\"}'"
               " WHERE id = %s", (delivery,))
    assert sptest.sql("SELECT social_post_progress(%s, 'queue-sql:prog', 1, 3)",
                      (delivery,))[0][0] is True
    time.sleep(1.1)  # the claim changed the job: the next report a second later shows
    assert sptest.sql("SELECT social_post_progress(%s, 'queue-sql:prog', 2, 3)",
                      (delivery,))[0][0] is True
    results = sptest.sql("SELECT results FROM social_post_jobs WHERE id = %s", (job,))[0][0]
    assert results["youtube"]["progress"] == 0.6667 and results["youtube"]["phase"] == "uploading"
    sptest.sql("SELECT social_post_progress(%s, 'queue-sql:prog', 0, 0)", (delivery,))
    assert sptest.sql("SELECT progress FROM social_post_deliveries WHERE id = %s",
                      (delivery,))[0][0] == 0.6667  # total 0 keeps it


def test_a_retried_delivery_starts_its_releases_afresh():
    """A platform that failed after too many releases without progress, then
    retried by its user (POST .../retry), gets the whole allowance again:
    attempts, takeovers and releases all start at 0 (migration 0016). Before,
    releases stayed at 11 and the first release after the retry cost an
    attempt."""
    user = sptest.new_user()
    video = sptest.new_video(user)
    job = sptest.sql("INSERT INTO social_post_jobs (user_id, video_id, platforms)"
                     " VALUES (%s, %s, '[\"youtube\"]'::jsonb) RETURNING id::text",
                     (user, video))[0][0]
    sptest.sql("UPDATE social_post_deliveries SET state = 'failed', attempts = 8, takeovers = 2,"
               " releases = 11, last_error = 'gave up after 8 attempts: worker stopping',"
               " result = '{\"success\": false, \"error\": \"gave up\"}'::jsonb"
               " WHERE job_id = %s", (job,))
    sptest.sql("SELECT social_post_refresh_job(%s)", (job,))
    r = sptest.http("POST", f"/social-post/{job}/retry", token=sptest.token(user))
    assert r.status == 202, (r.status, r.body)
    row = sptest.sql("SELECT state, attempts, takeovers, releases FROM social_post_deliveries"
                     " WHERE job_id = %s", (job,))[0]
    assert row == ("queued", 0, 0, 0), row


def test_users_cannot_call_the_workers_functions():
    user = sptest.new_user()
    for call in ("SELECT * FROM social_post_claim('x', 30, '{}')",
                 "SELECT social_post_progress(1, 'x', 1, 2)",
                 "SELECT * FROM social_post_record(1, 'x', 'succeeded', 0, 0, '{}', NULL, '',"
                 " false, NULL, NULL, NULL, '', '')"):
        try:
            sptest.sql_as(user, call)
        except Exception as e:  # psycopg2 InsufficientPrivilege
            assert "permission denied" in str(e), e
        else:
            raise AssertionError("authenticated could run " + call)


if __name__ == "__main__":
    sptest.run(globals())
