"""Live answers against docs/openapi.yaml: every endpoint, its success and its
error cases, through nginx and both path styles. For each answer the test
checks that its status code is documented for that operation, that the
headers the document marks required are there (and match their schemas), and
that the body validates against the documented JSON Schema (2020-12, with
$refs resolved here) or is empty where none is documented. A method a path
does not answer is checked against components.responses.MethodNotAllowed.

A real worker (against the platform fakes) finishes one job, so a status with
real per-platform results is checked too. The last test stops Postgres to see
the documented 503s. At the end every operation's documented success answer
must have been seen.
"""
import json
import os
import re
import uuid

import jsonschema
import yaml

import sptest
import workerkit

PREFIXES = ("", "/.netlify/functions")
with open(os.path.join(os.path.dirname(__file__), "..", "options", "cases.json")) as f:
    OPTION_CASES = json.load(f)
ORIGIN = "https://app.example.test"  # the stack's CORS_ALLOWED_ORIGINS
NIL = "00000000-0000-4000-8000-000000000000"
METHODS = ("get", "post", "put", "delete", "patch", "options", "head")

_spec = None
seen = set()  # (operationId, status) answered and checked


def spec():
    """docs/openapi.yaml with every $ref replaced by what it points at."""
    global _spec
    if _spec is None:
        with open(os.path.join(sptest.state()["source_dir"], "docs", "openapi.yaml")) as f:
            raw = yaml.safe_load(f)

        def pointer(ref):
            assert ref.startswith("#/"), f"only local $refs are resolved: {ref}"
            node = raw
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            return node

        def resolve(node, depth=0):
            assert depth < 50, "a $ref cycle"
            if isinstance(node, dict):
                if "$ref" in node:
                    target = resolve(pointer(node["$ref"]), depth + 1)
                    rest = {k: resolve(v, depth + 1) for k, v in node.items() if k != "$ref"}
                    return {**target, **rest} if rest else target
                return {k: resolve(v, depth + 1) for k, v in node.items()}
            if isinstance(node, list):
                return [resolve(v, depth + 1) for v in node]
            return node

        _spec = resolve(raw)
    return _spec


def operation(template, method):
    item = spec()["paths"].get(template)
    assert item, f"{template} is not documented"
    op = item.get(method.lower())
    assert op, f"{method} {template} is not documented"
    return op


def validate(instance, schema, what):
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))

    def why(e):
        while e.context:  # oneOf/anyOf: the alternative that got furthest in
            e = max(e.context, key=lambda c: len(c.absolute_path))
        return f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message[:300]}"

    assert not errors, f"{what}: {json.dumps(instance)[:1000]} does not match the document: " + \
        "; ".join(why(e) for e in errors[:5])


def check_answer(r, documented, what):
    """Checks one HTTP answer against a documented Response object."""
    for name, header in documented.get("headers", {}).items():
        value = r.headers.get(name.lower())
        if header.get("required"):
            assert value is not None, f"{what}: required header {name} missing: {r.headers}"
        if value is not None and "schema" in header:
            validate(value, header["schema"], f"{what}: header {name}")
    content = documented.get("content")
    if not content:
        assert not r.body, f"{what}: a body where none is documented: {r.body[:200]!r}"
        return
    ctype = r.headers.get("content-type", "")
    media = content.get(ctype) or content.get(ctype.split(";")[0].strip())
    assert media is not None, f"{what}: Content-Type {ctype!r} not documented ({list(content)})"
    if ctype.startswith("application/json"):
        assert r.json is not None, f"{what}: not JSON: {r.body[:200]!r}"
        validate(r.json, media["schema"], what)
    else:
        validate(r.body.decode(), media["schema"], what)


def check(r, template, method):
    """Checks r, the answer to method on a path matching template."""
    op = operation(template, method)
    what = f"{method} {template} -> {r.status}"
    documented = op["responses"].get(str(r.status))
    assert documented, f"{what}: status not documented ({sorted(op['responses'])}): {r.body[:300]!r}"
    check_answer(r, documented, what)
    seen.add((op["operationId"], r.status))
    return r


