"""The status page (web/, served by nginx at /social-post-ui/) in a real
headless Chromium: each test sets up users, videos, platform fakes and a
worker, then runs one scenario of tests/browser/status_page.js (see there
for what each checks). Screenshots go to <build>/screenshots/."""
import os
import uuid

import browserkit
import sptest
import workerkit as wk

MiB = 1 << 20
TITLE = "Launch teaser"
# Progress bars (results[p].progress while a platform uploads): until the
# worker reports progress, the upload test checks them only when a status
# body carries it; with this true (or SP_UI_EXPECT_PROGRESS=1) it requires them.
REQUIRE_PROGRESS = True  # the worker reports progress (results[p].progress) while uploading


def connect_all(user):
    wk.connect(user, "youtube")
    wk.connect(user, "facebook", access_token="EAAB-page-token", account_id="1000001")
    wk.connect(user, "instagram", access_token="IGQ-token", account_id="1780001")


def fixture(p, size=MiB, title=TITLE):
    """A user with all three accounts and a video of size bytes; the scenario's fixture."""
    url, _ = p.video.add_video(f"ui-{uuid.uuid4().hex[:8]}.mp4", size)
    user, video = wk.user_with_video(url, title=title)
    connect_all(user)
    return {"token": sptest.token(user), "videoId": video, "title": title}


def run_with_worker(scenario, size=MiB, extra=None, worker_args=(), setup=None):
    """Fakes, a user with a video, a worker; runs scenario; returns the fakes'
    stats ({"youtube": ..., "graph": ...}) for the caller's checks."""
    with wk.Platforms() as p:
        wk.clear_queue()
        if setup:
            setup(p)
        fx = fixture(p, size=size)
        fx.update(extra or {})
        w = p.worker(*worker_args)
        browserkit.run(scenario, fx)
        stats = {"youtube": p.youtube.stats(), "graph": p.graph.stats()}
        assert w.stop() == 0
        return stats


def test_upload_to_three_platforms_shows_progress_and_links():
    def slow_uploads(p):  # about 4 s each, several chunks: the page shows them under way
        p.youtube.config({"bandwidth_bytes_per_sec": 5 * MiB})
        p.graph.config({"bandwidth_bytes_per_sec": 5 * MiB, "ig_transcode_seconds": 2})
    run_with_worker("upload_to_three_platforms", size=20 * MiB, setup=slow_uploads,
                    extra={"expectProgress": REQUIRE_PROGRESS},
                    worker_args=("--concurrency", "3", "--ig-poll", "0.5"))


def test_partial_failure_then_retry_reaches_completed():
    message = 'Upload blocked: <b>policy</b> <img src=x onerror="window.__pwned=1">'
    stats = run_with_worker(
        "partial_failure_then_retry", extra={"faultMessage": message},
        setup=lambda p: p.graph.faults([{"op": "fb_start", "status": 400, "code": 200,
                                         "message": message}]))
    assert stats["youtube"]["videos_created"] == 1  # Retry posted Facebook only
    assert stats["graph"]["fb_videos_published"] == 1


def test_a_quota_wait_is_shown_with_its_retry_time():
    stats = run_with_worker("quota_wait_is_shown", setup=lambda p: p.youtube.faults(
        [{"op": "init", "status": 403, "reason": "quotaExceeded"}]))
    assert stats["youtube"]["videos_created"] == 0


def test_html_in_title_is_shown_as_text():
    run_with_worker("html_is_shown_as_text", extra={
        "htmlTitle": '<img src=x onerror="window.__pwned=1;alert(1)">Launch',
        "htmlDescription": "<script>window.__pwned=2</script><b>bold</b> & more"})


def test_cancel_a_scheduled_job():
    stats = run_with_worker("cancel_a_scheduled_job")
    assert stats["youtube"]["videos_created"] == 0


def test_token_is_kept_in_session_storage_only():
    user = sptest.new_user()
    video = sptest.new_video(user)
    browserkit.run("token_in_session_storage_only",
                   {"token": sptest.token(user), "videoId": video, "title": TITLE})


def test_network_drop_shows_reconnecting_then_recovers():
    run_with_worker("network_drop_then_recovery")


def test_answers_that_tell_nothing_new_at_once_make_the_page_back_off():
    user = sptest.new_user()
    video = sptest.new_video(user)
    browserkit.run("unexpected_answers_back_off",
                   {"token": sptest.token(user), "videoId": video, "title": TITLE})


def test_keyboard_only_post():
    run_with_worker("keyboard_only", worker_args=("--ig-poll", "0.5"),
                    setup=lambda p: p.graph.config({"ig_transcode_seconds": 0}))


def test_progress_bar_follows_the_status_bodies():
    user = sptest.new_user()
    browserkit.run("progress_bar_from_status_bodies",
                   {"token": sptest.token(user), "videoId": sptest.new_video(user)})


def test_api_errors_are_shown():
    user, other = sptest.new_user(), sptest.new_user()
    browserkit.run("api_errors_are_shown",
                   {"token": sptest.token(user), "videoId": sptest.new_video(user),
                    "otherVideoId": sptest.new_video(other)})


def test_tiktok_and_options_with_the_apis_messages_next_to_the_fields():
    user = sptest.new_user()
    before = sptest.sql("SELECT count(*) FROM social_post_jobs WHERE user_id = %s", (user,))[0][0]
    browserkit.run("options_and_tiktok",
                   {"token": sptest.token(user), "videoId": sptest.new_video(user)})
    jobs = sptest.sql("SELECT options FROM social_post_jobs WHERE user_id = %s", (user,))
    assert before == 0 and len(jobs) == 1, jobs  # the three refused submits wrote nothing
    assert jobs[0][0]["tiktok"]["privacyLevel"] == "SELF_ONLY", jobs


def test_connect_four_accounts_on_the_page_post_to_them_disconnect_one_and_cancel_a_consent():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video(f"ui-{uuid.uuid4().hex[:8]}.mp4", MiB)
        user, video = wk.user_with_video(url, title=TITLE)
        w = p.worker("--ig-poll", "0.5")
        oauth = "http://127.0.0.1:%d" % sptest.state()["programs"]["sandbox-oauth"]["port"]
        browserkit.run("connect_accounts_then_post",
                       {"token": sptest.token(user), "videoId": video, "title": TITLE,
                        "oauthUrl": oauth})
        assert w.stop() == 0
    rows = sptest.sql("SELECT platform, account_id FROM social_accounts WHERE user_id = %s "
                      "ORDER BY platform", (user,))
    assert rows == [("facebook", "102927594431954"), ("instagram", "17841405822304914"),
                    ("youtube", "UC_x5XG1OV2P6uZZ5FSM9Ttw")], rows


if __name__ == "__main__":
    sptest.run(globals())
