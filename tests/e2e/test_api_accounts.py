#!/usr/bin/env python3
"""Connecting and disconnecting accounts through /social-post-accounts, with
the stack's OAuth fake (sandbox-oauth) as every platform's consent page and
token endpoint: each platform's connection as a browser goes through it, the
Facebook Page choice, disconnecting (and the platform told), and each bad
callback (consent refused, unknown, expired, replayed or another browser's
state, a code used twice, an exchange the platform refuses), which must
answer clearly and store nothing.
"""
import json
import os
import sys
import urllib.parse
import uuid

import sptest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes"))
import platform_docs  # noqa: E402


class Fake:
    """The stack's OAuth fake's control interface."""

    def __init__(self):
        self.base = "http://127.0.0.1:%d" % sptest.state()["programs"]["sandbox-oauth"]["port"]

    def call(self, method, path, body=None):
        import http.client
        u = urllib.parse.urlsplit(self.base)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def stats(self):
        return json.loads(self.call("GET", "/_control/stats")[2])

    def faults(self, rules):
        self.call("POST", "/_control/faults", rules)

    def config(self, cfg):
        self.call("POST", "/_control/config", cfg)


FAKE = None


def fake():
    global FAKE
    if FAKE is None:
        FAKE = Fake()
    return FAKE


def connect(tok, platform, cookie=None):
    """POST .../connect: (authorizeUrl, the sp_connect cookie)."""
    headers = {"Cookie": cookie} if cookie else {}
    r = sptest.http("POST", f"/social-post-accounts/{platform}/connect", token=tok, headers=headers)
    assert r.status == 200, r
    set_cookie = r.headers.get("set-cookie", "")
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie, set_cookie
    return r.json["authorizeUrl"], set_cookie.split(";", 1)[0]


def consent(authorize_url, decision="allow"):
    """The fake's consent page answered: the callback URL it sends the browser to."""
    u = urllib.parse.urlsplit(authorize_url)
    status, headers, body = fake().call("GET", u.path + "?" + u.query)
    assert status == 200 and b'id=allow' in body, body[:300]
    status, headers, _ = fake().call("GET", u.path + "?" + u.query + "&decision=" + decision)
    assert status == 302, status
    return headers["Location"]


def callback(location, cookie):
    """The browser coming back: the status page URL it is sent to, as a dict of its query."""
    u = urllib.parse.urlsplit(location)
    path = u.path + "?" + u.query
    r = sptest.http("GET", path, headers={"Cookie": cookie} if cookie else {})
    assert r.status == 303, r
    to = urllib.parse.urlsplit(r.headers["location"])
    assert to.path == "/social-post-ui/", to
    return dict(urllib.parse.parse_qsl(to.query)), path


def accounts(tok):
    r = sptest.http("GET", "/social-post-accounts", token=tok)
    assert r.status == 200, r
    assert b"token" not in r.body.lower(), r.body
    return r.json


def rows(user):
    return sptest.sql("SELECT platform, account_id, display_name, access_token IS NOT NULL, "
                      "refresh_token IS NOT NULL, login FROM social_accounts WHERE user_id = %s "
                      "ORDER BY platform", (user,))


def new_user():
    user = sptest.new_user()
    return user, sptest.token(user)


def full_connect(tok, platform):
    url, cookie = connect(tok, platform)
    outcome, _ = callback(consent(url), cookie)
    return outcome


def test_connecting_youtube_stores_the_channel_with_both_tokens_and_lists_no_token():
    user, tok = new_user()
    url, cookie = connect(tok, "youtube")
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert q["code_challenge_method"] == "S256" and q["access_type"] == "offline", q
    assert q["redirect_uri"].endswith("/social-post-accounts/callback"), q
    outcome, _ = callback(consent(url), cookie)
    assert outcome == {"accounts": "connected", "platform": "youtube"}, outcome
    assert rows(user) == [("youtube", "UC_x5XG1OV2P6uZZ5FSM9Ttw", "Sandbox Channel", True, True, None)]
    listed = accounts(tok)
    assert [(a["platform"], a["accountId"], a["displayName"], a["needsReconnect"])
            for a in listed["accounts"]] == [("youtube", "UC_x5XG1OV2P6uZZ5FSM9Ttw", "Sandbox Channel", False)]
    assert listed["accounts"][0]["connectedAt"].endswith("Z")


