"""A worker's database connections do not grow with its concurrency: its
slots borrow one of --db-connections shared connections for each database
call and give it back, so 20 uploads at once run on a handful of
connections (counted in pg_stat_activity under the worker's own
application_name), and every upload still completes exactly once."""
import threading
import time
import uuid

import sptest
import workerkit as wk

MiB = 1 << 20
UPLOADS = 20
POOL = 3
# the pool, the listener (LISTEN holds a connection of its own) and, without
# a webhook secret, the thread that expires unsent webhook events (with one,
# the webhook senders have connections of their own: not this test's concern)
MOST = POOL + 2


def count_connections(app):
    return sptest.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                      (app,))[0][0]


def running():
    return sptest.sql("SELECT count(*) FROM social_post_deliveries WHERE state = 'running'")[0][0]


def test_twenty_uploads_share_a_few_connections():
    app = "sp-pool-" + uuid.uuid4().hex[:8]
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"fb_chunk_bytes": 128 << 10, "bandwidth_bytes_per_sec": 512 << 10})
        jobs = []
        for i in range(UPLOADS):
            url, _ = p.video.add_video(f"pool-{i}.mp4", 2 * MiB)
            user, video = wk.user_with_video(url)
            wk.connect(user, "facebook", access_token="EAAB-page-token")
            jobs.append((user, wk.submit(user, video, ["facebook"])))
        peak = {"connections": 0, "running": 0}
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak["connections"] = max(peak["connections"], count_connections(app))
                peak["running"] = max(peak["running"], running())
                time.sleep(0.1)

        sampler = threading.Thread(target=sample)
        sampler.start()
        w = p.worker("--concurrency", str(UPLOADS), "--db-connections", str(POOL),
                     env={"PGAPPNAME": app, "SOCIAL_POST_WEBHOOK_SECRET": None})
        try:
            for user, job in jobs:
                s = wk.wait_job(user, job, timeout=180)
                assert s["status"] == "completed", s
        finally:
            done.set()
            sampler.join()
        assert w.stop() == 0
        # the uploads did run side by side, on the few connections
        assert peak["running"] >= UPLOADS * 3 // 4, peak
        assert 1 <= peak["connections"] <= MOST, peak
        # exactly once: each job's delivery succeeded and was posted once
        for _, job in jobs:
            assert wk.delivery(job, "facebook")[0] == "succeeded", wk.delivery(job, "facebook")
            assert len(wk.history(job)) == 1, wk.history(job)


sptest.run(globals())
