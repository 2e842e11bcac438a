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
REQUIRE_PROGRESS = os.environ.get("SP_UI_EXPECT_PROGRESS") == "1"


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


def test_upload_to_three_platforms_shows_progress_and_links():
    with wk.Platforms() as p:
        wk.clear_queue()
        # slow uploads (about 4 s each, several chunks), so the page shows them under way
        p.youtube.config({"bandwidth_bytes_per_sec": 5 * MiB})
        p.graph.config({"bandwidth_bytes_per_sec": 5 * MiB, "ig_transcode_seconds": 2})
        fx = fixture(p, size=20 * MiB)
        fx["expectProgress"] = REQUIRE_PROGRESS
        w = p.worker("--concurrency", "3", "--ig-poll", "0.5")
        browserkit.run("upload_to_three_platforms", fx)
        assert w.stop() == 0


def test_partial_failure_then_retry_reaches_completed():
    with wk.Platforms() as p:
        wk.clear_queue()
        message = 'Upload blocked: <b>policy</b> <img src=x onerror="window.__pwned=1">'
        p.graph.faults([{"op": "fb_start", "status": 400, "code": 200, "message": message}])
        fx = fixture(p)
        fx["faultMessage"] = message
        w = p.worker()
        browserkit.run("partial_failure_then_retry", fx)
        assert p.youtube.stats()["videos_created"] == 1  # Retry posted Facebook only
        assert p.graph.stats()["fb_videos_published"] == 1
        assert w.stop() == 0


def test_html_in_title_is_shown_as_text():
    with wk.Platforms() as p:
        wk.clear_queue()
        fx = fixture(p)
        fx["htmlTitle"] = '<img src=x onerror="window.__pwned=1;alert(1)">Launch'
        fx["htmlDescription"] = "<script>window.__pwned=2</script><b>bold</b> & more"
        w = p.worker()
        browserkit.run("html_is_shown_as_text", fx)
        assert w.stop() == 0


def test_cancel_a_scheduled_job():
    with wk.Platforms() as p:
        wk.clear_queue()
        fx = fixture(p)
        w = p.worker()
        browserkit.run("cancel_a_scheduled_job", fx)
        assert p.youtube.stats()["videos_created"] == 0
        assert w.stop() == 0


def test_token_is_kept_in_session_storage_only():
    user = sptest.new_user()
    video = sptest.new_video(user)
    browserkit.run("token_in_session_storage_only",
                   {"token": sptest.token(user), "videoId": video, "title": TITLE})


def test_network_drop_shows_reconnecting_then_recovers():
    with wk.Platforms() as p:
        wk.clear_queue()
        fx = fixture(p)
        w = p.worker()
        browserkit.run("network_drop_then_recovery", fx)
        assert w.stop() == 0


def test_keyboard_only_post():
    with wk.Platforms() as p:
        wk.clear_queue()
        p.graph.config({"ig_transcode_seconds": 0})
        fx = fixture(p)
        w = p.worker("--ig-poll", "0.5")
        browserkit.run("keyboard_only", fx)
        assert w.stop() == 0


def test_progress_bar_follows_the_status_bodies():
    user = sptest.new_user()
    browserkit.run("progress_bar_from_status_bodies",
                   {"token": sptest.token(user), "videoId": sptest.new_video(user)})


def test_api_errors_are_shown():
    user, other = sptest.new_user(), sptest.new_user()
    browserkit.run("api_errors_are_shown",
                   {"token": sptest.token(user), "videoId": sptest.new_video(user),
                    "otherVideoId": sptest.new_video(other)})


if __name__ == "__main__":
    sptest.run(globals())
