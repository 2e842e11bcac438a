"""Live status: parked long-polls woken by every kind of change, held by the
hundreds without database connections, answered at shutdown; FastCGI
connections kept and reused; metrics shared by the processes of one socket
and clean for promtool."""
import re
import subprocess
import threading
import time

import fcgikit
import sptest
import workerkit

STATUS = "/social-post-status"


def new_job(platforms=("youtube", "facebook")):
    user = sptest.new_user()
    video = sptest.new_video(user)
    r = sptest.http("POST", "/social-post", {"videoId": video, "platforms": list(platforms)},
                    token=sptest.token(user))
    assert r.status == 202, r.body
    return user, video, r.json["jobId"]


def get(user, path, headers=None, timeout=30):
    return sptest.http("GET", path, headers=headers, token=sptest.token(user), timeout=timeout)


class LongPoll(threading.Thread):
    """A long-poll through nginx in a thread of its own; .result when done."""

    def __init__(self, user, job, etag, wait):
        super().__init__(daemon=True)
        self.args = (user, f"{STATUS}?jobId={job}&wait={wait}", {"If-None-Match": etag})
        self.result = None
        self.wait_seconds = wait
        self.start()

    def run(self):
        user, path, headers = self.args
        self.result = get(user, path, headers, timeout=self.wait_seconds + 30)


def metric(text, name, labels=""):
    """The value of one series in Prometheus text (labels: the {...} part)."""
    m = re.search("^" + re.escape(name + labels) + r" (\S+)$", text, re.M)
    assert m, f"{name}{labels} missing"
    return float(m.group(1))


def scrape():
    r = sptest.http("GET", STATUS + "/metrics")
    assert r.status == 200, r.body
    return r.body.decode()


def parked_now():
    return metric(scrape(), "social_post_long_polls_parked", '{program="social-post-status"}')


def wait_parked(at_least, timeout=30):
    workerkit.wait_for(f"{at_least} parked long-polls", lambda: parked_now() >= at_least, timeout)


def status_connections():
    return sptest.sql("SELECT count(*) FROM pg_stat_activity"
                      " WHERE application_name = 'social-post-status'")[0][0]


def test_long_poll_wakes_when_the_api_cancels_the_job():
    user, _, job = new_job()
    etag = get(user, f"{STATUS}?jobId={job}").headers["etag"]
    poll = LongPoll(user, job, etag, 30)
    wait_parked(1)
    assert sptest.http("POST", f"/social-post/{job}/cancel", token=sptest.token(user)).status == 200
    poll.join(25)
    assert poll.result is not None, "the long-poll was not woken by the cancel"
    assert poll.result.status == 200 and poll.result.headers["etag"] != etag, poll.result
    assert poll.result.json["status"] == "failed"


def test_long_poll_wakes_on_a_change_made_with_plain_sql():
    user, _, job = new_job(["youtube"])
    etag = get(user, f"{STATUS}?jobId={job}").headers["etag"]
    poll = LongPoll(user, job, etag, 30)
    wait_parked(1)
    sptest.sql("UPDATE social_post_jobs SET description = 'edited in SQL' WHERE id = %s", (job,))
    poll.join(25)
    assert poll.result is not None, "the long-poll was not woken by the UPDATE"
    assert poll.result.status == 200 and poll.result.json["description"] == "edited in SQL"


def test_long_poll_wakes_when_the_worker_changes_the_job():
    with workerkit.Platforms() as p:
        url, _ = p.video.add_video("live.mp4", 1 << 20)
        user, video = workerkit.user_with_video(url)
        workerkit.connect(user, "youtube")
        job = workerkit.submit(user, video, ["youtube"])
        etag = get(user, f"{STATUS}?jobId={job}").headers["etag"]
        poll = LongPoll(user, job, etag, 45)
        wait_parked(1)
        w = p.worker("--concurrency", "1")
        poll.join(40)
        workerkit.wait_job(user, job)
        assert w.stop() == 0
    assert poll.result is not None, "the long-poll was not woken by the worker"
    assert poll.result.status == 200 and poll.result.headers["etag"] != etag, poll.result
    assert poll.result.json["status"] in ("processing", "completed"), poll.result.json


def test_long_poll_without_if_none_match_gets_the_job_at_its_deadline():
    user, _, job = new_job(["youtube"])
    r = get(user, f"{STATUS}?jobId={job}&wait=1")
    assert r.status == 200 and r.json["jobId"] == job, r


