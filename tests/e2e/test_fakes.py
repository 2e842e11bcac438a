"""Self-test of the platform fakes (tests/fakes/): the protocols the worker will
meet, driven with the curl command line, and the faults tests will inject.
Needs no database; under ctest it runs inside the stack fixture and ignores it.
Run directly: /usr/bin/python3 tests/e2e/test_fakes.py [test_name ...]
"""
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes"))
from fakectl import Fake  # noqa: E402
import platform_docs  # noqa: E402

MIB = 1 << 20
YT = GRAPH = VIDEO = None
TMP = None
INIT_PATH = "/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status"


# ---- helpers ---------------------------------------------------------------------
class Result:
    def __init__(self, rc, status, headers, body):
        self.rc, self.status, self.headers, self.body = rc, status, headers, body

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        return "<curl rc=%d status=%d %r %r>" % (self.rc, self.status, self.headers, self.body[:300])


def curl(*args):
    """Runs the curl command line; the status, headers and body of the last response."""
    with tempfile.TemporaryDirectory(dir=TMP) as d:
        hdr, body = os.path.join(d, "h"), os.path.join(d, "b")
        p = subprocess.run(["curl", "-q", "-sS", "--noproxy", "*", "--max-time", "60", "-D", hdr, "-o", body,
                            "-w", "%{http_code}", *args], capture_output=True, text=True)
        headers = {}
        if os.path.exists(hdr):
            with open(hdr, encoding="latin-1") as f:
                blocks = [b for b in f.read().replace("\r\n", "\n").split("\n\n") if b.startswith("HTTP/")]
            for line in (blocks[-1].split("\n")[1:] if blocks else []):
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        data = open(body, "rb").read() if os.path.exists(body) else b""
        return Result(p.returncode, int(p.stdout.strip() or 0), headers, data)


