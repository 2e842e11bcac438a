#!/usr/bin/env python3
"""Fake consent pages, token endpoints and account lookups of the four platforms:
what connecting an account (the HTTP programs' /social-post-accounts) talks to.

The HTTP programs point their connection settings at <url> (the worker keeps
the posting fakes): GOOGLE_AUTH_URL <url>/google/o/oauth2/v2/auth,
GOOGLE_TOKEN_URL <url>/google/token, GOOGLE_REVOKE_URL <url>/google/revoke,
YOUTUBE_UPLOAD_URL <url>/upload/youtube/v3/videos (channels.list is read from
the same base), FACEBOOK_AUTH_URL <url>/facebook/dialog/oauth,
FACEBOOK_GRAPH_URL <url>/graph, INSTAGRAM_AUTH_URL <url>/instagram/oauth/authorize,
INSTAGRAM_TOKEN_URL <url>/instagram/oauth/access_token, INSTAGRAM_GRAPH_URL
<url>/iggraph, TIKTOK_AUTH_URL <url>/tiktok/v2/auth/authorize/, TIKTOK_API_URL <url>.
Every answer is built from tests/platform_docs/{google,youtube,facebook,
instagram,tiktok}/ (platform_docs.answer), so the fake says what the
documentation says. The idea that keeps it honest: a code is issued only by a
consent the browser went through, for that client, redirect_uri and PKCE
challenge, and it is good for one exchange; the tokens issued are random and
accepted by the posting fakes (which take any token not configured as expired),
with the prefixes the platforms use (IGAA for Instagram Login, EAA for Facebook).

  GET  /google/o/oauth2/v2/auth        op "google_consent"     the consent page; decision=allow|deny
  POST /google/token                   op "google_token"       authorization_code (+ code_verifier)
  POST /google/revoke                  op "google_revoke"
  GET  /youtube/v3/channels            op "youtube_channels"   part=snippet&mine=true
  GET  /facebook/dialog/oauth          op "facebook_consent"
  GET  /graph/oauth/access_token       op "facebook_token"       the code, or fb_exchange_token (long-lived)
  GET  /graph/me/accounts              op "facebook_pages"
  DELETE /graph/me/permissions         op "facebook_revoke"      with the User token; a Page token is refused
  GET  /instagram/oauth/authorize      op "instagram_consent"
  POST /instagram/oauth/access_token   op "instagram_token"
  GET  /iggraph/access_token           op "instagram_long_lived" (ig_exchange_token)
  GET  /iggraph/me                     op "instagram_me"
  GET  /tiktok/v2/auth/authorize/      op "tiktok_consent"
  POST /v2/oauth/token/                op "tiktok_token"
  GET  /v2/user/info/                  op "tiktok_user_info"
  POST /v2/oauth/revoke/               op "tiktok_revoke"

A consent page (HTML) has two links, #allow and #deny, to the same URL with
decision=allow or decision=deny; those answer 302 to redirect_uri with a code
or with error=access_denied, as each platform's documentation shows.

Config: channel {id, title} (null: the Google account has no channel), pages
[{id, name, instagram?: {id, username}}] (Facebook Pages, and the Instagram
professional account linked to one; shown when fields ask for
instagram_business_account), ig_user {user_id, username}, tiktok_user
{open_id, display_name}, clients {platform: [id, secret]} (checked when set).
Faults without a body get the platform's invalid_grant-style error.

Stats: consents [{platform, decision, query}], exchanges [{platform, ok,
reason}], tokens_issued, revoked [{platform, token, known}] (a Facebook
User token begins EAAfbuser-, a Page token EAAfacebook-),
revocations_refused [{platform, token}], lookups {op: n}.
"""
import base64
import hashlib
import html
import secrets
import threading
import urllib.parse

import fakebase
import platform_docs
from fakebase import Reply

CONSENT = {
    "/google/o/oauth2/v2/auth": ("youtube", "google", "authorize", "authorize_denied", "client_id"),
    "/facebook/dialog/oauth": ("facebook", "facebook", "login_dialog", "login_dialog_denied", "client_id"),
    "/instagram/oauth/authorize": ("instagram", "instagram", "login_authorize", "login_authorize_denied",
                                   "client_id"),
    "/tiktok/v2/auth/authorize/": ("tiktok", "tiktok", "authorize", "authorize_denied", "client_key"),
}
OP_PREFIX = {"youtube": "google", "facebook": "facebook", "instagram": "instagram", "tiktok": "tiktok"}


