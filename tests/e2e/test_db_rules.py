"""The database is an API too: users write social_post_jobs through Supabase
directly (RLS lets them), so every rule the HTTP API enforces must hold there.

Each test writes over SQL exactly as PostgREST does for a request: role
authenticated (or anon) with request.jwt.claims set, in one transaction, on a
database set up as a new Supabase project is (scripts/stack.py grants what
Supabase's default privileges grant), and checks what a user then sees: the
error (SQLSTATE and a message naming the field), the rows, and what the API
and the worker do with them.
"""
import json

import psycopg2

import sptest
import workerkit as wk

write_as = sptest.sql_as


def refused(user_id, query, params=None, role="authenticated", **claims):
    """The error of a write that must fail: (sqlstate, message, column)."""
    try:
        write_as(user_id, query, params, role, **claims)
    except psycopg2.Error as e:
        return e.pgcode, e.pgerror.splitlines()[0] if e.pgerror else "", e.diag.column_name
    raise AssertionError(f"accepted: {query} {params}")


# A TikTok job names its privacy level (migration 0013), so the rules under test here
# are the ones that refuse it.
INSERT = ("INSERT INTO social_post_jobs (user_id, video_id, platforms, title, description,"
          " callback_url, options)"
          " SELECT u, v, p, t, d, c, CASE WHEN jsonb_typeof(p) = 'array' AND p ? 'tiktok'"
          "   THEN '{\"tiktok\": {\"privacyLevel\": \"SELF_ONLY\"}}'::jsonb ELSE '{}'::jsonb END"
          " FROM (SELECT %s::uuid AS u, %s::uuid AS v, %s::jsonb AS p, %s::text AS t,"
          "              %s::text AS d, %s::text AS c) AS row_values RETURNING id")


def jobs_of(user):
    return sptest.sql("SELECT count(*) FROM social_post_jobs WHERE user_id = %s", (user,))[0][0]


def user_and_video(title="Clip"):
    user = sptest.new_user()
    return user, sptest.new_video(user, title=title)


# ---------------------------------------------------------------- item 10, 15: limits

def test_direct_inserts_obey_the_apis_limits_and_write_nothing():
    user, video = user_and_video()
    cases = [  # platforms, title, description, callback_url, field, words in the message
        ('"youtube"', "t", None, None, "platforms", "array"),
        ('{"youtube": true}', "t", None, None, "platforms", "array"),
        ("[]", "t", None, None, "platforms", "at least one"),
        ('["youtube", "youtube"]', "t", None, None, "platforms", "twice"),
        ('["myspace"]', "t", None, None, "platforms", "unknown platform"),
        ("[1]", "t", None, None, "platforms", "only strings"),
        (json.dumps(["youtube"] * 200000), "t", None, None, "platforms", "200000 entries"),
        ('["youtube"]', "x" * 101, None, None, "title", "100 characters"),
        ('["youtube"]', "a <b>", None, None, "title", "'<'"),
        ('["youtube"]', "t", "d" * 5001, None, "description", "5000 bytes"),
        ('["instagram"]', "t", "é" * 2200, None, "description", "2200 character caption"),
        ('["tiktok"]', "t", "é" * 2200, None, "description", "2200 character caption"),
        ('["tiktok"]', "t", "\U0001F600" * 1100, None, "description", "TikTok"),  # UTF-16 units
        ('["facebook"]', "t", "d" * (20 << 20), None, "description", "65536 bytes"),
        ('["facebook"]', "t", None, "ftp://example.com/hook", "callback_url", "http:// or https://"),
        ('["facebook"]', "t", None, "https://", "callback_url", "not a valid"),
        ('["facebook"]', "t", None, "https://a b.example/", "callback_url", "without spaces"),
        ('["facebook"]', "t", None, "https://u:p@example.com/", "callback_url", "credentials"),
        ('["facebook"]', "t", None, "https://example.com/#x", "callback_url", "fragment"),
        ('["facebook"]', "t", None, "https://example.com:70000/", "callback_url", "port"),
        ('["facebook"]', "t", None, "https://example.com/" + "a" * 2100, "callback_url", "2048"),
    ]
    problems = []
    for platforms, title, description, callback, field, words in cases:
        code, message, column = refused(user, INSERT, (user, video, platforms, title, description,
                                                       callback))
        if code != "23514" or column != field or words not in message:
            problems.append(f"{platforms[:40]} {str(title)[:20]} {str(description)[:20]} {callback}:"
                            f" {code} {column} {message[:200]}")
    assert not problems, "\n".join(problems)
    assert jobs_of(user) == 0, "a refused insert left a job"
    # within the limits, a direct insert works, and gets its deliveries
    [(job,)] = write_as(user, INSERT, (user, video, '["youtube", "instagram"]', "x" * 100,
                                       "fine", "https://example.com/hooks?a=1"))
    assert sptest.sql("SELECT count(*) FROM social_post_deliveries WHERE job_id = %s", (job,))[0][0] == 2


