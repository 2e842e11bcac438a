"""Migrations: re-running changes nothing, RLS keeps users apart, the queue notifies.

Runs against the stack's database (migrated by stack.py start), plus a
throw-away database made to look like a Supabase project that already has
auth.*, product_videos, scheduled_posts and the seed's social_post_jobs.
"""
import hashlib
import json
import os
import select
import subprocess
import uuid

import psycopg2
import psycopg2.errors

import sptest

SOURCE = sptest.state()["source_dir"]
MIGRATIONS = sorted(f for f in os.listdir(os.path.join(SOURCE, "migrations")) if f.endswith(".sql"))


def pg_env():
    bindir = sptest.state()["pg"]["bin_dir"]
    return dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))


def migrate(url=None):
    return subprocess.run(["bash", os.path.join(SOURCE, "scripts", "migrate.sh"),
                           url or sptest.state()["database_url"]],
                          capture_output=True, text=True, env=pg_env(), timeout=120)


def schema_dump(url=None):
    out = subprocess.run(["pg_dump", "--schema-only", "-d", url or sptest.state()["database_url"]],
                         capture_output=True, text=True, env=pg_env(), timeout=120)
    assert out.returncode == 0, out.stderr
    # pg_dump 15.14+ brackets its output with a random \restrict key.
    return "".join(line for line in out.stdout.splitlines(keepends=True)
                   if not line.startswith(("\\restrict ", "\\unrestrict ")))


def database_url(name):
    return sptest.state()["database_url"].rsplit("/", 1)[0] + "/" + name


def new_job(user_id, video_id, platforms=("youtube",)):
    rows = sptest.sql_as(user_id, "INSERT INTO public.social_post_jobs (user_id, video_id, platforms)"
                         " VALUES (%s, %s, %s::jsonb) RETURNING id",
                         (user_id, video_id, json.dumps(list(platforms))))
    return str(rows[0][0])


def test_rerunning_migrate_sh_says_up_to_date_and_changes_nothing():
    before = schema_dump()
    out = migrate()
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "up to date", out.stdout
    assert schema_dump() == before


def test_every_migration_is_recorded_with_its_checksum():
    rows = dict(sptest.sql("SELECT filename, checksum FROM public.social_post_schema_migrations"))
    for name in MIGRATIONS:
        with open(os.path.join(SOURCE, "migrations", name), "rb") as f:
            assert rows.get(name) == hashlib.sha256(f.read()).hexdigest(), name


def test_reapplying_every_file_with_plain_psql_leaves_the_schema_identical():
    before = schema_dump()
    for name in MIGRATIONS:
        out = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                              "-d", sptest.state()["database_url"],
                              "-f", os.path.join(SOURCE, "migrations", name)],
                             capture_output=True, text=True, env=pg_env(), timeout=120)
        assert out.returncode == 0, f"{name}: {out.stderr}"
    assert schema_dump() == before


def test_checkpoints_from_before_phases_get_their_phase_once():
    user = sptest.new_user()
    video = sptest.new_video(user)
    legacy = {"youtube": ('{"session": "s", "offset": 0}', "uploading"),
              "facebook": ('{"videoId": "v", "sessionId": "s", "finishing": true}', "publishing"),
              "instagram": ('{"containerId": "c", "mediaId": "m"}', "published")}
    job = new_job(user, video, list(legacy))
    for platform, (cp, _) in legacy.items():
        sptest.sql("UPDATE social_post_deliveries SET checkpoint = %s::jsonb"
                   " WHERE job_id = %s AND platform = %s", (cp, job, platform))
    for _ in range(2):  # applying it again changes nothing
        out = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                              "-d", sptest.state()["database_url"],
                              "-f", os.path.join(SOURCE, "migrations", "0006_delivery_phases.sql")],
                             capture_output=True, text=True, env=pg_env(), timeout=120)
        assert out.returncode == 0, out.stderr
        rows = dict(sptest.sql("SELECT platform, checkpoint->>'phase' FROM social_post_deliveries"
                               " WHERE job_id = %s", (job,)))
        assert rows == {p: phase for p, (_, phase) in legacy.items()}, rows


