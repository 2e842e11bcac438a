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
import subprocess
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


def pg_env():
    bindir = sptest.state()["pg"]["bin_dir"]
    return dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))


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


def test_api_login_is_refused_the_token_columns_even_where_the_app_grants_select():
    """An app's own social_accounts on Supabase grants anon and authenticated
    SELECT on every column by default: migrations 0017 and 0022 (run again, in
    order) leave them the other columns and take the tokens away (0022's
    user_token too); the worker's login still reads them."""
    api, worker = roles()["social_post_api"], roles()["social_post_worker"]
    owner = sptest.new_user()
    workerkit.connect(owner, "youtube", access_token="ya29.column-" + owner)
    sptest.sql("GRANT SELECT ON social_accounts TO authenticated, anon")  # as Supabase does
    try:
        for migration in ("0017_sealed_tokens_quota_waits.sql", "0022_revocation_tokens.sql"):
            out = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                                  sptest.state()["database_url"], "-f",
                                  os.path.join(sptest.state()["source_dir"], "migrations", migration)],
                                 capture_output=True, text=True, timeout=120, env=pg_env())
            assert out.returncode == 0, out.stderr
        conn = psycopg2.connect(url_as(api))
        try:
            assert as_caller(conn, owner, "SELECT platform FROM social_accounts") == []  # RLS: none
            for column in ("access_token", "refresh_token", "user_token", "*"):
                try:
                    as_caller(conn, owner, f"SELECT {column} FROM social_accounts")
                    raise AssertionError(f"the API login reads social_accounts {column}")
                except psycopg2.errors.InsufficientPrivilege:
                    conn.rollback()
            with conn.cursor() as cur:
                cur.execute("SET LOCAL ROLE social_post_metrics")
                try:
                    cur.execute("SELECT access_token FROM social_accounts")
                    raise AssertionError("the metrics role reads tokens")
                except psycopg2.errors.InsufficientPrivilege:
                    conn.rollback()
            with conn.cursor() as cur:
                cur.execute("SET LOCAL ROLE social_post_metrics")
                try:
                    cur.execute("SELECT user_token FROM social_accounts")
                    raise AssertionError("the metrics role reads user tokens")
                except psycopg2.errors.InsufficientPrivilege:
                    conn.rollback()
        finally:
            conn.close()
        conn = psycopg2.connect(url_as(worker))
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT access_token FROM social_accounts WHERE user_id = %s", (owner,))
                assert cur.fetchall() == [("ya29.column-" + owner,)]
        finally:
            conn.close()
    finally:
        sptest.sql("REVOKE SELECT ON social_accounts FROM authenticated, anon")


def test_api_login_revokes_as_the_accounts_role_and_users_cannot():
    """The document's grant lets the API login hand a removed account's tokens
    back as social_post_accounts (what DELETE /social-post-accounts/{p} does);
    as the caller alone (authenticated) the same call is refused."""
    api = roles()["social_post_api"]
    owner = sptest.new_user()
    workerkit.connect(owner, "youtube", access_token="ya29.revoke-" + owner)
    conn = psycopg2.connect(url_as(api))
    try:
        try:
            as_caller(conn, owner, "SELECT * FROM social_post_account_revoke_take('youtube')")
            raise AssertionError("authenticated may take tokens back")
        except psycopg2.errors.InsufficientPrivilege:
            conn.rollback()
        claims = json.dumps({"sub": owner, "role": "authenticated", "aud": "authenticated"})
        with conn.cursor() as cur:
            cur.execute("SELECT set_config('role', 'authenticated', true),"
                        " set_config('request.jwt.claims', %s, true)", (claims,))
            cur.execute("SELECT set_config('role', 'social_post_accounts', true)")
            cur.execute("SELECT access_token FROM social_post_account_revoke_take('youtube')")
            assert cur.fetchall() == [("ya29.revoke-" + owner,)]
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