def check_other_method(r, template, method):
    """A method the path does not answer: 405 as documented, with Allow."""
    item = spec()["paths"][template]
    assert method.lower() not in item, f"{method} {template} is an operation"
    assert r.status == 405, (template, method, r.status, r.body)
    check_answer(r, spec()["components"]["responses"]["MethodNotAllowed"],
                 f"{method} {template} -> 405")
    allowed = {m.strip().lower() for m in r.headers["allow"].split(",")}
    expected = {m for m in METHODS if m in item} | ({"head"} if "get" in item else set())
    assert allowed == expected, (r.headers["allow"], list(item))  # HEAD with every GET
    seen.add(("(other method)", 405))


def call(method, template, prefix="", values=None, query="", **kw):
    path = prefix + template.format(**(values or {})) + query
    return sptest.http(method, path, **kw)


def user_with_video(title="Demo video", **kw):
    user = sptest.new_user()
    return user, sptest.new_video(user, title=title, **kw), sptest.token(user)


def submit(tok, body, prefix="", headers=None):
    return check(call("POST", "/social-post", prefix, body=body, token=tok, headers=headers),
                 "/social-post", "POST")


def finish(job, platform, state):
    """What a worker would record for a final delivery (as test_api_job_controls does)."""
    result = ('{"success": true, "url": "https://example.test/p", "postId": "p"}'
              if state == "succeeded" else '{"success": false, "error": "boom"}')
    sptest.sql("UPDATE social_post_deliveries SET state = %s, result = %s::jsonb,"
               " last_error = CASE WHEN %s = 'failed' THEN 'boom' END"
               " WHERE job_id = %s AND platform = %s", (state, result, state, job, platform))
    sptest.sql("SELECT social_post_refresh_job(%s)", (job,))


# ---------------------------------------------------------------- the document itself

def test_document_lists_every_endpoint_and_code_shape():
    paths = spec()["paths"]
    assert set(paths) == {"/social-post", "/social-post/{jobId}/retry",
                          "/social-post/{jobId}/cancel", "/social-post-status",
                          "/social-post-status/health", "/social-post-status/metrics",
                          "/social-post-accounts", "/social-post-accounts/{platform}/connect",
                          "/social-post-accounts/callback", "/social-post-accounts/{platform}/choose",
                          "/social-post-accounts/{platform}"}, list(paths)
    urls = [s["url"] for s in spec()["servers"]]
    assert any(u.endswith("/.netlify/functions") for u in urls), urls
    ids = [op["operationId"] for item in paths.values() for m, op in item.items() if m in METHODS]
    assert len(ids) == len(set(ids)), ids
    submit_fields = spec()["components"]["schemas"]["SubmitRequest"]["properties"]
    assert {"videoId", "platforms", "title", "description", "scheduledAt",
            "callbackUrl", "options"} <= set(submit_fields)
    result = spec()["components"]["schemas"]["PlatformResult"]["properties"]
    assert {"success", "url", "postId", "error", "state", "attempts", "lastError", "phase",
            "progress", "visibility"} <= set(result)
    assert spec()["components"]["schemas"]["Platform"]["enum"] == [
        "youtube", "facebook", "instagram", "tiktok"]


def test_each_platforms_options_schema_has_exactly_the_keys_the_api_takes():
    # the accepted case that sets every option of every platform (tests/options)
    every = OPTION_CASES["accepted"][0]["options"]
    options = spec()["components"]["schemas"]["Options"]["properties"]
    assert set(options) == set(every), list(options)
    for platform, schema in options.items():
        assert schema["additionalProperties"] is False, platform
        assert set(schema["properties"]) == set(every[platform]), (platform, list(schema["properties"]))
    assert options["tiktok"]["required"] == ["privacyLevel"]


def test_the_options_schema_takes_the_good_cases_and_refuses_the_bad():
    schema = spec()["components"]["schemas"]["Options"]
    validator = jsonschema.Draft202012Validator(schema)
    for case in OPTION_CASES["accepted"]:
        validate(case["options"], schema, case["what"])
    for case in OPTION_CASES["refused"]:
        if not case.get("beyond_schema"):
            assert not validator.is_valid(case["options"]), case["what"]


# ---------------------------------------------------------------- submit

