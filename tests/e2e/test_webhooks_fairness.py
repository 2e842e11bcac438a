"""Webhooks for everyone: one user's slow receiver must not hold up another
user's events, and events no worker can send must end instead of waiting.

Events are made as the database makes them: a job with a callback_url that
becomes final (here at once, since it names no known platform) gets one
outbox event in the same transaction. Receivers are local HTTP servers on
127.0.0.1 (workerkit allows private callback URLs).
"""
import time

import sptest
import workerkit as wk


def final_jobs_with_callback(user, url, count):
    """count jobs of user that end failed at once, each with one webhook event."""
    video = sptest.new_video(user)
    return [r[0] for r in sptest.sql(
        "INSERT INTO social_post_jobs (user_id, video_id, platforms, callback_url)"
        " SELECT %s, %s, '[]', %s FROM generate_series(1, %s) RETURNING id",
        (user, video, url, count))]


def clear_outbox():
    sptest.sql("UPDATE social_post_webhooks SET state = 'failed' WHERE state IN ('pending', 'sending')")


def test_a_slow_receiver_does_not_hold_up_another_users_webhook():
    """User A's receiver takes 30 s to answer (each attempt gives up after
    10 s); A has 50 events waiting. User B's one event, written after them,
    must arrive within a few seconds, not after A's 50 (8 minutes with one
    event at a time)."""
    slow, quick = wk.Receiver(delay=30), wk.Receiver()
    try:
        with wk.Platforms() as p:
            wk.clear_queue()
            clear_outbox()
            a, b = sptest.new_user(), sptest.new_user()
            final_jobs_with_callback(a, slow.url, 50)
            w = p.worker()
            wk.wait_for("the slow receiver's first event", lambda: slow.arrivals, timeout=30)
            written = time.time()
            [job] = final_jobs_with_callback(b, quick.url, 1)
            wk.wait_for("B's webhook", lambda: quick.arrivals, timeout=20)
            delay = quick.arrivals[0] - written
            assert delay < 5, f"B's webhook took {delay:.1f} s"
            state = sptest.sql("SELECT state FROM social_post_webhooks WHERE job_id = %s", (job,))
            assert state == [("delivered",)], state
            # the slow receiver is called a few at a time, never by every sender
            time.sleep(1)
            calls_now = sptest.sql("SELECT count(*) FROM social_post_webhooks"
                                   " WHERE state = 'sending' AND url = %s", (slow.url,))[0][0]
            assert calls_now <= 2, f"{calls_now} attempts at once at the slow receiver"
            assert w.stop() == 0, w.output()
    finally:
        clear_outbox()
        slow.close()
        quick.close()


def test_events_no_worker_can_send_expire_with_a_clear_state():
    """No worker has SOCIAL_POST_WEBHOOK_SECRET: an event older than the
    give-up age ends 'expired', saying why; a younger one still waits (a
    worker with the secret may yet send it)."""
    rx = wk.Receiver()
    try:
        with wk.Platforms() as p:
            wk.clear_queue()
            clear_outbox()
            user = sptest.new_user()
            old, young = final_jobs_with_callback(user, rx.url, 2)
            sptest.sql("UPDATE social_post_webhooks SET created_at = now() - interval '2 days'"
                       " WHERE job_id = %s", (old,))
            w = p.worker("--once", env={"SOCIAL_POST_WEBHOOK_SECRET": None})
            assert w.wait(60) == 0, w.output()
            rows = dict((job, (state, error)) for job, state, error in sptest.sql(
                "SELECT job_id, state, last_error FROM social_post_webhooks WHERE job_id IN (%s, %s)",
                (old, young)))
            state, error = rows[old]
            assert state == "expired" and "SOCIAL_POST_WEBHOOK_SECRET" in (error or ""), rows[old]
            assert rows[young][0] == "pending", rows[young]
            assert rx.arrivals == [], "a worker without the secret sent an event"
    finally:
        clear_outbox()
        rx.close()


sptest.run(globals())
