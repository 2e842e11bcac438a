"""docs/DEPLOY.md's roles for plain Postgres do what it says, on the test stack.

The sql block after the marker in DEPLOY.md is run as the superuser, with its
role names made unique (the stack has its own social_post_api). Then:
- the API login, as the programs use it (one transaction, role authenticated
  with the caller's claims), reads the caller's own job and no one else's,
  cannot read social_accounts, reads the queue's counts as social_post_metrics,
  and reads nothing with its own rights (NOINHERIT);
- a real worker connected as the worker login posts a job to the YouTube fake.
"""
import json
import os
import re
import uuid

import psycopg2

import sptest
import workerkit

MARKER = "tests/e2e/test_deploy_roles.py runs the next sql block"


def doc_roles_sql():
    with open(os.path.join(sptest.state()["source_dir"], "docs", "DEPLOY.md")) as f:
        text = f.read()
    at = text.index(MARKER)
    m = re.search(r"```sql\n(.*?)```", text[at:], re.S)
    assert m, "no sql block after the marker in docs/DEPLOY.md"
    return m.group(1)


_roles = None


def roles():
    """Creates the document's roles once; returns {document name: name here}."""
    global _roles
    if _roles is None:
        sql = doc_roles_sql()
        names = sorted(set(re.findall(r"CREATE ROLE (\w+)", sql)))
        assert names == ["social_post_api", "social_post_worker"], names
        suffix = uuid.uuid4().hex[:8]
        _roles = {n: f"{n}_{suffix}" for n in names}
        for n, here in _roles.items():
            sql = re.sub(rf"\b{n}\b", here, sql)
        sptest.sql(sql)
    return _roles


def url_as(role):
    url = sptest.state()["database_url"]  # postgresql://postgres@127.0.0.1:PORT/social_post
    return url.replace("postgresql://postgres@", f"postgresql://{role}@", 1)


def as_caller(conn, user_id, query, params=None):
    """What the HTTP programs do for a request (lib/db.c sp_db_begin_as)."""
    claims = json.dumps({"sub": user_id, "role": "authenticated", "aud": "authenticated"})
    with conn.cursor() as cur:
        cur.execute("SELECT set_config('role', 'authenticated', true),"
                    " set_config('request.jwt.claims', %s, true),"
                    " set_config('request.jwt.claim.sub', %s, true),"
                    " set_config('request.jwt.claim.role', 'authenticated', true)",
                    (claims, user_id))
        cur.execute(query, params)
        rows = cur.fetchall()
    conn.rollback()
    return rows


def test_api_login_sees_only_what_a_caller_may():
    api = roles()["social_post_api"]
    owner, other = sptest.new_user(), sptest.new_user()
    video = sptest.new_video(owner)
    job = workerkit.submit(owner, video, ["youtube"])
    workerkit.connect(owner, "youtube")
    conn = psycopg2.connect(url_as(api))
    try:
        q = "SELECT id::text FROM social_post_jobs WHERE id = %s"
        assert as_caller(conn, owner, q, (job,)) == [(job,)]
        assert as_caller(conn, other, q, (job,)) == []
        for table in ("social_accounts", "social_post_deliveries"):
            try:
                as_caller(conn, owner, f"SELECT count(*) FROM {table}")
                raise AssertionError(f"authenticated may read {table}")
            except psycopg2.errors.InsufficientPrivilege:
                conn.rollback()
        with conn.cursor() as cur:  # its own rights: none (NOINHERIT)
            try:
                cur.execute("SELECT count(*) FROM social_post_jobs")
                raise AssertionError("the API login reads jobs with its own rights")
            except psycopg2.errors.InsufficientPrivilege:
                conn.rollback()
            cur.execute("SET LOCAL ROLE social_post_metrics")
            cur.execute("SELECT state FROM social_post_queue_stats()")
            assert "queued" in [r[0] for r in cur.fetchall()]
        conn.rollback()
    finally:
        conn.close()


def test_worker_login_posts_a_job():
    worker = roles()["social_post_worker"]
    workerkit.clear_queue()
    with workerkit.Platforms() as p:
        url, sha = p.video.add_video("roles.mp4", 2 << 20)
        user, video = workerkit.user_with_video(url)
        workerkit.connect(user, "youtube")
        job = workerkit.submit(user, video, ["youtube"])
        w = p.worker("--concurrency", "1", env={"DATABASE_URL": url_as(worker)})
        done = workerkit.wait_job(user, job)
        assert w.stop() == 0, w.output()
        assert done["status"] == "completed", (done, w.output())
        assert p.youtube.stats()["videos"][0]["sha256"] == sha
        assert "permission denied" not in w.output(), w.output()
    assert workerkit.history(job)[0][1] == "posted", workerkit.history(job)


if __name__ == "__main__":
    sptest.run(globals())
