#!/usr/bin/env python3
"""Fake Graph API: Facebook Page videos and Reels, and Instagram Reels publishing.

Every answer that Meta documents is built from its documented example in
tests/platform_docs/{facebook,instagram}/ (platform_docs.answer, with the fake's
own ids and offsets put in), so the fake cannot drift from the documentation.
Every object the fake creates (an upload session, a Reel, a container, a media) is
a record that only moves forward, and publishing is checked and done under one
lock, so a retried or duplicated request can never publish twice; tests read what
happened from /_control/stats.

Hosts, all on one server (each path starts with a Graph API version, which must be
one of config graph_versions, the versions Meta's changelog lists as available;
any other, or none, answers 400 code 2500 "Unknown path components" as Graph does):
  <url>/vNN.N/...               graph.facebook.com and graph-video.facebook.com
  <url>/instagram/vNN.N/...     graph.instagram.com (Instagram Login tokens)
  <url>/video-upload/vNN.N/{video-id}   rupload.facebook.com (Reels bytes)
Tokens beginning with "IGAA" are Instagram Login tokens (as Meta issues them): they
work only on the Instagram host, and every other token only on the Facebook host;
a token on the wrong host answers 190 "Cannot parse access token".

Facebook, POST /{page-id}/videos (form, multipart or JSON; access_token as a field,
query parameter or Bearer header), upload_phase:
  start    file_size             -> video_id, upload_session_id, start_offset, end_offset  op "fb_start"
  transfer upload_session_id, start_offset, video_file_chunk (file part)
                                 -> next start_offset, end_offset                          op "fb_transfer"
  finish   upload_session_id, title, description -> {"success": true}, published once     op "fb_finish"
  A transfer is atomic: a broken one stores nothing. A start_offset other than the
  server's stores nothing and answers as documented: 400 code 6001 subcode 1363037
  with the wanted range in error_data as numbers (config fb_offset_mismatch
  "offsets": a 200 with the server's range instead).
Facebook Reels:
  POST /{page-id}/video_reels upload_phase=start -> video_id, upload_url          op "fb_reel_start"
  POST /video-upload/vNN.N/{video-id}  Authorization: OAuth <token>, offset, file_size
       headers, the bytes from offset -> {"success": true}; streamed: a broken
       upload keeps what arrived; an offset past what is held, or a file_size
       that changes, answers rupload's debug_info error                          op "fb_rupload"
  POST /{page-id}/video_reels upload_phase=finish, video_id, video_state
       (PUBLISHED publishes; DRAFT leaves a draft), description, title -> success op "fb_reel_finish"
  GET  /{video-id}?fields=status  (uploading_phase.bytes_transferred, publishing_phase)  op "fb_video"
Instagram:
  GET  /{ig-user-id}/content_publishing_limit?fields=quota_usage,config              op "ig_limit"
  POST /{ig-user-id}/media  media_type=REELS, video_url, caption, cover_url, thumb_offset,
       share_to_feed, collaborators (JSON list, up to 3), location_id -> {"id"}       op "ig_create"
  GET  /{container-id}?fields=status_code,status                                       op "ig_status"
  POST /{ig-user-id}/media_publish  creation_id -> {"id": media id}                    op "ig_publish"
       not FINISHED -> 400 code 9007 subcode 2207027; EXPIRED -> code -2 subcode 2207020;
       at the publishing limit -> code 9 subcode 2207042;
       already PUBLISHED -> code 24 subcode 2207008 (Meta documents no dedicated error
       for a second publish; config ig_republish_error overrides) and never a 2nd media.
  GET  /{media-id}?fields=permalink                                                    op "ig_permalink"
  GET  /{ig-user-id}/media?fields=id,caption,permalink&limit=N  newest first           op "ig_list"
  As in Meta's reference, a container reads only id, status, status_code and
  copyright_check_status, and a media names no container: nothing links the two.

Config: graph_versions, expired_tokens (-> 400 code 190 subcode 463), fb_chunk_bytes
(1048576), fb_offset_mismatch ("error" | "offsets"), fb_reel_publish_seconds (0: how
long a finished Reel reads processing / publishing in_progress), fb_reel_outcome (null |
"error": a finished Reel reads video_status error), ig_transcode_seconds (2),
ig_container_outcome (null | "ERROR" | "EXPIRED" | "IN_PROGRESS" | "FINISHED": forces
the status of unpublished containers), ig_container_error (the subcode an ERROR
container names, 2207026), ig_fetch_video (false; true: download video_url,
127.0.0.1 only, and go ERROR if that fails), ig_quota_total (50), ig_quota_duration
(86400), ig_quota_used (0: posts counted as made elsewhere), bandwidth_bytes_per_sec
(paces transfer bodies), ig_republish_error.
Faults without a body get Graph's error JSON built from the rule's "code",
"error_subcode", "is_transient", "message", "type", "error_user_msg"; a subcode with
a documented example answers that example's body.
A fault {"op", "throttle": name} answers Meta's documented throttling answer name
(THROTTLE_DOCS: "page_80001", "page_32", "app_4", "instagram_80002"), its body and
its usage header, the header's entry keyed by the object the path names and, with
"regain_minutes": N, saying estimated_time_to_regain_access N; with "times": 0 and
"path_contains": "/{page-id}/" it throttles one account until the test clears it
(DELETE /_control/faults), letting other accounts through.

It does not keep video bytes (count and sha256 only), serve media, or model
permissions, pages, comments, or usage counting (throttling is a fault).
"""
import hashlib
import http.client
import json
import random
import re
import secrets
import tempfile
import threading
import time
import urllib.parse

