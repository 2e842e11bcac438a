"""The queue's own state under attack or age: the spool sweeper and the locks
slots hold, what users may do to their job rows with SQL (Supabase lets them
talk to the table directly, skipping the API), and which database functions
they may call.

What must hold: one download per job at a time whatever the sweeper does; a
user cannot write the columns the worker owns nor run the worker's
functions; a row inserted around the API is checked by the worker, which
fails the delivery with the API's own message instead of posting it.
"""
import os
import time

import psycopg2

import faultkit as fk
import sptest
import workerkit as wk

MiB = 1 << 20
DAY = 86400


def test_spool_sweeper_leaves_held_lock_files_alone():
    """A job's spool lock file is older than a day (a lock a slot held when
    an earlier attempt ended stays for the sweep; a retry a day later reuses
    it), and worker A holds it while downloading the video (the video server
    holds the answer half way). Worker B starts, and its sweeper must not
    delete the lock A holds: otherwise B's slot creates a new lock file, locks
    it too, and downloads into the same partial file at the same time. Once
    the job has finished, its lock file is gone with its video."""
    with fk.Platforms() as p:
        wk.clear_queue()
        size = 12 * MiB
        url, sha = p.video.add_video("locked.mp4", size)
        user, video = wk.user_with_video(url, title="Held lock")
        wk.connect(user, "youtube")
        wk.connect(user, "facebook", access_token="EAAB-page-token")
        p.video.faults([{"op": "get", "hold_at_bytes": size // 2}])
        a = p.worker("--concurrency", "1")
        time.sleep(1.5)  # A's own sweep at start is done
        job_id = sptest.sql("SELECT gen_random_uuid()::text")[0][0]
        os.makedirs(p.spool, exist_ok=True)
        lock = os.path.join(p.spool, job_id + ".lock")
        with open(lock, "w"):
            pass
        os.utime(lock, (time.time() - 2 * DAY, time.time() - 2 * DAY))
        inode = os.stat(lock).st_ino
        job = direct_job(user, video, ["youtube", "facebook"], "Held lock", job_id=job_id)
        assert fk.wait_until(lambda: p.video.stats()["bytes_sent"] > 0, 30), "A never started downloading"
        b = p.worker("--concurrency", "1")
        checks = fk.Checks("the sweeper and a held lock")
        time.sleep(1.5)  # B's own sweep at start is done; A still holds the lock
        still = os.path.exists(lock) and os.stat(lock).st_ino == inode
        checks.check(still, "the lock file a slot held was deleted (or replaced) by the other worker's sweep")
        p.video.config({"release_holds": True})
        s = wk.wait_job(user, job, timeout=60)
        checks.check(s["status"] == "completed", f"job {s['status']}: {s.get('error')}")
        checks.check(fk.wait_until(lambda: not os.path.exists(lock), 10) is not None,
                     "the finished job's lock file was left behind")
        yt = [v["sha256"] for v in p.youtube.stats()["videos"]]
        fb = [v["sha256"] for v in p.graph.stats()["fb_videos"] if v["published"]]
        checks.check(yt == [sha], f"YouTube got {len(yt)} videos, sha256 match: {[x == sha for x in yt]}")
        checks.check(fb == [sha], f"Facebook got {len(fb)} videos, sha256 match: {[x == sha for x in fb]}")
        served = p.video.stats()["bytes_sent"]
        checks.check(served <= 1.5 * size, f"the video was served {served / size:.2f} times over: two "
                     "slots downloaded it at once")
        for w in (a, b):
            checks.check(w.stop() == 0, "worker did not exit 0 on SIGTERM")
        checks.done()


def test_users_cannot_run_the_job_refresh_function():
    """social_post_refresh_job() rewrites a job's status and results: only
    the worker (and the SECURITY DEFINER functions) may run it."""
    user = sptest.new_user()
    video = sptest.new_video(user)
    r = sptest.http("POST", "/social-post", {"videoId": video, "platforms": ["youtube"]},
                    token=sptest.token(user))
    assert r.status == 202, r.body
    rights = sptest.sql("SELECT has_function_privilege(r, 'public.social_post_refresh_job(uuid)', 'EXECUTE')"
                        " FROM unnest(ARRAY['anon', 'authenticated']) AS r")
    try:
        sptest.sql_as(user, "SELECT public.social_post_refresh_job(%s)", (r.json["jobId"],))
        ran = True
    except psycopg2.errors.InsufficientPrivilege:
        ran = False
    assert not ran and rights == [(False,), (False,)], (
        f"social_post_refresh_job is executable by anon/authenticated: {rights}, a user ran it: {ran}")


def test_users_cannot_write_the_columns_the_worker_owns():
    """A user may update their own job row (the seed's RLS), but not its
    status, results or error: the worker derives those."""
    user = sptest.new_user()
    video = sptest.new_video(user)
    r = sptest.http("POST", "/social-post", {"videoId": video, "platforms": ["youtube"]},
                    token=sptest.token(user))
    assert r.status == 202, r.body
    job = r.json["jobId"]
    checks = fk.Checks("worker-owned columns")
    for column, value in (("status", "'completed'"),
                          ("results", "'{\"youtube\": {\"success\": true, \"url\": \"https://evil.example\"}}'"),
                          ("error", "'all good'")):
        try:
            n = sptest.sql_as(user, f"UPDATE social_post_jobs SET {column} = {value} WHERE id = %s"
                              " RETURNING id", (job,))
            checks.check(False, f"a user updated {column} of their job ({len(n)} row)")
        except psycopg2.Error:
            pass
    row = sptest.sql("SELECT status, results::text, error FROM social_post_jobs WHERE id = %s", (job,))[0]
    checks.check(row[0] == "pending" and "evil" not in row[1] and row[2] is None,
                 f"the job now reads {row}")
    checks.done()


def direct_job(user, video, platforms, title, description=None, as_superuser=False, job_id=None):
    """Inserts a job row with SQL, around the API: as the user (RLS applies),
    or as the superuser (what the seed's looser policies or a service-role
    client would let through)."""
    q = ("INSERT INTO social_post_jobs (id, user_id, video_id, platforms, title, description)"
         " VALUES (coalesce(%s::uuid, gen_random_uuid()), %s, %s, %s::jsonb, %s, %s) RETURNING id::text")
    args = (job_id, user, video, '["' + '","'.join(platforms) + '"]', title, description)
    rows = sptest.sql(q, args) if as_superuser else sptest.sql_as(user, q, args)
    return rows[0][0]


def test_rows_inserted_around_the_api_are_checked_by_the_worker():
    """Rows the API would refuse (a 150-character YouTube title, '<' in a
    description, a 2300-character Instagram caption) inserted with SQL by a
    service-role client (a user's own insert is refused by the database since
    migration 0015: test_db_rules): each delivery must fail with the API's
    message, and nothing is posted."""
    with fk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("around.mp4", 256 * 1024)
        user, video = wk.user_with_video(url, title="Around the API")
        wk.connect(user, "youtube")
        wk.connect(user, "instagram", access_token="IGQ-token", account_id="1780001")
        long_title = direct_job(user, video, ["youtube"], "T" * 150, as_superuser=True)
        angle = direct_job(user, video, ["youtube"], "Fine title", "a <script> in the description",
                           as_superuser=True)
        caption = direct_job(user, video, ["instagram"], "Caption", "c" * 2300, as_superuser=True)
        w = p.worker()
        checks = fk.Checks("rows inserted around the API")
        for job, platform, words in ((long_title, "youtube", "100 characters"),
                                     (angle, "youtube", "'<' or '>'"),
                                     (caption, "instagram", "2200")):
            row, _ = fk.wait_final(job, platform, timeout=20, hurry_queued=True)
            checks.check(row["state"] == "failed" and words in (row["last_error"] or ""),
                         f"{platform} delivery of an over-limit row is {row['state']} "
                         f"({row['last_error']!r}); expected failed with the API's message ({words!r})")
        yt, ig = p.youtube.stats(), p.graph.stats()
        checks.check(yt["videos_created"] == 0, f"YouTube published {yt['videos_created']} videos the API "
                     "would have refused")
        checks.check(ig["ig_media_published"] == 0 and not ig["ig_containers"],
                     f"Instagram got {len(ig['ig_containers'])} containers the API would have refused")
        checks.check(w.stop() == 0, "worker did not exit 0 on SIGTERM")
        checks.done()


def test_a_job_for_someone_elses_video_is_not_posted():
    """A job row of user B that names user A's video (which the seed's RLS,
    or a service-role client, would let in): the worker must fail it as the
    API would (video not found), never fetch or post A's video."""
    with fk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("not-yours.mp4", 256 * 1024)
        owner, video = wk.user_with_video(url, title="A's video")
        thief = sptest.new_user()
        wk.connect(thief, "youtube")
        job = direct_job(thief, video, ["youtube"], "Stolen", as_superuser=True)
        w = p.worker()
        row, _ = fk.wait_final(job, "youtube", timeout=20, hurry_queued=True)
        checks = fk.Checks("someone else's video")
        checks.check(row["state"] == "failed" and "not found" in (row["last_error"] or "").lower(),
                     f"the delivery is {row['state']} ({row['last_error']!r}); expected failed, video not found")
        checks.check(p.youtube.stats()["videos_created"] == 0, "another user's video was posted")
        checks.check(p.video.stats()["requests"].get("get", 0) == 0, "another user's video was fetched")
        checks.check(w.stop() == 0, "worker did not exit 0 on SIGTERM")
        checks.done()


if __name__ == "__main__":
    sptest.run(globals())
