"""Retention: finished deliveries' attempt details (checkpoint, last error)
and finished webhook events are removed once older than the setting (30 days
by default), in batches, one worker at a time; what is younger, or not
finished, stays; every job stays unless a job retention is set. The rows
removed are counted for /metrics (social_post_prune_stats)."""
import json
import time

import sptest
import workerkit as wk

CHECKPOINT = {"phase": "published", "upload_url": "https://example.invalid/session"}


def aged_job(user, video, days, state="succeeded", job_status="completed"):
    """A job whose facebook delivery ended `days` ago with a checkpoint and an
    error, with a finished webhook event of the same age; returns its id."""
    job = wk.submit(user, video, ["facebook"])
    sptest.sql("BEGIN; SET LOCAL session_replication_role = replica;"
               " UPDATE social_post_deliveries SET state = %(state)s, checkpoint = %(cp)s::jsonb,"
               "  last_error = 'the last try timed out', lease_owner = NULL,"
               "  updated_at = now() - make_interval(days => %(days)s) WHERE job_id = %(job)s;"
               " UPDATE social_post_jobs SET status = %(status)s,"
               "  updated_at = now() - make_interval(days => %(days)s) WHERE id = %(job)s;"
               " INSERT INTO social_post_webhooks (job_id, url, status, body, state, updated_at,"
               "  delivered_at) VALUES (%(job)s, 'https://example.invalid/hook', %(status)s, '{}',"
               "  'delivered', now() - make_interval(days => %(days)s),"
               "  now() - make_interval(days => %(days)s));"
               " COMMIT",
               {"state": state, "cp": json.dumps(CHECKPOINT), "days": days, "job": job,
                "status": job_status})
    return job


def details(job):
    return sptest.sql("SELECT checkpoint, last_error FROM social_post_deliveries"
                      " WHERE job_id = %s", (job,))[0]


def events(job):
    return sptest.sql("SELECT count(*) FROM social_post_webhooks WHERE job_id = %s", (job,))[0][0]


def job_exists(job):
    return sptest.sql("SELECT count(*) FROM social_post_jobs WHERE id = %s", (job,))[0][0] == 1


def totals():
    return dict((what, n) for what, n, _ in sptest.sql("SELECT * FROM social_post_prune_stats()"))


def prune_all(days="30 days", job_days=None):
    """Runs batches of 2 until nothing more goes; the sum of what they removed."""
    removed = [0, 0, 0]
    while True:
        got = sptest.sql("SELECT * FROM social_post_prune(%s::interval, %s::interval, 2)",
                         (days, job_days))[0]
        removed = [a + b for a, b in zip(removed, got)]
        if max(got) < 2:
            return removed


def test_pruning_removes_only_what_is_older_than_the_setting_and_keeps_every_job():
    user = sptest.new_user()
    video = sptest.new_video(user)
    old = [aged_job(user, video, 31), aged_job(user, video, 45, state="failed",
                                                job_status="failed"),
           aged_job(user, video, 400)]
    young = aged_job(user, video, 29)
    # an old delivery still running (a long wait for a platform) is not finished
    running = aged_job(user, video, 40, state="running", job_status="processing")
    sptest.sql("UPDATE social_post_deliveries SET lease_owner = 'test', lease_expires_at ="
               " now() + interval '1 hour' WHERE job_id = %s", (running,))
    # an old event still waiting to be sent is not finished either
    sptest.sql("INSERT INTO social_post_webhooks (job_id, url, status, body, state, updated_at)"
               " VALUES (%s, 'https://example.invalid/hook', 'completed', '{}', 'pending',"
               " now() - interval '40 days')", (young,))
    before = totals()
    removed = prune_all()
    assert removed[0] >= 3 and removed[1] >= 3 and removed[2] == 0, removed
    for job in old:
        assert details(job) == ({}, None), details(job)
        assert events(job) == 0
    assert details(young) == (CHECKPOINT, "the last try timed out")
    assert events(young) == 2  # its delivered one (29 days) and the pending one
    assert details(running) == (CHECKPOINT, "the last try timed out")
    for job in old + [young, running]:
        assert job_exists(job), job
        # what the user sees of the job is unchanged
        s = wk.status(user, job)
        assert s["jobId"] == job, s
    after = totals()
    assert after["delivery_details"] - before["delivery_details"] == removed[0], (before, after)
    assert after["webhook_events"] - before["webhook_events"] == removed[1], (before, after)
    assert prune_all() == [0, 0, 0]  # nothing is removed twice
    sptest.sql("UPDATE social_post_deliveries SET state = 'cancelled', lease_owner = NULL"
               " WHERE job_id = %s", (running,))
    sptest.sql("DELETE FROM social_post_webhooks WHERE job_id = %s AND state = 'pending'",
               (young,))


def test_a_job_retention_removes_only_older_finished_jobs():
    user = sptest.new_user()
    video = sptest.new_video(user)
    old = aged_job(user, video, 100)
    young = aged_job(user, video, 80)
    prune_all("30 days", "90 days")
    assert not job_exists(old) and events(old) == 0
    assert job_exists(young)
    assert wk.status(user, young)["jobId"] == young


def test_one_pruner_at_a_time():
    user = sptest.new_user()
    video = sptest.new_video(user)
    job = aged_job(user, video, 31)
    conn = sptest.db()
    try:
        conn.autocommit = False
        with conn.cursor() as cur:  # another worker's batch, still running
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('social_post_prune'))")
            assert prune_all() == [0, 0, 0]
            assert details(job) == (CHECKPOINT, "the last try timed out")
        conn.rollback()
    finally:
        conn.close()
    assert prune_all()[0] >= 1
    assert details(job) == ({}, None)


def test_the_worker_prunes_by_its_setting_and_logs_it():
    user = sptest.new_user()
    video = sptest.new_video(user)
    old = aged_job(user, video, 12)
    young = aged_job(user, video, 8)
    with wk.Platforms() as p:
        wk.clear_queue()
        w = p.worker("--retention-days", "10")
        wk.wait_for("the worker's pruning", lambda: details(old) == ({}, None), timeout=30)
        time.sleep(0.5)
        assert w.stop() == 0
        assert details(young) == (CHECKPOINT, "the last try timed out")
        assert job_exists(old) and job_exists(young) and events(young) == 1
        assert '"pruned"' in w.output(), w.output()[-2000:]


sptest.run(globals())