import fakebase
import platform_docs
from fakebase import Reply

# Graph API versions available in Meta's changelog (graph-api/changelog/versions)
GRAPH_VERSIONS = ["v21.0", "v22.0", "v23.0", "v24.0", "v25.0", "v26.0", "v27.0"]
VERSION_PATH = re.compile(r"^(/instagram|/video-upload)?(?:/(v\d+\.\d+))?(/.*)?$")
# documented error examples by subcode: a fault naming one answers its body
DOC_ERRORS = {1363037: ("facebook", "videos_transfer_wrong_offset"),
              1363030: ("facebook", "videos_transfer_retry_1363030"),
              1363019: ("facebook", "videos_transfer_retry_1363019"),
              1363033: ("facebook", "videos_transfer_retry_1363033"),
              1363021: ("facebook", "videos_transfer_retry_1363021"),
              1363041: ("facebook", "videos_transfer_retry_1363041"),
              1363045: ("facebook", "videos_transfer_other_file"),
              2207001: ("instagram", "error_2207001"),
              2207003: ("instagram", "error_2207003"),
              2207032: ("instagram", "error_2207032"),
              2207042: ("instagram", "error_2207042"),
              2207051: ("instagram", "error_2207051"),
              2207053: ("instagram", "error_2207053"),
              2207020: ("instagram", "error_2207020"),
              463: ("facebook", "expired_token"),
              2207027: ("instagram", "media_publish_not_ready")}
# Meta's throttling answers (Rate Limits page) a "throttle" fault names
THROTTLE_DOCS = {"page_80001": ("facebook", "throttle_page_80001"),
                 "page_32": ("facebook", "throttle_page_32"),
                 "app_4": ("facebook", "throttle_app_4"),
                 "instagram_80002": ("instagram", "throttle_80002")}
