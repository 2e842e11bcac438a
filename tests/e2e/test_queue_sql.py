"""The queue's SQL under concurrency: two transactions finishing two platforms
of one job at once both count, whatever order they commit in."""
import json
import threading
import time

import sptest


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


if __name__ == "__main__":
    sptest.run(globals())