def write_file(name, data):
    path = os.path.join(TMP, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def yt_init(size, token="tok-1", title="My video", extra=None):
    meta = {"snippet": {"title": title, "description": "about it"}, "status": {"privacyStatus": "unlisted"}}
    args = ["-X", "POST", "-H", "Authorization: Bearer " + token, "-H", "X-Upload-Content-Length: %d" % size,
            "-H", "X-Upload-Content-Type: video/mp4", "-H", "Content-Type: application/json; charset=UTF-8",
            "--data-binary", json.dumps(meta)]
    return curl(*(args + list(extra or []) + [YT.url + INIT_PATH]))


def yt_put(session, data, first, total, token="tok-1"):
    path = write_file("chunk-%d" % first, data)
    return curl("-T", path, "-H", "Authorization: Bearer " + token, "-H", "Content-Type: video/mp4",
                "-H", "Content-Range: bytes %d-%d/%d" % (first, first + len(data) - 1, total), session)


def yt_probe(session, total, token="tok-1"):
    return curl("-X", "PUT", "-H", "Authorization: Bearer " + token, "-H", "Content-Range: bytes */%d" % total,
                "-H", "Content-Length: 0", session)


def stored_range(result):
    """n+1 from 'Range: bytes=0-n' of a 308, 0 without Range."""
    rng = result.headers.get("range")
    return int(rng.split("-")[1]) + 1 if rng else 0


def graph(path, *args, method="POST"):
    return curl("-X", method, *args, GRAPH.url + "/v27.0" + path)


def assert_graph_error(r, code, subcode=None, status=400):
    assert r.status == status, r
    err = r.json["error"]
    assert err["code"] == code and err.get("error_subcode") == subcode, err
    for key in ("message", "type", "is_transient", "fbtrace_id"):
        assert key in err, err


# ---- YouTube ---------------------------------------------------------------------
def test_youtube_resumable_upload_resumes_after_dropped_chunk():
    data = os.urandom(3 * MIB)
    total = len(data)
    r = yt_init(total)
    assert r.status == 200, r
    session = r.headers["location"]
    assert session.startswith(YT.url + "/upload/youtube/v3/videos?uploadType=resumable&upload_id="), session
    r = yt_put(session, data[:MIB], 0, total)
    assert r.status == 308 and r.headers.get("range") == "bytes=0-%d" % (MIB - 1), r
    YT.faults([{"op": "put", "drop_after_bytes": 300000}])
    r = yt_put(session, data[MIB:2 * MIB], MIB, total)
    assert r.rc != 0 and r.status != 200, r
    r = yt_probe(session, total)
    assert r.status == 308, r
    offset = stored_range(r)
    assert offset == MIB + 300000, r
    while offset < total:
        n = min(MIB, total - offset)
        r = yt_put(session, data[offset:offset + n], offset, total)
        if offset + n < total:
            assert r.status == 308 and stored_range(r) == offset + n, r
        offset += n
    assert r.status == 200, r
    video = r.json
    assert video["kind"] == "youtube#video" and len(video["id"]) == 11, video
    assert video["snippet"]["title"] == "My video" and video["status"]["uploadStatus"] == "uploaded", video
    assert video["status"]["privacyStatus"] == "unlisted", video
    st = YT.stats()
    assert st["videos_created"] == 1, st
    assert st["videos"][0]["sha256"] == sha256(data) and st["videos"][0]["size"] == total, st
    assert total <= st["bytes_received"] < 1.5 * total, st
    assert st["requests"]["put"] == 5 and st["faults_fired"] == {"put": 1}, st


def test_youtube_client_killed_mid_put_leaves_received_bytes_for_the_probe():
    YT.config({"bandwidth_bytes_per_sec": 4 * MIB})
    data = os.urandom(64 * MIB)  # more than loopback socket buffers hold
    session = yt_init(len(data)).headers["location"]
    path = write_file("killed", data)
    p = subprocess.Popen(["curl", "-q", "-sS", "--noproxy", "*", "-o", os.devnull, "-T", path,
                          "-H", "Content-Range: bytes 0-%d/%d" % (len(data) - 1, len(data)), session],
                         stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and YT.stats()["bytes_received"] < MIB:
        time.sleep(0.02)
    p.kill()
    p.wait()
    offset = stored_range(yt_probe(session, len(data)))  # supersedes the PUT still draining
    assert 0 < offset < len(data), offset
    YT.config({"bandwidth_bytes_per_sec": 0})
    r = yt_put(session, data[offset:], offset, len(data))
    assert r.status == 200 and YT.stats()["videos"][0]["sha256"] == sha256(data), r


def test_youtube_accepts_chunked_request_bodies():
    data = os.urandom(MIB + 5)
    session = yt_init(len(data)).headers["location"]
    p = subprocess.run(["curl", "-q", "-sS", "--noproxy", "*", "-o", os.devnull, "-w", "%{http_code}", "-T", "-",
                        "-H", "Content-Range: bytes 0-%d/%d" % (len(data) - 1, len(data)), session],
                       input=data, capture_output=True)
    assert p.stdout == b"200", p
    assert YT.stats()["videos"][0]["sha256"] == sha256(data)


def test_youtube_probe_before_any_bytes_has_no_range():
    r = yt_init(1000)
    r = yt_probe(r.headers["location"], 1000)
    assert r.status == 308 and "range" not in r.headers, r


def test_youtube_misaligned_chunk_is_400_and_wrong_offset_stores_nothing():
    data = os.urandom(2 * MIB)
    session = yt_init(len(data)).headers["location"]
    r = yt_put(session, data[:1000], 0, len(data))
    assert r.status == 400 and r.json["error"]["code"] == 400, r
    r = yt_put(session, data[:MIB], 0, len(data))
    assert r.status == 308 and stored_range(r) == MIB, r
    r = yt_put(session, data[:MIB // 2], MIB // 2, len(data))
    assert r.status == 308 and stored_range(r) == MIB, r
    r = yt_put(session, data[MIB:], MIB, len(data))
    assert r.status == 200, r
    assert YT.stats()["videos"][0]["sha256"] == sha256(data)


def test_youtube_completed_session_answers_same_video_and_never_a_second():
    data = os.urandom(300000)
    session = yt_init(len(data)).headers["location"]
    first = yt_put(session, data, 0, len(data))
    assert first.status == 200, first
    again = yt_put(session, data, 0, len(data))
    probe = yt_probe(session, len(data))
    assert again.status == 200 and again.json["id"] == first.json["id"], again
    assert probe.status == 200 and probe.json["id"] == first.json["id"], probe
    assert YT.stats()["videos_created"] == 1


def test_youtube_expired_token_is_401_on_init_and_put():
    YT.config({"expired_tokens": ["old-token"]})
    r = yt_init(1000, token="old-token")
    assert r.status == 401, r
    err = r.json["error"]
    assert err["status"] == "UNAUTHENTICATED" and err["errors"][0]["reason"] == "authError", err
    assert r.headers["www-authenticate"].startswith("Bearer"), r
    session = yt_init(1000).headers["location"]
    r = yt_put(session, b"x" * 1000, 0, 1000, token="old-token")
    assert r.status == 401, r
    assert YT.stats()["videos_created"] == 0


def test_youtube_unknown_session_is_404_and_lost_session_is_410():
    r = yt_probe(YT.url + "/upload/youtube/v3/videos?uploadType=resumable&upload_id=nope", 10)
    assert r.status == 404, r
    session = yt_init(1000).headers["location"]
    YT.faults({"op": "put", "status": 410})
    assert yt_probe(session, 1000).status == 410
    assert yt_probe(session, 1000).status == 410, "a lost session stays lost"
    other = yt_init(1000).headers["location"]
    YT.config({"lost_sessions": True})
    assert yt_probe(other, 1000).status == 410


def test_youtube_injected_faults_have_google_error_shape():
    YT.faults([{"op": "init", "status": 503},
               {"op": "init", "status": 429, "headers": {"Retry-After": "7"}},
               {"op": "init", "status": 403, "reason": "quotaExceeded"},
               {"op": "init", "status": 403, "reason": "userRateLimitExceeded"}])
    r = yt_init(1000)
    assert r.status == 503 and r.json["error"]["errors"][0]["reason"] == "backendError", r
    r = yt_init(1000)
    assert r.status == 429 and r.headers["retry-after"] == "7", r
    r = yt_init(1000)
    item = r.json["error"]["errors"][0]
    assert r.status == 403 and item["reason"] == "quotaExceeded" and item["domain"] == "youtube.quota", r
    r = yt_init(1000)
    assert r.status == 403 and r.json["error"]["errors"][0]["reason"] == "userRateLimitExceeded", r
    assert yt_init(1000).status == 200
    assert YT.stats()["requests"]["init"] == 5


def test_fault_rules_honour_times_and_skip():
    YT.faults([{"op": "init", "status": 500, "times": 2, "skip": 1}])
    assert [yt_init(10).status for _ in range(4)] == [200, 500, 500, 200]
    assert YT.pending_faults() == []


def test_delay_fault_delays_the_answer():
    YT.faults({"op": "init", "delay_ms": 400})
    t0 = time.monotonic()
    assert yt_init(10).status == 200
    assert time.monotonic() - t0 >= 0.4


def test_token_refresh_issues_token_and_revoked_refresh_token_is_invalid_grant():
    YT.config({"revoked_refresh_tokens": ["1//revoked"], "strict_tokens": True})
    form = ["-d", "grant_type=refresh_token", "-d", "client_id=cid", "-d", "client_secret=sec"]
    r = curl(*(form + ["-d", "refresh_token=1//good", YT.url + "/token"]))
    assert r.status == 200, r
    tok = r.json
    assert tok["access_token"].startswith("ya29.fake-") and tok["token_type"] == "Bearer", tok
    assert tok["expires_in"] == 3599 and tok["scope"] == "https://www.googleapis.com/auth/youtube.upload", tok
    assert yt_init(10, token=tok["access_token"]).status == 200, "an issued token is accepted"
    assert yt_init(10, token="never-issued").status == 401, "strict_tokens rejects unknown tokens"
    r = curl(*(form + ["-d", "refresh_token=1//revoked", YT.url + "/token"]))
    assert r.status == 400 and r.json == {"error": "invalid_grant",
                                          "error_description": "Token has been expired or revoked."}, r
    r = curl("-d", "grant_type=refresh_token", "-d", "refresh_token=1//good", YT.url + "/token")
    assert r.status == 400 and r.json["error"] == "invalid_request", r
    st = YT.stats()
    assert st["tokens_issued"] == 1 and st["last_authorization"] == "Bearer never-issued", st


def test_youtube_bandwidth_limit_paces_put_bodies():
    YT.config({"bandwidth_bytes_per_sec": 2 * MIB})
    data = os.urandom(MIB)
    session = yt_init(len(data)).headers["location"]
    t0 = time.monotonic()
    assert yt_put(session, data, 0, len(data)).status == 200
    assert time.monotonic() - t0 >= 0.4


# ---- Facebook --------------------------------------------------------------------
def test_facebook_resumable_upload_with_curl_form():
    GRAPH.config({"fb_chunk_bytes": MIB})
    data = os.urandom(2 * MIB + 12345)
    r = graph("/1234/videos", "-F", "access_token=page-token", "-F", "upload_phase=start",
              "-F", "file_size=%d" % len(data))
    assert r.status == 200, r
    start = r.json
    assert start["start_offset"] == "0" and start["end_offset"] == str(MIB), start
    session, offsets = start["upload_session_id"], start
    chunks = 0
    while int(offsets["start_offset"]) < len(data):
        a, b = int(offsets["start_offset"]), int(offsets["end_offset"])
        path = write_file("fb-%d" % a, data[a:b])
        r = graph("/1234/videos", "-F", "access_token=page-token", "-F", "upload_phase=transfer",
                  "-F", "upload_session_id=" + session, "-F", "start_offset=%d" % a,
                  "-F", "video_file_chunk=@%s;type=application/octet-stream" % path)
        assert r.status == 200, r
        offsets = r.json
        chunks += 1
    assert chunks == 3 and offsets == {"start_offset": str(len(data)), "end_offset": str(len(data))}, offsets
    r = graph("/1234/videos", "-H", "Authorization: Bearer page-token", "-F", "upload_phase=finish",
              "-F", "upload_session_id=" + session, "-F", "title=Hello", "-F", "description=World")
    assert r.status == 200 and r.json == {"success": True}, r
    r = graph("/1234/videos?access_token=page-token", "-d", "upload_phase=finish",
              "-d", "upload_session_id=" + session, "-d", "title=Hello")
    assert r.status == 200, "a repeated finish is harmless"
    st = GRAPH.stats()
    assert st["fb_videos_published"] == 1, st
    v = st["fb_videos"][0]
    assert v["video_id"] == start["video_id"] and v["page_id"] == "1234", v
    assert (v["title"], v["description"], v["size"]) == ("Hello", "World", len(data)), v
    assert v["sha256"] == sha256(data) and st["fb_bytes_received"] == len(data), st
    assert st["requests"] == {"fb_start": 1, "fb_transfer": 3, "fb_finish": 2}, st
    r = graph("/%s?fields=status,permalink_url&access_token=t" % start["video_id"], method="GET")
    assert r.json["status"]["video_status"] == "ready", r


def fb_start(size):
    return graph("/1234/videos", "-d", "access_token=t", "-d", "upload_phase=start", "-d", "file_size=%d" % size).json


def fb_transfer(session, a, data):
    path = write_file("fbt-%d" % a, data)
    return graph("/1234/videos", "-F", "access_token=t", "-F", "upload_phase=transfer",
                 "-F", "upload_session_id=" + session, "-F", "start_offset=%d" % a,
                 "-F", "video_file_chunk=@" + path)


def test_facebook_transfer_at_wrong_offset_answers_as_documented_and_stores_nothing():
    GRAPH.config({"fb_chunk_bytes": 1000})
    data = os.urandom(2500)
    s = fb_start(len(data))["upload_session_id"]
    assert fb_transfer(s, 0, data[:1000]).json == {"start_offset": "1000", "end_offset": "2000"}
    r = fb_transfer(s, 0, data[:1000])  # its answer was lost: sent again
    assert_graph_error(r, 6001, 1363037)
    doc = platform_docs.example("facebook", "videos_transfer_wrong_offset")["response"]["body"]["error"]
    assert set(r.json["error"]) == set(doc), r
    assert r.json["error"]["error_data"] == {"start_offset": 1000, "end_offset": 2000}, r
    assert GRAPH.stats()["fb_videos"][0]["received"] == 1000
    GRAPH.config({"fb_offset_mismatch": "offsets"})
    r = fb_transfer(s, 2000, data[2000:])
    assert r.status == 200 and r.json == {"start_offset": "1000", "end_offset": "2000"}, r


def test_graph_refuses_a_version_it_does_not_serve():
    r = curl("-X", "GET", GRAPH.url + "/v99.0/1234?fields=id&access_token=t")
    assert_graph_error(r, 2500, None)
    assert r.json["error"]["message"] == "Unknown path components: /1234", r
    r = curl("-X", "GET", GRAPH.url + "/1234?fields=id&access_token=t")  # no version at all
    assert_graph_error(r, 2500, None)
    assert GRAPH.stats()["refused_versions"] == ["v99.0", ""]


def test_each_login_s_token_works_only_on_its_own_host():
    r = curl("-X", "GET", GRAPH.url + "/instagram/v27.0/1784/content_publishing_limit"
             "?fields=quota_usage,config&access_token=EAAB-page-token")
    assert_graph_error(r, 190, None)
    assert "Cannot parse access token" in r.json["error"]["message"], r
    r = graph("/1784/content_publishing_limit?fields=quota_usage,config&access_token=IGAA-token", method="GET")
    assert_graph_error(r, 190, None)
    r = curl("-X", "GET", GRAPH.url + "/instagram/v27.0/1784/content_publishing_limit"
             "?fields=quota_usage,config&access_token=IGAA-token")
    assert r.status == 200 and r.json == {"data": [{"quota_usage": 0, "config": {
        "quota_total": 50, "quota_duration": 86400}}]}, r


def test_facebook_reel_bytes_go_to_rupload_and_resume_at_bytes_transferred():
    data = os.urandom(70000)
    start = graph("/1234/video_reels", "-d", "access_token=t", "-d", "upload_phase=start").json
    vid = start["video_id"]
    assert start["upload_url"] == GRAPH.url + "/video-upload/v27.0/" + vid, start
    path = write_file("reel", data)
    GRAPH.faults({"op": "fb_rupload", "drop_after_bytes": 30000})
    r = curl("-X", "POST", "-H", "Authorization: OAuth t", "-H", "offset: 0", "-H", "file_size: 70000",
             "--data-binary", "@" + path, start["upload_url"])
    assert r.rc != 0, r
    st = graph("/%s?fields=status&access_token=t" % vid, method="GET").json["status"]
    held = st["uploading_phase"]["bytes_transferred"]
    assert 0 < held <= 30000 and st["uploading_phase"]["status"] == "in_progress", st
    path = write_file("reel-rest", data[held:])
    r = curl("-X", "POST", "-H", "Authorization: OAuth t", "-H", "offset: %d" % held,
             "-H", "file_size: 70000", "--data-binary", "@" + path, start["upload_url"])
    assert r.status == 200 and r.json == {"success": True}, r
    r = graph("/1234/video_reels", "-d", "access_token=t", "-d", "upload_phase=finish", "-d", "video_id=" + vid,
              "-d", "video_state=PUBLISHED", "-d", "description=Reel")
    assert r.json == {"success": True}, r
    v = [v for v in GRAPH.stats()["fb_videos"] if v["video_id"] == vid][0]
    assert v["reel"] and v["published"] and v["sha256"] == sha256(data), v
    st = graph("/%s?fields=status&access_token=t" % vid, method="GET").json["status"]
    assert st["publishing_phase"]["status"] == "complete", st


def test_facebook_dropped_transfer_stores_nothing_and_the_retry_completes():
    GRAPH.config({"fb_chunk_bytes": 4096})
    data = os.urandom(6000)
    s = fb_start(len(data))["upload_session_id"]
    GRAPH.faults({"op": "fb_transfer", "drop_after_bytes": 1000})
    r = fb_transfer(s, 0, data[:4096])
    assert r.rc != 0, r
    assert GRAPH.stats()["fb_videos"][0]["received"] == 0
    assert fb_transfer(s, 0, data[:4096]).json["start_offset"] == "4096"
    assert fb_transfer(s, 4096, data[4096:]).json["start_offset"] == "6000"
    r = graph("/1234/videos", "-d", "access_token=t", "-d", "upload_phase=finish", "-d", "upload_session_id=" + s)
    assert r.json == {"success": True}, r
    assert GRAPH.stats()["fb_videos"][0]["sha256"] == sha256(data)


def test_facebook_expired_token_is_code_190():
    GRAPH.config({"expired_tokens": ["stale"]})
    r = graph("/1234/videos", "-d", "access_token=stale", "-d", "upload_phase=start", "-d", "file_size=10")
    assert_graph_error(r, 190, 463)
    r = graph("/1234/videos", "-d", "upload_phase=start", "-d", "file_size=10")
    assert_graph_error(r, 104)


def test_graph_injected_errors_have_graph_shape():
    GRAPH.faults([{"op": "fb_start", "status": 400, "code": 4},
                  {"op": "fb_start", "status": 503, "code": 2},
                  {"op": "ig_publish", "status": 400, "code": 9, "error_subcode": 2207042}])
    r = graph("/1234/videos", "-d", "access_token=t", "-d", "upload_phase=start", "-d", "file_size=10")
    assert_graph_error(r, 4)
    r = graph("/1234/videos", "-d", "access_token=t", "-d", "upload_phase=start", "-d", "file_size=10")
    assert_graph_error(r, 2, status=503)
    assert r.json["error"]["is_transient"] is True, r
    r = graph("/555/media_publish", "-d", "access_token=t", "-d", "creation_id=1")
    assert_graph_error(r, 9, 2207042)


def test_graph_throttle_faults_answer_meta_s_documented_throttling():
    """A "throttle" fault answers the documented body and usage header, keyed by
    the Page, with the rule's estimate; only for the Page it names, until cleared."""
    GRAPH.faults([{"op": "*", "throttle": "page_80001", "regain_minutes": 3, "times": 0,
                   "path_contains": "/1234/"}, {"op": "fb_start", "throttle": "app_4"}])
    start = ("-d", "access_token=t", "-d", "upload_phase=start", "-d", "file_size=10")
    for _ in range(2):
        r = graph("/1234/videos", *start)
        assert r.status == 400 and r.json["error"]["code"] == 80001, r
        doc = platform_docs.example("facebook", "throttle_page_80001")["response"]["body"]["error"]
        assert r.json["error"]["message"] == doc["message"], r.json
        usage = json.loads(r.headers["x-business-use-case-usage"])
        assert list(usage) == ["1234"] and usage["1234"][0]["estimated_time_to_regain_access"] == 3, usage
        assert usage["1234"][0]["type"] == "pages" and usage["1234"][0]["call_count"] == 100, usage
    r = graph("/5678/videos", *start)  # another Page: the app-level fault
    assert r.status == 400 and r.json["error"]["code"] == 4, r
    assert json.loads(r.headers["x-app-usage"])["call_count"] == 100, r.headers
    r = graph("/5678/videos", *start)
    assert r.status == 200 and r.json["video_id"], r
    GRAPH.clear_faults()
    r = graph("/1234/videos", *start)
    assert r.status == 200 and r.json["video_id"], r


# ---- Instagram -------------------------------------------------------------------
def ig_create(video_url="http://127.0.0.1:9/v.mp4", caption="Nice #reel"):
    return graph("/555/media", "-d", "access_token=t", "-d", "media_type=REELS",
                 "--data-urlencode", "video_url=" + video_url, "--data-urlencode", "caption=" + caption)


def ig_status(cid):
    return graph("/%s?fields=status_code,status&access_token=t" % cid, method="GET")


def ig_publish(cid):
    return graph("/555/media_publish", "-d", "access_token=t", "-d", "creation_id=" + cid)


def test_instagram_reel_flow_create_wait_publish_permalink():
    GRAPH.config({"ig_transcode_seconds": 1})
    r = ig_create()
    assert r.status == 200, r
    cid = r.json["id"]
    r = ig_status(cid)
    assert r.json["status_code"] == "IN_PROGRESS" and r.json["id"] == cid, r
    r = ig_publish(cid)
    assert_graph_error(r, 9007, 2207027)
    assert r.json["error"]["message"] == "Media ID is not available" and r.json["error"]["type"] == "OAuthException"
    time.sleep(1.1)
    assert ig_status(cid).json["status_code"] == "FINISHED"
    r = ig_publish(cid)
    assert r.status == 200, r
    media_id = r.json["id"]
    assert ig_status(cid).json["status_code"] == "PUBLISHED"
    r = graph("/%s?fields=permalink&access_token=t" % media_id, method="GET")
    assert r.status == 200 and r.json["id"] == media_id, r
    assert r.json["permalink"].startswith("https://www.instagram.com/reel/"), r
    st = GRAPH.stats()
    assert st["ig_media_published"] == 1 and st["ig_containers"][0]["caption"] == "Nice #reel", st
    assert st["ig_containers"][0]["video_url"] == "http://127.0.0.1:9/v.mp4", st
    assert st["requests"] == {"ig_create": 1, "ig_status": 3, "ig_publish": 2, "ig_permalink": 1}, st


def test_instagram_second_publish_of_a_container_makes_no_second_media():
    GRAPH.config({"ig_transcode_seconds": 0})
    cid = ig_create().json["id"]
    assert ig_publish(cid).status == 200
    r = ig_publish(cid)
    assert r.status == 400 and r.json["error"]["error_subcode"] == 2207008, r
    assert GRAPH.stats()["ig_media_published"] == 1


def test_instagram_lost_publish_response_still_published_once():
    GRAPH.config({"ig_transcode_seconds": 0})
    cid = ig_create().json["id"]
    GRAPH.faults({"op": "ig_publish", "drop_response": True})
    r = ig_publish(cid)
    assert r.rc != 0 and r.status == 0, r
    assert ig_status(cid).json["status_code"] == "PUBLISHED"
    assert GRAPH.stats()["ig_media_published"] == 1


def test_instagram_forced_outcomes_error_and_expired():
    GRAPH.config({"ig_container_outcome": "ERROR"})
    cid = ig_create().json["id"]
    r = ig_status(cid)
    assert r.json["status_code"] == "ERROR" and r.json["status"].startswith("Error"), r
    GRAPH.config({"ig_container_outcome": "EXPIRED"})
    assert ig_status(cid).json["status_code"] == "EXPIRED"
    assert_graph_error(ig_publish(cid), -2, 2207020)


def test_instagram_fetches_video_url_when_asked():
    url, digest = VIDEO.add_video("ig.mp4", 2 * MIB + 7)
    GRAPH.config({"ig_fetch_video": True, "ig_transcode_seconds": 0})
    good = ig_create(url).json["id"]
    bad = ig_create(VIDEO.url + "/videos/missing.mp4").json["id"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and ig_status(good).json["status_code"] == "IN_PROGRESS":
        time.sleep(0.05)
    assert ig_status(good).json["status_code"] == "FINISHED"
    assert ig_status(bad).json["status_code"] == "ERROR"
    c = [c for c in GRAPH.stats()["ig_containers"] if c["id"] == good][0]
    assert c["fetched_sha256"] == digest, c


# ---- video server ----------------------------------------------------------------
def test_video_server_download_matches_sha256_with_head_and_range():
    url, digest = VIDEO.add_video("a.mp4", 5 * MIB + 3, content_type="video/quicktime")
    r = curl(url)
    assert r.status == 200 and sha256(r.body) == digest, r
    assert r.headers["content-type"] == "video/quicktime" and r.headers["content-length"] == str(5 * MIB + 3)
    assert VIDEO.add_video("a.mp4", 5 * MIB + 3)[1] == digest, "same name and size, same bytes"
    r = curl("-I", url)
    assert r.status == 200 and r.headers["content-length"] == str(5 * MIB + 3), r
    assert r.body.endswith(b"\r\n\r\n"), "curl -I writes the headers only: no body came"
    r = curl("-r", "%d-%d" % (MIB, 2 * MIB - 1), url)
    assert r.status == 206 and r.body == curl(url).body[MIB:2 * MIB], r
    assert r.headers["content-range"] == "bytes %d-%d/%d" % (MIB, 2 * MIB - 1, 5 * MIB + 3), r
    assert curl(VIDEO.url + "/videos/none.mp4").status == 404
    st = VIDEO.stats()
    assert st["gets"]["a.mp4"] == 3 and st["bytes_sent"] == 2 * (5 * MIB + 3) + MIB, st


def test_video_server_faults_truncate_or_fail_downloads():
    url, digest = VIDEO.add_video("b.mp4", 3 * MIB)
    VIDEO.faults([{"op": "get", "drop_after_bytes": MIB}, {"op": "get", "status": 503}])
    r = curl(url)
    assert r.rc != 0 and len(r.body) == MIB, (r.rc, len(r.body))
    assert curl(url).status == 503
    assert sha256(curl(url).body) == digest


def test_fake_stops_cleanly_on_sigterm():
    fake = Fake.start("graph")
    assert fake.stats()["requests"] == {}
    fake.proc.send_signal(signal.SIGTERM)
    assert fake.proc.wait(10) == 0
    assert fake.stop() == 0


# ---- runner ----------------------------------------------------------------------
def run(selected):
    global YT, GRAPH, VIDEO, TMP
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)]
    if selected:
        tests = [(n, f) for n, f in tests if n in selected]
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="test-fakes-") as TMP:
        fakes = []
        try:
            YT, GRAPH, VIDEO = (Fake.start(k) for k in ("youtube", "graph", "video"))
            fakes = [YT, GRAPH, VIDEO]
            for name, fn in tests:
                for fake in fakes:
                    fake.reset()
                t0 = time.monotonic()
                try:
                    fn()
                    passed += 1
                    print("ok   %s (%.2fs)" % (name, time.monotonic() - t0), flush=True)
                except Exception:
                    failed += 1
                    print("FAIL %s\n%s" % (name, traceback.format_exc()), flush=True)
        finally:
            for fake in fakes:
                fake.stop()
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
