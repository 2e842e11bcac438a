#!/usr/bin/env python3
"""Fake YouTube Data API v3 resumable upload plus Google's OAuth2 token endpoint.

The worker points YOUTUBE_UPLOAD_URL at <url>/upload/youtube/v3/videos and
GOOGLE_TOKEN_URL at <url>/token. The idea that keeps it honest: an upload
session only ever grows by bytes that arrived in order, and the sha256 of what it
holds runs alongside, so a test can check that the video arrived intact and that a
resume re-sent little. Bytes of a PUT are stored as they arrive, so an interrupted
PUT leaves what was received (a later status probe reports it, as Google does);
a newer PUT on the same session supersedes one still in flight.

  POST /upload/youtube/v3/videos?uploadType=resumable&part=...   op "init"
      Bearer token, X-Upload-Content-Length, JSON video resource with
      snippet.title -> 200 + Location: <session uri>
  PUT <session uri>   Content-Range: bytes a-b/total | bytes */total   op "put"
      -> 308 (+ Range: bytes=0-n once something is stored) or 200 + the video
  POST /token   grant_type=refresh_token&refresh_token&client_id&client_secret  op "token"

Config: expired_tokens, strict_tokens (only tokens issued here or in valid_tokens
pass), valid_tokens, revoked_refresh_tokens, lost_sessions (true or a list of
upload ids: 410), bandwidth_bytes_per_sec (paces PUT bodies), token_expires_in,
client_id / client_secret (checked when set), chunk_multiple (262144),
complete_status (200; Google may also answer 201).
Faults without a body get Google's error JSON; "reason" picks errors[].reason
(quotaExceeded -> domain youtube.quota). A 410 fault on "put" loses the session.
Stats count 401s ("refused_tokens") and keep every malformed Content-Range a
client sent ("bad_content_ranges": a negative offset lands here).

It does not transcode, list, or serve videos, and it keeps no video bytes: only
their count and hash.
"""
import hashlib
import json
import re
import secrets
import threading
import time
import urllib.parse

import fakebase
from fakebase import Reply

UPLOAD_PATH = "/upload/youtube/v3/videos"
GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "NOT_IMPLEMENTED",
                 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
DEFAULT_REASON = {400: "badRequest", 401: "authError", 403: "forbidden", 404: "notFound", 410: "gone",
                  429: "rateLimitExceeded", 500: "backendError", 502: "backendError", 503: "backendError",
                  504: "backendError"}
REASON_DOMAIN = {"quotaExceeded": "youtube.quota", "rateLimitExceeded": "usageLimits",
                 "userRateLimitExceeded": "usageLimits", "dailyLimitExceeded": "usageLimits",
                 "uploadLimitExceeded": "youtube.video", "invalidTitle": "youtube.video",
                 "invalidDescription": "youtube.video"}
REASON_MESSAGE = {
    "quotaExceeded": "The request cannot be completed because you have exceeded your "
                     "<a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
    "rateLimitExceeded": "Rate Limit Exceeded",
    "userRateLimitExceeded": "User Rate Limit Exceeded",
    "authError": "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
                 "cookie or other valid authentication credential. See "
                 "https://developers.google.com/identity/sign-in/web/devconsole-project.",
    "backendError": "Backend Error",
    "notFound": "Not Found",
    "gone": "The upload session has expired or was lost; start a new upload.",
    "uploadLimitExceeded": "The user has exceeded the number of videos they may upload.",
}
AUTH_CHALLENGE = 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def google_error(status, reason=None, message=None, domain=None):
    """Google's JSON error body: {"error": {code, message, errors: [...], status}}."""
    reason = reason or DEFAULT_REASON.get(status, "unknown")
    message = message or REASON_MESSAGE.get(reason, "Error %d" % status)
    item = {"message": message, "domain": domain or REASON_DOMAIN.get(reason, "global"), "reason": reason}
    if reason == "authError":
        item.update(message="Invalid Credentials", location="Authorization", locationType="header")
    err = {"code": status, "message": message, "errors": [item]}
    if status in GOOGLE_STATUS:
        err["status"] = GOOGLE_STATUS[status]
    return {"error": err}


def oauth_error(error, description):
    return {"error": error, "error_description": description}


