"""Bad input gets the right 4xx with a JSON {error, code}, never a 5xx, and
nothing is written to the database."""
import sptest

NIL_UUID = "00000000-0000-4000-8000-000000000000"


def job_count():
    return sptest.sql("SELECT count(*) FROM social_post_jobs")[0][0]


def assert_error(r, status, code=None):
    assert r.status == status, (r.status, r.body)
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    assert isinstance(r.json, dict) and isinstance(r.json.get("error"), str), r.body
    assert isinstance(r.json.get("code"), str), r.body
    if code:
        assert r.json["code"] == code, r.json


def post(user, body, headers=None):
    return sptest.http("POST", "/social-post", body, headers=headers, token=sptest.token(user))


def refused(user, body, status, code=None, headers=None):
    before = job_count()
    r = post(user, body, headers)
    assert_error(r, status, code)
    assert job_count() == before, "a refused request wrote a row"
    return r


def setup():
    user = sptest.new_user()
    return user, sptest.new_video(user)


def test_malformed_json_is_400():
    user, video = setup()
    for raw in ('{"videoId": ', "not json", "", "[1,2]", '"string"', "null",
                '{"videoId":"%s","platforms":["youtube"]} extra' % video):
        refused(user, raw, 400, headers={"Content-Type": "application/json"})


def test_wrong_types_are_400():
    user, video = setup()
    for body in ({"videoId": 5, "platforms": ["youtube"]},
                 {"videoId": video, "platforms": "youtube"},
                 {"videoId": video, "platforms": [["youtube"]]},
                 {"videoId": video, "platforms": ["youtube"], "title": 5},
                 {"videoId": video, "platforms": ["youtube"], "title": {"a": 1}},
                 {"videoId": video, "platforms": ["youtube"], "description": True},
                 {"videoId": [video], "platforms": ["youtube"]}):
        refused(user, body, 400)


def test_missing_fields_are_400():
    user, video = setup()
    refused(user, {"platforms": ["youtube"]}, 400, "missing_field")
    refused(user, {"videoId": video}, 400, "missing_field")


def test_platform_mistakes_are_400():
    user, video = setup()
    refused(user, {"videoId": video, "platforms": ["myspace"]}, 400, "unknown_platform")
    refused(user, {"videoId": video, "platforms": ["facebook", "facebook"]}, 400, "duplicate_platform")
    refused(user, {"videoId": video, "platforms": []}, 400, "invalid_field")


def test_invalid_uuids_are_400():
    user, _ = setup()
    for vid in ("", "123", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", NIL_UUID + "0", "' OR 1=1 --"):
        refused(user, {"videoId": vid, "platforms": ["youtube"]}, 400)
    for q in ("jobId=123", "jobId=%27%20OR%201%3D1", "jobId=", "jobId=%zz", "jobId=" + "a" * 100):
        r = sptest.http("GET", "/social-post-status?" + q, token=sptest.token(user))
        assert_error(r, 400)


def test_unknown_video_is_404():
    user, _ = setup()
    refused(user, {"videoId": NIL_UUID, "platforms": ["youtube"]}, 404, "video_not_found")


def test_over_long_fields_are_400():
    user, video = setup()
    refused(user, {"videoId": video, "platforms": ["youtube"], "title": "t" * 101}, 400, "title_too_long")
    refused(user, {"videoId": video, "platforms": ["youtube"], "description": "d" * 5001}, 400,
            "description_too_long")
    refused(user, {"videoId": video, "platforms": ["instagram"], "title": "t",
                   "description": "d" * 2200}, 400, "caption_too_long")
    # the same title is fine where the platform allows it
    r = post(user, {"videoId": video, "platforms": ["facebook"], "title": "t" * 101})
    assert r.status == 202, r.body


def test_youtube_needs_a_title():
    user = sptest.new_user()
    video = sptest.sql("INSERT INTO product_videos (user_id, title, video_url) VALUES (%s, NULL,"
                       " 'http://127.0.0.1:9/v.mp4') RETURNING id::text", (user,))[0][0]
    refused(user, {"videoId": video, "platforms": ["youtube"]}, 400, "title_required")


def test_two_megabyte_body_is_413():
    user, video = setup()
    body = '{"videoId":"%s","platforms":["youtube"],"title":"%s"}' % (video, "x" * (2 * 1024 * 1024))
    refused(user, body, 413, "body_too_large", headers={"Content-Type": "application/json"})


def test_wrong_content_type_is_415():
    user, video = setup()
    good = '{"videoId":"%s","platforms":["youtube"]}' % video
    for ct in ("application/x-www-form-urlencoded", "text/xml", "multipart/form-data; boundary=x"):
        refused(user, good, 415, "unsupported_media_type", headers={"Content-Type": ct})


def test_wrong_method_is_405_with_allow():
    user, _ = setup()
    for method, path in (("GET", "/social-post"), ("PUT", "/social-post"), ("DELETE", "/social-post"),
                         ("POST", "/social-post-status"), ("PATCH", "/social-post-status?jobId=" + NIL_UUID)):
        r = sptest.http(method, path, token=sptest.token(user))
        assert_error(r, 405, "method_not_allowed")
        assert r.headers.get("allow"), r.headers


def test_unknown_sub_path_is_404():
    user, _ = setup()
    for method, path in (("POST", "/social-post/nothing-here"), ("GET", "/social-post-status/nope")):
        r = sptest.http(method, path, {} if method == "POST" else None, token=sptest.token(user))
        assert_error(r, 404)


def test_sql_metacharacters_are_stored_not_executed():
    user, video = setup()
    title = "Robert'); DROP TABLE social_post_jobs;-- $1 \\ %s"
    desc = "\"; SELECT pg_sleep(10); -- ' || ' $$ \\x00"
    r = post(user, {"videoId": video, "platforms": ["facebook"], "title": title, "description": desc})
    assert r.status == 202, r.body
    s = sptest.http("GET", "/social-post-status?jobId=" + r.json["jobId"], token=sptest.token(user))
    assert s.json["title"] == title and s.json["description"] == desc, s.json


def test_nul_and_invalid_utf8_are_400():
    user, video = setup()
    head = '{"videoId":"%s","platforms":["facebook"],"title":' % video
    for raw in (head.encode() + b'"a\\u0000b"}', head.encode() + b'"a\x00b"}',
                head.encode() + b'"caf\xe9"}', head.encode() + b'"\xed\xa0\x80"}',
                head.encode() + b'"\\ud800"}'):
        refused(user, raw, 400, headers={"Content-Type": "application/json"})


def test_browser_text_plain_body_is_accepted():
    # fetch() with a string body and no Content-Type sends text/plain;charset=UTF-8,
    # as the seed's frontend code does
    user, video = setup()
    r = post(user, '{"videoId":"%s","platforms":["facebook"]}' % video,
             headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert r.status == 202, r.body


if __name__ == "__main__":
    sptest.run(globals())
