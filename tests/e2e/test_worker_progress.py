"""Upload progress as a user sees it: while a platform works, its entry in the
status body's results carries the adapter's phase and, while bytes go up,
progress (0..1, the bytes the platform confirmed over the video's size); a
finished platform shows only the seed's keys. The fakes pace uploads
(bandwidth_bytes_per_sec) so that the test can watch."""
import time

import sptest
import workerkit as wk

MiB = 1 << 20


def watch(user, job, platform, timeout=120):
    """Polls the status until the job is final; returns (what the platform's
    entry showed while it was open, in order, without repeats; final body)."""
    seen = []
    deadline = time.time() + timeout
    while True:
        s = wk.status(user, job)
        r = s["results"].get(platform, {})
        if r.get("state") in ("queued", "running"):
            shown = (r.get("phase"), r.get("progress"))
            if shown != (None, None) and (not seen or seen[-1] != shown):
                seen.append(shown)
        if s["status"] in ("completed", "failed"):
            return seen, s
        assert time.time() < deadline, f"job {job} still {s['status']}: {s}"
        time.sleep(0.1)


def increasing(values):
    return all(a < b for a, b in zip(values, values[1:]))


def final_entry_has_only_result_keys(entry):
    assert entry["success"] is True and entry["state"] == "succeeded", entry
    assert "progress" not in entry and "phase" not in entry, entry


def test_youtube_upload_shows_progress_in_its_uploading_phase():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("progress-yt.mp4", 24 * MiB)
        user, video = wk.user_with_video(url)
        wk.connect(user, "youtube")
        p.youtube.config({"bandwidth_bytes_per_sec": 4 * MiB})  # 8 MiB chunks: 2 s each
        job = wk.submit(user, video, ["youtube"])
        w = p.worker()
        seen, s = watch(user, job, "youtube")
        progress = [pr for phase, pr in seen if pr is not None]
        assert len(progress) >= 2, seen  # after the first and the second chunk
        assert increasing(progress) and all(0 < pr < 1 for pr in progress), seen
        assert all(phase == "uploading" for phase, pr in seen if pr is not None), seen
        assert s["status"] == "completed", s
        final_entry_has_only_result_keys(s["results"]["youtube"])
        assert w.stop() == 0


def test_facebook_transfer_shows_progress_then_completes():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("progress-fb.mp4", 4 * MiB)
        user, video = wk.user_with_video(url)
        wk.connect(user, "facebook", access_token="EAAB-page-token")
        p.graph.config({"fb_chunk_bytes": MiB, "bandwidth_bytes_per_sec": MiB})
        job = wk.submit(user, video, ["facebook"])
        w = p.worker()
        seen, s = watch(user, job, "facebook")
        progress = [pr for phase, pr in seen if pr is not None]
        assert len(progress) >= 2, seen
        # the last transfer's answer confirms every byte: 1.0 while publishing
        assert increasing(progress) and all(0 < pr <= 1 for pr in progress), seen
        assert {phase for phase, pr in seen if pr is not None} <= {"transfer", "publishing"}, seen
        assert s["status"] == "completed", s
        final_entry_has_only_result_keys(s["results"]["facebook"])
        assert w.stop() == 0


def test_instagram_shows_its_phase_without_progress():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("progress-ig.mp4", MiB)
        user, video = wk.user_with_video(url)
        wk.connect(user, "instagram", access_token="IGQ-token")
        p.graph.config({"ig_transcode_seconds": 3})
        job = wk.submit(user, video, ["instagram"])
        w = p.worker("--ig-poll", "0.5")
        seen, s = watch(user, job, "instagram")
        assert ("processing", None) in seen, seen  # Instagram fetches the video itself
        assert all(pr is None for _, pr in seen), seen
        assert s["status"] == "completed", s
        final_entry_has_only_result_keys(s["results"]["instagram"])
        assert w.stop() == 0


# Records every change of a job's results with the database's clock, so the
# test can count what reached the job.
AUDIT = """
CREATE TABLE IF NOT EXISTS test_progress_audit (job_id uuid, at timestamptz, results jsonb);
CREATE OR REPLACE FUNCTION test_progress_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO test_progress_audit VALUES (NEW.id, clock_timestamp(), NEW.results);
    RETURN NULL;
END $$;
CREATE TRIGGER test_progress_audit AFTER UPDATE ON social_post_jobs
    FOR EACH ROW EXECUTE FUNCTION test_progress_audit();
"""


