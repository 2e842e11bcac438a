#!/usr/bin/env python3
"""Fake TikTok Content Posting API (Direct Post, FILE_UPLOAD) and its token endpoint.

The worker points TIKTOK_API_URL at <url>. Every answer is built from the
documented examples in tests/platform_docs/tiktok/ (platform_docs.answer), so
the fake says what TikTok's documentation says. The idea that keeps it honest:
a publish only ever grows by whole chunks that arrived in order, exactly as
video/init declared them (TikTok's chunk rules are checked there), and a post
exists only once every byte is there; the sha256 of what it holds runs
alongside, so a test can check that the video arrived intact and was posted
once.

  POST /v2/post/publish/creator_info/query/     op "creator_info"
  POST /v2/post/publish/video/init/             op "init"   -> publish_id, upload_url
  PUT  /video/?upload_id=..&upload_token=..      op "put"    Content-Range -> 206 / 201
  POST /v2/post/publish/status/fetch/           op "status" PROCESSING_UPLOAD, (processing_status),
                                                            PUBLISH_COMPLETE or FAILED
  POST /v2/oauth/token/                         op "token"  refresh_token grant, rotating

Config: privacy_level_options, creator_username, comment_disabled,
duet_disabled, stitch_disabled, max_video_post_duration_sec (as creator_info
answers); unaudited (init with a privacy level other than SELF_ONLY: 403
unaudited_client_can_only_post_to_private_accounts); spam_risk (init: 403
spam_risk_too_many_posts); init_rate_per_minute (0: off; more inits per token
in a minute: 429 rate_limit_exceeded, with rate_limit_retry_after as
Retry-After when set); expired_tokens (401 access_token_invalid);
strict_tokens (only tokens issued here or in valid_tokens pass);
token_expires_in (86400); rotate_refresh_tokens (true: each refresh answers a
new refresh token and the spent one is refused from then on, invalid_grant);
revoked_refresh_tokens; client_key / client_secret (checked when set);
processing_seconds (0: the post completes as the last chunk lands);
processing_status ("PROCESSING_UPLOAD"; "PROCESSING_DOWNLOAD" reads as the
video being processed); outcome ("PUBLISH_COMPLETE" or "FAILED", with
fail_reason); upload_url_ttl (3600 s: a PUT later is 403); lost_uploads
(true: PUTs answer 404, the upload task is gone); bandwidth_bytes_per_sec.
Faults without a body get TikTok's error envelope; "code" picks error.code.
A PUT's Content-Type must be video/mp4, video/quicktime or video/webm
(400 otherwise). A 403/404 fault on "put" loses that upload for good (later PUTs 404; its
status stays PROCESSING_UPLOAD short of bytes).

Stats: inits, publishes [{publish_id, size, chunk_size, chunks, received,
complete, status, privacy_level, title, post_info}], posts (the published:
publish_id, post_id, title, privacy_level, size, sha256, post_info),
bytes_received, content_types (of each PUT), tokens_issued,
refresh_tokens_issued, spent_refresh_tokens, refused_tokens, last_authorization.
"""
import hashlib
import json
import secrets
import threading
import time
import urllib.parse

import fakebase
import platform_docs
from fakebase import Reply

CREATOR_PATH = "/v2/post/publish/creator_info/query/"
INIT_PATH = "/v2/post/publish/video/init/"
STATUS_PATH = "/v2/post/publish/status/fetch/"
TOKEN_PATH = "/v2/oauth/token/"
UPLOAD_PATH = "/video/"
PRIVACY = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")
CHUNK_MIN = 5 * 1024 * 1024  # "at least 5 MB": the stricter reading
CHUNK_MAX = 64_000_000       # "no greater than 64 MB": the stricter reading
LAST_MAX = 128_000_000
DEFAULT_CODE = {400: "invalid_param", 401: "access_token_invalid", 403: "spam_risk_too_many_posts",
                429: "rate_limit_exceeded"}


def envelope(code, message):
    """TikTok's error answer: empty data, the error struct."""
    return {"data": {}, "error": {"code": code, "message": message, "log_id": log_id()}}


def log_id():
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(9).upper()


def doc(name, replace=None, drop=()):
    """A documented answer with the fake's values: (status, headers, body)."""
    return platform_docs.answer("tiktok", name, replace, drop)


