-- 0015_database_is_an_api: every rule the HTTP API enforces on a job also
-- holds for rows users write through Supabase directly (RLS lets them).
--
--   social_post_jobs_guard   as anon or authenticated: an insert gets the
--                            service's own status, results, error, times and
--                            request_hash whatever was sent; the text, the
--                            platforms and callback_url must pass the API's
--                            limits; an update may change the title and the
--                            description (named: every other column, present
--                            or future, is refused), within the same limits.
--                            Refusals are SQLSTATE 23514 (check_violation)
--                            with a message naming the field, which PostgREST
--                            and the HTTP programs answer with 400.
--   anonymous sign-ins       (JWT is_anonymous: true) may not insert jobs: a
--                            RESTRICTIVE policy, so it holds whatever other
--                            insert policies the table has; the worker fails
--                            the jobs of users auth.users marks anonymous.
--                            The row allow_anonymous_users of
--                            social_post_settings allows both (the database's
--                            side of SOCIAL_POST_ALLOW_ANONYMOUS_USERS=1).
--   privileges               Supabase's default privileges grant ALL on every
--                            new table, sequence and function in public to
--                            anon and authenticated: the deliveries' id
--                            sequence (setval as anon stopped every insert),
--                            TRUNCATE (which ignores RLS) on our tables, and
--                            EXECUTE on internal functions are revoked.
--   social_post_webhooks     a state 'expired' for events no worker could
--                            send (no SOCIAL_POST_WEBHOOK_SECRET anywhere)
--                            within the time a sender would have tried.

-- ---------------------------------------------------------------- settings

-- Switches of the service that live in the database, so that rules enforced
-- there can read them. Operators write them (service role, SQL); users
-- cannot read or write them.
CREATE TABLE IF NOT EXISTS public.social_post_settings (
    name text PRIMARY KEY CHECK (name IN ('allow_anonymous_users')),
    enabled boolean NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE public.social_post_settings ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.social_post_settings FROM PUBLIC, anon, authenticated;
GRANT ALL ON public.social_post_settings TO service_role;

-- True when operators let anonymous sign-ins post.
CREATE OR REPLACE FUNCTION public.social_post_allows_anonymous() RETURNS boolean
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    SELECT coalesce((SELECT enabled FROM public.social_post_settings
                     WHERE name = 'allow_anonymous_users'), false)
$$;

-- ---------------------------------------------------------------- rules

-- The platforms a job may name (lib/platforms/catalog.c has the same list).
CREATE OR REPLACE FUNCTION public.social_post_platform_names() RETURNS text[]
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT ARRAY['youtube', 'facebook', 'instagram', 'tiktok']
$$;

-- What is wrong with a platforms value, as the API says it; NULL: nothing.
-- The length is checked before any element is read.
CREATE OR REPLACE FUNCTION public.social_post_platforms_problem(p jsonb) RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE
        WHEN p IS NULL OR jsonb_typeof(p) <> 'array'
            THEN 'platforms must be an array of platform names'
        WHEN jsonb_array_length(p) = 0
            THEN 'platforms must name at least one of: '
                 || array_to_string(public.social_post_platform_names(), ', ')
        WHEN jsonb_array_length(p) > cardinality(public.social_post_platform_names())
            THEN 'platforms has ' || jsonb_array_length(p) || ' entries; name each of '
                 || array_to_string(public.social_post_platform_names(), ', ') || ' at most once'
        WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(p) e WHERE jsonb_typeof(e) <> 'string')
            THEN 'platforms must contain only strings'
        WHEN EXISTS (SELECT 1 FROM jsonb_array_elements_text(p) n
                     WHERE n <> ALL (public.social_post_platform_names()))
            THEN 'unknown platform; use one of: '
                 || array_to_string(public.social_post_platform_names(), ', ')
        WHEN (SELECT count(DISTINCT n) FROM jsonb_array_elements_text(p) n) <> jsonb_array_length(p)
            THEN 'platforms lists a platform twice'
    END
$$;