class YouTubeHandler(fakebase.FakeHandler):
    fake_name = "youtube"
    default_config = {
        "expired_tokens": [],
        "strict_tokens": False,
        "valid_tokens": [],
        "revoked_refresh_tokens": [],
        "lost_sessions": False,
        "bandwidth_bytes_per_sec": 0,
        "token_expires_in": 3599,
        "client_id": None,
        "client_secret": None,
        "chunk_multiple": 262144,
        "complete_status": 200,
    }

    @classmethod
    def new_state(cls, server):
        return {"sessions": {}, "videos": [], "tokens": {}, "token_seq": 0, "bytes_received": 0,
                "last_authorization": None, "bad_content_ranges": [], "refused_tokens": 0}

    def route(self, method, path):
        if path.rstrip("/") == UPLOAD_PATH:
            if method == "POST":
                return "init", self.do_init, ()
            if method == "PUT":
                return "put", self.do_put, ()
        if path in ("/token", "/o/oauth2/token") and method == "POST":
            return "token", self.do_token, ()
        return None

    def error_body(self, status, rule):
        if self._op == "token":
            err = rule.get("error") or {400: "invalid_grant", 401: "invalid_client"}.get(status, "internal_failure")
            return oauth_error(err, rule.get("message") or "injected fault")
        return google_error(status, rule.get("reason"), rule.get("message"), rule.get("domain"))

    def on_fault(self, rule):
        if self._op == "put" and int(rule["status"]) == 410:
            with self.lock:
                s = self.state["sessions"].get(self.query.get("upload_id"))
                if s:
                    s["lost"] = True

    # ---- auth ------------------------------------------------------------------
    def check_auth(self, required=True):
        """The bearer token of the request; Reply 401 when missing or not valid."""
        header = self.headers.get("Authorization")
        with self.lock:
            if header:
                self.state["last_authorization"] = header
        if not header:
            if not required:
                return None
            raise Reply(401, google_error(401, "required", "Request is missing required authentication "
                                          "credential. Expected OAuth 2 access token."),
                        {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        scheme, _, token = header.partition(" ")
        token = token.strip()
        bad = scheme.lower() != "bearer" or not token
        with self.lock:
            cfg, issued = self.cfg, self.state["tokens"].get(token)
            if token in cfg["expired_tokens"]:
                bad = True
            elif issued:
                bad = bad or time.time() > issued["expires_at"]
            elif cfg["strict_tokens"] and token not in cfg["valid_tokens"]:
                bad = True
        if bad:
            with self.lock:
                self.state["refused_tokens"] += 1
            raise Reply(401, google_error(401, "authError"), {"WWW-Authenticate": AUTH_CHALLENGE})
        return token

    # ---- init ------------------------------------------------------------------
    def do_init(self):
        """Starts a resumable session and answers its URI in Location."""
        token = self.check_auth()
        if self.query.get("uploadType") != "resumable":
            raise Reply(400, google_error(400, "invalidParameter", "This fake supports uploadType=resumable only."))
        total = self.headers.get("X-Upload-Content-Length", "").strip()
        if not total.isdigit() or int(total) <= 0:
            raise Reply(400, google_error(400, "badRequest", "X-Upload-Content-Length must be a positive integer."))
        resource = self.read_json()
        snippet = resource.get("snippet") if isinstance(resource, dict) else None
        if not isinstance(snippet, dict) or not isinstance(snippet.get("title"), str) or not snippet["title"].strip():
            raise Reply(400, google_error(400, "invalidTitle",
                                          "The request metadata specifies an invalid or empty video title."))
        status = resource.get("status") if isinstance(resource.get("status"), dict) else {}
        sid = secrets.token_urlsafe(24)
        session = {"id": sid, "snippet": snippet, "status": status, "total": int(total), "received": 0,
                   "sha": hashlib.sha256(), "token": token, "video": None, "lost": False,
                   "content_type": self.headers.get("X-Upload-Content-Type"), "lock": threading.Lock(),
                   "writer": None}
        with self.lock:
            self.state["sessions"][sid] = session
        location = "%s%s?uploadType=resumable&upload_id=%s" % (self.server.base_url, UPLOAD_PATH, sid)
        self.respond(200, None, {"Location": location, "X-GUploader-UploadID": sid})

    # ---- put -------------------------------------------------------------------
    def _content_range(self, s):
        """(first, last) of the chunk, or None for a status probe; Reply 400 if bad."""
        cr = self.headers.get("Content-Range")
        if cr is None:
            if self.body.length is None:
                raise Reply(400, google_error(400, "badRequest", "Content-Range is required."))
            if self.body.length == 0:
                return None
            return 0, self.body.length - 1
        cr = cr.strip()
        m = re.fullmatch(r"bytes\s+\*/(\d+|\*)", cr)
        if m:
            if m.group(1) != "*" and int(m.group(1)) != s["total"]:
                raise Reply(400, google_error(400, "badRequest", "Content-Range total does not match the session."))
            return None
        m = re.fullmatch(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", cr)
        if not m:
            with self.lock:
                self.state["bad_content_ranges"].append(cr[:200])
            raise Reply(400, google_error(400, "badRequest", "Malformed Content-Range: %s" % cr))
        a, b = int(m.group(1)), int(m.group(2))
        if m.group(3) != "*" and int(m.group(3)) != s["total"]:
            raise Reply(400, google_error(400, "badRequest", "Content-Range total does not match the session."))
        if b < a or b >= s["total"]:
            raise Reply(400, google_error(400, "badRequest", "Content-Range is outside the upload."))
        if self.body.length is not None and self.body.length != b - a + 1:
            raise Reply(400, google_error(400, "badRequest", "Content-Range does not match Content-Length."))
        return a, b

    def do_put(self):
        """Stores a chunk that starts where the session ends; answers 308 or the video.

        A newer PUT on the session (a chunk or a probe) supersedes one still in
        flight: the old one stops storing and is closed, as a client that probes
        has given up on it; the probe answers at once with what is stored.
        """
        sid = self.query.get("upload_id")
        with self.lock:
            s = self.state["sessions"].get(sid)
            lost = self.cfg["lost_sessions"]
        if s is None:
            raise Reply(404, google_error(404, "notFound", "Upload session not found."))
        self.check_auth(required=False)
        if s["lost"] or lost is True or (isinstance(lost, list) and sid in lost):
            raise Reply(410, google_error(410, "gone"))
        rng = self._content_range(s)
        self.body.on_bytes = self._count_bytes
        me = object()
        with s["lock"]:
            s["writer"] = me
            start_ok = rng is not None and s["video"] is None and rng[0] == s["received"]
        if rng is None or not start_ok:
            self.body.drain()
            return self._answer_progress(s)
        a, b = rng
        if b + 1 < s["total"] and (b - a + 1) % self.cfg["chunk_multiple"]:
            raise Reply(400, google_error(400, "badRequest", "Invalid request. The number of bytes uploaded "
                        "is required to be a multiple of %d, except for the final request." %
                        self.cfg["chunk_multiple"]))
        self.body.rate = lambda: self.cfg.get("bandwidth_bytes_per_sec") or 0
        self._store(s, b + 1 - a, me)
        self._answer_progress(s)

    def _count_bytes(self, n):
        with self.lock:
            self.state["bytes_received"] += n

    def _store(self, s, n, me):
        """Streams n bytes of body into the session (kept even if the PUT breaks)."""
        left = n
        while True:
            piece = self.body.read()
            if not piece:
                break
            if len(piece) > left:
                raise Reply(400, google_error(400, "badRequest", "Body longer than Content-Range."))
            with s["lock"]:
                if s["writer"] is not me:
                    raise fakebase.Drop()
                s["sha"].update(piece)
                s["received"] += len(piece)
            left -= len(piece)
        if left:
            raise Reply(400, google_error(400, "badRequest", "Body shorter than Content-Range."))
        with s["lock"]:
            if s["writer"] is me:
                s["writer"] = None
            if s["received"] == s["total"] and s["video"] is None:
                self._create_video(s)

    def _create_video(self, s):
        snippet, status = s["snippet"], s["status"]
        vid = "".join(secrets.choice(ID_ALPHABET) for _ in range(11))
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        video = {
            "kind": "youtube#video",
            "etag": secrets.token_urlsafe(20),
            "id": vid,
            "snippet": {"publishedAt": now, "channelId": "UCfakeChannel0000000000A",
                        "title": snippet.get("title"), "description": snippet.get("description", ""),
                        "thumbnails": {}, "channelTitle": "Fake Channel",
                        "categoryId": str(snippet.get("categoryId", "22")),
                        "liveBroadcastContent": "none",
                        "localized": {"title": snippet.get("title"), "description": snippet.get("description", "")}},
            "status": {"uploadStatus": "uploaded", "privacyStatus": status.get("privacyStatus", "public"),
                       "license": "youtube", "embeddable": True, "publicStatsViewable": True},
        }
        if "tags" in snippet:
            video["snippet"]["tags"] = snippet["tags"]
        if "selfDeclaredMadeForKids" in status:
            video["status"]["selfDeclaredMadeForKids"] = status["selfDeclaredMadeForKids"]
        s["sha256"] = s["sha"].hexdigest()
        with self.lock:
            s["video"] = video
            self.state["videos"].append(s)

    def _answer_progress(self, s):
        if s["video"] is not None:
            return self.respond(int(self.cfg.get("complete_status") or 200), s["video"])
        headers = {"X-GUploader-UploadID": s["id"]}
        if s["received"]:
            headers["Range"] = "bytes=0-%d" % (s["received"] - 1)
        self.respond(308, None, headers, reason="Resume Incomplete")

    # ---- token -----------------------------------------------------------------
    def do_token(self):
        """OAuth2 refresh_token grant -> a fresh access token."""
        raw = self.body.read_all(64 << 10)
        ctype = self.headers.get("Content-Type", "")
        if "json" in ctype:
            try:
                params = {k: str(v) for k, v in json.loads(raw or b"{}").items()}
            except (ValueError, AttributeError):
                params = {}
        else:
            params = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        nocache = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", "Pragma": "no-cache"}
        grant = params.get("grant_type")
        if not grant:
            raise Reply(400, oauth_error("invalid_request", "Missing required parameter: grant_type"), nocache)
        if grant != "refresh_token":
            raise Reply(400, oauth_error("unsupported_grant_type", "Invalid grant_type: %s" % grant), nocache)
        for field in ("refresh_token", "client_id", "client_secret"):
            if not params.get(field):
                raise Reply(400, oauth_error("invalid_request", "Missing required parameter: %s" % field), nocache)
        with self.lock:
            cfg = self.cfg
            if cfg.get("client_id") and params["client_id"] != cfg["client_id"]:
                raise Reply(401, oauth_error("invalid_client", "The OAuth client was not found."), nocache)
            if cfg.get("client_secret") and params["client_secret"] != cfg["client_secret"]:
                raise Reply(401, oauth_error("invalid_client", "Unauthorized"), nocache)
            if params["refresh_token"] in cfg["revoked_refresh_tokens"]:
                raise Reply(400, oauth_error("invalid_grant", "Token has been expired or revoked."), nocache)
            self.state["token_seq"] += 1
            token = "ya29.fake-%d" % self.state["token_seq"]
            expires_in = int(cfg["token_expires_in"])
            self.state["tokens"][token] = {"expires_at": time.time() + expires_in,
                                           "refresh_token": params["refresh_token"]}
        self.respond(200, {"access_token": token, "expires_in": expires_in,
                           "scope": "https://www.googleapis.com/auth/youtube.upload", "token_type": "Bearer"},
                     nocache)

    # ---- stats -----------------------------------------------------------------
    def fake_stats(self):
        st = self.state
        return {
            "videos_created": len(st["videos"]),
            "videos": [{"id": s["video"]["id"], "title": s["snippet"].get("title"),
                        "description": s["snippet"].get("description", ""), "size": s["total"],
                        "sha256": s["sha256"], "privacyStatus": s["video"]["status"]["privacyStatus"],
                        "upload_id": s["id"]} for s in st["videos"]],
            "bytes_received": st["bytes_received"],
            "sessions": len(st["sessions"]),
            "upload_sessions": [{"upload_id": s["id"], "title": s["snippet"].get("title"), "total": s["total"],
                                 "received": s["received"], "complete": s["video"] is not None,
                                 "lost": s["lost"]} for s in st["sessions"].values()],
            "tokens_issued": st["token_seq"],
            "refused_tokens": st["refused_tokens"],
            "bad_content_ranges": list(st["bad_content_ranges"]),
            "last_authorization": st["last_authorization"],
        }


if __name__ == "__main__":
    raise SystemExit(fakebase.main(YouTubeHandler))