CODE_MESSAGE = {
    -2: "It takes too long to download the media.",
    -1: "An unknown error occurred.",
    1: "An unknown error has occurred.",
    2: "An unexpected error has occurred. Please retry your request later.",
    4: "(#4) Application request limit reached",
    9: "(#9) Application does not have the capability to make this API call.",
    10: "(#10) Application does not have permission for this action",
    17: "(#17) User request limit reached",
    24: "(#24) The media builder does not exist or has expired.",
    32: "(#32) Page request limit reached",
    100: "(#100) Invalid parameter",
    104: "An access token is required to request this resource.",
    190: "Error validating access token: Session has expired.",
    200: "(#200) Permissions error",
    341: "(#341) Application limit reached",
    368: "The action attempted has been deemed abusive or is otherwise disallowed",
    506: "(#506) Duplicate status message",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    6000: "There was a problem uploading your video file. Please try again.",
    9004: "Only photo or video can be accepted as media type.",
    9007: "Media ID is not available",
    80001: "There have been too many calls to this Page account. Wait a bit and try again.",
}
SUBCODE_MESSAGE = {
    463: "Error validating access token: Session has expired.",
    2207003: "It takes too long to download the media.",
    2207020: "The media you are trying to access has expired. Please try to upload again.",
    2207027: "Media ID is not available",
    2207042: "You reached maximum number of posts that is allowed to be published by Content Publishing API.",
    2207052: "The media could not be fetched from this uri.",
}
STATUS_TEXT = {
    "IN_PROGRESS": "In Progress: Media is still being processed.",
    "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
    "ERROR": "Error: Media upload has failed with error code %d",
    "EXPIRED": "Expired: Media was not published within 24 hours.",
    "PUBLISHED": "Published: Media has been published.",
}
# What the fake knows of a media but Graph does not expose (IG Media has no
# creation_id): the container it came from is in /_control/stats only.
PRIVATE_MEDIA_FIELDS = ("container_id", "ig_user_id", "published_at")
SHORTCODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def graph_error_body(code, message=None, subcode=None, is_transient=False, type_="OAuthException", **extra):
    """Graph's error JSON: {"error": {message, type, code, error_subcode, is_transient, fbtrace_id}}."""
    err = {"message": message or SUBCODE_MESSAGE.get(subcode) or CODE_MESSAGE.get(code, "(#%s) Error" % code),
           "type": type_, "code": code}
    if subcode is not None:
        err["error_subcode"] = subcode
    err["is_transient"] = bool(is_transient)
    err.update({k: v for k, v in extra.items() if v is not None})
    err["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    return {"error": err}


def graph_error(status, code, message=None, subcode=None, is_transient=False, **extra):
    return Reply(status, graph_error_body(code, message, subcode, is_transient, **extra))


def trace_id():
    return "A" + secrets.token_urlsafe(16)


def doc_answer(platform, name, replace=None, drop=()):
    """(status, body) of a documented answer with the fake's values put in (and
    the optional members in drop left out); an error's fbtrace_id is always a
    new one."""
    replace = dict(replace or {})
    doc_body = platform_docs.example(platform, name)["response"].get("body")
    if isinstance(doc_body, dict) and isinstance(doc_body.get("error"), dict):
        replace.setdefault("error.fbtrace_id", trace_id())
    status, _, body = platform_docs.answer(platform, name, replace, drop)
    return status, body


def doc_error(platform, name, replace=None):
    """A documented error answer, raised."""
    status, body = doc_answer(platform, name, replace)
    return Reply(status, body)


class ChunkSpool:
    """Receives a video_file_chunk part (memory up to 8 MiB, then a temp file)."""

    def __init__(self, on_bytes):
        self.file = tempfile.SpooledTemporaryFile(max_size=8 << 20)
        self.size = 0
        self.on_bytes = on_bytes

    def write(self, data):
        self.file.write(data)
        self.size += len(data)
        self.on_bytes(len(data))

    def pieces(self):
        self.file.seek(0)
        while True:
            data = self.file.read(fakebase.PIECE)
            if not data:
                return
            yield data


class Discard:
    def write(self, data):
        pass


def _fetch_video(server, container):
    """Background download of a container's video_url (127.0.0.1 only)."""
    ok, size, sha = False, 0, hashlib.sha256()
    try:
        u = urllib.parse.urlsplit(container["video_url"])
        if u.scheme == "http" and u.hostname == fakebase.HOST:
            conn = http.client.HTTPConnection(fakebase.HOST, u.port or 80, timeout=60)
            conn.request("GET", u.path + ("?" + u.query if u.query else ""))
            resp = conn.getresponse()
            if resp.status == 200:
                while True:
                    data = resp.read(fakebase.PIECE)
                    if not data:
                        break
                    size += len(data)
                    sha.update(data)
                length = resp.getheader("Content-Length")
                ok = length is None or int(length) == size
            conn.close()
    except (OSError, ValueError, http.client.HTTPException):
        ok = False
    with server.lock:
        container["fetch"] = "done" if ok else "failed"
        container["fetched_bytes"], container["fetched_sha256"] = size, sha.hexdigest() if ok else None
        container["fetch_done_at"] = time.monotonic()


class GraphHandler(fakebase.FakeHandler):
    fake_name = "graph"
    default_config = {
        "graph_versions": GRAPH_VERSIONS,
        "expired_tokens": [],
        "fb_chunk_bytes": 1048576,
        "fb_offset_mismatch": "error",
        "fb_reel_publish_seconds": 0,
        "fb_reel_outcome": None,
        "ig_transcode_seconds": 2,
        "ig_container_outcome": None,
        "ig_container_error": 2207026,
        "ig_fetch_video": False,
        "ig_republish_error": None,
        "ig_quota_total": 50,
        "ig_quota_duration": 86400,
        "ig_quota_used": 0,
        "bandwidth_bytes_per_sec": 0,
    }

    @classmethod
    def new_state(cls, server):
        return {"seq": random.randint(10 ** 15, 9 * 10 ** 15), "fb_sessions": {}, "fb_videos": {},
                "fb_published": 0, "fb_bytes": 0, "containers": {}, "media": {},
                "refused_versions": [], "refused_hosts": 0}

    def _new_id(self):
        with self.lock:
            self.state["seq"] += random.randint(1, 97)
            return str(self.state["seq"])

    def route(self, method, path):
        m = VERSION_PATH.match(path)
        host, version, rest = (m.group(1) or "", m.group(2), m.group(3) or "/") if m else ("", None, path)
        if version not in self.cfg["graph_versions"]:
            return "graph_version", self.refuse_version, (version, rest)
        self.host = {"/instagram": "instagram", "/video-upload": "rupload"}.get(host, "facebook")
        self.version = version
        parts = [p for p in rest.split("/") if p]
        if self.host == "rupload":
            if method == "POST" and len(parts) == 1:
                return "fb_rupload", self.do_rupload, (parts[0],)
            return None
        ig_only = self.host == "instagram"
        if method == "POST" and len(parts) == 2:
            node, edge = parts
            if edge == "videos" and not ig_only:
                return None, self.do_fb_videos, (node,)
            if edge == "video_reels" and not ig_only:
                return None, self.do_fb_reels, (node,)
            if edge == "media":
                return "ig_create", self.do_ig_create, (node,)
            if edge == "media_publish":
                return "ig_publish", self.do_ig_publish, (node,)
        if method == "GET" and len(parts) == 2 and parts[1] == "media":
            return "ig_list", self.do_ig_list, (parts[0],)
        if method == "GET" and len(parts) == 2 and parts[1] == "content_publishing_limit":
            return "ig_limit", self.do_ig_limit, (parts[0],)
        if method == "GET" and len(parts) == 1:
            node = parts[0]
            with self.lock:
                st = self.state
                op = ("ig_status" if node in st["containers"] else "ig_permalink" if node in st["media"]
                      else "fb_video" if node in st["fb_videos"] else "graph_get")
            return op, self.do_get_node, (node,)
        if parts:
            return "graph_unknown", self.refuse_path, (rest,)
        return None

    def set_op(self, op):
        """As fakebase, and a "throttle" fault answers Meta's throttling."""
        super().set_op(op)
        if self._rule and self._rule.get("throttle"):
            raise self.throttle_reply(self._rule)

    def throttle_reply(self, rule):
        """The documented throttling answer the rule names, its usage header's
        entries keyed by the path's object and, with "regain_minutes", saying
        that estimated_time_to_regain_access (only where the example has one)."""
        platform, name = THROTTLE_DOCS[rule["throttle"]]
        status, body = doc_answer(platform, name)
        headers = dict(platform_docs.example(platform, name)["response"].get("headers") or {})
        m = VERSION_PATH.match(self.path.split("?", 1)[0])
        node = next((p for p in ((m.group(3) if m else "") or "").split("/") if p), "")
        for header, value in headers.items():
            usage = json.loads(value)
            if header.lower() == "x-business-use-case-usage":
                usage = {(node if key.startswith("{") else key): [
                    dict(e, estimated_time_to_regain_access=rule["regain_minutes"])
                    if "regain_minutes" in rule and "estimated_time_to_regain_access" in e else e
                    for e in entries] for key, entries in usage.items()}
            headers[header] = json.dumps(usage, separators=(",", ":"))
        return Reply(status, body, headers)

    def refuse_version(self, version, rest):
        """A version Graph does not serve (or none): 2500 Unknown path components."""
        self.body.drain()
        with self.lock:
            self.state["refused_versions"].append(version or "")
        raise doc_error("facebook", "unknown_version", {"error.message": "Unknown path components: " + rest})

    def refuse_path(self, rest):
        """A path this host does not serve: 2500 Unknown path components."""
        self.body.drain()
        raise doc_error("facebook", "unknown_version", {"error.message": "Unknown path components: " + rest})

    def error_body(self, status, rule):
        doc = DOC_ERRORS.get(rule.get("error_subcode"))
        if doc and not rule.get("message"):
            doc_code = platform_docs.example(*doc)["response"]["body"]["error"]["code"]
            if rule.get("code", doc_code) == doc_code:
                return doc_answer(*doc)[1]
        code = rule.get("code", {401: 190, 403: 10, 404: 100, 429: 4, 500: 1, 502: 2, 503: 2}.get(status, 100))
        transient = rule.get("is_transient", status >= 500)
        return graph_error_body(code, rule.get("message"), rule.get("error_subcode"), transient,
                                rule.get("type", "OAuthException"), error_user_msg=rule.get("error_user_msg"),
                                error_user_title=rule.get("error_user_title"), error_data=rule.get("error_data"))

    # ---- parameters and tokens ---------------------------------------------------
    def read_params(self, on_field=None, open_file=None):
        """Query + body parameters (form, multipart streamed, or JSON)."""
        params = dict(self.query)
        ctype = self.headers.get("Content-Type", "")
        mtype = ctype.split(";")[0].strip().lower()
        if mtype == "multipart/form-data":
            m = re.search(r'boundary="?([^";]+)"?', ctype)
            if not m:
                raise graph_error(400, 100, "(#100) multipart body without boundary")

            def field(name, value):
                params[name] = value
                if on_field:
                    on_field(name, value)

            def opener(name, filename, part_type):
                sink = open_file(name, filename, part_type) if open_file else None
                return sink or Discard()

            fakebase.MultipartParser(self.body, m.group(1).encode(), field, opener).parse()
        elif mtype == "application/json":
            data = self.read_json()
            if isinstance(data, dict):
                params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()})
        else:
            raw = self.body.read_all()
            params.update(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        return params

    def check_token(self, params):
        token = params.get("access_token")
        if not token:
            scheme, _, value = self.headers.get("Authorization", "").partition(" ")
            if scheme.lower() in ("bearer", "oauth"):
                token = value.strip()
        if not token:
            raise graph_error(400, 104, type_="OAuthException")
        instagram_login = token.startswith("IGAA")
        if instagram_login != (getattr(self, "host", "facebook") == "instagram"):
            with self.lock:
                self.state["refused_hosts"] += 1
            raise doc_error("instagram", "wrong_host_token")
        with self.lock:
            expired = token in self.cfg["expired_tokens"]
        if expired:
            raise doc_error("facebook", "expired_token")
        return token

    @staticmethod
    def require(params, name):
        value = params.get(name)
        if value is None or value == "":
            raise graph_error(400, 100, "(#100) The parameter %s is required" % name)
        return value

    # ---- Facebook resumable upload -------------------------------------------------
    def do_fb_videos(self, page_id):
        """POST /{page-id}/videos: the op is upload_phase, known from query or body."""
        phase_op = {"start": "fb_start", "transfer": "fb_transfer", "finish": "fb_finish"}
        spool = []

        def on_field(name, value):
            if name == "upload_phase" and self._op is None:
                self.set_op(phase_op.get(value, "fb_videos"))

        # paced from the first byte: the phase is known only once its field is
        # read, and a chunk may arrive in one piece with it (start and finish
        # bodies are small, so pacing them costs nothing)
        self.body.rate = lambda: self.cfg.get("bandwidth_bytes_per_sec") or 0

        def open_file(name, filename, part_type):
            if name == "video_file_chunk":
                spool.append(ChunkSpool(self._count_fb_bytes))
                return spool[-1]
            return None

        if self.query.get("upload_phase"):
            on_field("upload_phase", self.query["upload_phase"])
        params = self.read_params(on_field, open_file)
        if self._op is None:
            on_field("upload_phase", params.get("upload_phase", ""))
        self.check_token(params)
        phase = params.get("upload_phase")
        if phase == "start":
            return self.fb_start(page_id, params)
        if phase == "transfer":
            return self.fb_transfer(page_id, params, spool[-1] if spool else None)
        if phase == "finish":
            return self.fb_finish(page_id, params)
        raise graph_error(400, 100, "(#100) upload_phase must be start, transfer or finish "
                          "(this fake supports resumable uploads only)")

    def _count_fb_bytes(self, n):
        with self.lock:
            self.state["fb_bytes"] += n

    def _offsets(self, s):
        """The range the server wants next: (start, end)."""
        start = s["received"]
        return start, min(start + int(self.cfg["fb_chunk_bytes"]), s["size"])

    def fb_start(self, page_id, params):
        size = self.require(params, "file_size")
        if not size.isdigit() or int(size) <= 0:
            raise graph_error(400, 100, "(#100) file_size must be a positive integer")
        s = {"video_id": self._new_id(), "upload_session_id": self._new_id(), "page_id": page_id,
             "size": int(size), "received": 0, "sha": hashlib.sha256(), "sha256": None,
             "title": None, "description": None, "published": False, "lock": threading.Lock()}
        with self.lock:
            self.state["fb_sessions"][s["upload_session_id"]] = s
            self.state["fb_videos"][s["video_id"]] = s
            a, b = self._offsets(s)
        self.respond(*doc_answer("facebook", "videos_start", {
            "video_id": s["video_id"], "upload_session_id": s["upload_session_id"],
            "start_offset": str(a), "end_offset": str(b)}))

    def _range_answer(self, s):
        a, b = self._offsets(s)
        return doc_answer("facebook", "videos_transfer", {"start_offset": str(a), "end_offset": str(b)})

    def _session(self, page_id, params):
        sid = self.require(params, "upload_session_id")
        with self.lock:
            s = self.state["fb_sessions"].get(sid)
        if s is None or s["page_id"] != page_id or s.get("reel"):
            raise graph_error(400, 100, "(#100) Invalid parameter: upload_session_id")
        return s

    def fb_transfer(self, page_id, params, spool):
        s = self._session(page_id, params)
        start = self.require(params, "start_offset")
        if spool is None or spool.size == 0:
            raise graph_error(400, 100, "(#100) The parameter video_file_chunk is required")
        with s["lock"]:
            if not start.isdigit() or int(start) != s["received"] or s["received"] >= s["size"]:
                if self.cfg.get("fb_offset_mismatch") == "offsets":
                    return self.respond(*self._range_answer(s))
                a, b = self._offsets(s)  # as documented: numbers in error_data
                raise doc_error("facebook", "videos_transfer_wrong_offset",
                                {"error.error_data.start_offset": a, "error.error_data.end_offset": b})
            if s["received"] + spool.size > s["size"]:
                raise graph_error(400, 100, "(#100) The chunk goes beyond file_size")
            for data in spool.pieces():
                s["sha"].update(data)
            s["received"] += spool.size
            if s["received"] == s["size"]:
                s["sha256"] = s["sha"].hexdigest()
            self.respond(*self._range_answer(s))

    def fb_finish(self, page_id, params):
        s = self._session(page_id, params)
        with s["lock"]:
            if s["received"] < s["size"]:
                raise graph_error(400, 6000, "(#6000) The video upload is incomplete: %d of %d bytes received"
                                  % (s["received"], s["size"]))
            with self.lock:
                if not s["published"]:
                    s["published"] = True
                    s["title"], s["description"] = params.get("title"), params.get("description")
                    self.state["fb_published"] += 1
        self.respond(*doc_answer("facebook", "videos_finish"))

    # ---- Facebook Reels ------------------------------------------------------------
    def do_fb_reels(self, page_id):
        """POST /{page-id}/video_reels: upload_phase start or finish."""
        if self.query.get("upload_phase"):
            self.set_op({"start": "fb_reel_start", "finish": "fb_reel_finish"}.get(
                self.query["upload_phase"], "fb_reels"))
        params = self.read_params()
        if self._op is None:
            self.set_op({"start": "fb_reel_start", "finish": "fb_reel_finish"}.get(
                params.get("upload_phase", ""), "fb_reels"))
        token = self.check_token(params)
        phase = params.get("upload_phase")
        if phase == "start":
            s = {"video_id": self._new_id(), "upload_session_id": None, "page_id": page_id, "reel": True,
                 "size": None, "received": 0, "sha": hashlib.sha256(), "sha256": None, "token": token,
                 "title": None, "description": None, "published": False, "state": None,
                 "lock": threading.Lock()}
            with self.lock:
                self.state["fb_videos"][s["video_id"]] = s
            host = self.headers.get("Host", "%s:%d" % (fakebase.HOST, self.server.server_port))
            return self.respond(*doc_answer("facebook", "reels_start", {
                "video_id": s["video_id"],
                "upload_url": "http://%s/video-upload/%s/%s" % (host, self.version, s["video_id"])}))
        if phase != "finish":
            raise graph_error(400, 100, "(#100) upload_phase must be start or finish")
        vid = self.require(params, "video_id")
        with self.lock:
            s = self.state["fb_videos"].get(vid)
        if s is None or not s.get("reel") or s["page_id"] != page_id:
            raise graph_error(400, 100, "(#100) Invalid parameter: video_id")
        state = params.get("video_state", "")
        if state not in ("PUBLISHED", "DRAFT", "SCHEDULED"):
            raise graph_error(400, 100, "(#100) video_state must be one of PUBLISHED, DRAFT, SCHEDULED")
        with s["lock"]:
            if s["size"] is None or s["received"] < s["size"]:
                raise graph_error(400, 6000, "There was a problem uploading your video file. The upload is "
                                  "incomplete: %d bytes received" % s["received"])
            with self.lock:
                s["state"] = state
                if state == "PUBLISHED" and not s["published"]:
                    s["published"] = True
                    s["finished_at"] = time.monotonic()
                    s["title"], s["description"] = params.get("title"), params.get("description")
                    self.state["fb_published"] += 1
        self.respond(*doc_answer("facebook", "reels_finish"))

    @staticmethod
    def rupload_error(status, message, retriable=False):
        return Reply(status, {"debug_info": {"retriable": retriable, "type": "ParameterValidationError",
                                             "message": message}})

    def do_rupload(self, video_id):
        """POST /video-upload/vNN.N/{video-id}: the Reel's bytes from offset, streamed
        (a broken upload keeps what arrived, so the client resumes at the status's
        bytes_transferred)."""
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        with self.lock:
            s = self.state["fb_videos"].get(video_id)
        if scheme != "OAuth" or not token.strip():
            raise self.rupload_error(401, "Authorization: OAuth <token> is required")
        if s is None or not s.get("reel"):
            raise self.rupload_error(400, "no such video upload")
        if token.strip() != s["token"]:
            raise doc_error("instagram", "wrong_host_token")
        offset, size = self.headers.get("offset", ""), self.headers.get("file_size", "")
        if not offset.isdigit():
            raise doc_error("facebook", "reels_upload_refused")
        if not size.isdigit() or int(size) <= 0:
            raise self.rupload_error(400, "HeaderValuePredicate: Header file_size not convertable to unsigned long")
        offset, size = int(offset), int(size)
        with s["lock"]:
            if s["size"] is None:
                s["size"] = size
            if size != s["size"] or offset > s["received"]:
                raise self.rupload_error(400, "offset %d or file_size %d does not continue the upload "
                                         "(%d of %d bytes held)" % (offset, size, s["received"], s["size"]))
            skip = s["received"] - offset  # bytes the server already holds
        self.body.rate = lambda: self.cfg.get("bandwidth_bytes_per_sec") or 0
        self.body.on_bytes = self._count_fb_bytes
        while True:
            piece = self.body.read()
            if not piece:
                break
            if skip:
                cut = min(skip, len(piece))
                piece, skip = piece[cut:], skip - cut
            with s["lock"]:
                if s["received"] + len(piece) > s["size"]:
                    raise self.rupload_error(400, "the body goes beyond file_size")
                s["sha"].update(piece)
                s["received"] += len(piece)
                if s["received"] == s["size"]:
                    s["sha256"] = s["sha"].hexdigest()
        self.respond(*doc_answer("facebook", "reels_upload"))

    # ---- Instagram -----------------------------------------------------------------
    def do_ig_create(self, ig_user_id):
        params = self.read_params()
        self.check_token(params)
        media_type = self.require(params, "media_type")
        if media_type not in ("REELS", "VIDEO"):
            raise graph_error(400, 100, "The media type %s is unknown." % media_type, 2207023)
        video_url = self.require(params, "video_url")
        thumb = params.get("thumb_offset")
        if thumb is not None and not thumb.isdigit():
            raise graph_error(400, 100, "(#100) Param thumb_offset must be an integer")
        feed = params.get("share_to_feed")
        if feed is not None and feed not in ("true", "false"):
            raise graph_error(400, 100, "(#100) Param share_to_feed must be a boolean")
        collaborators = None
        if params.get("collaborators") is not None:
            try:
                collaborators = json.loads(params["collaborators"])
            except ValueError:
                collaborators = None
            if not isinstance(collaborators, list) or not all(isinstance(u, str) for u in collaborators):
                raise graph_error(400, 100, "(#100) Param collaborators must be an array of usernames")
            if len(collaborators) > 3:
                raise graph_error(400, 100, "(#100) A post can have at most 3 collaborators")
        c = {"id": self._new_id(), "ig_user_id": ig_user_id, "video_url": video_url,
             "caption": params.get("caption", ""), "media_type": media_type,
             "share_to_feed": feed, "cover_url": params.get("cover_url"),
             "thumb_offset": int(thumb) if thumb is not None else None, "collaborators": collaborators,
             "location_id": params.get("location_id"), "host": self.host,
             "created": time.monotonic(), "media_id": None, "fetch": None}
        with self.lock:
            if self.cfg.get("ig_fetch_video"):
                c["fetch"] = "pending"
            self.state["containers"][c["id"]] = c
        if c["fetch"]:
            threading.Thread(target=_fetch_video, args=(self.server, c), daemon=True).start()
        self.respond(*doc_answer("instagram", "container_create", {"id": c["id"]}))

    def _published_in_window(self, ig_user_id):
        """Posts of this account inside the publishing window (caller holds the lock)."""
        since = time.time() - float(self.cfg["ig_quota_duration"])
        made = sum(1 for m in self.state["media"].values()
                   if m["ig_user_id"] == ig_user_id and m["published_at"] >= since)
        return made + int(self.cfg["ig_quota_used"])

    def do_ig_limit(self, ig_user_id):
        """GET /{ig-user-id}/content_publishing_limit?fields=quota_usage,config."""
        self.body.drain()
        self.check_token(self.query)
        fields = [f.strip() for f in self.query.get("fields", "quota_usage").split(",") if f.strip()]
        with self.lock:
            entry = {"quota_usage": self._published_in_window(ig_user_id),
                     "config": {"quota_total": int(self.cfg["ig_quota_total"]),
                                "quota_duration": int(self.cfg["ig_quota_duration"])}}
        status, body = doc_answer("instagram", "content_publishing_limit",
                                  {"data": [{k: v for k, v in entry.items() if k in fields}]})
        self.respond(status, body)

    def container_status(self, c):
        """status_code of a container now (caller holds the lock)."""
        if c["media_id"]:
            return "PUBLISHED"
        forced = self.cfg.get("ig_container_outcome")
        if forced in ("ERROR", "EXPIRED", "IN_PROGRESS", "FINISHED"):
            return forced
        if c["fetch"] == "failed":
            return "ERROR"
        if c["fetch"] == "pending":
            return "IN_PROGRESS"
        since = c.get("fetch_done_at") or c["created"]
        if time.monotonic() - since >= float(self.cfg["ig_transcode_seconds"]):
            return "FINISHED"
        return "IN_PROGRESS"

    def do_ig_publish(self, ig_user_id):
        params = self.read_params()
        self.check_token(params)
        cid = self.require(params, "creation_id")
        with self.lock:
            c = self.state["containers"].get(cid)
            status = self.container_status(c) if c and c["ig_user_id"] == ig_user_id else None
            if status in (None, "PUBLISHED"):
                custom = self.cfg.get("ig_republish_error") if status else None
                if custom:
                    raise Reply(400, self.error_body(400, custom))
                raise graph_error(400, 24, "The media builder with creation id = %s does not exist or has "
                                  "been expired." % cid, 2207008)
            if status == "EXPIRED":
                raise doc_error("instagram", "error_2207020")
            if status != "FINISHED":
                raise doc_error("instagram", "media_publish_not_ready")
            if self._published_in_window(ig_user_id) >= int(self.cfg["ig_quota_total"]):
                raise doc_error("instagram", "error_2207042")
            media = {"id": self._new_id(), "container_id": cid, "ig_user_id": ig_user_id,
                     "published_at": time.time(),
                     "caption": c["caption"], "media_type": "VIDEO", "media_product_type": "REELS",
                     "shortcode": "".join(secrets.choice(SHORTCODE_ALPHABET) for _ in range(11)),
                     "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime())}
            media["permalink"] = "https://www.instagram.com/reel/%s/" % media["shortcode"]
            c["media_id"] = media["id"]
            self.state["media"][media["id"]] = media
        self.respond(*doc_answer("instagram", "media_publish", {"id": media["id"]}))

    def do_ig_list(self, ig_user_id):
        """GET /{ig-user-id}/media: the user's media, newest first (fields, limit)."""
        self.body.drain()
        self.check_token(self.query)
        fields = [f.strip() for f in self.query.get("fields", "id").split(",") if f.strip()]
        limit = int(self.query.get("limit", "25") or 25)
        with self.lock:
            mine = [m for m in self.state["media"].values() if m["ig_user_id"] == ig_user_id]
        mine.sort(key=lambda m: int(m["id"]), reverse=True)
        data = [dict({f: m[f] for f in fields if f in m and f not in PRIVATE_MEDIA_FIELDS}, id=m["id"])
                for m in mine[:limit]]
        self.respond(200, {"data": data})

    # ---- node reads ----------------------------------------------------------------
    def do_get_node(self, node):
        self.body.drain()
        self.check_token(self.query)
        fields = [f.strip() for f in self.query.get("fields", "").split(",") if f.strip()]
        with self.lock:
            st = self.state
            if node in st["containers"]:
                c = st["containers"][node]
                status = self.container_status(c)
                text = STATUS_TEXT[status] % int(self.cfg["ig_container_error"]) if status == "ERROR" \
                    else STATUS_TEXT[status]
                # exactly the fields Meta documents for an IG Container: no link to
                # the media it became
                obj = {"status_code": status, "status": text,
                       "copyright_check_status": {"status": "completed", "matches_found": False}}
                if set(fields) <= {"status_code", "status", "id"}:
                    _, body = doc_answer("instagram", "container_status", {
                        "status_code": status, "status": text, "id": node})
                    return self.respond(200, {k: v for k, v in body.items() if k in fields or k == "id"})
            elif node in st["media"]:
                obj = {k: v for k, v in st["media"][node].items() if k not in PRIVATE_MEDIA_FIELDS}
                if fields == ["permalink"]:
                    return self.respond(*doc_answer("instagram", "permalink", {
                        "permalink": obj["permalink"], "id": node}))
            elif node in st["fb_videos"]:
                obj = self._video_node(node, st["fb_videos"][node])
            else:
                raise graph_error(400, 100, "Unsupported get request. Object with ID '%s' does not exist, "
                                  "cannot be loaded due to missing permissions, or does not support this "
                                  "operation." % node, 33, type_="GraphMethodException")
        out = {f: obj[f] for f in fields if f in obj}
        out["id"] = node
        self.respond(200, out)

    def _video_node(self, node, s):
        """A Facebook video's fields; its status as documented (caller holds the lock)."""
        size = s["size"] or 0
        uploaded = s["size"] is not None and s["received"] == size
        processing = s.get("reel") and s["published"] and \
            time.monotonic() - s["finished_at"] < float(self.cfg["fb_reel_publish_seconds"])
        if s.get("reel") and s["published"] and self.cfg.get("fb_reel_outcome") == "error":
            _, body = doc_answer("facebook", "video_status_error", {
                "id": node, "status.uploading_phase.bytes_transferred": s["received"]})
        elif processing:  # finish taken: Facebook processes, then publishes
            _, body = doc_answer("facebook", "reels_status_published", {
                "id": node, "status.uploading_phase.bytes_transferred": s["received"],
                "status.video_status": "processing", "status.processing_phase.status": "in_progress",
                "status.publishing_phase.status": "in_progress"},
                drop=("status.publishing_phase.publish_status", "status.publishing_phase.publish_time"))
        elif s["published"]:
            _, body = doc_answer("facebook", "reels_status_published", {
                "id": node, "status.uploading_phase.bytes_transferred": s["received"],
                "status.publishing_phase.publish_time": int(time.time())})
        else:
            _, body = doc_answer("facebook", "video_status", {
                "id": node,
                "status.video_status": "processing" if uploaded else "uploading",
                "status.uploading_phase.status": "complete" if uploaded else "in_progress",
                "status.uploading_phase.bytes_transferred": s["received"]})
        failed = s.get("reel") and s["published"] and self.cfg.get("fb_reel_outcome") == "error"
        return {"title": s["title"], "description": s["description"],
                "published": s["published"] and not processing and not failed,
                "permalink_url": "/reel/%s/" % node if s.get("reel") else "/%s/videos/%s/" % (s["page_id"], node),
                "status": body["status"]}

    # ---- stats ---------------------------------------------------------------------
    def fake_stats(self):
        st = self.state
        containers = []
        for c in st["containers"].values():
            containers.append({"id": c["id"], "ig_user_id": c["ig_user_id"], "video_url": c["video_url"],
                               "caption": c["caption"], "status": self.container_status(c),
                               "host": c["host"], "share_to_feed": c["share_to_feed"],
                               "cover_url": c["cover_url"], "thumb_offset": c["thumb_offset"],
                               "collaborators": c["collaborators"], "location_id": c["location_id"],
                               "media_id": c["media_id"], "fetched_bytes": c.get("fetched_bytes"),
                               "fetched_sha256": c.get("fetched_sha256")})
        return {
            "fb_videos": [{"video_id": s["video_id"], "page_id": s["page_id"], "title": s["title"],
                           "description": s["description"], "size": s["size"], "received": s["received"],
                           "sha256": s["sha256"], "published": s["published"], "reel": bool(s.get("reel")),
                           "state": s.get("state"),
                           "upload_session_id": s["upload_session_id"]} for s in st["fb_videos"].values()],
            "fb_videos_published": st["fb_published"],
            "fb_bytes_received": st["fb_bytes"],
            "ig_containers": containers,
            "ig_media_published": len(st["media"]),
            "ig_media": [dict(m) for m in st["media"].values()],
            "refused_versions": list(st["refused_versions"]),
            "refused_hosts": st["refused_hosts"],
        }


if __name__ == "__main__":
    raise SystemExit(fakebase.main(GraphHandler))