def test_progress_reaches_the_job_at_most_about_once_a_second():
    sptest.sql(AUDIT)
    try:
        with wk.Platforms() as p:
            wk.clear_queue()
            url, _ = p.video.add_video("progress-many.mp4", 6 * MiB)
            user, video = wk.user_with_video(url)
            wk.connect(user, "facebook", access_token="EAAB-page-token")
            # 96 transfers of 64 KiB, paced to take a few seconds in all
            p.graph.config({"fb_chunk_bytes": 64 << 10, "bandwidth_bytes_per_sec": 2 * MiB})
            job = wk.submit(user, video, ["facebook"])
            w = p.worker()
            s = wk.wait_job(user, job, timeout=120)
            assert s["status"] == "completed", s
            assert w.stop() == 0
        rows = sptest.sql("SELECT extract(epoch FROM at), results -> 'facebook' -> 'progress'"
                          " FROM test_progress_audit WHERE job_id = %s ORDER BY at", (job,))
        shown = []
        for at, progress in rows:
            if progress is not None and (not shown or shown[-1][1] != progress):
                shown.append((float(at), progress))
        assert len(shown) >= 2, rows
        span = shown[-1][0] - shown[0][0]
        # 96 confirmed chunks, but one report a second at most
        assert len(shown) <= span + 2, (len(shown), span, shown)
    finally:
        sptest.sql("DROP TRIGGER IF EXISTS test_progress_audit ON social_post_jobs;"
                   " DROP FUNCTION IF EXISTS test_progress_audit();"
                   " DROP TABLE IF EXISTS test_progress_audit")


def test_a_job_uploading_to_two_platforms_changes_at_most_about_once_a_second():
    """Two platforms of one job report progress at once: the job (its row, its
    NOTIFY) still changes about once a second, not once per platform; each
    platform's progress still shows, and the final state shows at once."""
    sptest.sql(AUDIT)
    try:
        with wk.Platforms() as p:
            wk.clear_queue()
            url, _ = p.video.add_video("progress-two.mp4", 24 * MiB)
            user, video = wk.user_with_video(url)
            wk.connect(user, "facebook", access_token="EAAB-page-token")
            wk.connect(user, "youtube")
            # Facebook: 192 transfers over about 6 s; YouTube: 8 MiB chunks, 2 s each
            p.graph.config({"fb_chunk_bytes": 128 << 10, "bandwidth_bytes_per_sec": 4 * MiB})
            p.youtube.config({"bandwidth_bytes_per_sec": 4 * MiB})
            job = wk.submit(user, video, ["facebook", "youtube"])
            w = p.worker("--concurrency", "2", "--per-user", "2")
            s = wk.wait_job(user, job, timeout=120)
            assert s["status"] == "completed", s
            assert w.stop() == 0
        rows = sptest.sql("SELECT extract(epoch FROM at), results FROM test_progress_audit"
                          " WHERE job_id = %s ORDER BY at", (job,))
        with_progress = [(float(at), r) for at, r in rows
                         if any("progress" in (r.get(pl) or {}) for pl in ("facebook", "youtube"))]
        assert len(with_progress) >= 2, rows
        for pl in ("facebook", "youtube"):
            assert any("progress" in (r.get(pl) or {}) for _, r in with_progress), (pl, rows)
        span = with_progress[-1][0] - with_progress[0][0]
        assert len(with_progress) <= span + 2, (len(with_progress), span)
    finally:
        sptest.sql("DROP TRIGGER IF EXISTS test_progress_audit ON social_post_jobs;"
                   " DROP FUNCTION IF EXISTS test_progress_audit();"
                   " DROP TABLE IF EXISTS test_progress_audit")


def test_a_retry_from_scratch_forgets_the_old_progress():
    user = sptest.new_user()
    video = sptest.new_video(user)
    job = wk.submit(user, video, ["facebook"])
    sptest.sql("UPDATE social_post_deliveries SET state = 'failed', progress = 0.5,"
               " checkpoint = '{\"phase\": \"transfer\"}', last_error = 'boom'"
               " WHERE job_id = %s", (job,))
    sptest.sql("SELECT social_post_refresh_job(%s)", (job,))
    r = sptest.http("POST", f"/social-post/{job}/retry", token=sptest.token(user))
    assert r.status == 202, r.body
    assert sptest.sql("SELECT progress, checkpoint::text FROM social_post_deliveries"
                      " WHERE job_id = %s", (job,)) == [(None, "{}")]
    entry = wk.status(user, job)["results"]["facebook"]
    assert entry["state"] == "queued" and "progress" not in entry and "phase" not in entry, entry
    wk.clear_queue()


sptest.run(globals())
