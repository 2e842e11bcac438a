"""A job's per-platform options: each bad form is refused with a 400 naming
the field and writes nothing, through the API and through the database as
a user writing social_post_jobs directly (Supabase lets them); good ones are
stored and echoed by the status and the list. Both sides judge the same
cases (tests/options/cases.json, also read by the C unit test)."""
import json
import os

import psycopg2

import sptest

with open(os.path.join(os.path.dirname(__file__), "..", "options", "cases.json")) as f:
    CASES = json.load(f)


def job_count():
    return sptest.sql("SELECT count(*) FROM social_post_jobs")[0][0]


def setup():
    user = sptest.new_user()
    return user, sptest.new_video(user)


def submit(user, body, headers=None):
    return sptest.http("POST", "/social-post", body, headers=headers, token=sptest.token(user))


def body_of(case, video):
    body = {"videoId": video, "platforms": case["platforms"], "options": case["options"],
            "title": case.get("title", "A title")}
    return body


def names(message, field):
    """True when message names field as a whole path (not a longer one)."""
    at = message.find(field)
    return at >= 0 and message[at + len(field):at + len(field) + 1] in ("", " ")


def insert_as(user, video, case):
    """Inserts the case's job as user over SQL; returns the new id."""
    return sptest.sql_as(
        user, "INSERT INTO social_post_jobs (user_id, video_id, platforms, title, options)"
        " VALUES (%s, %s, %s::jsonb, %s, %s::jsonb) RETURNING id::text",
        (user, video, json.dumps(case["platforms"]), case.get("title", "A title"),
         json.dumps(case["options"])))[0][0]


def test_each_bad_form_is_a_400_naming_the_field_and_writes_nothing():
    user, video = setup()
    for case in CASES["refused"]:
        before = job_count()
        r = submit(user, body_of(case, video))
        assert r.status == 400, (case["what"], r.status, r.body)
        assert r.json["code"] == case["code"], (case["what"], r.json)
        assert names(r.json["error"], case["field"]), (case["what"], r.json)
        assert job_count() == before, case["what"] + ": a refused submit wrote a row"


def test_good_options_are_stored_and_echoed_by_status_and_list():
    user, video = setup()
    for case in CASES["accepted"]:
        r = submit(user, body_of(case, video))
        assert r.status == 202, (case["what"], r.body)
        job = r.json["jobId"]
        stored = sptest.sql("SELECT options FROM social_post_jobs WHERE id = %s", (job,))[0][0]
        assert stored == case["options"], (case["what"], stored)
        status = sptest.http("GET", "/social-post-status?jobId=" + job, token=sptest.token(user))
        assert status.status == 200 and status.json["options"] == case["options"], status.body
    listed = sptest.http("GET", "/social-post-status", token=sptest.token(user)).json["jobs"]
    assert [j["options"] for j in reversed(listed)] == [c["options"] for c in CASES["accepted"]]


def test_a_job_without_options_echoes_an_empty_object():
    user, video = setup()
    r = submit(user, {"videoId": video, "platforms": ["facebook"], "options": None})
    assert r.status == 202, r.body
    status = sptest.http("GET", "/social-post-status?jobId=" + r.json["jobId"],
                         token=sptest.token(user))
    assert status.json["options"] == {}, status.body


def test_the_idempotency_key_tells_different_options_apart():
    user, video = setup()
    key = {"Idempotency-Key": "options-" + user}
    first = {"videoId": video, "platforms": ["youtube"], "title": "T",
             "options": {"youtube": {"privacyStatus": "private"}}}
    r1 = submit(user, first, key)
    assert r1.status == 202, r1.body
    again = submit(user, first, key)
    assert again.status == 202 and again.json["jobId"] == r1.json["jobId"], again.body
    other = dict(first, options={"youtube": {"privacyStatus": "public"}})
    r2 = submit(user, other, key)
    assert r2.status == 422 and r2.json["code"] == "idempotency_key_reused", r2.body


def test_each_bad_form_written_directly_is_refused_naming_the_field():
    user, video = setup()
    for case in CASES["refused"]:
        before = job_count()
        try:
            insert_as(user, video, case)
        except psycopg2.Error as e:
            assert e.pgcode == "23514", (case["what"], e.pgcode, e)
            assert names(e.diag.message_primary, case["field"]), (case["what"], str(e))
        else:
            raise AssertionError(case["what"] + ": the database took it")
        assert job_count() == before, case["what"] + ": a refused insert wrote a row"


def test_good_options_written_directly_are_taken():
    user, video = setup()
    for case in CASES["accepted"]:
        job = insert_as(user, video, case)
        stored = sptest.sql("SELECT options FROM social_post_jobs WHERE id = %s", (job,))[0][0]
        assert stored == case["options"], case["what"]


def test_an_update_to_bad_options_is_refused_and_changes_nothing():
    user, video = setup()
    job = insert_as(user, video, {"platforms": ["instagram"],
                                  "options": {"instagram": {"shareToFeed": True}}})
    bad = {"instagram": {"collaborators": ["a", "b", "c", "d"]}}
    try:
        sptest.sql_as(user, "UPDATE social_post_jobs SET options = %s::jsonb WHERE id = %s",
                      (json.dumps(bad), job))
    except psycopg2.Error as e:
        assert names(e.diag.message_primary, "options.instagram.collaborators"), str(e)
    else:
        raise AssertionError("the database took a fourth collaborator")
    stored = sptest.sql("SELECT options FROM social_post_jobs WHERE id = %s", (job,))[0][0]
    assert stored == {"instagram": {"shareToFeed": True}}, stored


def test_the_database_and_the_api_give_the_same_message():
    user, video = setup()
    for case in CASES["refused"]:
        r = submit(user, body_of(case, video))
        problem = sptest.sql("SELECT social_post_check_options(%s::jsonb, %s::jsonb, %s, NULL)",
                             (json.dumps(case["platforms"]), json.dumps(case["options"]),
                              case.get("title", "A title")))[0][0]
        assert problem == r.json["error"], (case["what"], problem, r.json["error"])
    for case in CASES["accepted"]:
        assert sptest.sql("SELECT social_post_check_options(%s::jsonb, %s::jsonb)",
                          (json.dumps(case["platforms"]), json.dumps(case["options"])))[0][0] is None


def test_a_user_may_ask_the_database_before_writing():
    user = sptest.new_user()
    asked = sptest.sql_as(user, "SELECT social_post_check_options(%s::jsonb, %s::jsonb)",
                          ('["instagram"]', json.dumps({"instagram": {"collaborators": list("abcd")}})))
    assert asked == [("options.instagram.collaborators has at most 3 usernames",)], asked
    fine = sptest.sql_as(user, "SELECT social_post_check_options('[\"tiktok\"]',"
                         " '{\"tiktok\": {\"privacyLevel\": \"SELF_ONLY\"}}')")
    assert fine == [(None,)], fine


if __name__ == "__main__":
    sptest.run(globals())