def test_submit_accepts_and_replays_in_both_path_styles():
    user, video, tok = user_with_video()
    for prefix in PREFIXES:
        r = submit(tok, {"videoId": video, "platforms": ["youtube"]}, prefix)
        assert r.status == 202, r.body
        assert r.headers["location"] == f"{prefix}/social-post-status?jobId={r.json['jobId']}"
    key = {"Idempotency-Key": "openapi-" + str(uuid.uuid4())}
    body = {"videoId": video, "platforms": ["facebook"], "title": "t", "description": None,
            "scheduledAt": "2020-01-01T00:00:00Z"}
    first = submit(tok, body, headers=key)
    again = submit(tok, body, headers=key)
    assert first.status == again.status == 202 and first.json["jobId"] == again.json["jobId"]
    assert again.headers.get("idempotent-replayed") == "true", again.headers
    other = submit(tok, dict(body, title="other"), headers=key)
    assert other.status == 422 and other.json["code"] == "idempotency_key_reused", other.body


def test_submit_with_options_and_its_status_are_documented():
    user, video, tok = user_with_video()
    every = OPTION_CASES["accepted"][0]
    r = submit(tok, {"videoId": video, "platforms": every["platforms"], "title": "Options",
                     "options": every["options"]})
    assert r.status == 202, r.body
    template = "/social-post-status"
    s = check(call("GET", template, query=f"?jobId={r.json['jobId']}", token=tok), template, "GET")
    assert s.status == 200 and s.json["options"] == every["options"], s.body
    s = check(call("GET", template, token=tok), template, "GET")
    assert s.json["jobs"][0]["options"] == every["options"], s.body


def test_submit_errors_are_documented():
    user, video, tok = user_with_video()
    _, untitled, tok2 = user_with_video(title="")
    ok = {"videoId": video, "platforms": ["youtube"]}
    cases = [
        ("{not json", "application/json", tok, "invalid_json"),
        (b'{"videoId": "\xff"}', "application/json", tok, "invalid_utf8"),
        ({"platforms": ["youtube"]}, None, tok, "missing_field"),
        ({"videoId": "nope", "platforms": ["youtube"]}, None, tok, "invalid_field"),
        ({"videoId": video, "platforms": []}, None, tok, "invalid_field"),
        ({"videoId": video, "platforms": ["myspace"]}, None, tok, "unknown_platform"),
        ({"videoId": video, "platforms": ["youtube", "youtube"]}, None, tok,
         "duplicate_platform"),
        ({"videoId": untitled, "platforms": ["youtube"]}, None, tok2, "title_required"),
        (dict(ok, title="t" * 101), None, tok, "title_too_long"),
        (dict(ok, description="d" * 5001), None, tok, "description_too_long"),
        (dict(ok, title="a <b>"), None, tok, "invalid_characters"),
        ({"videoId": video, "platforms": ["instagram"], "description": "d" * 2300}, None, tok,
         "caption_too_long"),
        (dict(ok, scheduledAt="tomorrow"), None, tok, "invalid_field"),
        (dict(ok, options=[]), None, tok, "invalid_field"),
        (dict(ok, options={"myspace": {}}), None, tok, "unknown_platform"),
        (dict(ok, options={"facebook": {}}), None, tok, "platform_not_chosen"),
        (dict(ok, options={"youtube": {"privacy": "public"}}), None, tok, "unknown_option"),
        (dict(ok, options={"youtube": {"privacyStatus": "friends"}}), None, tok, "invalid_option"),
        ({"videoId": video, "platforms": ["tiktok"]}, None, tok, "missing_option"),
        ('{"videoId": "%s", "platforms": ["youtube"], "options": {"youtube": {"tags": [],'
         ' "tags": []}}}' % video, "application/json", tok, "duplicate_key"),
    ]
    for body, ctype, t, code in cases:
        headers = {"Content-Type": ctype} if ctype else None
        r = submit(t, body, headers=headers)
        assert r.status == 400 and r.json["code"] == code, (body, r.status, r.body)
    r = submit(tok, ok, headers={"Idempotency-Key": "has space"})
    assert r.status == 400 and r.json["code"] == "invalid_idempotency_key", r.body
    r = submit(None, ok)
    assert r.status == 401 and r.json["code"] == "missing_token", r.body
    r = submit("not.a.token", ok)
    assert r.status == 401 and r.json["code"] == "invalid_token", r.body
    r = submit(tok, {"videoId": str(uuid.uuid4()), "platforms": ["youtube"]})
    assert r.status == 404 and r.json["code"] == "video_not_found", r.body
    r = submit(tok, json.dumps(ok), headers={"Content-Type": "application/xml"})
    assert r.status == 415, r.body
    r = submit(tok, json.dumps(dict(ok, description="x" * (70 * 1024))))
    assert r.status == 413 and r.json["code"] == "body_too_large", r.body
    for method in ("GET", "PUT", "DELETE"):
        check_other_method(call(method, "/social-post", token=tok), "/social-post", method)


