"""The programs behind a stock nginx location, as nginx users write it:

    location /social-post-status { include fastcgi_params; fastcgi_pass ...; }

That sets no PATH_INFO (the snippet in nginx/ sets it; this does not), so the
programs must route from DOCUMENT_URI, in both path styles. This test starts a
second nginx on a free port with such a configuration (faultkit.StockNginx),
pointed at the stack's running FastCGI programs (their ports are in
state.json), and stops it again.
"""
import uuid

import faultkit as fk
import sptest

def test_stock_location_without_path_info_routes_every_endpoint():
    nginx = fk.StockNginx()
    try:
        user = sptest.new_user()
        video = sptest.new_video(user)
        tok = sptest.token(user)
        checks = fk.Checks("a stock nginx location (no PATH_INFO)")
        for base in ("", "/.netlify/functions"):
            r = nginx.http("POST", base + "/social-post", {"videoId": video, "platforms": ["youtube"]}, tok)
            if not checks.check(r.status == 202, f"{base}/social-post submit: {r.status} {r.body[:200]}"):
                continue
            job = r.json["jobId"]
            r = nginx.http("GET", f"{base}/social-post-accounts", token=tok)
            checks.check(r.status == 200 and r.json == {"accounts": [], "choices": []},
                         f"{base}/social-post-accounts: {r.status} {r.body[:200]}")
            r = nginx.http("GET", f"{base}/social-post-status?jobId={job}", token=tok)
            checks.check(r.status == 200 and r.json.get("jobId") == job,
                         f"{base}/social-post-status?jobId: {r.status} {r.body[:200]}")
            r = nginx.http("GET", base + "/social-post-status/health")
            checks.check(r.status == 200 and (r.json or {}).get("status") == "ok",
                         f"{base}/social-post-status/health reached the wrong handler: {r.status} {r.body[:200]}")
            r = nginx.http("GET", base + "/social-post-status/metrics")
            checks.check(r.status == 200 and b"social_post_" in r.body,
                         f"{base}/social-post-status/metrics: {r.status} {r.body[:120]}")
            r = nginx.http("POST", f"{base}/social-post/{job}/retry", token=tok)
            checks.check(r.status == 409 and (r.json or {}).get("code") == "conflict",
                         f"{base}/social-post/<id>/retry of a pending job should be 409 conflict: "
                         f"{r.status} {r.body[:200]}")
            r = nginx.http("POST", f"{base}/social-post/{job}/cancel", token=tok)
            checks.check(r.status == 200 and (r.json or {}).get("cancelled") == ["youtube"],
                         f"{base}/social-post/<id>/cancel reached the wrong handler: {r.status} {r.body[:200]}")
            r = nginx.http("POST", f"{base}/social-post/{uuid.uuid4()}/cancel", token=tok)
            checks.check(r.status == 404, f"{base}/social-post/<unknown id>/cancel: {r.status} {r.body[:200]}")
        checks.done()
    finally:
        nginx.stop()


if __name__ == "__main__":
    sptest.run(globals())
