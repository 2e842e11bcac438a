"""The seed's two calls, through nginx, under both path styles: submit answers
202 with jobId/status/message, status answers 200 with exactly the seed's fields
and the job's per-platform options (issue 15), {} when none were sent."""
import re

import sptest

SEED_STATUS_FIELDS = {"jobId", "status", "videoId", "platforms", "title", "description",
                      "results", "error", "createdAt", "updatedAt", "options"}
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def submit(path, user, body):
    return sptest.http("POST", path, body, token=sptest.token(user))


def test_seed_curl_examples_return_documented_shapes():
    user = sptest.new_user()
    video = sptest.new_video(user, title="Launch teaser")
    for prefix in ("/.netlify/functions/", "/"):
        r = submit(prefix + "social-post", user, {"videoId": video, "platforms": ["youtube"]})
        assert r.status == 202, (r.status, r.body)
        assert set(r.json) == {"jobId", "status", "message"}, r.json
        assert r.json["status"] == "pending"
        assert r.json["message"] == "Post job created and processing in background"
        job = r.json["jobId"]
        assert r.headers["location"] == f"{prefix}social-post-status?jobId={job}"
        s = sptest.http("GET", f"{prefix}social-post-status?jobId={job}", token=sptest.token(user))
        assert s.status == 200, (s.status, s.body)
        assert set(s.json) == SEED_STATUS_FIELDS, s.json
        assert s.json["jobId"] == job and s.json["videoId"] == video
        assert s.json["status"] in ("pending", "processing", "completed", "failed")
        assert s.json["platforms"] == ["youtube"]
        assert s.json["title"] == "Launch teaser"  # the video's title when none is sent
        assert s.json["description"] is None
        assert s.json["options"] == {}
        assert s.json["error"] is None
        assert isinstance(s.json["results"], dict)
        assert ISO_MS.match(s.json["createdAt"]) and ISO_MS.match(s.json["updatedAt"])


def test_submit_stores_what_was_sent():
    user = sptest.new_user()
    video = sptest.new_video(user)
    body = {"videoId": video.upper(), "platforms": ["instagram", "facebook", "youtube"],
            "title": "Caf\u00e9 \U0001F600", "description": "Line one\nLine two"}
    r = submit("/social-post", user, body)
    assert r.status == 202, r.body
    rows = sptest.sql("SELECT user_id::text, video_id::text, platforms::text, title, description,"
                      " status FROM social_post_jobs WHERE id = %s", (r.json["jobId"],))
    assert rows == [(user, video, '["instagram", "facebook", "youtube"]', body["title"],
                     body["description"], "pending")], rows


def test_status_of_unknown_job_is_404():
    user = sptest.new_user()
    r = sptest.http("GET", "/social-post-status?jobId=00000000-0000-4000-8000-000000000000",
                    token=sptest.token(user))
    assert r.status == 404 and r.json["code"] == "job_not_found", r.body


def test_other_users_job_and_video_are_404_and_invisible_in_sql():
    alice, bob = sptest.new_user(), sptest.new_user()
    video = sptest.new_video(alice)
    r = submit("/social-post", alice, {"videoId": video, "platforms": ["facebook"]})
    assert r.status == 202
    job = r.json["jobId"]
    s = sptest.http("GET", f"/social-post-status?jobId={job}", token=sptest.token(bob))
    assert s.status == 404 and s.json["code"] == "job_not_found", s.body
    before = sptest.sql("SELECT count(*) FROM social_post_jobs")[0][0]
    p = submit("/social-post", bob, {"videoId": video, "platforms": ["facebook"]})
    assert p.status == 404 and p.json["code"] == "video_not_found", p.body
    assert sptest.sql("SELECT count(*) FROM social_post_jobs")[0][0] == before
    assert sptest.sql_as(bob, "SELECT id FROM social_post_jobs WHERE user_id = %s", (alice,)) == []
    assert sptest.sql_as(bob, "SELECT count(*) FROM social_post_jobs")[0][0] == 0
    assert sptest.sql_as(alice, "SELECT count(*) FROM social_post_jobs")[0][0] == 1


def test_health_answers_when_database_is_up():
    r = sptest.http("GET", "/social-post-status/health")
    assert r.status == 200 and r.json["status"] == "ok", r.body


if __name__ == "__main__":
    sptest.run(globals())
