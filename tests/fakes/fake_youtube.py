#!/usr/bin/env python3
"""Fake YouTube Data API v3 resumable upload plus Google's OAuth2 token endpoint.

The worker points YOUTUBE_UPLOAD_URL at <url>/upload/youtube/v3/videos and
GOOGLE_TOKEN_URL at <url>/token. The idea that keeps it honest: an upload
session only ever grows by bytes that arrived in order, and the sha256 of what it
holds runs alongside, so a test can check that the video arrived intact and that a
resume re-sent little. Bytes of a PUT are stored as they arrive, so an interrupted
PUT leaves what was received (a later status probe reports it, as Google does);
a newer PUT on the same session supersedes one still in flight.

Every answer is built from the documented examples in tests/platform_docs/youtube/
and tests/platform_docs/google/ (platform_docs.answer), so what it sends is what
Google documents.

  POST /upload/youtube/v3/videos?uploadType=resumable&part=...[&notifySubscribers=]   op "init"
      Bearer token, X-Upload-Content-Length, JSON video resource: snippet (title
      required; tags a list of strings, categoryId digits) and status
      (privacyStatus public|unlisted|private, selfDeclaredMadeForKids a boolean);
      an unknown member or a wrong type is a 400 naming it -> 200 + Location
  PUT <session uri>   Content-Range: bytes a-b/total | bytes */total   op "put"
      -> 308 (+ Range: bytes=0-n once something is stored) or 200 + the video,
      whose status.privacyStatus is what was asked, or private for an unaudited project
  POST /upload/youtube/v3/thumbnails/set?videoId=   op "thumbnail"
      the image as the body (image/jpeg, image/png or application/octet-stream,
      at most 2 MB) of a video made here -> 200 thumbnailSetResponse
  POST /token   grant_type=refresh_token&refresh_token&client_id&client_secret  op "token"

Config: expired_tokens, strict_tokens (only tokens issued here or in valid_tokens
pass), valid_tokens, revoked_refresh_tokens, lost_sessions (true or a list of
upload ids: 410), bandwidth_bytes_per_sec (paces PUT bodies), token_expires_in,
client_id / client_secret (checked when set), chunk_multiple (262144),
complete_status (200; Google may also answer 201), unaudited_project (every
video is made private, as Google does for an API project it has not audited).
Faults without a body get Google's documented error JSON; "reason" picks it
(quotaExceeded, uploadLimitExceeded, rateLimitExceeded, userRateLimitExceeded,
authError, youtubeSignupRequired, backendError; on "thumbnail": invalidImage,
forbidden, videoNotFound, uploadRateLimitExceeded). A 410 fault on "put" loses
the session. Stats count 401s ("refused_tokens"), keep every malformed
Content-Range a client sent ("bad_content_ranges": a negative offset lands
here), what each video was asked to be (requestedPrivacyStatus, tags,
categoryId, selfDeclaredMadeForKids, notifySubscribers: None when the query
did not say) and each thumbnail received (videoId, size, content_type, sha256).

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
import platform_docs
from fakebase import Reply

UPLOAD_PATH = "/upload/youtube/v3/videos"
THUMBNAIL_PATH = "/upload/youtube/v3/thumbnails/set"
# Google's error for a reason comes from its documented example (tests/platform_docs/youtube/)
DOCUMENTED_ERROR = {
    "quotaExceeded": "quota_exceeded", "uploadLimitExceeded": "upload_limit_exceeded",
    "rateLimitExceeded": "rate_limit_exceeded", "userRateLimitExceeded": "user_rate_limit_exceeded",
    "authError": "auth_error", "youtubeSignupRequired": "youtube_signup_required",
    "backendError": "backend_error", "notFound": "session_not_found", "gone": "session_gone",
    "invalidImage": "thumbnails_set_invalid_image", "videoNotFound": "thumbnails_set_video_not_found",
    "uploadRateLimitExceeded": "thumbnails_set_rate_limit",
}
THUMBNAIL_FORBIDDEN = "thumbnails_set_forbidden"
GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "NOT_IMPLEMENTED",
                 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
DEFAULT_REASON = {400: "badRequest", 401: "authError", 403: "forbidden", 404: "notFound", 410: "gone",
                  429: "rateLimitExceeded", 500: "backendError", 502: "backendError", 503: "backendError",
                  504: "backendError"}
AUTH_CHALLENGE = 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
PRIVACY = ("public", "unlisted", "private")
SNIPPET_MEMBERS = {"title", "description", "tags", "categoryId", "defaultLanguage", "defaultAudioLanguage"}
STATUS_MEMBERS = {"privacyStatus", "selfDeclaredMadeForKids", "embeddable", "license", "publicStatsViewable",
                  "publishAt", "containsSyntheticMedia"}
THUMBNAIL_TYPES = ("image/jpeg", "image/png", "application/octet-stream")
THUMBNAIL_MAX = 2 * 1024 * 1024


def google_error(status, reason=None, message=None, domain=None, thumbnail=False):
    """Google's JSON error body, from the documented example of its reason;
    a reason without one (the fake's own checks: badRequest, invalidTitle, ...)
    takes the documented shape with its own words."""
    reason = reason or DEFAULT_REASON.get(status, "unknown")
    name = THUMBNAIL_FORBIDDEN if thumbnail and reason == "forbidden" else DOCUMENTED_ERROR.get(reason)
    if name:
        _, _, body = platform_docs.answer("youtube", name)
    else:
        _, _, body = platform_docs.answer("youtube", "backend_error", {
            "error.message": message or "Error %d" % status,
            "error.errors": [{"message": message or "Error %d" % status, "domain": domain or "global",
                              "reason": reason}]})
    err = body["error"]
    err["code"] = status
    if message:
        err["message"] = err["errors"][0]["message"] = message
    if domain:
        err["errors"][0]["domain"] = domain
    if status in GOOGLE_STATUS:
        err["status"] = GOOGLE_STATUS[status]
    else:
        err.pop("status", None)
    return body


def oauth_error(error, description):
    if error == "invalid_grant":
        return platform_docs.answer("google", "token_invalid_grant", {"error_description": description})[2]
    return {"error": error, "error_description": description}


def bad_metadata(message):
    return Reply(400, google_error(400, "invalidVideoMetadata", message, "youtube.video"))


def check_resource(resource, query):
    """Checks the video resource and query of videos.insert as the documentation
    types them; Reply 400 naming the member otherwise."""
    snippet = resource.get("snippet") if isinstance(resource, dict) else None
    if not isinstance(snippet, dict) or not isinstance(snippet.get("title"), str) or not snippet["title"].strip():
        raise Reply(400, google_error(400, "invalidTitle",
                                      "The request metadata specifies an invalid or empty video title.",
                                      "youtube.video"))
    status = resource.get("status", {})
    if not isinstance(status, dict):
        raise bad_metadata("status must be an object")
    for where, obj, known in (("snippet", snippet, SNIPPET_MEMBERS), ("status", status, STATUS_MEMBERS)):
        for k in obj:
            if k not in known:
                raise bad_metadata("unknown member %s.%s" % (where, k))
    tags = snippet.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise bad_metadata("snippet.tags must be a list of strings")
    cat = snippet.get("categoryId", "22")
    if not isinstance(cat, str) or not cat.isdigit():
        raise Reply(400, google_error(400, "invalidCategoryId", "snippet.categoryId must name a category",
                                      "youtube.video"))
    if status.get("privacyStatus", "public") not in PRIVACY:
        raise bad_metadata("status.privacyStatus must be public, unlisted or private")
    if not isinstance(status.get("selfDeclaredMadeForKids", False), bool):
        raise bad_metadata("status.selfDeclaredMadeForKids must be a boolean")
    notify = query.get("notifySubscribers")
    if notify not in (None, "true", "false"):
        raise Reply(400, google_error(400, "invalidParameter", "notifySubscribers must be true or false"))
    return snippet, status, None if notify is None else notify == "true"


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
        "unaudited_project": False,
    }

    @classmethod
    def new_state(cls, server):
        return {"sessions": {}, "videos": [], "tokens": {}, "token_seq": 0, "bytes_received": 0,
                "last_authorization": None, "bad_content_ranges": [], "refused_tokens": 0,
                "thumbnails": []}

    def route(self, method, path):
        if path.rstrip("/") == UPLOAD_PATH:
            if method == "POST":
                return "init", self.do_init, ()
            if method == "PUT":
                return "put", self.do_put, ()
        if path.rstrip("/") == THUMBNAIL_PATH and method == "POST":
            return "thumbnail", self.do_thumbnail, ()
        if path in ("/token", "/o/oauth2/token") and method == "POST":
            return "token", self.do_token, ()
        return None

    def error_body(self, status, rule):
        if self._op == "token":
            err = rule.get("error") or {400: "invalid_grant", 401: "invalid_client"}.get(status, "internal_failure")
            return oauth_error(err, rule.get("message") or "injected fault")
        return google_error(status, rule.get("reason"), rule.get("message"), rule.get("domain"),
                            thumbnail=self._op == "thumbnail")

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
        snippet, status, notify = check_resource(self.read_json(), self.query)
        sid = secrets.token_urlsafe(24)
        session = {"id": sid, "snippet": snippet, "status": status, "notify": notify,
                   "total": int(total), "received": 0,
                   "sha": hashlib.sha256(), "token": token, "video": None, "lost": False,
                   "content_type": self.headers.get("X-Upload-Content-Type"), "lock": threading.Lock(),
                   "writer": None}
        with self.lock:
            self.state["sessions"][sid] = session
        location = "%s%s?uploadType=resumable&upload_id=%s" % (self.server.base_url, UPLOAD_PATH, sid)
        code, headers, _ = platform_docs.answer("youtube", "videos_insert_session")
        headers.update({"Location": location, "X-GUploader-UploadID": sid})
        self.respond(code, None, headers)

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
        """The video resource of a finished upload, from the documented answer:
        an unaudited project's video is private whatever was asked."""
        snippet, status = s["snippet"], s["status"]
        vid = "".join(secrets.choice(ID_ALPHABET) for _ in range(11))
        privacy = "private" if self.cfg.get("unaudited_project") else status.get("privacyStatus", "public")
        title, description = snippet.get("title"), snippet.get("description", "")
        thumb = "https://i.ytimg.com/vi/%s/default.jpg" % vid
        _, _, video = platform_docs.answer(
            "youtube", "upload_complete_unaudited" if self.cfg.get("unaudited_project") else "upload_complete", {
                "etag": secrets.token_urlsafe(20), "id": vid,
                "snippet.publishedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "snippet.channelId": "UCfakeChannel0000000000A", "snippet.title": title,
                "snippet.description": description, "snippet.thumbnails.default.url": thumb,
                "snippet.channelTitle": "Fake Channel", "snippet.categoryId": snippet.get("categoryId", "22"),
                "snippet.tags": snippet.get("tags", []),
                "snippet.localized": {"title": title, "description": description},
                "status.privacyStatus": privacy,
                "status.selfDeclaredMadeForKids": status.get("selfDeclaredMadeForKids", False)},
            drop=() if "tags" in snippet else ("snippet.tags",))
        s["sha256"] = s["sha"].hexdigest()
        with self.lock:
            s["video"] = video
            self.state["videos"].append(s)

    def _answer_progress(self, s):
        if s["video"] is not None:
            return self.respond(int(self.cfg.get("complete_status") or 200), s["video"])
        if s["received"]:
            code, headers, _ = platform_docs.answer("youtube", "upload_chunk_308")
            headers["Range"] = "bytes=0-%d" % (s["received"] - 1)
        else:  # nothing stored: no Range at all
            code, headers, _ = platform_docs.answer("youtube", "upload_chunk_308_no_range")
        headers["X-GUploader-UploadID"] = s["id"]
        self.respond(code, None, headers, reason="Resume Incomplete")

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
        code, _, body = platform_docs.answer("google", "token_refresh",
                                             {"access_token": token, "expires_in": expires_in})
        self.respond(code, body, nocache)

    # ---- thumbnail -------------------------------------------------------------
    def do_thumbnail(self):
        """thumbnails.set: the image is the body; checks it as the documentation
        limits it (type, 2 MB) and records what arrived."""
        self.check_auth()
        vid = self.query.get("videoId")
        with self.lock:
            video = next((v["video"] for v in self.state["videos"] if v["video"]["id"] == vid), None)
        if not video:
            raise Reply(404, google_error(404, "videoNotFound"))
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        data = self.body.read_all(THUMBNAIL_MAX + 1)
        if not data:
            raise Reply(400, google_error(400, "mediaBodyRequired", "The request does not include the image content.",
                                          "youtube.thumbnail"))
        if ctype not in THUMBNAIL_TYPES or len(data) > THUMBNAIL_MAX:
            raise Reply(400, google_error(400, "invalidImage"))
        with self.lock:
            self.state["thumbnails"].append({"videoId": vid, "size": len(data), "content_type": ctype,
                                             "sha256": hashlib.sha256(data).hexdigest()})
        url = "https://i.ytimg.com/vi/%s/" % vid
        code, _, body = platform_docs.answer("youtube", "thumbnails_set", {
            "etag": secrets.token_urlsafe(20),
            "items": [{"default": {"url": url + "default.jpg", "width": 120, "height": 90},
                       "medium": {"url": url + "mqdefault.jpg", "width": 320, "height": 180},
                       "high": {"url": url + "hqdefault.jpg", "width": 480, "height": 360}}]})
        self.respond(code, body)

    # ---- stats -----------------------------------------------------------------
    def fake_stats(self):
        st = self.state
        return {
            "videos_created": len(st["videos"]),
            "videos": [{"id": s["video"]["id"], "title": s["snippet"].get("title"),
                        "description": s["snippet"].get("description", ""), "size": s["total"],
                        "sha256": s["sha256"], "privacyStatus": s["video"]["status"]["privacyStatus"],
                        "requestedPrivacyStatus": s["status"].get("privacyStatus"),
                        "tags": s["snippet"].get("tags"), "categoryId": s["snippet"].get("categoryId"),
                        "selfDeclaredMadeForKids": s["status"].get("selfDeclaredMadeForKids"),
                        "notifySubscribers": s["notify"],
                        "upload_id": s["id"]} for s in st["videos"]],
            "thumbnails": list(st["thumbnails"]),
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
