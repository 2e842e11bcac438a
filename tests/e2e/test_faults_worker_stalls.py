"""A worker that stalls: a database link that stops forwarding (a TCP proxy in
front of Postgres), a process stopped and continued (SIGSTOP/SIGCONT, a
debugger), a platform that never answers.

What must hold: the worker does not spin (its CPU time stays low), its other
slots keep working, its uploads finish once, SIGTERM ends it within the grace
period, and every wait is bounded by a timeout.
"""
import signal
import threading
import time

import fakectl
import faultkit as fk
import sptest
import workerkit as wk

MiB = 1 << 20


def db_proxy():
    """A tcp_proxy in front of the stack's Postgres and the URL through it."""
    st = sptest.state()
    proxy = fakectl.Fake.start("tcp_proxy", args=["--target", f"127.0.0.1:{st['pg']['port']}"])
    return proxy, f"postgresql://postgres@127.0.0.1:{proxy.listen_port}/social_post"


def uploaded(p):
    return sum(s["received"] for s in p.youtube.stats()["upload_sessions"])


def test_slow_lease_renewal_does_not_spin_or_block_slots():
    """The database stalls for 5 s while a lease (6 s, renewed every 2 s) is
    being renewed, so the renewal takes longer than a third of the lease.
    Afterwards the worker must not burn a CPU (a lease keeper computing a
    negative wait spins holding the lock every slot needs), its lease must
    never lapse while the upload goes on (another worker would take it over),
    another job must go through the idle slot, the upload must finish once,
    and SIGTERM must end the worker."""
    proxy, url = db_proxy()
    try:
        with fk.Platforms() as p:
            wk.clear_queue()
            size = 24 * MiB
            vurl, sha = p.video.add_video("lease.mp4", size)
            user, video = wk.user_with_video(vurl, title="Slow renewals")
            wk.connect(user, "youtube")
            wk.connect(user, "facebook", access_token="EAAB-page-token")
            p.youtube.config({"bandwidth_bytes_per_sec": 1.5 * MiB})  # ~16 s: outlasts a lease after the stall
            job = wk.submit(user, video, ["youtube"])
            w = p.worker("--lease", "6", "--concurrency", "2", "--grace", "5",
                         env={"DATABASE_URL": url})
            checks = fk.Checks("a slow lease renewal")
            assert fk.wait_until(lambda: uploaded(p) >= 2 * MiB, 30), "the upload never started"
            proxy.mode("stall")
            time.sleep(5)
            proxy.mode("pass")
            time.sleep(0.5)
            lapses, watching = [], threading.Event()

            def watch_lease():  # while the upload runs, its lease must hold
                while not watching.wait(0.25):
                    rows = sptest.sql("SELECT state = 'running' AND lease_expires_at < now(),"
                                      " extract(epoch FROM now() - lease_expires_at)::float8"
                                      " FROM social_post_deliveries WHERE job_id = %s", (job,))
                    if rows and rows[0][0]:
                        lapses.append(rows[0][1])
            watcher = threading.Thread(target=watch_lease)
            watcher.start()
            cpu0, t0 = fk.cpu_seconds(w.proc.pid), time.monotonic()
            time.sleep(4)
            cpu = fk.cpu_seconds(w.proc.pid) - cpu0
            wall = time.monotonic() - t0
            checks.check(cpu < 0.5 * wall, f"the worker used {cpu:.1f} s of CPU in {wall:.1f} s after "
                         "the stall: a thread spins (lease keeper's wait went negative?)")
            small_url, _ = p.video.add_video("other.mp4", 256 * 1024)
            job2 = wk.submit(user, sptest.new_video(user, title="Other slot", video_url=small_url),
                             ["facebook"])
            s2 = fk.wait_until(lambda: (lambda s: s if s["status"] in ("completed", "failed") else None)(
                wk.status(user, job2)), 30)
            checks.check(s2 is not None and s2["status"] == "completed",
                         f"a job for the idle slot did not complete within 30 s: {s2 or wk.status(user, job2)}")
            s = fk.wait_until(lambda: (lambda s: s if s["status"] in ("completed", "failed") else None)(
                wk.status(user, job)), 60)
            checks.check(s is not None and s["status"] == "completed",
                         f"the upload did not complete within 60 s: {s or wk.status(user, job)}")
            watching.set()
            watcher.join()
            checks.check(not lapses, f"the running upload's lease lapsed (up to {max(lapses or [0]):.1f} s ago, "
                         f"seen {len(lapses)} times): renewals stopped")
            videos = p.youtube.stats()["videos"]
            checks.check([v["sha256"] for v in videos] == [sha],
                         f"expected the video once on YouTube, got {len(videos)}")
            problem = fk.worker_problem(w)
            checks.check(problem is None, str(problem))
            code, taken = fk.stop_within(w, 5 + 10)
            checks.check(code == 0, f"SIGTERM: {fk.describe_exit(code)} after {taken:.1f} s (grace 5 s)")
            checks.done()
    finally:
        proxy.stop()