# ---------------------------------------------------------------- status and list

def test_status_etag_long_poll_and_list():
    user, video, tok = user_with_video()
    jobs = [submit(tok, {"videoId": video, "platforms": ["youtube", "facebook"]}).json["jobId"]
            for _ in range(3)]
    template = "/social-post-status"
    for prefix in PREFIXES:
        r = check(call("GET", template, prefix, query=f"?jobId={jobs[0]}", token=tok),
                  template, "GET")
        assert r.status == 200 and r.json["jobId"] == jobs[0], r.body
        etag = r.headers["etag"]
        r = check(call("GET", template, prefix, query=f"?jobId={jobs[0]}", token=tok,
                       headers={"If-None-Match": etag}), template, "GET")
        assert r.status == 304, r.status
        # long-poll: nothing changes, so after a second the same version (304)
        r = check(call("GET", template, prefix, query=f"?jobId={jobs[0]}&wait=1", token=tok,
                       headers={"If-None-Match": etag}), template, "GET")
        assert r.status == 304, r.status
        r = check(call("GET", template, prefix, query=f"?jobId={jobs[0]}&wait=1", token=tok),
                  template, "GET")
        assert r.status == 200, r.status
    r = check(call("GET", template, query="?limit=2", token=tok), template, "GET")
    assert r.status == 200 and len(r.json["jobs"]) == 2 and r.json["next"], r.body
    page2 = check(call("GET", template, query=f"?limit=2&before={r.json['next']}", token=tok),
                  template, "GET")
    assert page2.status == 200 and [j["jobId"] for j in page2.json["jobs"]] == [jobs[0]]
    assert page2.json["next"] is None, page2.json
    r = check(call("GET", template, query="?status=pending", token=tok), template, "GET")
    assert r.status == 200 and len(r.json["jobs"]) == 3, r.body


def test_status_errors_are_documented():
    user, video, tok = user_with_video()
    template = "/social-post-status"
    for query, code in (("?jobId=", "missing_job_id"), ("?jobId=nope", "invalid_job_id"),
                        (f"?jobId={NIL}&wait=61", "invalid_query"),
                        (f"?jobId={NIL}&wait=x", "invalid_query"),
                        ("?limit=0", "invalid_query"), ("?status=done", "invalid_query"),
                        ("?before=yesterday", "invalid_query"), ("?jobId=%zz", "invalid_query")):
        r = check(call("GET", template, query=query, token=tok), template, "GET")
        assert r.status == 400 and r.json["code"] == code, (query, r.status, r.body)
    r = check(call("GET", template, query=f"?jobId={NIL}", token=tok), template, "GET")
    assert r.status == 404 and r.json["code"] == "job_not_found", r.body
    r = check(call("GET", template, query=f"?jobId={NIL}"), template, "GET")
    assert r.status == 401 and r.json["code"] == "missing_token", r.body
    r = check(call("GET", template, token=sptest.token(user, exp_in=-3600)), template, "GET")
    assert r.status == 401 and r.json["code"] == "invalid_token", r.body
    for prefix in PREFIXES:
        check_other_method(call("POST", template, prefix, body={}, token=tok), template, "POST")


# ---------------------------------------------------------------- retry and cancel