class Handler(fakebase.FakeHandler):
    fake_name = "oauth"
    default_config = {
        "channel": {"id": "UC_x5XG1OV2P6uZZ5FSM9Ttw", "title": "Sandbox Channel"},
        "pages": [{"id": "102927594431953", "name": "Sandbox Page",
                   "instagram": {"id": "17841405822304915", "username": "page_linked_creator"}},
                  {"id": "102927594431954", "name": "Second Page"}],
        "ig_user": {"user_id": "17841405822304914", "username": "sandbox_creator"},
        "tiktok_user": {"open_id": "afd97af1-b87b-48b9-ac98-410aghda5344", "display_name": "Sandbox Toker"},
        "clients": {},
    }

    @classmethod
    def new_state(cls, server):
        return {"codes": {}, "tokens": {}, "consents": [], "exchanges": [], "revoked": [],
                "refused": []}

    def route(self, method, path):
        if method == "GET" and path in CONSENT:
            return (OP_PREFIX[CONSENT[path][0]] + "_consent", self.do_consent, (path,))
        table = {
            ("POST", "/google/token"): ("google_token", self.do_google_token),
            ("POST", "/google/revoke"): ("google_revoke", self.do_google_revoke),
            ("GET", "/youtube/v3/channels"): ("youtube_channels", self.do_channels),
            ("GET", "/graph/oauth/access_token"): ("facebook_token", self.do_facebook_token),
            ("GET", "/graph/me/accounts"): ("facebook_pages", self.do_pages),
            ("DELETE", "/graph/me/permissions"): ("facebook_revoke", self.do_facebook_revoke),
            ("POST", "/instagram/oauth/access_token"): ("instagram_token", self.do_instagram_token),
            ("GET", "/iggraph/access_token"): ("instagram_long_lived", self.do_instagram_long_lived),
            ("GET", "/iggraph/me"): ("instagram_me", self.do_instagram_me),
            ("POST", "/v2/oauth/token/"): ("tiktok_token", self.do_tiktok_token),
            ("GET", "/v2/user/info/"): ("tiktok_user_info", self.do_tiktok_user_info),
            ("POST", "/v2/oauth/revoke/"): ("tiktok_revoke", self.do_tiktok_revoke),
        }
        found = table.get((method, path))
        return (found[0], found[1], ()) if found else None

    def error_body(self, status, rule):
        op = self._op or ""
        if op.startswith("facebook"):
            return {"error": {"message": rule.get("message") or "An unknown error occurred",
                              "type": "OAuthException", "code": rule.get("code", 1),
                              "fbtrace_id": "AbCdEf" + secrets.token_hex(4)}}
        if op.startswith("instagram"):
            return {"error_type": "OAuthException", "code": status,
                    "error_message": rule.get("message") or "injected fault"}
        return {"error": rule.get("error", "server_error"),
                "error_description": rule.get("message") or "injected fault %d" % status}

    def fake_stats(self):
        s = self.state
        return {"consents": s["consents"], "exchanges": s["exchanges"],
                "facebook_long_lived": s.get("long_lived", 0),
                "tokens_issued": len(s["tokens"]), "revoked": s["revoked"],
                "revocations_refused": s["refused"]}

    # ---- consent -------------------------------------------------------------
    def do_consent(self, path):
        platform, folder, allow_doc, deny_doc, id_param = CONSENT[path]
        q = self.query
        decision = q.get("decision")
        if decision not in ("allow", "deny"):
            return self._consent_page(platform, q)
        with self.lock:
            self.state["consents"].append({"platform": platform, "decision": decision,
                                           "query": {k: v for k, v in q.items() if k != "decision"}})
        redirect, state = q.get("redirect_uri", ""), q.get("state", "")
        if decision == "deny":
            _, headers, _ = platform_docs.answer(folder, deny_doc)
            location = headers["Location"]
        else:
            code = "code-" + secrets.token_urlsafe(18)
            with self.lock:
                self.state["codes"][code] = {"platform": platform, "client": q.get(id_param),
                                             "redirect_uri": redirect, "used": False,
                                             "challenge": q.get("code_challenge")}
            _, headers, _ = platform_docs.answer(folder, allow_doc)
            location = headers["Location"]
            location = location.split("?", 1)[0] + "?" + self._with_code(location.split("?", 1)[1], code)
        for name in ("{redirect_uri}", "{redirect-uri}"):
            location = location.replace(name, redirect)
        for name in ("{state}", "{state-param}"):
            location = location.replace(name, urllib.parse.quote(state, safe=""))
        raise Reply(302, "", {"Location": location})

    @staticmethod
    def _with_code(query, code):
        """The documented query with its example code replaced by ours."""
        parts = []
        for part in query.split("&"):
            name = part.split("=", 1)[0]
            parts.append("code=" + code if name == "code" else part)
        return "&".join(parts)

    def _consent_page(self, platform, q):
        base = self.url_path + "?" + urllib.parse.urlencode(q)
        page = ("<!doctype html><html><head><meta charset=utf-8><title>Sandbox %s consent</title></head>"
                "<body><h1>Sandbox %s</h1><p>Allow this app to post for you?</p>"
                "<p><a id=allow href=\"%s\">Allow</a> <a id=deny href=\"%s\">Cancel</a></p></body></html>"
                % (platform, platform, html.escape(base + "&decision=allow"), html.escape(base + "&decision=deny")))
        raise Reply(200, page, {"Content-Type": "text/html; charset=utf-8"})

    # ---- exchanges -----------------------------------------------------------
    def _form(self):
        raw = self.body.read_all().decode("utf-8", "replace")
        return dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))

    def _redeem(self, platform, code, client, secret, redirect, verifier=None):
        """The code's record when it is good for this exchange, else None (spent either way)."""
        want = self.cfg.get("clients", {}).get(platform)
        with self.lock:
            rec = self.state["codes"].get(code)
            ok = rec is not None and not rec["used"] and rec["platform"] == platform
            reason = "unknown_code" if rec is None else "used_code" if rec["used"] else None
            if rec is not None:
                rec["used"] = True
            if ok and rec["redirect_uri"] != redirect:
                ok, reason = False, "redirect_uri_mismatch"
            if ok and want and [client, secret] != list(want):
                ok, reason = False, "bad_client"
            if ok and rec["challenge"]:
                digest = hashlib.sha256((verifier or "").encode()).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != rec["challenge"]:
                    ok, reason = False, "pkce_mismatch"
            self.state["exchanges"].append({"platform": platform, "ok": ok, "reason": reason})
        return ok

    # the prefixes the platforms' tokens have (the posting fakes tell the logins
    # apart by them: Instagram Login tokens begin with IGAA, Facebook's with EAA)
    PREFIX = {"instagram": "IGAA", "igshort": "IGAA", "facebook": "EAA", "fbuser": "EAA",
              "youtube": "ya29.", "tiktok": "act."}

    def _token(self, platform, kind="access"):
        t = "%s%s-%s-%s" % (self.PREFIX.get(platform, ""), platform, kind, secrets.token_urlsafe(18))
        with self.lock:
            self.state["tokens"][t] = platform
        return t

    def do_google_token(self):
        f = self._form()
        if f.get("grant_type") != "authorization_code" or not self._redeem(
                "youtube", f.get("code"), f.get("client_id"), f.get("client_secret"),
                f.get("redirect_uri"), f.get("code_verifier")):
            raise Reply(*platform_docs.answer("google", "token_code_invalid_grant")[::2])
        status, headers, body = platform_docs.answer("google", "token_code", {
            "access_token": self._token("youtube"), "refresh_token": self._token("youtube", "refresh")})
        raise Reply(status, body, headers)

    def do_facebook_token(self):
        q = self.query
        if q.get("grant_type") == "fb_exchange_token":
            if self.state["tokens"].get(q.get("fb_exchange_token")) != "fbuser":
                raise Reply(400, self.error_body(400, {"message": "Invalid OAuth access token", "code": 190}))
            with self.lock:
                self.state["long_lived"] = self.state.get("long_lived", 0) + 1
            status, headers, body = platform_docs.answer("facebook", "login_long_lived_token",
                                                         {"access_token": self._token("fbuser")})
            raise Reply(status, body, headers)
        if not self._redeem("facebook", q.get("code"), q.get("client_id"), q.get("client_secret"),
                            q.get("redirect_uri")):
            raise Reply(*platform_docs.answer("facebook", "login_access_token_used_code")[::2])
        status, headers, body = platform_docs.answer("facebook", "login_access_token",
                                                      {"access_token": self._token("fbuser")})
        raise Reply(status, body, headers)

    def do_instagram_token(self):
        f = self._form()
        if f.get("grant_type") != "authorization_code" or not self._redeem(
                "instagram", f.get("code"), f.get("client_id"), f.get("client_secret"),
                f.get("redirect_uri")):
            raise Reply(*platform_docs.answer("instagram", "login_token_code_used")[::2])
        doc = platform_docs.example("instagram", "login_token_code")
        body = doc["response"]["body"]
        body["data"][0]["access_token"] = self._token("igshort")
        body["data"][0]["user_id"] = self.cfg["ig_user"]["user_id"]
        raise Reply(doc["response"]["status"], body)

    def do_instagram_long_lived(self):
        if self.query.get("grant_type") != "ig_exchange_token" or \
                self.state["tokens"].get(self.query.get("access_token")) != "igshort":
            raise Reply(400, self.error_body(400, {"message": "Invalid OAuth access token"}))
        status, headers, body = platform_docs.answer("instagram", "login_long_lived_token",
                                                     {"access_token": self._token("instagram")})
        raise Reply(status, body, headers)

    def do_tiktok_token(self):
        f = self._form()
        if f.get("grant_type") != "authorization_code" or not self._redeem(
                "tiktok", f.get("code"), f.get("client_key"), f.get("client_secret"), f.get("redirect_uri")):
            raise Reply(*platform_docs.answer("tiktok", "token_code_invalid_grant")[::2])
        status, headers, body = platform_docs.answer("tiktok", "token_code", {
            "access_token": self._token("tiktok"), "refresh_token": self._token("tiktok", "refresh"),
            "open_id": self.cfg["tiktok_user"]["open_id"]})
        raise Reply(status, body, headers)

    # ---- lookups -------------------------------------------------------------
    def _bearer(self, platform):
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else self.query.get("access_token")
        if self.state["tokens"].get(token) != platform:
            raise Reply(401, self.error_body(401, {"message": "Invalid OAuth access token",
                                                   "error": "invalid_token", "code": 190}))
        return token

    def do_channels(self):
        self._bearer("youtube")
        ch = self.cfg.get("channel")
        if not ch:
            raise Reply(*platform_docs.answer("youtube", "channels_mine_none")[::2])
        doc = platform_docs.example("youtube", "channels_mine")
        body = doc["response"]["body"]
        body["items"][0]["id"] = ch["id"]
        body["items"][0]["snippet"]["title"] = ch["title"]
        raise Reply(200, body)

    def do_pages(self):
        self._bearer("fbuser")
        linked = "instagram_business_account" in self.query.get("fields", "")
        doc = platform_docs.example("facebook", "login_me_accounts_instagram" if linked else "login_me_accounts")
        body = doc["response"]["body"]
        data = []
        for p in self.cfg.get("pages", []):
            page = {"access_token": self._token("facebook"), "name": p["name"], "id": p["id"]}
            if linked and p.get("instagram"):
                page["instagram_business_account"] = dict(p["instagram"])
            data.append(page)
        body["data"] = data
        raise Reply(200, body)

    def do_instagram_me(self):
        self._bearer("instagram")
        status, headers, body = platform_docs.answer("instagram", "login_me", {
            "user_id": self.cfg["ig_user"]["user_id"], "username": self.cfg["ig_user"]["username"]})
        raise Reply(status, body, headers)

    def do_tiktok_user_info(self):
        self._bearer("tiktok")
        doc = platform_docs.example("tiktok", "user_info")
        body = doc["response"]["body"]
        body["data"]["user"] = dict(self.cfg["tiktok_user"])
        raise Reply(200, body)

    # ---- revocation ----------------------------------------------------------
    def _revoke(self, platform, token):
        with self.lock:
            known = token in self.state["tokens"]
            self.state["tokens"].pop(token, None)
            self.state["revoked"].append({"platform": platform, "token": token, "known": known})

    def do_google_revoke(self):
        self._revoke("youtube", self._form().get("token"))
        raise Reply(*platform_docs.answer("google", "revoke")[::2])

    def do_facebook_revoke(self):
        # the permissions edge is the user's: a Page token is refused, nothing revoked
        token = self.query.get("access_token")
        if self.state["tokens"].get(token) == "facebook":
            with self.lock:
                self.state["refused"].append({"platform": "facebook", "token": token})
            raise Reply(*platform_docs.answer("facebook", "login_permissions_delete_page_token")[::2])
        self._revoke("facebook", token)
        raise Reply(*platform_docs.answer("facebook", "login_permissions_delete")[::2])

    def do_tiktok_revoke(self):
        self._revoke("tiktok", self._form().get("token"))
        raise Reply(*platform_docs.answer("tiktok", "revoke")[::2])


if __name__ == "__main__":
    raise SystemExit(fakebase.main(Handler))