-- What is wrong with the text a job will be posted with, and which column
-- holds it; no row: nothing. Each platform gets its own title and
-- description when the job's options name them (options.<platform>.title /
-- .description, as the claim of 0012 hands them to the adapters), else the
-- job's title (else its video's, passed in title) and description. The
-- limits of lib/platforms/catalog.c; TikTok's caption of 2200 UTF-16 units
-- (https://developers.tiktok.com/doc/content-posting-api-reference-direct-post,
-- post_info.title); and overall the API's 64 KiB body limit, which no
-- accepted submit can exceed.
CREATE OR REPLACE FUNCTION public.social_post_text_problem(p jsonb, options jsonb, title text,
                                                           description text)
RETURNS TABLE (field text, problem text)
LANGUAGE sql
IMMUTABLE
AS $$
    WITH each AS (
        SELECT e.name, e.ord,
               coalesce(nullif(options -> e.name ->> 'title', ''), nullif(title, '')) AS title,
               nullif(coalesce(options -> e.name ->> 'description', description), '') AS description,
               CASE WHEN nullif(options -> e.name ->> 'title', '') IS NOT NULL
                    THEN 'options' ELSE 'title' END AS title_field,
               CASE WHEN options -> e.name ->> 'description' IS NOT NULL
                    THEN 'options' ELSE 'description' END AS description_field
        FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(p) = 'array' THEN p ELSE '[]' END)
             WITH ORDINALITY AS e(name, ord)
    ), judged AS (
        SELECT ord, CASE
            WHEN name = 'youtube' AND title IS NULL
                THEN title_field || ':YouTube needs a title: send one, or give the video a title'
            WHEN name = 'youtube' AND char_length(title) > 100
                THEN title_field || ':title is longer than YouTube''s 100 characters'
            WHEN name = 'youtube' AND octet_length(description) > 5000
                THEN description_field || ':description is longer than YouTube''s 5000 bytes'
            WHEN name = 'youtube' AND title ~ '[<>]'
                THEN title_field || ':YouTube does not accept ''<'' or ''>'' in a title or description'
            WHEN name = 'youtube' AND description ~ '[<>]'
                THEN description_field
                     || ':YouTube does not accept ''<'' or ''>'' in a title or description'
            WHEN name = 'instagram' AND char_length(concat_ws(E'\n\n', title, description)) > 2200
                THEN description_field || ':title and description together are longer than '
                     'Instagram''s 2200 character caption'
            WHEN name = 'tiktok'
                 AND char_length(concat_ws(E'\n\n', title, description))
                     + (SELECT count(*) FROM regexp_matches(concat_ws(E'\n\n', title, description),
                                                           '[\U00010000-\U0010FFFF]', 'g')) > 2200
                THEN description_field || ':title and description together are longer than '
                     'TikTok''s 2200 character caption'
            END AS what
        FROM each
        UNION ALL
        SELECT 0, 'description:title, description and options together are longer than 65536 bytes'
        WHERE coalesce(octet_length(title), 0) + coalesce(octet_length(description), 0)
              + coalesce(octet_length(options::text), 0) > 65536
    )
    SELECT split_part(what, ':', 1), substr(what, strpos(what, ':') + 1)
    FROM judged WHERE what IS NOT NULL ORDER BY ord LIMIT 1
$$;

-- What is wrong with a callback URL, as lib/webhooks/callback_url.c judges
-- it (the C parser stays the authority: the worker checks again before each
-- attempt); NULL: nothing.
CREATE OR REPLACE FUNCTION public.social_post_callback_url_problem(url text) RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT CASE
        WHEN url IS NULL THEN NULL
        WHEN length(url) > 2048 THEN 'callbackUrl is longer than 2048 characters'
        WHEN url !~ '^[!-~]+$'
            THEN 'callbackUrl must be ASCII without spaces or control characters '
                 '(percent-encode the rest)'
        WHEN url !~* '^https?://' THEN 'callbackUrl must start with http:// or https://'
        WHEN substring(url FROM '^[^:]+://([^/?#]*)') LIKE '%@%'
            THEN 'callbackUrl must not contain credentials (user:password@); '
                 'put a token in the path or query instead'
        WHEN url LIKE '%#%'
            THEN 'callbackUrl must not have a fragment (#...): it is never sent to the server'
        WHEN url !~* ('^https?://'
                      '(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)'
                      '(:[0-9]{1,5})?'
                      '([/?]([a-z0-9._~!$&''()*+,;=:@/?-]|%[0-9a-f]{2})*)?$')
            THEN 'callbackUrl is not a valid http or https URL'
        WHEN coalesce(substring(url FROM '^[^:]+://(?:\[[^]]*\]|[^/?#:]*):([0-9]+)')::int, 1)
             NOT BETWEEN 1 AND 65535
            THEN 'callbackUrl has a port outside 1-65535'
    END