def test_the_api_answers_a_database_refusal_with_400_naming_the_field():
    """A rule the database holds and the API's own checks may not (TikTok's
    caption length): the submit is answered 400 with the database's message,
    and nothing is written."""
    user, video = user_and_video()
    r = sptest.http("POST", "/social-post", {"videoId": video, "platforms": ["tiktok"],
                                             "title": "t", "description": "x" * 2300,
                                             "options": {"tiktok": {"privacyLevel": "SELF_ONLY"}}},
                    token=sptest.token(user))
    assert r.status == 400 and "2200" in r.json["error"], (r.status, r.body)
    assert jobs_of(user) == 0


OPTIONS_INSERT = ("INSERT INTO social_post_jobs (user_id, video_id, platforms, title, options)"
                  " VALUES (%s, %s, %s::jsonb, %s, %s::jsonb) RETURNING id")


def test_each_platform_is_checked_with_the_text_it_will_be_posted_with():
    """A platform's own title in options (migration 0012; the options' other
    rules are migration 0013's) is what that platform is checked with."""
    user, video = user_and_video()
    long_title = "F" * 150  # fine for Facebook, too long for YouTube
    write_as(user, OPTIONS_INSERT, (user, video, '["youtube", "facebook"]', long_title,
                                    json.dumps({"youtube": {"title": "Short for YouTube"}})))
    code, message, column = refused(user, OPTIONS_INSERT, (
        user, video, '["youtube"]', "ok", json.dumps({"youtube": {"title": "y" * 101}})))
    assert (code, column) == ("23514", "options") and "100 characters" in message, (code, message)
    assert jobs_of(user) == 1


def test_a_missing_title_is_the_videos_as_the_api_and_the_worker_choose_it():
    user, video = user_and_video(title="From the video")
    write_as(user, INSERT, (user, video, '["youtube"]', None, None, None))
    user2, untitled = user_and_video(title="")
    code, message, column = refused(user2, INSERT, (user2, untitled, '["youtube"]', None, None, None))
    assert (code, column) == ("23514", "title") and "needs a title" in message, message


def test_users_may_change_only_title_and_description_within_the_limits():
    user, video = user_and_video()
    [(job,)] = write_as(user, INSERT, (user, video, '["youtube"]', "Before", "desc", None))
    write_as(user, "UPDATE social_post_jobs SET title = 'After', description = 'new' WHERE id = %s",
             (job,))
    assert sptest.sql("SELECT title, description FROM social_post_jobs WHERE id = %s",
                      (job,))[0] == ("After", "new")
    forbidden = {
        "callback_url": "'https://example.com/hook'",
        "platforms": "'[\"facebook\"]'",
        "status": "'completed'",
        "results": "'{\"youtube\": {\"success\": true}}'",
        "error": "'x'",
        "video_id": f"'{sptest.new_video(user)}'",
        "scheduled_at": "now() + interval '1 day'",
        "idempotency_key": "'k'",
        "request_hash": "'h'",
        "created_at": "'2000-01-01'",
        "options": "'{\"youtube\": {\"title\": \"x\"}}'",
    }
    problems = []
    for column, value in forbidden.items():
        code, message, _ = refused(user, f"UPDATE social_post_jobs SET {column} = {value}"
                                         " WHERE id = %s", (job,))
        if code != "42501" or "only the title and description" not in message:
            problems.append(f"{column}: {code} {message}")
    code, message, column = refused(user, "UPDATE social_post_jobs SET title = %s WHERE id = %s",
                                    ("y" * 101, job))
    if (code, column) != ("23514", "title"):
        problems.append(f"a 101-character YouTube title: {code} {column} {message}")
    assert not problems, "\n".join(problems)
    row = sptest.sql("SELECT callback_url, status, title FROM social_post_jobs WHERE id = %s", (job,))[0]
    assert row == (None, "pending", "After"), row