def test_connecting_tiktok_and_instagram_stores_open_id_and_instagram_login_user():
    user, tok = new_user()
    assert full_connect(tok, "tiktok")["accounts"] == "connected"
    assert full_connect(tok, "instagram")["accounts"] == "connected"
    assert rows(user) == [
        ("instagram", "17841405822304914", "sandbox_creator", True, False, "instagram"),
        ("tiktok", "afd97af1-b87b-48b9-ac98-410aghda5344", "Sandbox Toker", True, True, None)]


def test_instagram_through_facebook_login_stores_the_pages_linked_professional_account():
    user, tok = new_user()
    r = sptest.http("POST", "/social-post-accounts/instagram/connect?login=facebook", token=tok)
    assert r.status == 200, r
    url, cookie = r.json["authorizeUrl"], r.headers["set-cookie"].split(";", 1)[0]
    assert "/facebook/dialog/oauth?" in url and "instagram_content_publish" in urllib.parse.unquote(url), url
    outcome, _ = callback(consent(url), cookie)
    assert outcome == {"accounts": "connected", "platform": "instagram"}, outcome
    # only the first Page has a linked account: no choice to make; a Facebook Login token
    assert rows(user) == [("instagram", "17841405822304915", "page_linked_creator", True, False, None)]
    r = sptest.http("POST", "/social-post-accounts/instagram/connect?login=myspace", token=tok)
    assert r.status == 400 and r.json["code"] == "invalid_login", r
    r = sptest.http("POST", "/social-post-accounts/tiktok/connect?login=facebook", token=tok)
    assert r.status == 400 and r.json["code"] == "invalid_login", r


def test_facebook_with_two_pages_offers_a_choice_then_stores_the_chosen_page():
    user, tok = new_user()
    long_lived = fake().stats()["facebook_long_lived"]
    outcome = full_connect(tok, "facebook")
    assert outcome == {"accounts": "choose", "platform": "facebook"}, outcome
    # the Page tokens were read with a long-lived User token (so they do not expire)
    assert fake().stats()["facebook_long_lived"] == long_lived + 1
    assert rows(user) == []
    choices = accounts(tok)["choices"]
    assert choices == [{"platform": "facebook", "options": [
        {"id": "102927594431953", "name": "Sandbox Page"},
        {"id": "102927594431954", "name": "Second Page"}]}], choices
    r = sptest.http("POST", "/social-post-accounts/facebook/choose", {"accountId": "nope"}, token=tok)
    assert r.status == 404 and r.json["code"] == "choice_not_found", r
    r = sptest.http("POST", "/social-post-accounts/facebook/choose", {"accountId": "102927594431954"},
                    token=tok)
    assert r.status == 200, r
    assert rows(user) == [("facebook", "102927594431954", "Second Page", True, False, None)]
    assert accounts(tok)["choices"] == []


def test_another_user_cannot_choose_a_page_offered_to_someone_else():
    user, tok = new_user()
    full_connect(tok, "facebook")
    other, other_tok = new_user()
    r = sptest.http("POST", "/social-post-accounts/facebook/choose", {"accountId": "102927594431953"},
                    token=other_tok)
    assert r.status == 404, r
    assert rows(other) == []


def test_disconnecting_revokes_at_the_platform_and_removes_the_row():
    user, tok = new_user()
    full_connect(tok, "tiktok")
    before = len(fake().stats()["revoked"])
    r = sptest.http("DELETE", "/social-post-accounts/tiktok", token=tok)
    assert r.status == 200 and r.json == {"disconnected": True, "revoked": True}, r
    revoked = fake().stats()["revoked"][before:]
    assert [(x["platform"], x["known"]) for x in revoked] == [("tiktok", True)], revoked
    assert rows(user) == []
    r = sptest.http("DELETE", "/social-post-accounts/tiktok", token=tok)
    assert r.status == 404 and r.json["code"] == "account_not_found", r


def disconnect_revokes_with_a_user_token(tok, platform):
    """DELETE the account: Meta took the grant back with the Facebook User token
    (Graph refuses a Page token on the permissions edge)."""
    before = len(fake().stats()["revoked"])
    refused = len(fake().stats()["revocations_refused"])
    r = sptest.http("DELETE", f"/social-post-accounts/{platform}", token=tok)
    assert r.status == 200 and r.json == {"disconnected": True, "revoked": True}, r
    revoked = fake().stats()["revoked"][before:]
    assert [(x["platform"], x["known"]) for x in revoked] == [("facebook", True)], revoked
    assert revoked[0]["token"].startswith("EAAfbuser-"), revoked[0]["token"][:12]
    assert fake().stats()["revocations_refused"][refused:] == []


