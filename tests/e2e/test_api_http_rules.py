"""HTTP as the RFCs say it, through nginx: If-None-Match by the weak
comparison (W/ tags, lists, *), HEAD answered like GET without a body,
nosniff on every JSON answer, and the page's redirect that stays on the host
it was asked on whatever the Host header says."""
import json
import time

import sptest
import workerkit

STATUS = "/social-post-status"


def new_job():
    user = sptest.new_user()
    return user, workerkit.submit(user, sptest.new_video(user), ["youtube"])


def test_if_none_match_is_compared_weakly():
    user, job = new_job()
    token = sptest.token(user)
    etag = sptest.http("GET", f"{STATUS}?jobId={job}", token=token).headers["etag"]
    assert etag.startswith('"'), etag
    for inm in ("W/" + etag, f'"other", W/{etag}', f' "other" ,{etag}', "*"):
        r = sptest.http("GET", f"{STATUS}?jobId={job}", token=token, headers={"If-None-Match": inm})
        assert r.status == 304, (inm, r)
    r = sptest.http("GET", f"{STATUS}?jobId={job}", token=token,
                    headers={"If-None-Match": '"other", W/"older"'})
    assert r.status == 200 and r.headers["etag"] == etag, r
    # a weak tag of the current version waits for a change, as the strong one does
    started = time.monotonic()
    r = sptest.http("GET", f"{STATUS}?jobId={job}&wait=2", token=token,
                    headers={"If-None-Match": "W/" + etag})
    assert r.status == 304 and time.monotonic() - started >= 1.8, r


def test_head_is_answered_like_get_without_a_body():
    user, job = new_job()
    token = sptest.token(user)
    get = sptest.http("GET", f"{STATUS}?jobId={job}", token=token)
    head = sptest.http("HEAD", f"{STATUS}?jobId={job}", token=token)
    assert head.status == 200 and head.body == b"", head
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-type"] == get.headers["content-type"]
    for path in (STATUS + "/health", STATUS):
        assert sptest.http("HEAD", path, token=token).status == 200, path
    assert sptest.http("HEAD", "/social-post", token=token).status == 405  # POST only
    assert "HEAD" in sptest.http("OPTIONS", STATUS, token=token).headers["allow"]


def test_json_answers_say_nosniff():
    user, job = new_job()
    token = sptest.token(user)
    answers = [
        sptest.http("GET", f"{STATUS}?jobId={job}", token=token),       # 200
        sptest.http("GET", f"{STATUS}?jobId={job}"),                    # 401
        sptest.http("GET", f"{STATUS}?jobId=nope", token=token),        # 400
        sptest.http("GET", f"{STATUS}/nowhere", token=token),           # 404
        sptest.http("POST", "/social-post", "x" * 70000, token=token),  # nginx's 413
        sptest.http("GET", STATUS + "/metrics"),
    ]
    for r in answers:
        assert r.headers.get("x-content-type-options") == "nosniff", r


def test_the_page_redirect_does_not_follow_a_foreign_host():
    r = sptest.http("GET", "/social-post-ui", headers={"Host": "attacker.example"})
    assert r.status == 301, r
    assert r.headers["location"] == "/social-post-ui/", r.headers["location"]
    assert sptest.http("HEAD", "/social-post-ui/").status == 200


def test_request_bytes_that_are_not_utf8_leave_valid_json_lines():
    log = sptest.state()["programs"]["social-post-status"]["log"]
    with open(log, "rb") as f:
        f.seek(0, 2)
        start = f.tell()
    r = sptest.http("GET", STATUS + "/%FF%C3(%C0%AF")  # nginx decodes: raw bytes reach the program
    assert r.status == 404 and r.json["code"] == "not_found", r
    assert r.body.decode("utf-8")
    lines = []
    for _ in range(50):
        with open(log, "rb") as f:
            f.seek(start)
            lines = [line for line in f.read().splitlines() if b'"status":404' in line]
        if lines:
            break
        time.sleep(0.1)
    assert lines, "no log line of the request"
    entry = json.loads(lines[-1].decode("utf-8"))  # strict: raises on invalid UTF-8
    assert entry["uri"] == STATUS + "/\ufffd\ufffd(\ufffd\ufffd", entry["uri"]


if __name__ == "__main__":
    sptest.run(globals())
