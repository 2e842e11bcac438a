"""Limits of parked long-polls: a stalled database never holds an answer past
its promised wait by more than a second (parked, or still on its first read), one caller parks at most 32 per
process (the next ones are answered at once), and nginx's limit_conn turns
away a flood of status requests from one address."""
import asyncio
import select
import time
import urllib.parse

import fakectl
import fcgikit
import sptest
import workerkit

STATUS = "/social-post-status"
PER_USER = 32     # SP_LONG_POLL_MAX_PER_USER
PER_ADDRESS = 1000  # limit_conn of nginx/social-post.conf


def new_job():
    user = sptest.new_user()
    job = workerkit.submit(user, sptest.new_video(user), ["youtube"])
    etag = sptest.http("GET", f"{STATUS}?jobId={job}", token=sptest.token(user)).headers["etag"]
    return user, job, etag


def auth(user, etag):
    return {"Authorization": "Bearer " + sptest.token(user), "If-None-Match": etag}


def test_a_stalled_database_does_not_hold_parked_answers_past_their_wait():
    user, job, etag = new_job()
    st = sptest.state()
    proxy = fakectl.Fake.start("tcp_proxy", args=["--target", f"127.0.0.1:{st['pg']['port']}"])
    url = st["api_database_url"].replace(f":{st['pg']['port']}/", f":{proxy.listen_port}/")
    try:
        with fcgikit.Program(["social-post-status", "--threads", "2"],
                             env={"DATABASE_URL": url}) as prog:
            conn = fcgikit.Connection(prog.port, timeout=60)
            started = time.monotonic()
            conn.send("GET", query=f"jobId={job}&wait=3", headers=auth(user, etag))
            time.sleep(0.5)  # parked
            proxy.mode("stall")  # the waker's reconnect now hangs
            proxy.cut()
            answer = conn.receive()
            late = time.monotonic() - started - 3
            proxy.mode("pass")
            assert answer is not None and answer.status == 304, answer
            assert late < 1.0, f"answered {late:.1f} s after its wait"
            assert prog.stop() == 0
    finally:
        proxy.mode("pass")
        proxy.stop()


def test_a_long_poll_whose_first_read_stalls_is_answered_within_its_wait():
    user, job, etag = new_job()
    st = sptest.state()
    proxy = fakectl.Fake.start("tcp_proxy", args=["--target", f"127.0.0.1:{st['pg']['port']}"])
    url = st["api_database_url"].replace(f":{st['pg']['port']}/", f":{proxy.listen_port}/")
    try:
        with fcgikit.Program(["social-post-status", "--threads", "1"],
                             env={"DATABASE_URL": url}) as prog:
            conn = fcgikit.Connection(prog.port, timeout=60)
            assert conn.request("GET", query=f"jobId={job}", headers=auth(user, etag),
                                keep=True).status == 304  # connected
            proxy.mode("stall")
            started = time.monotonic()
            answer = conn.request("GET", query=f"jobId={job}&wait=2", headers=auth(user, etag),
                                  keep=True)
            took = time.monotonic() - started
            proxy.mode("pass")
            assert answer is not None and answer.status == 503, answer
            assert answer.headers.get("retry-after"), answer.headers
            assert took < 3, f"answered after {took:.1f} s, promised 2"
            assert prog.stop() == 0
    finally:
        proxy.mode("pass")
        proxy.stop()


def test_one_caller_parks_at_most_32_long_polls_per_process():
    user, job, etag = new_job()
    other, other_job, other_etag = new_job()
    with fcgikit.Program(["social-post-status", "--threads", "2"]) as prog:
        conns = [fcgikit.Connection(prog.port, timeout=30) for _ in range(PER_USER + 8)]
        started = time.monotonic()
        for c in conns:
            c.send("GET", query=f"jobId={job}&wait=5", headers=auth(user, etag))
        theirs = fcgikit.Connection(prog.port, timeout=30)
        theirs.send("GET", query=f"jobId={other_job}&wait=5", headers=auth(other, other_etag))
        time.sleep(2)
        answered, _, _ = select.select([c.sock for c in conns + [theirs]], [], [], 0)
        assert len(answered) == 8, len(answered)  # the ones past the cap, at once
        assert theirs.sock not in answered  # another caller still parks
        answers = [c.receive() for c in conns + [theirs]]
        assert [a.status if a else None for a in answers] == [304] * (PER_USER + 9), answers
        assert time.monotonic() - started >= 4.5
        assert prog.stop() == 0


def test_long_polls_whose_clients_left_do_not_count_toward_the_cap():
    user, job, etag = new_job()
    with fcgikit.Program(["social-post-status", "--threads", "2"]) as prog:
        left = [fcgikit.Connection(prog.port, timeout=30) for _ in range(PER_USER)]
        for c in left:
            c.send("GET", query=f"jobId={job}&wait=30", headers=auth(user, etag))
        time.sleep(1)
        for c in left:  # as nginx does when their clients hang up
            c.close()
        time.sleep(2)
        started = time.monotonic()
        fresh = fcgikit.Connection(prog.port, timeout=30)
        answer = fresh.request("GET", query=f"jobId={job}&wait=2", headers=auth(user, etag))
        assert answer is not None and answer.status == 304, answer
        assert time.monotonic() - started >= 1.8, "answered at once: the cap still counted them"
        assert "499" in prog.log_text() or '"status":499' in prog.log_text()
        assert prog.stop() == 0


def test_nginx_limits_the_status_requests_one_address_holds():
    polls = []
    for _ in range(PER_ADDRESS // 25):  # each user under the program's own cap
        user, job, etag = new_job()
        polls += [(f"{STATUS}?jobId={job}&wait=8", auth(user, etag))] * 25
    user, job, etag = new_job()
    extra = [(f"{STATUS}?jobId={job}&wait=8", auth(user, etag))] * 10
    port = urllib.parse.urlsplit(sptest.state()["api_base_url"]).port

    async def flood():
        held = asyncio.ensure_future(sptest.http_at_once_async(port, polls))
        await asyncio.sleep(4)  # all parked by now
        started = time.monotonic()
        turned = await sptest.http_at_once_async(port, extra)
        took = time.monotonic() - started
        return await held, turned, took
    held, turned, took = asyncio.run(flood())
    assert held == [304] * PER_ADDRESS, sorted(set(held))
    assert turned == [429] * 10 and took < 2, (turned, took)


if __name__ == "__main__":
    sptest.run(globals())