def test_disconnecting_a_facebook_page_revokes_with_the_users_token():
    user, tok = new_user()
    assert full_connect(tok, "facebook") == {"accounts": "choose", "platform": "facebook"}
    r = sptest.http("POST", "/social-post-accounts/facebook/choose", {"accountId": "102927594431954"},
                    token=tok)
    assert r.status == 200, r
    disconnect_revokes_with_a_user_token(tok, "facebook")
    assert rows(user) == []


def test_disconnecting_instagram_linked_to_a_page_revokes_with_the_users_token():
    user, tok = new_user()
    r = sptest.http("POST", "/social-post-accounts/instagram/connect?login=facebook", token=tok)
    assert r.status == 200, r
    outcome, _ = callback(consent(r.json["authorizeUrl"]), r.headers["set-cookie"].split(";", 1)[0])
    assert outcome == {"accounts": "connected", "platform": "instagram"}, outcome
    disconnect_revokes_with_a_user_token(tok, "instagram")
    assert rows(user) == []


def test_the_user_token_column_is_not_readable_by_the_api_roles():
    for role in ("authenticated", "anon"):
        try:
            sptest.sql_as(str(uuid.uuid4()), "SELECT user_token FROM social_accounts", role=role)
        except Exception as e:  # noqa: BLE001 (psycopg2's error classes)
            assert "permission denied" in str(e), e
        else:
            raise AssertionError(f"{role} may read social_accounts.user_token")


def test_removing_an_account_over_sql_returns_no_token():
    """A user removing an account as themselves (Supabase's PostgREST, psql as
    authenticated) gets only whether there was one; the call that hands tokens
    back for revocation is the accounts role's alone, and 0018's removal, which
    handed them to the caller, is gone."""
    for platform in ("tiktok", "facebook"):
        user, tok = new_user()
        full_connect(tok, platform)
        if platform == "facebook":
            assert sptest.http("POST", "/social-post-accounts/facebook/choose",
                               {"accountId": "102927594431953"}, token=tok).status == 200
        stored = sptest.sql("SELECT access_token, refresh_token, user_token FROM social_accounts"
                            " WHERE user_id = %s", (user,))[0]
        assert stored[0], stored
        got = sptest.sql_as(user, "SELECT * FROM social_post_account_disconnect(%s)", (platform,))
        assert got == [(True,)], got
        assert not any(t and t in json.dumps(got) for t in stored), got
        assert rows(user) == []
        assert sptest.sql_as(user, "SELECT * FROM social_post_account_disconnect(%s)", (platform,)) == [(False,)]
    assert sptest.sql("SELECT to_regprocedure('public.social_post_account_remove(text)')") == [(None,)]
    try:
        sptest.sql_as(user, "SELECT * FROM social_post_account_revoke_take('tiktok')")
    except Exception as e:  # noqa: BLE001 (psycopg2's error classes)
        assert "permission denied" in str(e), e
    else:
        raise AssertionError("authenticated may call social_post_account_revoke_take")


def test_cancelled_consent_says_access_denied_and_stores_nothing():
    for platform in ("youtube", "facebook", "instagram", "tiktok"):
        user, tok = new_user()
        url, cookie = connect(tok, platform)
        outcome, _ = callback(consent(url, "deny"), cookie)
        assert outcome == {"accounts": "access_denied", "platform": platform}, (platform, outcome)
        assert rows(user) == [] and accounts(tok)["choices"] == []


def test_unknown_state_is_refused_and_stores_nothing():
    outcome, _ = callback("/social-post-accounts/callback?code=abc&state=" + "x" * 43, None)
    assert outcome == {"accounts": "unknown_state"}, outcome


def test_replayed_callback_is_refused_and_changes_nothing():
    user, tok = new_user()
    url, cookie = connect(tok, "youtube")
    location = consent(url)
    outcome, path = callback(location, cookie)
    assert outcome["accounts"] == "connected"
    sptest.sql("DELETE FROM social_accounts WHERE user_id = %s", (user,))
    outcome, _ = callback(location, cookie)
    assert outcome == {"accounts": "used_state", "platform": "youtube"}, outcome
    assert rows(user) == []