def chunk_problem(size, chunk, count):
    """What breaks TikTok's chunk rules (media transfer guide), or None."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (size, chunk, count)):
        return "video_size, chunk_size and total_chunk_count must be integers"
    if size <= 0 or chunk <= 0:
        return "video_size and chunk_size must be positive"
    if size < CHUNK_MIN and (chunk != size or count != 1):
        return "a video under 5 MB must be uploaded whole (chunk_size = video_size)"
    if count != size // chunk:
        return "total_chunk_count must be video_size / chunk_size rounded down"
    if not 1 <= count <= 1000:
        return "there must be 1 to 1000 chunks"
    if count > 1 and not CHUNK_MIN <= chunk <= CHUNK_MAX:
        return "each chunk must be 5 MB to 64 MB"
    if count == 1 and size > CHUNK_MAX:
        return "a video over 64 MB must be uploaded in several chunks"
    if size - (count - 1) * chunk > LAST_MAX:
        return "the last chunk may be at most 128 MB"
    return None


class TikTokHandler(fakebase.FakeHandler):
    fake_name = "tiktok"
    default_config = {
        "privacy_level_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
        "creator_username": "fakecreator",
        "comment_disabled": False,
        "duet_disabled": False,
        "stitch_disabled": False,
        "max_video_post_duration_sec": 600,
        "unaudited": False,
        "spam_risk": False,
        "init_rate_per_minute": 0,
        "rate_limit_retry_after": None,
        "expired_tokens": [],
        "strict_tokens": False,
        "valid_tokens": [],
        "token_expires_in": 86400,
        "rotate_refresh_tokens": True,
        "revoked_refresh_tokens": [],
        "client_key": None,
        "client_secret": None,
        "processing_seconds": 0,
        "processing_status": "PROCESSING_UPLOAD",
        "outcome": "PUBLISH_COMPLETE",
        "fail_reason": "picture_size_check_failed",
        "upload_url_ttl": 3600,
        "lost_uploads": False,
        "bandwidth_bytes_per_sec": 0,
    }

    @classmethod
    def new_state(cls, server):
        return {"publishes": {}, "posts": [], "tokens": {}, "token_seq": 0, "refresh_seq": 0,
                "spent_refresh": [], "inits": 0, "init_times": {}, "bytes_received": 0,
                "refused_tokens": 0, "last_authorization": None, "post_seq": 0, "content_types": []}

    def route(self, method, path):
        if method == "POST":
            table = {CREATOR_PATH: ("creator_info", self.do_creator_info),
                     INIT_PATH: ("init", self.do_init), STATUS_PATH: ("status", self.do_status),
                     TOKEN_PATH: ("token", self.do_token)}
            if path in table:
                op, fn = table[path]
                return op, fn, ()
        if method == "PUT" and path == UPLOAD_PATH:
            return "put", self.do_put, ()
        return None

    def error_body(self, status, rule):
        if self._op == "put":
            return ""
        if self._op == "token":
            return {"error": rule.get("code") or "invalid_request",
                    "error_description": rule.get("message") or "injected fault", "log_id": log_id()}
        code = rule.get("code") or DEFAULT_CODE.get(status) or ("internal_error" if status >= 500 else
                                                                  "invalid_param")
        return envelope(code, rule.get("message") or "injected fault")

    def on_fault(self, rule):
        """A 403/404 fault on a PUT loses that upload for good, as TikTok's would be."""
        if self._op == "put" and int(rule["status"]) in (403, 404):
            pub = self._publish_by_upload(self.query.get("upload_id"))
            if pub is not None:
                pub["lost"] = True

    # ---- auth ------------------------------------------------------------------
    def check_auth(self):
        """The bearer token; Reply 401 access_token_invalid when missing or not valid."""
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        token = token.strip()
        with self.lock:
            self.state["last_authorization"] = header or None
            cfg, issued = self.cfg, self.state["tokens"].get(token)
            bad = scheme.lower() != "bearer" or not token or token in cfg["expired_tokens"]
            if issued:
                bad = bad or time.time() > issued["expires_at"]
            elif cfg["strict_tokens"] and token not in cfg["valid_tokens"]:
                bad = True
            if bad:
                self.state["refused_tokens"] += 1
        if bad:
            status, headers, body = doc("video_init_token_invalid", {"error.log_id": log_id()})
            raise Reply(status, body, headers)
        return token

    def _json_body(self):
        raw = self.body.read_all()
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise Reply(400, envelope("invalid_params", "the body is not JSON"))
        if not isinstance(body, dict):
            raise Reply(400, envelope("invalid_params", "the body is not a JSON object"))
        return body

    # ---- creator info ----------------------------------------------------------
    def do_creator_info(self):
        self.check_auth()
        self.body.drain()
        cfg = self.cfg
        status, headers, body = doc("creator_info", {
            "data.creator_username": cfg["creator_username"],
            "data.privacy_level_options": list(cfg["privacy_level_options"]),
            "data.comment_disabled": bool(cfg["comment_disabled"]),
            "data.duet_disabled": bool(cfg["duet_disabled"]),
            "data.stitch_disabled": bool(cfg["stitch_disabled"]),
            "data.max_video_post_duration_sec": cfg["max_video_post_duration_sec"],
            "error.log_id": log_id()})
        self.respond(status, body, headers)

    # ---- init ------------------------------------------------------------------
    def _rate_limited(self, token):
        limit = int(self.cfg.get("init_rate_per_minute") or 0)
        if not limit:
            return False
        now = time.time()
        with self.lock:
            times = [t for t in self.state["init_times"].get(token, []) if now - t < 60]
            limited = len(times) >= limit
            if not limited:
                times.append(now)
            self.state["init_times"][token] = times
        return limited

    def do_init(self):
        token = self.check_auth()
        body = self._json_body()
        info, source = body.get("post_info"), body.get("source_info")
        if not isinstance(info, dict) or not isinstance(source, dict):
            raise Reply(400, envelope("invalid_param", "post_info and source_info are required"))
        if self._rate_limited(token):
            status, headers, answer = doc("video_init_rate_limited", {"error.log_id": log_id()})
            retry = self.cfg.get("rate_limit_retry_after")
            if retry is not None:
                headers["Retry-After"] = str(retry)
            raise Reply(status, answer, headers)
        cfg = self.cfg
        privacy = info.get("privacy_level")
        if privacy not in PRIVACY or privacy not in cfg["privacy_level_options"]:
            status, headers, answer = doc("video_init_privacy_mismatch", {"error.log_id": log_id()})
            raise Reply(status, answer, headers)
        if cfg["spam_risk"]:
            status, headers, answer = doc("video_init_spam_risk_too_many_posts", {"error.log_id": log_id()})
            raise Reply(status, answer, headers)
        if cfg["unaudited"] and privacy != "SELF_ONLY":
            status, headers, answer = doc("video_init_unaudited", {"error.log_id": log_id()})
            raise Reply(status, answer, headers)
        if source.get("source") != "FILE_UPLOAD":
            raise Reply(400, envelope("invalid_param", "this fake takes source FILE_UPLOAD only"))
        size, chunk, count = source.get("video_size"), source.get("chunk_size"), source.get("total_chunk_count")
        problem = chunk_problem(size, chunk, count)
        if problem:
            raise Reply(400, envelope("invalid_param", problem))
        title = info.get("title", "")
        if not isinstance(title, str) or len(title.encode("utf-16-le")) // 2 > 2200:
            raise Reply(400, envelope("invalid_param", "title is longer than 2200 UTF-16 runes"))
        pid = "v_pub_file~v2-1.%d" % (7_300_000_000_000_000_000 + secrets.randbelow(10 ** 15))
        upload_id = secrets.token_hex(8)
        url = "%s%s?upload_id=%s&upload_token=%s" % (self.server.base_url, UPLOAD_PATH, upload_id,
                                                    secrets.token_urlsafe(12))
        pub = {"publish_id": pid, "upload_id": upload_id, "size": size, "chunk_size": chunk, "chunks": count,
               "received": 0, "sha": hashlib.sha256(), "post_info": info, "created": time.time(),
               "completed_at": None, "post": None, "lock": threading.Lock(), "token": token}
        with self.lock:
            self.state["publishes"][pid] = pub
            self.state["inits"] += 1
        status, headers, answer = doc("video_init", {"data.publish_id": pid, "data.upload_url": url,
                                                     "error.log_id": log_id()})
        self.respond(status, answer, headers)

    # ---- put -------------------------------------------------------------------
    def _publish_by_upload(self, upload_id):
        with self.lock:
            for pub in self.state["publishes"].values():
                if pub["upload_id"] == upload_id:
                    return pub
        return None

    @staticmethod
    def _chunk_range(pub, index):
        first = index * pub["chunk_size"]
        last = pub["size"] - 1 if index + 1 >= pub["chunks"] else first + pub["chunk_size"] - 1
        return first, last

    def do_put(self):
        """Takes the next whole chunk: 206, or 201 once every byte is there."""
        pub = self._publish_by_upload(self.query.get("upload_id"))
        if pub is None or pub.get("lost") or self.cfg["lost_uploads"]:
            self.body.drain()
            raise Reply(404, "")
        if time.time() - pub["created"] > float(self.cfg["upload_url_ttl"]):
            self.body.drain()
            raise Reply(403, "")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype not in ("video/mp4", "video/quicktime", "video/webm"):  # the documented three
            self.body.drain()
            raise Reply(400, "")
        with self.lock:
            self.state["content_types"].append(ctype)
        cr = (self.headers.get("Content-Range") or "").strip()
        try:
            unit, _, rest = cr.partition(" ")
            span, _, total = rest.partition("/")
            a, _, b = span.partition("-")
            a, b, total = int(a), int(b), int(total)
            assert unit == "bytes"
        except (ValueError, AssertionError):
            self.body.drain()
            raise Reply(400, "")
        with pub["lock"]:
            index = pub["received"] // pub["chunk_size"] if pub["received"] < pub["size"] else pub["chunks"]
            expected = self._chunk_range(pub, index) if index < pub["chunks"] else None
        if total != pub["size"] or expected is None or (a, b) != expected:
            self.body.drain()
            raise Reply(416, "", self._range_header(pub))
        if self.body.length is not None and self.body.length != b - a + 1:
            self.body.drain()
            raise Reply(400, "")
        self.body.on_bytes = self._count_bytes
        self.body.rate = lambda: self.cfg.get("bandwidth_bytes_per_sec") or 0
        sha = pub["sha"].copy()
        got = 0
        while True:
            piece = self.body.read()
            if not piece:
                break
            got += len(piece)
            if got > b - a + 1:
                raise Reply(400, "")
            sha.update(piece)
        if got != b - a + 1:
            raise Reply(400, "")
        with pub["lock"]:
            if pub["received"] != a:  # another PUT took this chunk meanwhile
                raise Reply(416, "", self._range_header(pub))
            pub["sha"], pub["received"] = sha, b + 1
            if pub["received"] == pub["size"]:
                pub["completed_at"] = time.time()
                pub["sha256"] = sha.hexdigest()
        name = "upload_chunk_complete" if pub["received"] == pub["size"] else "upload_chunk_partial"
        status, headers, body = doc(name)
        headers.update(self._range_header(pub))
        self.respond(status, body, headers)

    @staticmethod
    def _range_header(pub):
        if not pub["received"]:
            return {}
        return {"Content-Range": "bytes 0-%d/%d" % (pub["received"] - 1, pub["size"])}

    def _count_bytes(self, n):
        with self.lock:
            self.state["bytes_received"] += n

    # ---- status ----------------------------------------------------------------
    def _settle(self, pub):
        """Makes the post once processing is over (called under pub's lock)."""
        if pub["completed_at"] is None or pub["post"] is not None:
            return
        if time.time() - pub["completed_at"] < float(self.cfg["processing_seconds"]):
            return
        info = pub["post_info"]
        if self.cfg["outcome"] == "FAILED":
            pub["post"] = {"failed": True, "fail_reason": self.cfg["fail_reason"]}
            return
        with self.lock:
            self.state["post_seq"] += 1
            post_id = 7_345_678_901_234_000_000 + self.state["post_seq"]
            post = {"publish_id": pub["publish_id"], "post_id": str(post_id), "title": info.get("title", ""),
                    "privacy_level": info.get("privacy_level"), "size": pub["size"],
                    "sha256": pub["sha256"], "post_info": info}
            self.state["posts"].append(post)
        pub["post"] = post

    def do_status(self):
        self.check_auth()
        body = self._json_body()
        pid = body.get("publish_id")
        with self.lock:
            pub = self.state["publishes"].get(pid) if isinstance(pid, str) else None
        if pub is None:
            status, headers, answer = doc("status_invalid_publish_id", {"error.log_id": log_id()})
            raise Reply(status, answer, headers)
        with pub["lock"]:
            self._settle(pub)
            post, received = pub["post"], pub["received"]
        lid = {"error.log_id": log_id()}
        if post and post.get("failed"):
            status, headers, answer = doc("status_failed", dict(lid, **{
                "data.fail_reason": post["fail_reason"], "data.uploaded_bytes": received}))
        elif post:
            public = post["privacy_level"] == "PUBLIC_TO_EVERYONE"  # ids only for public posts
            status, headers, answer = doc("status_publish_complete", dict(lid, **{
                "data.publicaly_available_post_id": [int(post["post_id"])] if public else [],
                "data.uploaded_bytes": received}))
        else:
            processing = received == pub["size"]
            status, headers, answer = doc("status_processing_upload", dict(lid, **{
                "data.status": self.cfg["processing_status"] if processing else "PROCESSING_UPLOAD",
                "data.uploaded_bytes": received}))
        self.respond(status, answer, headers)

    # ---- token -----------------------------------------------------------------
    def do_token(self):
        """refresh_token grant: a new access token, and a new refresh token when rotating."""
        raw = self.body.read_all(64 << 10)
        params = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))

        def refuse(status, error, description):
            raise Reply(status, {"error": error, "error_description": description, "log_id": log_id()})

        if params.get("grant_type") != "refresh_token":
            refuse(400, "invalid_request", "grant_type must be refresh_token")
        for field in ("client_key", "client_secret", "refresh_token"):
            if not params.get(field):
                refuse(400, "invalid_request", "%s is required" % field)
        with self.lock:
            cfg, st = self.cfg, self.state
            if cfg.get("client_key") and params["client_key"] != cfg["client_key"]:
                refuse(401, "invalid_client", "Client key does not match.")
            if cfg.get("client_secret") and params["client_secret"] != cfg["client_secret"]:
                refuse(401, "invalid_client", "Client secret does not match.")
            rt = params["refresh_token"]
            if rt in cfg["revoked_refresh_tokens"] or rt in st["spent_refresh"]:
                status, headers, body = doc("token_refresh_invalid_grant", {"log_id": log_id()})
                raise Reply(status, body, headers)
            st["token_seq"] += 1
            token = "act.fake-%d-%s" % (st["token_seq"], secrets.token_hex(6))
            expires_in = int(cfg["token_expires_in"])
            st["tokens"][token] = {"expires_at": time.time() + expires_in}
            new_rt = rt
            if cfg["rotate_refresh_tokens"]:
                st["refresh_seq"] += 1
                new_rt = "rft.fake-%d-%s" % (st["refresh_seq"], secrets.token_hex(6))
                st["spent_refresh"].append(rt)
        status, headers, body = doc("token_refresh", {"access_token": token, "refresh_token": new_rt,
                                                      "expires_in": expires_in})
        headers.update({"Cache-Control": "no-store", "Pragma": "no-cache"})
        self.respond(status, body, headers)

    # ---- stats -----------------------------------------------------------------
    def fake_stats(self):
        st = self.state

        def status_of(p):
            if p["post"] is None:
                return "PROCESSING_UPLOAD"
            return "FAILED" if p["post"].get("failed") else "PUBLISH_COMPLETE"

        return {
            "inits": st["inits"],
            "publishes": [{"publish_id": p["publish_id"], "size": p["size"], "chunk_size": p["chunk_size"],
                           "chunks": p["chunks"], "received": p["received"],
                           "complete": p["received"] == p["size"], "status": status_of(p),
                           "privacy_level": p["post_info"].get("privacy_level"),
                           "title": p["post_info"].get("title"), "post_info": p["post_info"]}
                          for p in st["publishes"].values()],
            "posts": [{k: v for k, v in post.items()} for post in st["posts"]],
            "bytes_received": st["bytes_received"],
            "tokens_issued": st["token_seq"],
            "refresh_tokens_issued": st["refresh_seq"],
            "spent_refresh_tokens": list(st["spent_refresh"]),
            "refused_tokens": st["refused_tokens"],
            "last_authorization": st["last_authorization"],
            "content_types": list(st["content_types"]),
        }


if __name__ == "__main__":
    raise SystemExit(fakebase.main(TikTokHandler))