def test_sigterm_while_the_database_stalls_exits_within_grace():
    """The database accepts connections but answers nothing (for good). A
    SIGTERM must still end the worker within the grace period plus a margin:
    no database call may wait without a deadline."""
    proxy, url = db_proxy()
    try:
        with fk.Platforms() as p:
            wk.clear_queue()
            w = p.worker("--concurrency", "2", "--grace", "3", "--poll", "0.5",
                         env={"DATABASE_URL": url})
            time.sleep(2)  # connected, idle, polling
            proxy.mode("stall")
            time.sleep(3)  # every thread is now inside a database call
            code, taken = fk.stop_within(w, 3 + 12)
            proxy.mode("pass")
            problem = sptest.sql("SELECT 1")  # the database itself is fine
            assert problem == [(1,)]
            assert code is not None, (f"the worker did not stop within {3 + 12} s of SIGTERM while "
                                      "the database stalled (a database call without a deadline)")
            assert code == 0, f"SIGTERM during a database stall: {fk.describe_exit(code)}"
    finally:
        proxy.stop()


def test_sigterm_after_sigstop_sigcont_still_stops_cleanly():
    """SIGSTOP then SIGCONT (a debugger, `kill -STOP`), then the worker runs
    on: its work must still go through (no hard stop that aborts every
    transfer, with deliveries cycling claim -> abort -> requeue without an
    attempt counted), and SIGTERM must end it with exit 0 within the grace."""
    with fk.Platforms() as p:
        wk.clear_queue()
        w = p.worker("--grace", "3")
        time.sleep(1)
        w.signal(signal.SIGSTOP)
        time.sleep(0.5)
        w.signal(signal.SIGCONT)
        time.sleep(4.5)  # longer than the grace: a misread stop has turned into a hard stop
        checks = fk.Checks("a worker stopped and continued")
        url, sha = p.video.add_video("cont.mp4", 3 * MiB)
        user, video = wk.user_with_video(url, title="After SIGCONT")
        wk.connect(user, "youtube")
        p.youtube.config({"bandwidth_bytes_per_sec": 4 * MiB})
        job = wk.submit(user, video, ["youtube"])
        s = fk.wait_until(lambda: (lambda s: s if s["status"] in ("completed", "failed") else None)(
            wk.status(user, job)), 30)
        row = fk.delivery(job, "youtube")
        tries = len(fk.steps_logged(w, job))
        checks.check(s is not None and s["status"] == "completed",
                     f"the job did not complete within 30 s after SIGSTOP/SIGCONT: delivery {row['state']}, "
                     f"attempts {row['attempts']}, worked on {tries} times; {row['last_error']}")
        checks.check(row["attempts"] > 0 or tries <= 2,
                     f"the delivery cycled claim -> abort -> requeue {tries} times without an attempt counted")
        videos = p.youtube.stats()["videos"]
        checks.check([v["sha256"] for v in videos] in ([], [sha]), f"unexpected videos {videos}")
        code, taken = fk.stop_within(w, 3 + 10)
        checks.check(code == 0, f"SIGTERM after SIGSTOP/SIGCONT: {fk.describe_exit(code)} "
                     f"after {taken:.1f} s (grace 3 s)")
        checks.done()


def test_sigterm_during_a_call_that_never_answers_stops_within_grace():
    """Facebook never answers the upload start: SIGTERM must abort the call
    after the grace period, put the delivery back and exit 0."""
    with fk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("hang.mp4", 512 * 1024)
        user, video = wk.user_with_video(url, title="Never answered")
        wk.connect(user, "facebook", access_token="EAAB-page-token")
        p.graph.faults([{"op": "fb_start", "hold_ms": 600000}])
        job = wk.submit(user, video, ["facebook"])
        w = p.worker("--grace", "2")
        assert fk.wait_until(lambda: p.graph.stats()["requests"].get("fb_start"), 30), "no upload start"
        code, taken = fk.stop_within(w, 2 + 10)
        row = fk.delivery(job, "facebook")
        assert code == 0, f"SIGTERM during a hanging call: {fk.describe_exit(code)} after {taken:.1f} s"
        assert row["state"] == "queued" and row["attempts"] == 0, row


def test_token_endpoint_that_never_answers_is_bounded_by_its_timeout():
    """Google's token endpoint takes the refresh and never answers: the step
    must end by its timeout (30 s), count an attempt and succeed on the next."""
    with fk.Platforms() as p:
        wk.clear_queue()
        url, sha = p.video.add_video("slowtoken.mp4", 512 * 1024)
        user, video = wk.user_with_video(url, title="Token hangs")
        wk.connect(user, "youtube", expires_in=-600)  # expired: refreshed first
        p.youtube.faults([{"op": "token", "hold_ms": 600000}])
        job = wk.submit(user, video, ["youtube"])
        started = time.time()
        w = p.worker()
        s = wk.wait_job(user, job, timeout=30 + 40)
        taken = time.time() - started
        assert s["status"] == "completed", s
        assert s["results"]["youtube"]["attempts"] >= 1, s
        assert [v["sha256"] for v in p.youtube.stats()["videos"]] == [sha]
        print(f"completed {taken:.1f} s after a token request that never answered")
        assert w.stop() == 0


if __name__ == "__main__":
    sptest.run(globals())