$$;

-- The request_hash of a job: what a submit asked for, so that a repeated
-- Idempotency-Key with a different request is told apart. Computed here for
-- every row a user writes, so no user can choose it.
CREATE OR REPLACE FUNCTION public.social_post_request_hash(
    p_video uuid, p_platforms jsonb, p_title text, p_description text,
    p_scheduled_at timestamptz, p_callback_url text, p_options jsonb DEFAULT '{}')
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT encode(sha256(convert_to(jsonb_build_array(
        p_video, p_platforms, p_title, p_description,
        extract(epoch FROM p_scheduled_at), p_callback_url, p_options)::text, 'UTF8')), 'hex')
$$;

-- Raises check_violation (23514) naming column when problem is set.
CREATE OR REPLACE FUNCTION public.social_post_refuse(problem text, field text) RETURNS void
LANGUAGE plpgsql
IMMUTABLE
AS $$
BEGIN
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION '%', problem USING ERRCODE = 'check_violation', COLUMN = field;
    END IF;
END
$$;

-- The guard (replaces 0007's): see the header. The worker, the migrations
-- and our SECURITY DEFINER functions are not anon or authenticated and pass.
CREATE OR REPLACE FUNCTION public.social_post_jobs_guard() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    video_title text;
    text_field text;
    text_problem text;
BEGIN
    IF current_user NOT IN ('anon', 'authenticated') THEN
        RETURN NEW;
    END IF;
    -- someone else's row or video: the policies refuse it, with their error
    IF NEW.user_id IS DISTINCT FROM auth.uid()
       OR NOT EXISTS (SELECT 1 FROM public.product_videos v
                      WHERE v.id = NEW.video_id AND v.user_id = NEW.user_id) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF to_jsonb(NEW) - ARRAY['title', 'description', 'updated_at']
           IS DISTINCT FROM to_jsonb(OLD) - ARRAY['title', 'description', 'updated_at'] THEN
            RAISE EXCEPTION 'only the title and description of a job may be changed'
                USING ERRCODE = '42501';
        END IF;
        IF (NEW.title, NEW.description) IS NOT DISTINCT FROM (OLD.title, OLD.description) THEN
            RETURN NEW;
        END IF;
    ELSE
        NEW.status := 'pending';
        NEW.results := '{}'::jsonb;
        NEW.error := NULL;
        NEW.created_at := now();
        NEW.updated_at := now();
        PERFORM public.social_post_refuse(public.social_post_platforms_problem(NEW.platforms),
                                          'platforms');
        PERFORM public.social_post_refuse(public.social_post_callback_url_problem(NEW.callback_url),
                                          'callback_url');
        IF NEW.scheduled_at IS NOT NULL AND NEW.scheduled_at > now() + interval '366 days' THEN
            RAISE EXCEPTION 'scheduledAt is more than a year ahead'
                USING ERRCODE = 'check_violation', COLUMN = 'scheduled_at';
        END IF;
        NEW.request_hash := CASE WHEN NEW.idempotency_key IS NOT NULL THEN
            public.social_post_request_hash(NEW.video_id, NEW.platforms, NEW.title,
                                            NEW.description, NEW.scheduled_at, NEW.callback_url,
                                            NEW.options)
            END;
    END IF;
    -- the title it will be posted with, as the API and the worker choose it
    IF nullif(NEW.title, '') IS NULL THEN
        SELECT v.title INTO video_title FROM public.product_videos v
        WHERE v.id = NEW.video_id AND v.user_id = NEW.user_id LIMIT 1;
    END IF;
    SELECT t.field, t.problem INTO text_field, text_problem
    FROM public.social_post_text_problem(NEW.platforms, NEW.options,
                                         coalesce(nullif(NEW.title, ''), video_title),
                                         NEW.description) t;
    PERFORM public.social_post_refuse(text_problem, text_field);
    RETURN NEW;
END
$$;

-- ---------------------------------------------------------------- anonymous users

-- Supabase marks anonymous sign-ins in auth.users.is_anonymous; a plain
-- Postgres gets the column on the compat table of 0001, recognised by its
-- three columns (Supabase's has many more, aud among them, and is never
-- altered).
DO $is_anonymous$
BEGIN
    IF (SELECT array_agg(column_name::text ORDER BY column_name::text)
        FROM information_schema.columns
        WHERE table_schema = 'auth' AND table_name = 'users') = ARRAY['created_at', 'email', 'id'] THEN
        ALTER TABLE auth.users ADD COLUMN is_anonymous boolean NOT NULL DEFAULT false;
    END IF;
END
$is_anonymous$;

-- The insert policy's rule: true, or an error saying why the caller may not
-- submit (an anonymous sign-in, unless allowed). Runs as the caller.
CREATE OR REPLACE FUNCTION public.social_post_caller_may_submit() RETURNS boolean
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    IF coalesce(auth.jwt() -> 'is_anonymous', 'false'::jsonb) <> 'false'::jsonb
       AND NOT public.social_post_allows_anonymous() THEN
        RAISE EXCEPTION 'anonymous sign-ins may not post: sign in with an account'
            USING ERRCODE = '42501';
    END IF;
    RETURN true;
END
$$;

-- Source: https://supabase.com/docs/guides/auth/auth-anonymous (anonymous
-- users use the authenticated role; policies tell them apart by the JWT's
-- is_anonymous claim, in a restrictive policy).
DROP POLICY IF EXISTS social_post_jobs_insert_not_anonymous ON public.social_post_jobs;
CREATE POLICY social_post_jobs_insert_not_anonymous ON public.social_post_jobs
    AS RESTRICTIVE FOR INSERT TO authenticated
    WITH CHECK ((SELECT public.social_post_caller_may_submit()));