def test_expired_state_is_refused_and_stores_nothing():
    user, tok = new_user()
    url, cookie = connect(tok, "tiktok")
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["state"]
    sptest.sql("UPDATE social_post_oauth_states SET expires_at = now() - interval '1 second' "
               "WHERE state = %s", (state,))
    exchanges = len(fake().stats()["exchanges"])
    outcome, _ = callback(consent(url), cookie)
    assert outcome == {"accounts": "expired_state", "platform": "tiktok"}, outcome
    assert rows(user) == []
    assert len(fake().stats()["exchanges"]) == exchanges  # the code was never exchanged


def test_another_users_state_in_another_browser_is_refused():
    victim, victim_tok = new_user()
    attacker, attacker_tok = new_user()
    url, attacker_cookie = connect(attacker_tok, "youtube")
    location = consent(url)
    # the victim's browser (their own cookie, from their own connect) comes back with it
    _, victim_cookie = connect(victim_tok, "tiktok")
    outcome, _ = callback(location, victim_cookie)
    assert outcome == {"accounts": "other_session", "platform": "youtube"}, outcome
    outcome, _ = callback(location, None)
    assert outcome["accounts"] == "used_state", outcome
    assert rows(victim) == [] and rows(attacker) == []


def test_code_used_twice_is_refused_by_the_platform_and_stores_nothing():
    user, tok = new_user()
    url, cookie = connect(tok, "tiktok")
    location = consent(url)
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))["code"]
    # the code is spent elsewhere first (an intercepted code used by someone else)
    status, _, _ = fake().call("GET", "/_control/stats")
    import http.client
    u = urllib.parse.urlsplit(fake().base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("POST", "/v2/oauth/token/", body=urllib.parse.urlencode(
        {"client_key": "sandbox-client-key", "client_secret": "sandbox-secret", "code": code,
         "grant_type": "authorization_code",
         "redirect_uri": sptest.state()["public_url"] + "/social-post-accounts/callback"}),
        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert conn.getresponse().status == 200
    conn.close()
    outcome, _ = callback(location, cookie)
    assert outcome == {"accounts": "exchange_failed", "platform": "tiktok"}, outcome
    assert rows(user) == []


def test_exchange_the_platform_refuses_stores_nothing():
    for platform, op, folder, doc in (("youtube", "google_token", "google", "token_code_invalid_grant"),
                                      ("facebook", "facebook_token", "facebook", "login_access_token_used_code"),
                                      ("instagram", "instagram_token", "instagram", "login_token_code_used")):
        user, tok = new_user()
        url, cookie = connect(tok, platform)
        location = consent(url)
        status, _, body = platform_docs.answer(folder, doc)
        fake().faults([{"op": op, "status": status, "body": body}])
        outcome, _ = callback(location, cookie)
        assert outcome == {"accounts": "exchange_failed", "platform": platform}, (platform, outcome)
        assert rows(user) == [] and accounts(tok)["choices"] == []


def test_google_account_without_a_channel_says_so_and_stores_nothing():
    user, tok = new_user()
    fake().config({"channel": None})
    try:
        outcome = full_connect(tok, "youtube")
    finally:
        fake().config({"channel": {"id": "UC_x5XG1OV2P6uZZ5FSM9Ttw", "title": "Sandbox Channel"}})
    assert outcome == {"accounts": "no_account", "platform": "youtube"}, outcome
    assert rows(user) == []


def connection_counter(platform, outcome):
    r = sptest.http("GET", "/social-post-status/metrics")
    assert r.status == 200, r
    line = f'social_post_account_connections_total{{platform="{platform}",outcome="{outcome}"}} '
    for text in r.body.decode().splitlines():
        if text.startswith(line):
            return int(text[len(line):])
    return 0


def test_metrics_count_connections_and_failures_by_reason():
    connected, denied = connection_counter("tiktok", "connected"), connection_counter("tiktok", "access_denied")
    refused = connection_counter("youtube", "exchange_failed")
    user, tok = new_user()
    assert full_connect(tok, "tiktok")["accounts"] == "connected"
    url, cookie = connect(tok, "tiktok")
    callback(consent(url, "deny"), cookie)
    url, cookie = connect(tok, "youtube")
    location = consent(url)
    fake().faults([{"op": "google_token", "status": 400,
                    "body": platform_docs.answer("google", "token_code_invalid_grant")[2]}])
    callback(location, cookie)
    assert connection_counter("tiktok", "connected") == connected + 1
    assert connection_counter("tiktok", "access_denied") == denied + 1
    assert connection_counter("youtube", "exchange_failed") == refused + 1


def test_at_most_twenty_connections_wait_at_once_per_user():
    user, tok = new_user()
    for _ in range(20):
        connect(tok, "tiktok")
    r = sptest.http("POST", "/social-post-accounts/tiktok/connect", token=tok)
    assert r.status == 409 and "too many connections" in r.json["error"], r
    assert sptest.sql("SELECT count(*) FROM social_post_oauth_states WHERE user_id = %s", (user,)) == [(20,)]


def test_routes_need_a_token_and_a_known_platform_in_both_path_styles():
    r = sptest.http("GET", "/social-post-accounts")
    assert r.status == 401, r
    r = sptest.http("POST", "/.netlify/functions/social-post-accounts/youtube/connect")
    assert r.status == 401, r
    user, tok = new_user()
    r = sptest.http("POST", "/.netlify/functions/social-post-accounts/myspace/connect", token=tok)
    assert r.status == 404 and r.json["code"] == "unknown_platform", r
    r = sptest.http("GET", "/.netlify/functions/social-post-accounts", token=tok)
    assert r.status == 200 and r.json == {"accounts": [], "choices": []}, r


def test_the_api_role_cannot_read_states_or_choices():
    for table in ("social_post_oauth_states", "social_post_account_choices", "social_accounts"):
        try:
            sptest.sql_as(str(uuid.uuid4()), f"SELECT * FROM {table}")
        except Exception as e:  # noqa: BLE001 (psycopg2's error classes)
            assert "permission denied" in str(e), e
        else:
            raise AssertionError(f"authenticated may read {table}")


def test_with_token_keys_connected_tokens_are_sealed_and_disconnect_still_revokes():
    import base64
    import fcgikit
    st = sptest.state()
    keys = "conn1:" + base64.b64encode(bytes(range(32))).decode()
    env = dict(sptest._stack_module().connect_env(st), SOCIAL_POST_TOKEN_KEYS=keys)
    user, tok = new_user()
    auth = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
    with fcgikit.Program(["social-post", "--threads", "1"], env=env) as prog:
        c = fcgikit.Connection(prog.port, timeout=30)
        for platform in ("tiktok", "facebook"):
            r = c.request("POST", f"/accounts/{platform}/connect", headers=auth, keep=True)
            assert r.status == 200, r
            cookie = r.headers["set-cookie"].split(";", 1)[0]
            location = consent(r.json["authorizeUrl"])
            query = urllib.parse.urlsplit(location).query
            back = c.request("GET", "/accounts/callback", query=query, headers={"Cookie": cookie},
                             keep=True)
            assert back.status == 303, back
        # the Page offered waits sealed too; chosen, it is the account's token as it was
        assert c.request("POST", "/accounts/facebook/choose", headers=auth,
                         body=b'{"accountId": "102927594431953"}', keep=True).status == 200
        tokens = sptest.sql("SELECT platform, access_token, refresh_token FROM social_accounts "
                            "WHERE user_id = %s ORDER BY platform", (user,))
        assert [t[0] for t in tokens] == ["facebook", "tiktok"], tokens
        for platform, access, refresh in tokens:
            assert access.startswith("sp1:conn1:"), (platform, access[:12])
            assert refresh is None or refresh.startswith("sp1:conn1:"), (platform, refresh[:12])
        # the Facebook User token, kept for revoking, is sealed the same way
        users = sptest.sql("SELECT platform, user_token FROM social_accounts WHERE user_id = %s"
                           " ORDER BY platform", (user,))
        assert users[0][0] == "facebook" and users[0][1].startswith("sp1:conn1:"), users
        assert users[1] == ("tiktok", None), users
        dump = json.dumps(sptest.sql("SELECT * FROM social_accounts WHERE user_id = %s", (user,)),
                          default=str)
        assert "act." not in dump and "EAA" not in dump, dump[:300]
        before = len(fake().stats()["revoked"])
        r = c.request("DELETE", "/accounts/tiktok", headers=auth, keep=True)
        assert r.status == 200 and r.json["revoked"] is True, r
        revoked = fake().stats()["revoked"][before:]
        assert [(x["platform"], x["known"]) for x in revoked] == [("tiktok", True)], revoked
        r = c.request("DELETE", "/accounts/facebook", headers=auth, keep=True)
        assert r.status == 200 and r.json["revoked"] is True, r
        revoked = fake().stats()["revoked"][before:]
        assert [x["platform"] for x in revoked] == ["tiktok", "facebook"], revoked
        assert revoked[1]["token"].startswith("EAAfbuser-"), revoked[1]["token"][:12]
        assert prog.stop(timeout=30) == 0


sptest.run(globals())
