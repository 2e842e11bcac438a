"""A worker's database connections do not grow with its concurrency: its
slots borrow one of --db-connections shared connections for each database
call and give it back, so 20 uploads at once run on a handful of
connections (counted in pg_stat_activity under the worker's own
application_name), and every upload still completes exactly once.

With a webhook secret the webhook senders borrow from the same pool for
their claims and records (never across a call to a receiver) and hear of new
events through the listener's connection: the worker still holds at most
the pool and the listener while it uploads and sends webhooks."""
import threading
import time
import uuid

import sptest
import workerkit as wk

MiB = 1 << 20
UPLOADS = 20
POOL = 3
# the pool and the listener (LISTEN holds a connection of its own; it hears
# of new jobs and of new webhook events); the rest borrow from the pool
MOST = POOL + 1
DEFAULT_POOL = 4
TARGET = 6  # issue 18: at most 6 connections with the default pool
BACKLOG = 20  # webhook events already due when the worker starts


def count_connections(app):
    return sptest.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                      (app,))[0][0]


def running():
    return sptest.sql("SELECT count(*) FROM social_post_deliveries WHERE state = 'running'")[0][0]


def undelivered(url):
    return sptest.sql("SELECT count(*) FROM social_post_webhooks"
                      " WHERE url = %s AND state <> 'delivered'", (url,))[0][0]


def backlog_of_events(url, count):
    """count jobs that end failed at once (no platform), one webhook event each."""
    user = sptest.new_user()
    video = sptest.new_video(user)
    sptest.sql("INSERT INTO social_post_jobs (user_id, video_id, platforms, callback_url)"
               " SELECT %s, %s, '[]', %s FROM generate_series(1, %s)", (user, video, url, count))


def run_uploads(p, app, worker_args, env, callback_url=None):
    """Runs UPLOADS Facebook uploads in one worker, sampling its connections;
    returns the peaks."""
    p.graph.config({"fb_chunk_bytes": 128 << 10, "bandwidth_bytes_per_sec": 512 << 10})
    jobs = []
    extra = {"callbackUrl": callback_url} if callback_url else {}
    for i in range(UPLOADS):
        url, _ = p.video.add_video(f"pool-{i}.mp4", 2 * MiB)
        user, video = wk.user_with_video(url)
        wk.connect(user, "facebook", access_token="EAAB-page-token")
        jobs.append((user, wk.submit(user, video, ["facebook"], **extra)))
    peak = {"connections": 0, "running": 0}
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak["connections"] = max(peak["connections"], count_connections(app))
            peak["running"] = max(peak["running"], running())
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    w = p.worker("--concurrency", str(UPLOADS), *worker_args, env=dict(env, PGAPPNAME=app))
    try:
        for user, job in jobs:
            s = wk.wait_job(user, job, timeout=180)
            assert s["status"] == "completed", s
        if callback_url:
            wk.wait_for("every webhook delivered", lambda: undelivered(callback_url) == 0,
                        timeout=60)
    finally:
        done.set()
        sampler.join()
    assert w.stop() == 0
    # the uploads did run side by side, on the few connections
    assert peak["running"] >= UPLOADS * 3 // 4, peak
    # exactly once: each job's delivery succeeded and was posted once
    for _, job in jobs:
        assert wk.delivery(job, "facebook")[0] == "succeeded", wk.delivery(job, "facebook")
        assert len(wk.history(job)) == 1, wk.history(job)
    return peak


def test_twenty_uploads_share_a_few_connections():
    app = "sp-pool-" + uuid.uuid4().hex[:8]
    with wk.Platforms() as p:
        wk.clear_queue()
        peak = run_uploads(p, app, ["--db-connections", str(POOL)],
                           {"SOCIAL_POST_WEBHOOK_SECRET": None})
        assert 1 <= peak["connections"] <= MOST, peak


def test_webhook_senders_borrow_from_the_pool():
    """A webhook secret and a receiver that takes a while: the senders are at
    work the whole time the uploads run (a backlog of events, then one per
    upload), and the worker's connections stay within the target."""
    app = "sp-pool-hooks-" + uuid.uuid4().hex[:8]
    rx = wk.Receiver(delay=0.3)
    try:
        with wk.Platforms() as p:
            wk.clear_queue()
            sptest.sql("UPDATE social_post_webhooks SET state = 'failed'"
                       " WHERE state IN ('pending', 'sending')")
            backlog_of_events(rx.url + "/backlog", BACKLOG)
            peak = run_uploads(p, app, [], {}, callback_url=rx.url)
            assert undelivered(rx.url + "/backlog") == 0
            assert len(rx.arrivals) >= BACKLOG + UPLOADS, len(rx.arrivals)
            assert 1 <= peak["connections"] <= DEFAULT_POOL + 1 <= TARGET, peak
    finally:
        rx.close()


sptest.run(globals())