-- Why the worker may not post for p_user (NULL: it may): the claim's check,
-- for jobs written before this rule or by a user who was anonymous. A
-- database where this function's owner may not read auth.users answers NULL
-- with a warning rather than stop every claim (the insert policy still
-- holds).
CREATE OR REPLACE FUNCTION public.social_post_user_refusal(p_user uuid) RETURNS text
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM auth.users u
               WHERE u.id = p_user AND to_jsonb(u) -> 'is_anonymous' = 'true'::jsonb)
       AND NOT public.social_post_allows_anonymous() THEN
        RETURN 'anonymous sign-ins may not post: sign in with an account';
    END IF;
    RETURN NULL;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'social_post_user_refusal: % (anonymous users are not checked at claim time)',
        SQLERRM;
    RETURN NULL;
END
$$;

-- ---------------------------------------------------------------- webhooks

DO $webhook_states$
DECLARE
    c text;
BEGIN
    SELECT conname INTO c FROM pg_constraint
    WHERE conrelid = 'public.social_post_webhooks'::regclass AND contype = 'c'
      AND pg_get_constraintdef(oid) LIKE '%sending%';
    IF c IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_constraint
                                     WHERE conname = c AND pg_get_constraintdef(oid) LIKE '%expired%') THEN
        EXECUTE format('ALTER TABLE public.social_post_webhooks DROP CONSTRAINT %I', c);
        ALTER TABLE public.social_post_webhooks ADD CONSTRAINT social_post_webhooks_state_check
            CHECK (state IN ('pending', 'sending', 'delivered', 'failed', 'expired'));
    END IF;