def test_migrate_sh_warns_when_an_applied_file_changed():
    name = MIGRATIONS[0]
    (saved,) = sptest.sql("SELECT checksum FROM public.social_post_schema_migrations"
                          " WHERE filename = %s", (name,))[0]
    sptest.sql("UPDATE public.social_post_schema_migrations SET checksum = 'old'"
               " WHERE filename = %s", (name,))
    try:
        out = migrate()
    finally:
        sptest.sql("UPDATE public.social_post_schema_migrations SET checksum = %s"
                   " WHERE filename = %s", (saved, name))
    assert out.returncode == 0, out.stderr
    assert f"{name} changed since it was applied" in out.stderr, out.stderr
    assert out.stdout.strip() == "up to date", out.stdout


def test_auth_uid_returns_the_callers_sub():
    user = sptest.new_user()
    assert sptest.sql_as(user, "SELECT auth.uid()::text, auth.role()")[0] == (user, "authenticated")
    assert sptest.sql_as(user, "SELECT auth.jwt() ->> 'sub'")[0][0] == user


def test_user_b_sees_none_of_user_a_jobs_or_videos():
    a, b = sptest.new_user(), sptest.new_user()
    video = sptest.new_video(a)
    job = new_job(a, video)
    assert sptest.sql_as(a, "SELECT id::text FROM public.social_post_jobs WHERE id = %s",
                         (job,)) == [(job,)]
    assert sptest.sql_as(b, "SELECT id FROM public.social_post_jobs WHERE id = %s", (job,)) == []
    assert sptest.sql_as(b, "SELECT id FROM public.social_post_jobs WHERE user_id = %s", (a,)) == []
    assert sptest.sql_as(b, "SELECT id FROM public.product_videos WHERE id = %s", (video,)) == []


def test_user_b_cannot_update_user_a_job():
    a, b = sptest.new_user(), sptest.new_user()
    job = new_job(a, sptest.new_video(a))
    rows = sptest.sql_as(b, "UPDATE public.social_post_jobs SET title = 'hijacked', user_id = %s"
                         " WHERE id = %s RETURNING id", (b, job))
    assert rows == []
    assert sptest.sql("SELECT user_id::text, title FROM public.social_post_jobs WHERE id = %s",
                      (job,)) == [(a, None)]


def test_user_cannot_give_their_job_away():
    a, b = sptest.new_user(), sptest.new_user()
    job = new_job(a, sptest.new_video(a))
    try:
        sptest.sql_as(a, "UPDATE public.social_post_jobs SET user_id = %s WHERE id = %s", (b, job))
    except psycopg2.errors.InsufficientPrivilege as e:
        # the worker-owned columns' guard (0007) refuses it before RLS does
        assert "only the title and description" in str(e) or "row-level security" in str(e), e
    else:
        raise AssertionError("moving a job to another user was accepted")


def test_insert_as_b_with_user_id_a_is_rejected_by_rls():
    a, b = sptest.new_user(), sptest.new_user()
    video = sptest.new_video(a)
    try:
        sptest.sql_as(b, "INSERT INTO public.social_post_jobs (user_id, video_id) VALUES (%s, %s)",
                      (a, video))
    except psycopg2.errors.InsufficientPrivilege as e:
        assert "row-level security" in str(e), e
    else:
        raise AssertionError("insert with someone else's user_id was accepted")
    assert sptest.sql("SELECT count(*) FROM public.social_post_jobs WHERE video_id = %s",
                      (video,)) == [(0,)]


def test_user_cannot_post_someone_elses_video():
    a, b = sptest.new_user(), sptest.new_user()
    video_of_a = sptest.new_video(a)
    try:
        new_job(b, video_of_a)
    except psycopg2.errors.InsufficientPrivilege as e:
        assert "row-level security" in str(e), e
    else:
        raise AssertionError("a job for another user's video was accepted")


