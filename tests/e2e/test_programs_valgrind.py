"""The FastCGI programs under valgrind: a mix of requests (kept connections,
parked long-polls woken and timed out, errors), then SIGTERM with long-polls
still parked. valgrind must report no error and no definite leak. In the
sanitizer build (ASan checks the stack's programs there) these tests pass
without running valgrind."""
import os
import shutil
import time

import fcgikit
import sptest
import workerkit

VALGRIND = ["valgrind", "-q", "--error-exitcode=3", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect"]


def skipped():
    return os.environ.get("SP_SANITIZE") == "ON" or not shutil.which("valgrind")


def job_for(user, video, platforms=("youtube",)):
    r = sptest.http("POST", "/social-post", {"videoId": video, "platforms": list(platforms)},
                    token=sptest.token(user))
    assert r.status == 202, r.body
    return r.json["jobId"]


def parked(conn, n):
    text = conn.request("GET", "/metrics", keep=True).body.decode()
    return f'social_post_long_polls_parked{{program="social-post-status"}} {n}\n' in text


def test_status_program_is_clean_under_valgrind():
    if skipped():
        return
    user = sptest.new_user()
    video = sptest.new_video(user)
    job = job_for(user, video)
    auth = {"Authorization": "Bearer " + sptest.token(user)}
    with fcgikit.Program(["social-post-status", "--threads", "2"], prefix=VALGRIND) as prog:
        kept = fcgikit.Connection(prog.port, timeout=60)
        first = kept.request("GET", query=f"jobId={job}", headers=auth, keep=True)
        assert first.status == 200, first
        etag = first.headers["etag"]
        inm = dict(auth, **{"If-None-Match": etag})
        assert kept.request("GET", query=f"jobId={job}", headers=inm, keep=True).status == 304
        time.sleep(1)  # listening by now: the next 304 comes from the known version
        assert kept.request("GET", query=f"jobId={job}", headers=inm, keep=True).status == 304
        assert kept.request("GET", query="", headers=auth, keep=True).status == 200
        assert kept.request("GET", query="jobId=nope", headers=auth, keep=True).status == 400
        assert kept.request("GET", query=f"jobId={job}", keep=True).status == 401
        assert kept.request("GET", "/health", keep=True).status == 200
        assert kept.request("POST", "/health", keep=True).status == 405
        assert kept.request("OPTIONS", "", keep=True).status == 204
        assert kept.request("GET", "/nope", keep=True).status == 404
        # a long-poll woken by a change, one that times out, two left parked at SIGTERM
        woken = fcgikit.Connection(prog.port, timeout=60)
        woken.send("GET", query=f"jobId={job}&wait=30", headers=inm, keep=True)
        timed = fcgikit.Connection(prog.port, timeout=60)
        timed.send("GET", query=f"jobId={job}&wait=1", headers=inm)
        workerkit.wait_for("woken parked", lambda: parked(kept, 2) or parked(kept, 1), 60)
        assert timed.receive().status == 304
        sptest.sql("UPDATE social_post_jobs SET description = 'changed' WHERE id = %s", (job,))
        answer = woken.receive()
        assert answer.status == 200 and answer.json["description"] == "changed", answer
        etag = answer.headers["etag"]
        inm = dict(auth, **{"If-None-Match": etag})
        left = [fcgikit.Connection(prog.port, timeout=60) for _ in range(2)]
        for c in left:
            c.send("GET", query=f"jobId={job}&wait=60", headers=inm)
        workerkit.wait_for("two parked", lambda: parked(kept, 2), 60)
        assert prog.stop(timeout=120) == 0, prog.log_text()[-3000:]
        assert [c.receive().status for c in left] == [304, 304]


def test_submit_program_is_clean_under_valgrind():
    if skipped():
        return
    user = sptest.new_user()
    video = sptest.new_video(user)
    auth = {"Authorization": "Bearer " + sptest.token(user), "Content-Type": "application/json"}
    body = ('{"videoId": "%s", "platforms": ["youtube", "facebook"]}' % video).encode()
    with fcgikit.Program(["social-post", "--threads", "2"], prefix=VALGRIND) as prog:
        c = fcgikit.Connection(prog.port, timeout=60)
        made = c.request("POST", "", headers=auth, body=body, keep=True)
        assert made.status == 202, made
        job = made.json["jobId"]
        key = dict(auth, **{"Idempotency-Key": "valgrind-1"})
        assert c.request("POST", "", headers=key, body=body, keep=True).status == 202
        again = c.request("POST", "", headers=key, body=body, keep=True)
        assert again.status == 202 and again.headers.get("idempotent-replayed") == "true"
        other = body.replace(b"facebook", b"instagram")
        assert c.request("POST", "", headers=key, body=other, keep=True).status == 422
        missing = body.replace(video.encode(), b"00000000-0000-4000-8000-000000000000")
        assert c.request("POST", "", headers=auth, body=missing, keep=True).status == 404
        assert c.request("POST", "", headers=auth, body=b"{", keep=True).status == 400
        with_options = ('{"videoId": "%s", "platforms": ["youtube", "tiktok"], "options":'
                        ' {"youtube": {"tags": ["a b"], "title": "Own"},'
                        ' "tiktok": {"privacyLevel": "SELF_ONLY"}}}' % video).encode()
        key2 = dict(auth, **{"Idempotency-Key": "valgrind-2"})
        assert c.request("POST", "", headers=key2, body=with_options, keep=True).status == 202
        bad = with_options.replace(b'"SELF_ONLY"', b'"EVERYONE"')
        assert c.request("POST", "", headers=auth, body=bad, keep=True).status == 400
        assert c.request("POST", f"/{job}/retry", headers=auth, keep=True).status == 409
        assert c.request("POST", f"/{job}/cancel", headers=auth, keep=True).status == 200
        assert c.request("POST", f"/{job}/cancel", headers=auth).status == 409
        assert prog.stop(timeout=120) == 0, prog.log_text()[-3000:]


def test_connecting_accounts_is_clean_under_valgrind():
    if skipped():
        return
    import http.client
    import urllib.parse
    st = sptest.state()
    oauth_port = st["programs"]["sandbox-oauth"]["port"]

    def consent(url, decision="allow"):
        u = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection("127.0.0.1", oauth_port, timeout=30)
        conn.request("GET", u.path + "?" + u.query + "&decision=" + decision)
        location = conn.getresponse().getheader("Location")
        conn.close()
        return urllib.parse.urlsplit(location).query

    user = sptest.new_user()
    auth = {"Authorization": "Bearer " + sptest.token(user), "Content-Type": "application/json"}
    env = sptest._stack_module().connect_env(st)
    with fcgikit.Program(["social-post", "--threads", "2"], prefix=VALGRIND, env=env) as prog:
        c = fcgikit.Connection(prog.port, timeout=120)
        for platform, decision in (("facebook", "allow"), ("youtube", "allow"), ("tiktok", "deny"),
                                   ("instagram", "allow")):
            r = c.request("POST", f"/accounts/{platform}/connect", headers=auth, keep=True)
            assert r.status == 200, r
            cookie = r.headers["set-cookie"].split(";", 1)[0]
            query = consent(r.json["authorizeUrl"], decision)
            back = c.request("GET", "/accounts/callback", query=query, headers={"Cookie": cookie},
                             keep=True)
            assert back.status == 303, back
            again = c.request("GET", "/accounts/callback", query=query, headers={"Cookie": cookie},
                              keep=True)
            assert "accounts=used_state" in again.headers["location"], again.headers
        body = b'{"accountId": "102927594431953"}'
        assert c.request("POST", "/accounts/facebook/choose", headers=auth, body=body,
                         keep=True).status == 200
        listed = c.request("GET", "/accounts", headers=auth, keep=True)
        assert listed.status == 200 and len(listed.json["accounts"]) == 3, listed
        assert c.request("DELETE", "/accounts/youtube", headers=auth, keep=True).status == 200
        assert c.request("DELETE", "/accounts/youtube", headers=auth, keep=True).status == 404
        assert c.request("POST", "/accounts/myspace/connect", headers=auth).status == 404
        assert prog.stop(timeout=120) == 0, prog.log_text()[-3000:]


def test_worker_run_is_clean_under_valgrind():
    """A worker posting one job to all three platforms, through a refreshed
    YouTube token, a retried chunk and Instagram's processing wait, then
    stopped with SIGTERM: no valgrind error, no definite leak (exit 3 else)."""
    if skipped():
        return
    with workerkit.Platforms() as p:
        workerkit.clear_queue()
        p.graph.config({"ig_transcode_seconds": 1})
        p.youtube.config({"expired_tokens": ["ya29.valid-token"]})
        p.youtube.faults([{"op": "put", "status": 503}])
        url, sha = p.video.add_video("valgrind.mp4", 2 << 20)
        user, video = workerkit.user_with_video(url, title="Under valgrind")
        workerkit.connect(user, "youtube")
        workerkit.connect(user, "facebook", access_token="EAAB-page-token", account_id="1000001")
        workerkit.connect(user, "instagram", access_token="IGQ-token", account_id="1780001")
        job = workerkit.submit(user, video, ["youtube", "facebook", "instagram"])
        w = p.worker("--concurrency", "2", "--ig-poll", "0.5", "--lease", "60", prefix=VALGRIND)
        s = workerkit.wait_job(user, job, timeout=240)
        assert s["status"] == "completed" and s["error"] is None, s
        assert all(s["results"][pl]["success"] for pl in ("youtube", "facebook", "instagram")), s
        assert p.youtube.stats()["videos"][0]["sha256"] == sha
        code = w.stop(timeout=120)
        assert code == 0, f"the worker under valgrind exited {code}: see {w.log_path}"


def test_worker_tiktok_run_is_clean_under_valgrind():
    """A worker posting to TikTok through a refreshed (rotated) token, a chunk
    TikTok did not expect and the processing wait: no valgrind error."""
    if skipped():
        return
    with workerkit.Platforms() as p:
        workerkit.clear_queue()
        p.tiktok.config({"expired_tokens": ["act.expired"], "processing_seconds": 1})
        p.tiktok.faults([{"op": "put", "status": 416, "skip": 1}])
        url, sha = p.video.add_video("valgrind-tt.mp4", 17 << 20)
        user, video = workerkit.user_with_video(url, title="TikTok under valgrind")
        workerkit.connect(user, "tiktok", access_token="act.expired", refresh_token="rft.first")
        job = workerkit.submit_options(user, video, ["tiktok"], {"tiktok": {"privacyLevel": "SELF_ONLY"}})
        w = p.worker("--ig-poll", "0.5", "--lease", "60", prefix=VALGRIND)
        s = workerkit.wait_job(user, job, timeout=240)
        assert s["status"] == "completed" and s["results"]["tiktok"]["success"], s
        assert p.tiktok.stats()["posts"][0]["sha256"] == sha
        code = w.stop(timeout=120)
        assert code == 0, f"the worker under valgrind exited {code}: see {w.log_path}"



def test_worker_meta_run_is_clean_under_valgrind():
    """A worker posting a vertical video as a Facebook Reel (its rupload cut
    once and resumed, the processing waited for) and a reel with an Instagram
    Login token (2207053 once: a new container): no valgrind error."""
    if skipped():
        return
    with workerkit.Platforms() as p:
        workerkit.clear_queue()
        p.graph.config({"fb_reel_publish_seconds": 1, "ig_transcode_seconds": 0})
        p.graph.faults([{"op": "fb_rupload", "drop_after_bytes": 1 << 20},
                        {"op": "ig_publish", "status": 400, "code": -1, "error_subcode": 2207053}])
        url, sha = p.video.add_video("valgrind-reel.mp4", 3 << 20,
                                     mp4={"width": 720, "height": 1280, "duration": 8})
        user, video = workerkit.user_with_video(url, title="Reel under valgrind")
        workerkit.connect(user, "facebook", access_token="EAAB-page-token")
        workerkit.connect(user, "instagram", access_token="IGAA-login-token")
        sptest.sql("UPDATE social_accounts SET login = 'instagram' WHERE user_id = %s"
                   " AND platform = 'instagram'", (user,))
        job = workerkit.submit(user, video, ["facebook", "instagram"])
        w = p.worker("--ig-poll", "0.5", "--lease", "60", prefix=VALGRIND)
        s = workerkit.wait_job(user, job, timeout=240)
        assert s["status"] == "completed", s
        stats = p.graph.stats()
        assert stats["fb_videos"][0]["reel"] and stats["fb_videos"][0]["sha256"] == sha, stats
        assert stats["ig_media_published"] == 1 and len(stats["ig_containers"]) == 2, stats
        code = w.stop(timeout=120)
        assert code == 0, f"the worker under valgrind exited {code}: see {w.log_path}"

if __name__ == "__main__":
    sptest.run(globals())