def test_created_at_and_the_request_hash_are_the_services_own():
    user, video = user_and_video()
    [(job,)] = write_as(user, "INSERT INTO social_post_jobs (user_id, video_id, platforms, title,"
                              " idempotency_key, request_hash, created_at, updated_at, status, results)"
                              " VALUES (%s, %s, '[\"facebook\"]', 'Mine', 'key-1', 'chosen',"
                              " '2000-01-01', '2000-01-01', 'completed', '{\"x\": 1}') RETURNING id",
                        (user, video))
    created, updated, digest, status = sptest.sql(
        "SELECT extract(epoch FROM now() - created_at), extract(epoch FROM now() - updated_at),"
        " request_hash, status FROM social_post_jobs WHERE id = %s", (job,))[0]
    assert created < 60 and updated < 60, (created, updated)
    assert digest != "chosen" and len(digest) == 64, digest
    assert status == "pending", status
    # the API's submit with the same key and request finds that job; another request is refused
    tok = sptest.token(user)
    same = sptest.http("POST", "/social-post", {"videoId": video, "platforms": ["facebook"],
                                                "title": "Mine"},
                       headers={"Idempotency-Key": "key-1"}, token=tok)
    assert same.status in (200, 202) and same.json["jobId"] == job, (same.status, same.body)
    other = sptest.http("POST", "/social-post", {"videoId": video, "platforms": ["facebook"],
                                                 "title": "Other"},
                        headers={"Idempotency-Key": "key-1"}, token=tok)
    assert other.status == 422, (other.status, other.body)
    # and the API's own submits still replay
    first = sptest.http("POST", "/social-post", {"videoId": video, "platforms": ["facebook"]},
                        headers={"Idempotency-Key": "key-2"}, token=tok)
    again = sptest.http("POST", "/social-post", {"videoId": video, "platforms": ["facebook"]},
                        headers={"Idempotency-Key": "key-2"}, token=tok)
    assert first.status == 202 and again.json["jobId"] == first.json["jobId"], again.body


# ---------------------------------------------------------------- item 11: anonymous users

def test_anonymous_sign_ins_cannot_insert_jobs_unless_allowed():
    user, video = user_and_video()
    code, message, _ = refused(user, INSERT, (user, video, '["facebook"]', "t", None, None),
                               is_anonymous=True)
    assert code == "42501" and "anonymous" in message, (code, message)
    code, message, _ = refused(user, INSERT, (user, video, '["facebook"]', "t", None, None),
                               is_anonymous="true")
    assert code == "42501", (code, message)
    assert jobs_of(user) == 0
    # the API refuses the same token
    r = sptest.http("POST", "/social-post", {"videoId": video, "platforms": ["facebook"]},
                    token=sptest.token(user, is_anonymous=True))
    assert r.status == 401, (r.status, r.body)
    write_as(user, INSERT, (user, video, '["facebook"]', "t", None, None), is_anonymous=False)
    try:
        sptest.sql("INSERT INTO social_post_settings (name, enabled) VALUES"
                   " ('allow_anonymous_users', true)")
        write_as(user, INSERT, (user, video, '["facebook"]', "t", None, None), is_anonymous=True)
    finally:
        sptest.sql("DELETE FROM social_post_settings WHERE name = 'allow_anonymous_users'")
    assert jobs_of(user) == 2


def test_the_worker_fails_jobs_of_anonymous_users_with_a_clear_error():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("anon.mp4", 64 * 1024)
        user, video = wk.user_with_video(url, title="Anonymous")
        wk.connect(user, "facebook")
        sptest.sql("UPDATE auth.users SET is_anonymous = true WHERE id = %s", (user,))
        [(job,)] = sptest.sql("INSERT INTO social_post_jobs (user_id, video_id, platforms)"
                              " VALUES (%s, %s, '[\"facebook\"]') RETURNING id", (user, video))
        w = p.worker("--once")
        assert w.wait(60) == 0, w.output()
        status, error = sptest.sql("SELECT status, error FROM social_post_jobs WHERE id = %s",
                                   (job,))[0]
        assert status == "failed" and "anonymous" in (error or ""), (status, error)
        assert p.video.stats()["bytes_sent"] == 0, "the worker fetched the video"


# ---------------------------------------------------------------- item 14: privileges

