"""Platform tokens sealed at rest (SOCIAL_POST_TOKEN_KEYS).

What a user or an operator sees: `social-post-worker --reseal-tokens` seals
every account row (plain ones too) with the first key; a dump of
social_accounts then holds no token in clear, also after the worker
refreshed a token (YouTube) or TikTok rotated its refresh token; a sealed
token copied to another user's row does not open there, and a wrong or
missing key fails the delivery with a message naming the account, with
nothing sent to the platform; rotation re-seals every row while a worker
keeps posting; a worker with a key refuses to start beside plain rows unless
told otherwise; a malformed SOCIAL_POST_TOKEN_KEYS is a configuration error
that names the variable and never repeats a key. /metrics counts the rows.

--reseal-tokens acts on the whole table, which other tests' rows share:
each test that runs it puts the other users' rows back as they were.
"""
import base64
import contextlib
import os
import re
import subprocess

import sptest
import workerkit as wk

KEY1 = base64.b64encode(bytes(range(32))).decode()
KEY2 = base64.b64encode(bytes(range(32, 64))).decode()
RING1 = "k1:" + KEY1
RING21 = "k2:" + KEY2 + ",k1:" + KEY1


@contextlib.contextmanager
def others_kept(*users):
    """Puts every other user's account row back as it was afterwards."""
    saved = sptest.sql("SELECT id, access_token, refresh_token FROM social_accounts"
                       " WHERE NOT (user_id::text = ANY (%s))", (list(users),))
    try:
        yield
    finally:
        for row_id, access, refresh in saved:
            sptest.sql("UPDATE social_accounts SET access_token = %s, refresh_token = %s"
                       " WHERE id = %s", (access, refresh, row_id))


def reseal(p, keys):
    """Runs social-post-worker --reseal-tokens; returns (exit code, output)."""
    w = p.worker("--reseal-tokens", env={"SOCIAL_POST_TOKEN_KEYS": keys})
    code = w.wait(60)
    w.stop()
    return code, w.output()


def rows(user):
    return sptest.sql("SELECT platform, access_token, refresh_token FROM social_accounts"
                      " WHERE user_id = %s ORDER BY platform", (user,))