def test_retry_and_cancel_answers_are_documented():
    user, video, tok = user_with_video()
    job = submit(tok, {"videoId": video, "platforms": ["youtube", "facebook"]}).json["jobId"]
    for action in ("retry", "cancel"):
        template = f"/social-post/{{jobId}}/{action}"
        for prefix in PREFIXES:
            r = check(call("POST", template, prefix, {"jobId": NIL}, token=tok), template, "POST")
            assert r.status == 404 and r.json["code"] == "job_not_found", r.body
        r = check(call("POST", template, values={"jobId": "not-a-uuid"}, token=tok),
                  template, "POST")
        assert r.status == 404, r.body
        r = check(call("POST", template, values={"jobId": job}), template, "POST")
        assert r.status == 401, r.body
        other = sptest.token(sptest.new_user())
        r = check(call("POST", template, values={"jobId": job}, token=other), template, "POST")
        assert r.status == 404, r.body  # someone else's job is not found
        check_other_method(call("GET", template, values={"jobId": job}, token=tok), template,
                           "GET")
    retry, cancel = "/social-post/{jobId}/retry", "/social-post/{jobId}/cancel"
    r = check(call("POST", retry, values={"jobId": job}, token=tok), retry, "POST")
    assert r.status == 409 and r.json["code"] == "conflict", r.body  # still pending
    finish(job, "youtube", "succeeded")
    finish(job, "facebook", "failed")
    r = check(call("POST", retry, "/.netlify/functions", {"jobId": job}, token=tok), retry, "POST")
    assert r.status == 202 and r.json["retried"] == ["facebook"], r.body
    assert r.headers["location"].startswith("/.netlify/functions/social-post-status?jobId=")
    r = check(call("POST", cancel, values={"jobId": job}, token=tok), cancel, "POST")
    assert r.status == 200 and r.json["cancelled"] == ["facebook"], r.body
    r = check(call("POST", cancel, values={"jobId": job}, token=tok), cancel, "POST")
    assert r.status == 409 and r.json["code"] == "conflict", r.body
    r = check(call("GET", "/social-post-status", query=f"?jobId={job}", token=tok),
              "/social-post-status", "GET")
    assert r.json["results"]["facebook"]["state"] == "cancelled", r.json


# ---------------------------------------------------------------- a real worker's results

def test_a_worked_job_validates_with_its_platform_results():
    workerkit.clear_queue()
    with workerkit.Platforms() as p:
        url, _ = p.video.add_video("openapi.mp4", 1 << 20)
        user, video = workerkit.user_with_video(url)
        tok = sptest.token(user)
        workerkit.connect(user, "youtube")
        workerkit.connect(user, "facebook")
        p.graph.faults([{"op": "fb_start", "status": 400, "code": 100,
                         "message": "Invalid parameter"}])
        job = workerkit.submit(user, video, ["youtube", "facebook"])
        w = p.worker("--concurrency", "2")
        done = workerkit.wait_job(user, job)
        assert w.stop() == 0
    r = check(call("GET", "/social-post-status", query=f"?jobId={job}", token=tok),
              "/social-post-status", "GET")
    assert r.json == done and r.json["status"] == "completed", r.json
    yt, fb = r.json["results"]["youtube"], r.json["results"]["facebook"]
    assert yt["success"] is True and yt["url"] and yt["postId"], yt
    assert fb["success"] is False and fb["state"] == "failed" and fb["error"], fb
    r = check(call("GET", "/social-post-status", query="?status=completed", token=tok),
              "/social-post-status", "GET")
    assert [j["jobId"] for j in r.json["jobs"]] == [job], r.json
    r = check(call("POST", "/social-post/{jobId}/retry", values={"jobId": job}, token=tok),
              "/social-post/{jobId}/retry", "POST")
    assert r.status == 202 and r.json["retried"] == ["facebook"], r.body
    workerkit.clear_queue()


# ---------------------------------------------------------------- operations and CORS

