"""CORS: an allowed Origin gets its headers and a preflight answer; any other
Origin gets none."""
import sptest

ALLOWED = "https://app.example.test"


def test_preflight_from_allowed_origin():
    for path in ("/social-post", "/.netlify/functions/social-post-status"):
        r = sptest.http("OPTIONS", path, headers={
            "Origin": ALLOWED, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert r.status == 204, (r.status, r.body)
        assert r.headers.get("access-control-allow-origin") == ALLOWED, r.headers
        assert "Authorization" in r.headers.get("access-control-allow-headers", "")
        assert r.headers.get("access-control-allow-methods")


def test_responses_to_allowed_origin_carry_cors_headers():
    user = sptest.new_user()
    video = sptest.new_video(user)
    r = sptest.http("POST", "/social-post", {"videoId": video, "platforms": ["facebook"]},
                    headers={"Origin": ALLOWED}, token=sptest.token(user))
    assert r.status == 202
    assert r.headers.get("access-control-allow-origin") == ALLOWED
    assert "Location" in r.headers.get("access-control-expose-headers", "")
    e = sptest.http("GET", "/social-post-status?jobId=x", headers={"Origin": ALLOWED})
    assert e.status == 401 and e.headers.get("access-control-allow-origin") == ALLOWED


def test_other_origins_get_no_cors_headers():
    r = sptest.http("OPTIONS", "/social-post", headers={"Origin": "https://evil.example.test"})
    assert r.status == 204
    assert "access-control-allow-origin" not in r.headers, r.headers


if __name__ == "__main__":
    sptest.run(globals())