def dump_accounts():
    """social_accounts as pg_dump writes it (what a backup holds)."""
    st = sptest.state()
    out = subprocess.run([os.path.join(st["pg"]["bin_dir"], "pg_dump"), "--data-only",
                          "-t", "public.social_accounts", "-d", st["database_url"]],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def keyed_worker(p, keys, *args):
    # other tests' rows in this database are plain: the start-up refusal is
    # tested on its own below
    return p.worker("--allow-plain-tokens", *args, env={"SOCIAL_POST_TOKEN_KEYS": keys})


def token_metric(stored):
    r = sptest.http("GET", "/social-post-status/metrics")
    m = re.search(r'^social_post_account_tokens\{stored="%s"\} (\d+)$' % stored, r.body.decode(), re.M)
    assert m, r.body.decode()[-1500:]
    return int(m.group(1))


def test_refreshed_and_rotated_tokens_are_stored_sealed_and_a_dump_holds_none_in_clear():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, sha = p.video.add_video("sealed.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="Sealed")
        yt_access, yt_refresh = "ya29.expired-" + user, "1//refresh-" + user
        tt_access, tt_refresh = "act.expired-" + user, "rft.first-" + user
        wk.connect(user, "youtube", access_token=yt_access, refresh_token=yt_refresh)
        wk.connect(user, "tiktok", access_token=tt_access, refresh_token=tt_refresh)
        with others_kept(user):
            code, out = reseal(p, RING1)
        assert code == 0, out
        assert all(a.startswith("sp1:k1:") and r.startswith("sp1:k1:") for _, a, r in rows(user)), rows(user)
        assert token_metric("sealed") >= 1
        p.youtube.config({"expired_tokens": [yt_access]})
        p.tiktok.config({"expired_tokens": [tt_access]})
        job = wk.submit_options(user, video, ["youtube", "tiktok"], {"tiktok": {"privacyLevel": "SELF_ONLY"}})
        w = keyed_worker(p, RING1)
        s = wk.wait_job(user, job)
        assert s["status"] == "completed", (s, w.output())
        assert p.youtube.stats()["tokens_issued"] == 1
        tt = p.tiktok.stats()
        assert tt["tokens_issued"] == 1 and tt["spent_refresh_tokens"] == [tt_refresh], tt
        issued = p.youtube.stats()["last_authorization"].split(" ", 1)[1]  # the refreshed token
        assert issued.startswith("ya29.fake-"), issued
        tt_issued = tt["last_authorization"].split(" ", 1)[1]
        # this user's rows of the dump (other tests' users in this database keep
        # plain tokens, and the fakes number the tokens they issue from 1)
        dump = "\n".join(line for line in dump_accounts().splitlines() if user in line)
        assert dump.count(user) >= 2, dump
        for secret in (yt_access, yt_refresh, issued, tt_access, tt_refresh, tt_issued):
            assert secret not in dump, secret
        assert all(a.startswith("sp1:k1:") and r.startswith("sp1:k1:") for _, a, r in rows(user)), rows(user)
        assert w.stop() == 0
        # the rotated refresh token stored sealed is the live one: another post refreshes with it
        p.tiktok.config({"expired_tokens": [tt_issued]})
        url2, _ = p.video.add_video("sealed-2.mp4", 256 * 1024)
        video2 = sptest.new_video(user, title="Sealed again", video_url=url2)
        job2 = wk.submit_options(user, video2, ["tiktok"], {"tiktok": {"privacyLevel": "SELF_ONLY"}})
        w = keyed_worker(p, RING1)
        assert wk.wait_job(user, job2)["status"] == "completed", w.output()
        assert len(p.tiktok.stats()["spent_refresh_tokens"]) == 2
        assert w.stop() == 0


def test_a_sealed_token_moved_to_another_users_row_does_not_open():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("moved.mp4", 256 * 1024)
        owner = sptest.new_user()
        thief, video = wk.user_with_video(url, title="Moved token")
        wk.connect(owner, "youtube", access_token="ya29.owner-" + owner)
        wk.connect(thief, "youtube", access_token="ya29.thief")
        with others_kept(owner, thief):
            assert reseal(p, RING1)[0] == 0
        sptest.sql("UPDATE social_accounts t SET access_token = o.access_token,"
                   " refresh_token = o.refresh_token FROM social_accounts o"
                   " WHERE t.user_id = %s AND t.platform = 'youtube'"
                   "   AND o.user_id = %s AND o.platform = 'youtube'", (thief, owner))
        job = wk.submit(thief, video, ["youtube"])
        w = keyed_worker(p, RING1)
        s = wk.wait_job(thief, job)
        assert s["status"] == "failed", s
        err = s["results"]["youtube"]["error"]
        assert "does not open" in err and "another account" in err and thief in err, err
        assert "youtube account" in err and "connect it again" in err, err
        stats = p.youtube.stats()
        assert not stats["requests"] and stats["tokens_issued"] == 0, stats  # nothing sent
        assert "ya29.owner" not in w.output()
        assert w.stop() == 0
        try:  # rotating names the row that does not open, and seals the rest
            with others_kept(owner, thief):
                code, out = reseal(p, RING21)
            assert code != 0 and "was not re-sealed" in out and thief in out, out
            assert rows(owner)[0][1].startswith("sp1:k2:"), rows(owner)
        finally:
            sptest.sql("DELETE FROM social_accounts WHERE user_id IN (%s, %s)", (thief, owner))


def test_a_wrong_or_missing_key_fails_naming_the_account_and_sends_nothing():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("wrong-key.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="Wrong key")
        wk.connect(user, "tiktok", account_id="tt-open-wrong-key", access_token="act.right-" + user)
        with others_kept(user):
            assert reseal(p, RING1)[0] == 0
        cases = [("k2:" + KEY2, "sealed with key 'k1', which SOCIAL_POST_TOKEN_KEYS does not hold"),
                 (None, "SOCIAL_POST_TOKEN_KEYS is not set")]
        for keys, says in cases:
            job = wk.submit_options(user, video, ["tiktok"], {"tiktok": {"privacyLevel": "SELF_ONLY"}})
            w = p.worker("--allow-plain-tokens", env={"SOCIAL_POST_TOKEN_KEYS": keys})
            s = wk.wait_job(user, job)
            assert s["status"] == "failed", s
            err = s["results"]["tiktok"]["error"]
            assert says in err and "tt-open-wrong-key" in err and user in err, err
            assert KEY1 not in w.output() and KEY2 not in w.output()
            if keys is None:  # said at start too
                assert "hold sealed tokens but SOCIAL_POST_TOKEN_KEYS is not set" in w.output(), w.output()
            assert w.stop() == 0
        assert not p.tiktok.stats()["requests"], p.tiktok.stats()  # nothing sent


def test_rotation_reseals_every_row_while_a_worker_keeps_posting():
    with wk.Platforms() as p:
        wk.clear_queue()
        user = sptest.new_user()
        wk.connect(user, "youtube", access_token="ya29.rotate-" + user)
        wk.connect(user, "facebook", access_token="EAAB.rotate-" + user)
        with others_kept(user):
            assert reseal(p, RING1)[0] == 0
            w = keyed_worker(p, RING21)  # the new key first; the old one still opens
            jobs = []
            for n in range(3):
                url, _ = p.video.add_video(f"rotate-{n}.mp4", 256 * 1024)
                video = sptest.new_video(user, title=f"Rotate {n}", video_url=url)
                jobs.append(wk.submit(user, video, ["youtube"]))
                if n == 1:
                    code, out = reseal(p, RING21)
                    assert code == 0, out
                    assert "re-sealed" in out and "'k2'" in out, out
                    assert all(a.startswith("sp1:k2:") for _, a, _ in rows(user)), rows(user)
                    assert not sptest.sql("SELECT 1 FROM social_accounts WHERE access_token LIKE 'sp1:k1:%%'"
                                          " OR refresh_token LIKE 'sp1:k1:%%'")  # every row
                assert wk.wait_job(user, jobs[-1])["status"] == "completed", w.output()
            assert p.youtube.stats()["videos_created"] == 3
            assert p.youtube.stats()["last_authorization"] == "Bearer ya29.rotate-" + user
            # the old key can go now: a worker with only the new one posts
            assert w.stop() == 0
            url, _ = p.video.add_video("rotate-new-only.mp4", 256 * 1024)
            video = sptest.new_video(user, title="New key only", video_url=url)
            job = wk.submit(user, video, ["youtube"])
            w = keyed_worker(p, "k2:" + KEY2)
            assert wk.wait_job(user, job)["status"] == "completed", w.output()
            assert w.stop() == 0
        sptest.sql("DELETE FROM social_accounts WHERE user_id = %s", (user,))  # only k2 opens it


def test_a_keyed_worker_refuses_to_start_beside_plain_rows_unless_allowed():
    with wk.Platforms() as p:
        wk.clear_queue()
        user = sptest.new_user()
        wk.connect(user, "youtube", access_token="ya29.plain-" + user)
        w = p.worker("--once", env={"SOCIAL_POST_TOKEN_KEYS": RING1})
        code = w.wait(30)
        out = w.output()
        assert code not in (0, None), (code, out)
        assert "hold tokens in clear" in out and "--reseal-tokens" in out and "--allow-plain-tokens" in out, out
        assert "ya29.plain" not in out and KEY1 not in out
        w = p.worker("--once", "--allow-plain-tokens", env={"SOCIAL_POST_TOKEN_KEYS": RING1})
        assert w.wait(30) == 0, w.output()
        w = p.worker("--once")  # no key: plain rows are what it expects
        assert w.wait(30) == 0, w.output()


def test_malformed_token_keys_are_a_configuration_error_naming_the_variable():
    with wk.Platforms() as p:
        short = base64.b64encode(bytes(16)).decode()
        for keys in ("k1:" + short, "k1:" + KEY1 + ",k1:" + KEY2, KEY1, "k1:not*base64*at*all",
                     "k1:" + KEY1 + ","):
            w = p.worker("--once", env={"SOCIAL_POST_TOKEN_KEYS": keys})
            code = w.wait(30)
            out = w.output()
            assert code not in (0, None), (keys, code, out)
            assert "SOCIAL_POST_TOKEN_KEYS" in out, out
            for secret in (short, KEY1, KEY2, "not*base64"):
                assert secret not in out, (secret, out)
        w = p.worker("--help")
        assert w.wait(10) == 0
        assert "--reseal-tokens" in w.output() and "--allow-plain-tokens" in w.output()


def forget_sealed_rows_of_earlier_runs():
    """Only this file seals rows in the test database: an interrupted run may
    have left some that no key here opens (a moved token)."""
    sptest.sql("DELETE FROM social_accounts WHERE left(access_token, 4) = 'sp1:'"
               " OR left(refresh_token, 4) = 'sp1:'")


if __name__ == "__main__":
    forget_sealed_rows_of_earlier_runs()
    sptest.run(globals())