def test_health_metrics_and_preflights():
    for prefix in PREFIXES:
        r = check(call("GET", "/social-post-status/health", prefix), "/social-post-status/health",
                  "GET")
        assert r.status == 200, r.body
        r = check(call("GET", "/social-post-status/metrics", prefix),
                  "/social-post-status/metrics", "GET")
        assert r.status == 200 and "social_post_database_up 1" in r.body.decode(), r.body[:300]
    check_other_method(call("POST", "/social-post-status/health", body={}),
                       "/social-post-status/health", "POST")
    for template in spec()["paths"]:
        values = {"jobId": NIL, "platform": "youtube"}
        for headers in ({"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}, {}):
            r = check(call("OPTIONS", template, values=values, headers=headers), template,
                      "OPTIONS")
            assert r.status == 204, (template, r.status, r.body)
            if headers:
                assert r.headers.get("access-control-allow-origin") == ORIGIN, r.headers
                assert "Authorization" in r.headers.get("access-control-allow-headers", "")
            else:
                assert "access-control-allow-origin" not in r.headers, r.headers


# ---------------------------------------------------------------- database outage

def test_outage_answers_are_documented():
    user, video, tok = user_with_video()
    job = submit(tok, {"videoId": video, "platforms": ["youtube"]}).json["jobId"]
    sptest.pg_stop()
    try:
        for _ in range(2):  # more than one thread's connection
            r = submit(tok, {"videoId": video, "platforms": ["youtube"]})
            assert r.status == 503 and r.json["code"].startswith("database_"), r.body
            r = check(call("GET", "/social-post-status", query=f"?jobId={job}", token=tok),
                      "/social-post-status", "GET")
            assert r.status == 503, r.body
            r = check(call("GET", "/social-post-status/health"), "/social-post-status/health",
                      "GET")
            assert r.status == 503, r.body
            r = check(call("POST", "/social-post/{jobId}/cancel", values={"jobId": job},
                           token=tok), "/social-post/{jobId}/cancel", "POST")
            assert r.status == 503, r.body
            r = check(call("GET", "/social-post-status/metrics"), "/social-post-status/metrics",
                       "GET")
            assert r.status == 200 and "social_post_database_up 0" in r.body.decode()
    finally:
        sptest.pg_start()
    for _ in range(10):  # every thread reconnects
        r = check(call("GET", "/social-post-status/health"), "/social-post-status/health", "GET")
        if r.status == 200:
            break
    assert r.status == 200, r.body


def test_account_routes_are_documented():
    import http.client
    import urllib.parse
    oauth = sptest.state()["programs"]["sandbox-oauth"]["port"]

    def consent(url, decision):
        u = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection("127.0.0.1", oauth, timeout=30)
        conn.request("GET", u.path + "?" + u.query + "&decision=" + decision)
        location = conn.getresponse().getheader("Location")
        conn.close()
        u = urllib.parse.urlsplit(location)
        return u.path + "?" + u.query

    for prefix in PREFIXES:
        user = sptest.new_user()
        tok = sptest.token(user)
        check(call("GET", "/social-post-accounts", prefix, token=tok), "/social-post-accounts", "GET")
        check(call("GET", "/social-post-accounts", prefix), "/social-post-accounts", "GET")
        tpl = "/social-post-accounts/{platform}/connect"
        r = check(call("POST", tpl, prefix, {"platform": "facebook"}, token=tok), tpl, "POST")
        cookie = r.headers["set-cookie"].split(";", 1)[0]
        r = check(call("GET", consent(r.json["authorizeUrl"], "allow"), prefix,
                       headers={"Cookie": cookie}), "/social-post-accounts/callback", "GET")
        assert "accounts=choose" in r.headers["location"], r.headers
        check(call("POST", tpl, prefix, {"platform": "myspace"}, token=tok), tpl, "POST")
        check(call("POST", tpl, prefix, {"platform": "tiktok"}), tpl, "POST")
        tpl = "/social-post-accounts/{platform}/choose"
        check(call("GET", "/social-post-accounts", prefix, token=tok), "/social-post-accounts", "GET")
        check(call("POST", tpl, prefix, {"platform": "facebook"}, body={"accountId": "0"}, token=tok),
              tpl, "POST")
        check(call("POST", tpl, prefix, {"platform": "facebook"}, body={}, token=tok), tpl, "POST")
        check(call("POST", tpl, prefix, {"platform": "facebook"}, body="x", token=tok,
                   headers={"Content-Type": "image/png"}), tpl, "POST")
        check(call("POST", tpl, prefix, {"platform": "facebook"}, body={"accountId": "102927594431953"},
                   token=tok), tpl, "POST")
        tpl = "/social-post-accounts/{platform}"
        check(call("DELETE", tpl, prefix, {"platform": "facebook"}, token=tok), tpl, "DELETE")
        check(call("DELETE", tpl, prefix, {"platform": "facebook"}, token=tok), tpl, "DELETE")
        check(call("DELETE", tpl, prefix, {"platform": "facebook"}), tpl, "DELETE")
        check(call("GET", "/social-post-accounts/callback", prefix, query="?state=nope&code=x"),
              "/social-post-accounts/callback", "GET")


# ---------------------------------------------------------------- coverage

def test_every_operation_answered_its_success():
    for template, item in spec()["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            # a success, or the redirect of a callback that sends the browser on
            ok = [int(c) for c in op["responses"] if re.fullmatch(r"[23]\d\d", c)]
            assert any((op["operationId"], c) in seen for c in ok), \
                f"{method.upper()} {template}: no success answer was checked"
    documented = sum(len(op["responses"]) for item in spec()["paths"].values()
                     for m, op in item.items() if m in METHODS)
    print(f"checked {len(seen)} (operation, status) pairs live, of {documented} documented")


if __name__ == "__main__":
    sptest.run(globals())
