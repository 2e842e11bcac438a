"""With Postgres stopped both endpoints answer 503 with Retry-After; once it is
back they work again without restarting the programs."""
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


if __name__ == "__main__":
    sptest.run(globals())