END
$webhook_states$;

-- ---------------------------------------------------------------- privileges

-- Sequences: the deliveries' ids (and any other of our tables') are drawn by
-- the service only.
DO $sequences$
DECLARE
    s regclass;
BEGIN
    FOR s IN SELECT d.objid::regclass FROM pg_depend d
             JOIN pg_class seq ON seq.oid = d.objid AND seq.relkind = 'S'
             JOIN pg_class t ON t.oid = d.refobjid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
               AND n.nspname = 'public' AND t.relname LIKE 'social\_post\_%' LOOP
        EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM PUBLIC, anon, authenticated', s);
    END LOOP;
END
$sequences$;

-- Tables: TRUNCATE ignores RLS; REFERENCES and TRIGGER are never the API
-- roles' business. Our tables, and the app tables 0002 created (recognised
-- by its policies; an app's own tables are left as they are).
DO $tables$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
               AND (c.relname LIKE 'social\_post\_%'
                    OR EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = 'public'
                               AND p.tablename = c.relname
                               AND p.policyname IN ('product_videos_select_own',
                                                    'scheduled_posts_select_own'))) LOOP
        EXECUTE format('REVOKE TRUNCATE, REFERENCES, TRIGGER ON %s FROM PUBLIC, anon, authenticated', t);
    END LOOP;
END
$tables$;
-- scheduled_posts is the worker's history: users read their own rows only
DO $history$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
               AND tablename = 'scheduled_posts' AND policyname = 'scheduled_posts_select_own') THEN
        REVOKE INSERT, UPDATE, DELETE ON public.scheduled_posts FROM anon, authenticated;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
               AND tablename = 'product_videos' AND policyname = 'product_videos_select_own') THEN
        REVOKE ALL ON public.product_videos FROM anon;
    END IF;
END
$history$;

-- Functions: the internal ones (triggers, the worker's, the metrics role's)
-- are revoked from the API roles by name, whatever migration made them (a
-- function made again gets Supabase's default grants again); those a user's
-- request calls as the caller are granted. Only what changes is touched, so
-- running this again leaves every ACL as it was.
DO $functions$
DECLARE
    internal constant text[] := ARRAY[
        'social_post_refresh_job', 'social_post_jobs_enqueue', 'social_post_jobs_notify',
        'social_post_touch_updated_at', 'social_post_jobs_guard', 'social_post_own_job',
        'social_post_queue_stats', 'social_post_job_changed', 'social_post_delivery_stats',
        'social_post_deliveries_forget_progress', 'social_post_jobs_webhook',
        'social_post_claim', 'social_post_record', 'social_post_progress',
        'social_post_user_refusal'];
    callable constant text[] := ARRAY[
        -- called by the guard trigger and the insert policy, as the caller
        'social_post_platform_names', 'social_post_platforms_problem', 'social_post_text_problem',
        'social_post_callback_url_problem', 'social_post_request_hash', 'social_post_refuse',
        'social_post_caller_may_submit', 'social_post_allows_anonymous',
        -- the API's calls: the status body (any caller), retry and cancel (users)
        'social_post_job_json', 'social_post_retry_job', 'social_post_cancel_job'];
    users_only constant text[] := ARRAY['social_post_retry_job', 'social_post_cancel_job'];
    f record;
    r text;
BEGIN
    FOR f IN SELECT p.oid::regprocedure AS sig, p.proname::text AS name
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND p.proname = ANY (internal || callable) LOOP
        FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
            IF f.name = ANY (callable) AND NOT (r = 'anon' AND f.name = ANY (users_only)) THEN
                IF NOT has_function_privilege(r, f.sig, 'EXECUTE') THEN
                    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f.sig, r);
                END IF;
            ELSIF r <> 'service_role' AND has_function_privilege(r, f.sig, 'EXECUTE') THEN
                EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, anon, authenticated', f.sig);
            END IF;
        END LOOP;
    END LOOP;
END
$functions$;
GRANT EXECUTE ON FUNCTION public.social_post_user_refusal(uuid) TO service_role;