def test_api_roles_cannot_move_the_deliveries_sequence():
    user = sptest.new_user()
    seq = sptest.sql("SELECT pg_get_serial_sequence('public.social_post_deliveries', 'id')")[0][0]
    for role in ("anon", "authenticated"):
        for query in (f"SELECT setval('{seq}', 9223372036854775806)", f"SELECT nextval('{seq}')"):
            code, message, _ = refused(user, query, role=role)
            assert code == "42501", (role, query, code, message)
    # and a job inserted afterwards still gets its deliveries
    user, video = user_and_video()
    [(job,)] = write_as(user, INSERT, (user, video, '["facebook"]', "t", None, None))
    assert sptest.sql("SELECT count(*) FROM social_post_deliveries WHERE job_id = %s", (job,))[0][0] == 1


# What the API roles may do with our objects, and nothing more.
TABLE_RIGHTS = {
    ("anon", "social_post_jobs"): set(),
    ("authenticated", "social_post_jobs"): {"SELECT", "INSERT", "UPDATE"},
    ("authenticated", "product_videos"): {"SELECT", "INSERT", "UPDATE", "DELETE"},
    ("authenticated", "scheduled_posts"): {"SELECT"},
}
CALLABLE = {
    "anon": {"social_post_job_json", "social_post_platform_names", "social_post_platforms_problem",
             "social_post_text_problem", "social_post_callback_url_problem",
             "social_post_request_hash", "social_post_refuse", "social_post_caller_may_submit",
             "social_post_allows_anonymous"},
}
# migration 0013 (options): users may ask whether their options pass before they write
CALLABLE["anon"] |= {"social_post_check_options"}
CALLABLE["authenticated"] = CALLABLE["anon"] | {"social_post_retry_job", "social_post_cancel_job"}
# migration 0018 (connecting accounts): the accounts routes run as the caller; each
# function touches only the caller's rows (or those of the user a single-use state
# names) and none returns a token (0022: disconnect says only whether there was
# an account; revoke_take, which hands tokens back for revoking, is the role
# social_post_accounts' alone)
CALLABLE["authenticated"] |= {"social_post_account_begin", "social_post_account_choose",
                              "social_post_account_fail", "social_post_account_offer",
                              "social_post_account_disconnect", "social_post_account_store",
                              "social_post_account_take", "social_post_accounts_of_caller"}


def test_no_object_of_ours_is_open_to_the_api_roles_beyond_what_they_need():
    problems = []
    tables = [t for (t,) in sptest.sql(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')"
        "   AND (c.relname LIKE 'social_post%%'"
        "        OR c.relname IN ('product_videos', 'scheduled_posts', 'social_accounts'))")]
    for role in ("anon", "authenticated"):
        for table in tables:
            kind = sptest.sql("SELECT relkind FROM pg_class WHERE oid = %s::regclass",
                              ("public." + table,))[0][0]
            privs = ("SELECT", "USAGE", "UPDATE") if kind == "S" else (
                "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
            fn = "has_sequence_privilege" if kind == "S" else "has_table_privilege"
            held = {p for p in privs
                    if sptest.sql(f"SELECT {fn}(%s, %s, %s)", (role, "public." + table, p))[0][0]}
            allowed = TABLE_RIGHTS.get((role, table), set())
            if held - allowed:
                problems.append(f"{role} has {sorted(held - allowed)} on {table}")
        callable_ = {name for (name,) in sptest.sql(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public' AND p.proname LIKE 'social_post%%'"
            "   AND has_function_privilege(%s, p.oid, 'EXECUTE')", (role,))}
        if callable_ - CALLABLE[role]:
            problems.append(f"{role} may call {sorted(callable_ - CALLABLE[role])}")
    assert not problems, "\n".join(problems)


def test_users_cannot_truncate_the_history():
    user = sptest.new_user()
    for role in ("authenticated", "anon"):
        for table in ("scheduled_posts", "social_post_jobs", "social_post_webhooks"):
            code, message, _ = refused(user, f"TRUNCATE {table}", role=role)
            assert code == "42501", (role, table, code, message)


def test_anon_writes_nothing():
    user, video = user_and_video()
    code, _, _ = refused(user, INSERT, (user, video, '["facebook"]', "t", None, None), role="anon")
    assert code == "42501", code
    [(job,)] = write_as(user, INSERT, (user, video, '["facebook"]', "t", None, None))
    code, _, _ = refused(user, "UPDATE social_post_jobs SET title = 'x' WHERE id = %s", (job,),
                         role="anon")
    assert code == "42501", code
    for call in ("SELECT social_post_retry_job(%s)", "SELECT social_post_cancel_job(%s)",
                 "SELECT social_post_refresh_job(%s)"):
        code, _, _ = refused(user, call, (job,), role="anon")
        assert code == "42501", (call, code)


sptest.run(globals())