def test_authenticated_cannot_select_social_accounts():
    user = sptest.new_user()
    sptest.sql("INSERT INTO public.social_accounts (user_id, platform, access_token)"
               " VALUES (%s, 'youtube', 'secret-token')", (user,))
    for query in ("SELECT access_token FROM public.social_accounts",
                  "SELECT count(*) FROM public.social_accounts WHERE user_id = auth.uid()"):
        try:
            sptest.sql_as(user, query)
        except psycopg2.errors.InsufficientPrivilege as e:
            assert "permission denied" in str(e), e
        else:
            raise AssertionError(f"authenticated could run: {query}")


def test_api_login_has_no_rights_until_it_becomes_the_caller():
    conn = psycopg2.connect(sptest.state()["api_database_url"])
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            assert cur.fetchone() == (False, False)
            try:
                cur.execute("SELECT count(*) FROM public.social_post_jobs")
            except psycopg2.errors.InsufficientPrivilege:
                conn.rollback()
            else:
                raise AssertionError("social_post_api read social_post_jobs as itself")
            cur.execute("SELECT set_config('role', 'authenticated', true)")
            cur.execute("SELECT count(*) FROM public.social_post_jobs")
    finally:
        conn.close()


def test_updated_at_follows_updates():
    a = sptest.new_user()
    job = new_job(a, sptest.new_video(a))
    sptest.sql("UPDATE public.social_post_jobs SET updated_at = now() - interval '1 hour'"
               " WHERE id = %s", (job,))
    sptest.sql_as(a, "UPDATE public.social_post_jobs SET title = 'new' WHERE id = %s", (job,))
    (fresh,) = sptest.sql("SELECT updated_at > now() - interval '1 minute'"
                          " FROM public.social_post_jobs WHERE id = %s", (job,))[0]
    assert fresh


def test_insert_notifies_social_post_jobs_with_the_job_id():
    listener = sptest.db()
    try:
        listener.cursor().execute("LISTEN social_post_jobs")
        a = sptest.new_user()
        job = new_job(a, sptest.new_video(a))
        payloads = []
        for _ in range(50):
            if select.select([listener], [], [], 0.1)[0]:
                listener.poll()
                payloads += [n.payload for n in listener.notifies if n.channel == "social_post_jobs"]
                listener.notifies.clear()
            if job in payloads:
                break
        assert job in payloads, payloads
    finally:
        listener.close()


# A database shaped like a Supabase project where the seed's migration ran:
# Supabase's own auth.*, the app's product_videos and scheduled_posts (other
# columns, own policies), the seed's social_post_jobs, and Supabase's default
# privileges (ALL on new tables to the API roles).
SUPABASE_LIKE = """
CREATE SCHEMA auth;
CREATE TABLE auth.users (instance_id uuid, id uuid PRIMARY KEY, aud varchar(255),
    email varchar(255), raw_user_meta_data jsonb, created_at timestamptz);
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
    select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$
    select nullif(current_setting('request.jwt.claim.role', true), '')::text $$;
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
    select coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                    nullif(current_setting('request.jwt.claims', true), ''))::jsonb $$;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
CREATE TABLE public.product_videos (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES auth.users (id), title text, video_url text,
    thumbnail_url text, duration_seconds integer, created_at timestamptz DEFAULT now());
ALTER TABLE public.product_videos ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users manage own videos" ON public.product_videos FOR ALL TO authenticated
    USING (auth.uid() = user_id);
CREATE TABLE public.scheduled_posts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid, video_id uuid, platform text, status text, post_url text,
    created_at timestamptz DEFAULT now());
CREATE TABLE public.social_post_jobs (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    video_id uuid NOT NULL REFERENCES public.product_videos (id) ON DELETE CASCADE,
    platforms jsonb NOT NULL DEFAULT '[]'::jsonb, title text, description text,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    results jsonb NOT NULL DEFAULT '{}'::jsonb, error text,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX idx_social_post_jobs_user_id ON public.social_post_jobs (user_id);
ALTER TABLE public.social_post_jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users can view their own jobs" ON public.social_post_jobs FOR SELECT
    USING (auth.uid() = user_id);
"""