def test_500_long_polls_are_held_to_their_deadline_with_few_connections():
    wait = 12
    requests = []
    for _ in range(20):  # 25 callers each: under the per-caller cap of parked requests
        user, _, job = new_job(["youtube"])
        etag = get(user, f"{STATUS}?jobId={job}").headers["etag"]
        headers = {"Authorization": "Bearer " + sptest.token(user), "If-None-Match": etag}
        requests += [(f"{STATUS}?jobId={job}&wait={wait}", headers)] * 25
    box = {}
    holder = threading.Thread(target=lambda: box.update(s=sptest.http_at_once(requests)),
                              daemon=True)
    holder.start()
    wait_parked(500, timeout=wait - 2)
    connections = status_connections()
    plain = [get(user, f"{STATUS}?jobId={job}").status for _ in range(20)]
    holder.join(wait + 60)
    assert box.get("s") == [304] * 500, sorted(set(box.get("s", [])))
    assert connections < 8, connections
    assert plain == [200] * 20, plain


def test_shutdown_answers_every_parked_long_poll():
    user, _, job = new_job(["youtube"])
    etag = get(user, f"{STATUS}?jobId={job}").headers["etag"]
    auth = {"Authorization": "Bearer " + sptest.token(user), "If-None-Match": etag}
    with fcgikit.Program(["social-post-status", "--threads", "2"]) as prog:
        polls = [fcgikit.Connection(prog.port, timeout=60) for _ in range(20)]
        for c in polls:
            c.send("GET", query=f"jobId={job}&wait=60", headers=auth)
        probe = fcgikit.Connection(prog.port)
        workerkit.wait_for("20 parked", lambda: metric(
            probe.request("GET", "/metrics", keep=True).body.decode(),
            "social_post_long_polls_parked", '{program="social-post-status"}') == 20)
        started = time.monotonic()
        assert prog.stop() == 0
        answers = [c.receive() for c in polls]
    assert [a.status if a else None for a in answers] == [304] * 20
    assert time.monotonic() - started < 30


def test_kept_connections_are_reused_and_idle_ones_hold_no_thread():
    before = metric(scrape(), "social_post_fastcgi_connections_total",
                    '{program="social-post-status"}')
    user, _, job = new_job(["youtube"])
    for _ in range(50):
        assert get(user, f"{STATUS}?jobId={job}").status == 200
    after = metric(scrape(), "social_post_fastcgi_connections_total",
                   '{program="social-post-status"}')
    assert after - before <= 8, (before, after)  # 51 requests, a handful of connections
    auth = {"Authorization": "Bearer " + sptest.token(user)}
    with fcgikit.Program(["social-post-status", "--threads", "2"]) as prog:
        idle = [fcgikit.Connection(prog.port) for _ in range(6)]  # more than threads
        for c in idle:
            assert c.request("GET", query=f"jobId={job}", headers=auth, keep=True).status == 200
        fresh = fcgikit.Connection(prog.port, timeout=10)
        assert fresh.request("GET", query=f"jobId={job}", headers=auth).status == 200
        for c in idle:  # and each kept connection still serves its next request
            assert c.request("GET", "/health", keep=True).status == 200
        idle[0].close()
        assert prog.stop() == 0


def test_more_clients_than_threads_all_get_answers():
    user, _, job = new_job(["youtube"])
    results = []

    def client():
        for _ in range(10):
            results.append(get(user, f"{STATUS}?jobId={job}").status)
    threads = [threading.Thread(target=client) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results == [200] * 240, sorted(set(results))


def test_metrics_pass_promtool():
    text = scrape()
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True)
    assert check.returncode == 0 and not check.stdout.strip(), (check.stdout, check.stderr)
    for family in ("social_post_http_requests_total", "social_post_http_request_duration_seconds",
                   "social_post_long_polls_parked", "social_post_deliveries"):
        assert f"# TYPE {family} " in text, family
    assert 'social_post_deliveries{platform="instagram",state="cancelled"}' in text


def test_two_processes_on_one_socket_report_the_same_totals():
    with fcgikit.Program(["social-post-status", "--threads", "2"], spawn=2) as prog:
        workerkit.wait_for("two processes", lambda: len(prog.spawned_children()) == 2)
        for _ in range(10):
            assert fcgikit.Connection(prog.port).request("GET", "/health").status == 200
        seen = []
        for _ in range(12):  # each scrape reaches either process
            text = fcgikit.Connection(prog.port).request("GET", "/metrics").body.decode()
            seen.append(int(metric(text, "social_post_http_requests_total",
                                   '{program="social-post-status",code="2xx"}')))
        assert prog.stop() == 0
    assert seen == list(range(10, 22)), seen


if __name__ == "__main__":
    sptest.run(globals())
