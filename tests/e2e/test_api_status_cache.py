"""Unchanged answers without the database: the status program keeps the
version (ETag) and reader of the jobs it served, kept current by the change
notifications it LISTENs to, and answers a matching If-None-Match 304 without
a round trip. A lost LISTEN connection drops what it knew (a change made
meanwhile is never answered 304); another user's job is still 404 whatever
ETag is sent; a change made through Supabase directly (SQL as the user) is
seen at once."""
import time

import fakectl
import fcgikit
import sptest
import workerkit

STATUS = "/social-post-status"


def new_job():
    user = sptest.new_user()
    job = workerkit.submit(user, sptest.new_video(user), ["youtube"])
    return user, job


def conditional(user, etag):
    return {"Authorization": "Bearer " + sptest.token(user), "If-None-Match": etag}


def proxied_status(threads=2):
    """A proxy in front of Postgres and the status program behind it."""
    st = sptest.state()
    proxy = fakectl.Fake.start("tcp_proxy", args=["--target", f"127.0.0.1:{st['pg']['port']}"])
    url = st["api_database_url"].replace(f":{st['pg']['port']}/", f":{proxy.listen_port}/")
    prog = fcgikit.Program(["social-post-status", "--threads", str(threads)],
                           env={"DATABASE_URL": url})
    return proxy, prog


def ask(prog, user, job, etag):
    """One conditional GET of job straight to the program."""
    conn = fcgikit.Connection(prog.port, timeout=30)
    try:
        return conn.request("GET", query=f"jobId={job}", headers=conditional(user, etag))
    finally:
        conn.close()


def first_read(prog, user, job):
    """The first read (from the database); returns the ETag."""
    r = ask(prog, user, job, '"none"')
    assert r.status == 200, r
    return r.headers["etag"]


def test_an_unchanged_job_is_answered_304_without_the_database():
    user, job = new_job()
    proxy, prog = proxied_status()
    try:
        with prog:
            etag = first_read(prog, user, job)
            time.sleep(0.3)
            before = proxy.stats()["bytes_up"]
            for tag in (etag, "W/" + etag, f'"other", {etag}'):
                r = ask(prog, user, job, tag)
                assert r.status == 304, (tag, r)
                assert r.headers["etag"] == etag, r.headers
            assert proxy.stats()["bytes_up"] == before, "a conditional GET went to the database"
            # a stale version is not answered from memory
            r = ask(prog, user, job, '"stale"')
            assert r.status == 200, r
            assert prog.stop() == 0
    finally:
        proxy.stop()


def test_a_lost_listen_connection_drops_the_cached_versions():
    user, job = new_job()
    proxy, prog = proxied_status()
    try:
        with prog:
            etag = first_read(prog, user, job)
            assert ask(prog, user, job, etag).status == 304
            proxy.mode("refuse")  # the LISTEN connection cannot come back ...
            proxy.cut()
            time.sleep(0.5)
            # ... while the job changes: nobody tells the status program
            sptest.sql("UPDATE social_post_jobs SET description = 'changed while deaf' "
                       "WHERE id = %s", (job,))
            r = ask(prog, user, job, etag)
            assert r.status != 304, "answered from memory while not listening"
            proxy.mode("pass")
            time.sleep(2.5)  # the waker is listening again
            r = ask(prog, user, job, etag)
            assert r.status == 200, r
            assert r.json["description"] == "changed while deaf", r.json
            assert prog.stop() == 0
    finally:
        proxy.mode("pass")
        proxy.stop()


def test_another_users_job_with_a_matching_etag_is_still_404():
    owner, job = new_job()
    path = f"{STATUS}?jobId={job}"
    etag = sptest.http("GET", path, token=sptest.token(owner)).headers["etag"]
    for _ in range(3):  # the owner's version is known to every status process now
        assert sptest.http("GET", path, headers={"If-None-Match": etag},
                           token=sptest.token(owner)).status == 304
    other = sptest.new_user()
    r = sptest.http("GET", path, headers={"If-None-Match": etag}, token=sptest.token(other))
    assert r.status == 404, (r.status, r.body)
    r = sptest.http("GET", path, headers={"If-None-Match": "*"}, token=sptest.token(other))
    assert r.status == 404, (r.status, r.body)


def test_a_change_through_supabase_is_never_answered_304():
    user, job = new_job()
    path = f"{STATUS}?jobId={job}"
    tok = sptest.token(user)
    etag = sptest.http("GET", path, token=tok).headers["etag"]
    assert sptest.http("GET", path, headers={"If-None-Match": etag}, token=tok).status == 304
    sptest.sql_as(user, "UPDATE social_post_jobs SET description = 'edited in the app' "
                        "WHERE id = %s", (job,))
    deadline = time.monotonic() + 1.0  # the notification's trip, with room to spare
    while True:
        r = sptest.http("GET", path, headers={"If-None-Match": etag}, token=tok)
        if r.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert r.status == 200, (r.status, r.body)
    assert r.json["description"] == "edited in the app", r.json
    assert r.headers["etag"] != etag


def test_a_job_deleted_with_its_video_is_404_not_304():
    """The app deletes the user's video through Supabase; its jobs go with
    it (ON DELETE CASCADE), and migration 0019 notifies their deletion."""
    user, job = new_job()
    path = f"{STATUS}?jobId={job}"
    tok = sptest.token(user)
    etag = sptest.http("GET", path, token=tok).headers["etag"]
    assert sptest.http("GET", path, headers={"If-None-Match": etag}, token=tok).status == 304
    sptest.sql_as(user, "DELETE FROM public.product_videos WHERE id ="
                        " (SELECT video_id FROM public.social_post_jobs WHERE id = %s)", (job,))
    assert sptest.sql("SELECT count(*) FROM social_post_jobs WHERE id = %s", (job,))[0][0] == 0
    deadline = time.monotonic() + 1.0
    while True:
        r = sptest.http("GET", path, headers={"If-None-Match": etag}, token=tok)
        if r.status != 304 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert r.status == 404, (r.status, r.body)


if __name__ == "__main__":
    sptest.run(globals())