PRESERVED = """
SELECT 'function', p.proname || ': ' || p.prosrc FROM pg_proc p JOIN pg_namespace n
    ON n.oid = p.pronamespace WHERE n.nspname = 'auth'
UNION ALL
SELECT 'column', table_name || '.' || column_name || ' ' || data_type
    FROM information_schema.columns
    WHERE table_schema IN ('auth', 'public') AND table_name IN ('users', 'product_videos', 'scheduled_posts')
UNION ALL
SELECT 'policy', tablename || ': ' || policyname || ' ' || coalesce(qual, '')
    FROM pg_policies WHERE tablename IN ('product_videos', 'scheduled_posts')
UNION ALL
SELECT 'acl', relname || ': ' || coalesce(relacl::text, '') FROM pg_class
    WHERE relname IN ('users', 'product_videos', 'scheduled_posts')
ORDER BY 1, 2
"""


def test_migrations_run_unchanged_on_a_supabase_like_database():
    name = "supabase_like_" + uuid.uuid4().hex[:8]
    sptest.sql(f"CREATE DATABASE {name}")
    url = database_url(name)
    try:
        conn = psycopg2.connect(url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(SUPABASE_LIKE)
            cur.execute(PRESERVED)
            before = cur.fetchall()
        out = migrate(url)
        assert out.returncode == 0, out.stderr
        assert "scheduled_posts lacks column(s) social-post uses: job_id" in out.stderr, out.stderr
        with conn.cursor() as cur:
            cur.execute(PRESERVED)
            assert cur.fetchall() == before, "an existing Supabase object was changed"
            cur.execute("SELECT policyname FROM pg_policies WHERE tablename = 'social_post_jobs'"
                        " ORDER BY 1")
            assert [r[0] for r in cur.fetchall()] == [
                "Users can view their own jobs", "social_post_jobs_insert_not_anonymous",
                "social_post_jobs_insert_own", "social_post_jobs_select_own",
                "social_post_jobs_update_own"]
            for role, wanted in (("authenticated", {"SELECT", "INSERT", "UPDATE"}), ("anon", set())):
                cur.execute("SELECT privilege_type FROM information_schema.role_table_grants"
                            " WHERE table_name = 'social_post_jobs' AND grantee = %s", (role,))
                assert {r[0] for r in cur.fetchall()} == wanted, role
            cur.execute("SELECT has_table_privilege('authenticated', 'public.social_accounts',"
                        " 'SELECT'), has_table_privilege('anon', 'public.social_accounts', 'SELECT')")
            assert cur.fetchone() == (False, False)
            # Supabase grants EXECUTE on new functions to the API roles: the
            # internal ones must be revoked from them (the rules the guard
            # trigger and the insert policy call as the caller stay callable)
            cur.execute("SELECT p.proname, r FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace,"
                        " unnest(ARRAY['anon', 'authenticated']) AS r"
                        " WHERE n.nspname = 'public' AND p.proname LIKE 'social_post_%%'"
                        " AND has_function_privilege(r, p.oid, 'EXECUTE') ORDER BY 1, 2")
            rules = ["social_post_allows_anonymous", "social_post_callback_url_problem",
                     "social_post_caller_may_submit", "social_post_job_json",
                     "social_post_platform_names", "social_post_platforms_problem",
                     "social_post_refuse", "social_post_request_hash", "social_post_text_problem"]
            assert cur.fetchall() == sorted([(f, r) for f in rules for r in ("anon", "authenticated")]
                                            + [(f, "authenticated") for f in (
                                                # 0018: users connect their accounts as themselves
                                                "social_post_account_begin", "social_post_account_choose",
                                                "social_post_account_fail", "social_post_account_offer",
                                                "social_post_account_disconnect", "social_post_account_store",
                                                "social_post_account_take",
                                                "social_post_accounts_of_caller")]
                                            + [("social_post_cancel_job", "authenticated"),
                                               ("social_post_check_options", "authenticated"),
                                               ("social_post_retry_job", "authenticated")])
            # and on new sequences: setval on the deliveries' ids would stop every insert
            cur.execute("SELECT has_sequence_privilege(r, pg_get_serial_sequence("
                        "'public.social_post_deliveries', 'id'), 'UPDATE')"
                        " FROM unnest(ARRAY['anon', 'authenticated']) AS r")
            assert [r[0] for r in cur.fetchall()] == [False, False]
        dump = schema_dump(url)
        again = migrate(url)
        assert again.returncode == 0 and again.stdout.strip() == "up to date", again
        assert schema_dump(url) == dump
        conn.close()
    finally:
        sptest.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def fresh_database(prefix, setup_sql=None):
    """A new empty database (with setup_sql run in it); returns its name and URL."""
    name = prefix + "_" + uuid.uuid4().hex[:8]
    sptest.sql(f"CREATE DATABASE {name}")
    url = database_url(name)
    if setup_sql:
        conn = psycopg2.connect(url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(setup_sql)
        conn.close()
    return name, url


def published_tables(url):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT schemaname || '.' || tablename FROM pg_publication_tables"
                        " WHERE pubname = 'supabase_realtime' ORDER BY 1")
            return [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


def apply_file(url, name):
    return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url,
                           "-f", os.path.join(SOURCE, "migrations", name)],
                          capture_output=True, text=True, env=pg_env(), timeout=120)


