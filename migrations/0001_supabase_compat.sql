-- 0001_supabase_compat: what Supabase provides and the later migrations use.
--
-- On a Supabase database all of this exists already and nothing here changes it:
-- every object is created only when it is missing, and existing roles, the auth
-- schema, auth.users and the auth.* functions are never replaced or altered.
-- On a plain Postgres (15) it creates just enough of Supabase for the service:
--   roles anon, authenticated, service_role (NOLOGIN; service_role BYPASSRLS),
--   schema auth, auth.users(id, email, created_at),
--   auth.uid(), auth.role(), auth.jwt() reading the request's JWT claims from
--   the settings request.jwt.claim.sub / request.jwt.claims, as PostgREST and
--   the FastCGI programs set them (set_config(..., true) inside the request's
--   transaction).
-- Not here: logins. Deployments create their own login roles and GRANT these
-- roles to them.

DO $compat$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
        CREATE ROLE anon NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        CREATE ROLE authenticated NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'auth') THEN
        CREATE SCHEMA auth;
    END IF;

    IF to_regclass('auth.users') IS NULL THEN
        CREATE TABLE auth.users (
            id uuid PRIMARY KEY,
            email text,
            created_at timestamptz DEFAULT now()
        );
        GRANT ALL ON auth.users TO service_role;
    END IF;
END
$compat$;

-- The auth.* functions, each only when no function of that name and no
-- arguments exists in schema auth (Supabase's own stay as they are).
DO $functions$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname = 'auth' AND p.proname = 'uid' AND p.pronargs = 0) THEN
        EXECUTE $sql$
            CREATE FUNCTION auth.uid() RETURNS uuid
            LANGUAGE sql STABLE
            AS $body$
                SELECT coalesce(
                    nullif(current_setting('request.jwt.claim.sub', true), ''),
                    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
                )::uuid
            $body$
        $sql$;
        COMMENT ON FUNCTION auth.uid() IS 'The caller''s user id (JWT sub), as on Supabase.';
        GRANT EXECUTE ON FUNCTION auth.uid() TO anon, authenticated, service_role;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname = 'auth' AND p.proname = 'role' AND p.pronargs = 0) THEN
        EXECUTE $sql$
            CREATE FUNCTION auth.role() RETURNS text
            LANGUAGE sql STABLE
            AS $body$
                SELECT coalesce(
                    nullif(current_setting('request.jwt.claim.role', true), ''),
                    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
                )::text
            $body$
        $sql$;
        COMMENT ON FUNCTION auth.role() IS 'The caller''s role claim, as on Supabase.';
        GRANT EXECUTE ON FUNCTION auth.role() TO anon, authenticated, service_role;
    END IF;

    IF NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname = 'auth' AND p.proname = 'jwt' AND p.pronargs = 0) THEN
        EXECUTE $sql$
            CREATE FUNCTION auth.jwt() RETURNS jsonb
            LANGUAGE sql STABLE
            AS $body$
                SELECT coalesce(
                    nullif(current_setting('request.jwt.claim', true), ''),
                    nullif(current_setting('request.jwt.claims', true), '')
                )::jsonb
            $body$
        $sql$;
        COMMENT ON FUNCTION auth.jwt() IS 'The caller''s JWT claims, as on Supabase.';
        GRANT EXECUTE ON FUNCTION auth.jwt() TO anon, authenticated, service_role;
    END IF;
END
$functions$;

-- USAGE on the schemas for the three API roles, granted only where a role
-- does not have it yet (on Supabase they all do; granting again there could
-- only produce "no privileges were granted" warnings).
DO $usage$
DECLARE
    r text;
    s text;
BEGIN
    FOREACH s IN ARRAY ARRAY['auth', 'public'] LOOP
        FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
            IF NOT has_schema_privilege(r, s, 'USAGE') THEN
                EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', s, r);
            END IF;
        END LOOP;
    END LOOP;
END
$usage$;
