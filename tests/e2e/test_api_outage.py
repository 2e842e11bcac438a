"""With Postgres stopped both endpoints answer 503 with Retry-After; once it is
back they work again without restarting the programs."""
import time

import sptest


def test_database_outage_is_503_then_recovers():
    user = sptest.new_user()
    video = sptest.new_video(user)
    tok = sptest.token(user)
    body = {"videoId": video, "platforms": ["youtube"]}
    ok = sptest.http("POST", "/social-post", body, token=tok)
    assert ok.status == 202, ok.body
    job = ok.json["jobId"]
    sptest.pg_stop()
    try:
        for _ in range(3):  # every thread's connection, not only the first one
            for method, path, b in (("POST", "/social-post", body),
                                    ("GET", f"/social-post-status?jobId={job}", None),
                                    ("GET", "/social-post-status/health", None)):
                r = sptest.http(method, path, b, token=tok)
                assert r.status == 503, (path, r.status, r.body)
                assert r.headers.get("retry-after"), r.headers
                assert r.json["code"].startswith("database_"), r.json
    finally:
        sptest.pg_start()
    for _ in range(10):
        r = sptest.http("POST", "/social-post", body, token=tok)
        assert r.status == 202, (r.status, r.body)
        s = sptest.http("GET", f"/social-post-status?jobId={job}", token=tok)
        assert s.status == 200, (s.status, s.body)
    assert sptest.http("GET", "/social-post-status/health").status == 200


def test_parked_long_poll_survives_a_database_restart():
    """The waker loses its LISTEN connection; it reconnects, re-reads every
    parked long-poll once, and still wakes them on later changes."""
    import threading
    user = sptest.new_user()
    video = sptest.new_video(user)
    tok = sptest.token(user)
    job = sptest.http("POST", "/social-post", {"videoId": video, "platforms": ["youtube"]},
                      token=tok).json["jobId"]
    path = f"/social-post-status?jobId={job}"
    etag = sptest.http("GET", path, token=tok).headers["etag"]
    box = {}
    poll = threading.Thread(target=lambda: box.update(r=sptest.http(
        "GET", path + "&wait=50", headers={"If-None-Match": etag}, token=tok, timeout=80)))
    poll.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and "social_post_long_polls_parked{program=" \
            "\"social-post-status\"} 1" not in sptest.http("GET", "/social-post-status/metrics"
                                                         ).body.decode():
        time.sleep(0.1)
    sptest.pg_stop()
    sptest.pg_start()
    time.sleep(2)  # the waker reconnects within a second or two
    sptest.sql("UPDATE social_post_jobs SET description = 'after the restart' WHERE id = %s",
               (job,))
    poll.join(70)
    r = box.get("r")
    assert r is not None and r.status == 200, r
    assert r.json["description"] == "after the restart", r.json


if __name__ == "__main__":
    sptest.run(globals())