def test_jobs_join_the_supabase_realtime_publication_when_it_exists():
    # as on Supabase: the publication exists, with some other table in it
    name, url = fresh_database("realtime", "CREATE TABLE public.other (id int PRIMARY KEY);"
                               " CREATE PUBLICATION supabase_realtime FOR TABLE public.other")
    try:
        out = migrate(url)
        assert out.returncode == 0, out.stderr
        assert published_tables(url) == ["public.other", "public.social_post_jobs"]
        dump = schema_dump(url)
        for migration in MIGRATIONS:  # everything again, by hand: nothing changes
            again = apply_file(url, migration)
            assert again.returncode == 0, f"{migration}: {again.stderr}"
        assert schema_dump(url) == dump
        assert published_tables(url) == ["public.other", "public.social_post_jobs"]
    finally:
        sptest.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_publication_for_all_tables_is_left_as_it_is():
    name, url = fresh_database("realtime_all", "CREATE PUBLICATION supabase_realtime FOR ALL TABLES")
    try:
        out = migrate(url)
        assert out.returncode == 0, out.stderr
        assert "public.social_post_jobs" in published_tables(url)
        dump = schema_dump(url)
        assert apply_file(url, MIGRATIONS[-1]).returncode == 0
        assert schema_dump(url) == dump
    finally:
        sptest.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_without_the_publication_nothing_is_published_and_nothing_fails():
    assert sptest.sql("SELECT count(*) FROM pg_publication") == [(0,)]
    before = schema_dump()
    out = apply_file(sptest.state()["database_url"], "0009_progress_webhooks_realtime.sql")
    assert out.returncode == 0 and "WARNING" not in out.stderr, out.stderr
    # later files redefine some of 0009's functions: apply them again after it, in order
    for later in [m for m in MIGRATIONS if m > "0009_progress_webhooks_realtime.sql"]:
        again = apply_file(sptest.state()["database_url"], later)
        assert again.returncode == 0, (later, again.stderr)
    assert schema_dump() == before
    assert sptest.sql("SELECT count(*) FROM pg_publication") == [(0,)]


sptest.run(globals())
