-- 0012_platform_options: TikTok as a fourth platform, per-platform options
-- on a job, and the login an account's token comes from.
--
-- social_post_jobs.options: the submit body's "options" object, keyed by
--   platform (youtube, facebook, instagram, tiktok), e.g.
--   {"youtube": {"privacyStatus": "unlisted"}, "tiktok": {"privacyLevel": "SELF_ONLY"}}.
--   The API checks it before the job is written; a later migration checks
--   rows written through Supabase directly. '{}' when none were given.
-- social_accounts.login: how the account's token was issued where a platform
--   has two logins: 'instagram' (Instagram API with Instagram Login; its
--   tokens work only on graph.instagram.com), NULL or 'facebook' (a token
--   of Facebook Login, on graph.facebook.com). Added only as a nullable
--   column, so an app's own social_accounts table keeps working.
-- social_post_claim: also returns the delivery's platform options and the
--   account's login, and gives the post its platform's own title and
--   description when the options name them.
-- The platform lists (deliveries' CHECK, the enqueue trigger, the metrics)
--   gain 'tiktok'.

ALTER TABLE public.social_post_jobs ADD COLUMN IF NOT EXISTS options jsonb NOT NULL DEFAULT '{}'::jsonb;

ALTER TABLE public.social_accounts ADD COLUMN IF NOT EXISTS login text;

-- The platform lists with TikTok. A CHECK is replaced only when it is the
-- one this service created (its name) and still lacks 'tiktok'.
DO $platform_checks$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.conrelid::regclass AS tbl, c.conname
             FROM pg_constraint c
             WHERE c.conname IN ('social_post_deliveries_platform_check',
                                 'social_accounts_platform_check')
               AND c.connamespace = 'public'::regnamespace
               AND pg_get_constraintdef(c.oid) NOT LIKE '%tiktok%'
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (platform IN '
                       '(''youtube'', ''facebook'', ''instagram'', ''tiktok''))',
                       r.tbl, r.conname);
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'social_accounts_login_check'
                     AND conrelid = 'public.social_accounts'::regclass) THEN
        ALTER TABLE public.social_accounts ADD CONSTRAINT social_accounts_login_check
            CHECK (login IS NULL OR login IN ('facebook', 'instagram'));
    END IF;
END
$platform_checks$;

CREATE OR REPLACE FUNCTION public.social_post_jobs_enqueue() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(NEW.platforms) = 'array' THEN
        INSERT INTO public.social_post_deliveries (job_id, platform, run_at)
        SELECT DISTINCT NEW.id, p, greatest(coalesce(NEW.scheduled_at, now()), now())
        FROM jsonb_array_elements_text(NEW.platforms) AS p
        WHERE p IN ('youtube', 'facebook', 'instagram', 'tiktok')
        ON CONFLICT (job_id, platform) DO NOTHING;
    END IF;
    PERFORM public.social_post_refresh_job(NEW.id);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION public.social_post_jobs_enqueue() FROM PUBLIC, anon, authenticated;

CREATE OR REPLACE FUNCTION public.social_post_delivery_stats()
RETURNS TABLE (platform text, state text, deliveries bigint, oldest_due_seconds double precision)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    SELECT p.platform, s.state, count(d.id),
           coalesce(extract(epoch FROM now() - min(d.run_at)
                            FILTER (WHERE d.state = 'queued' AND d.run_at <= now())), 0)
    FROM unnest(ARRAY['youtube', 'facebook', 'instagram', 'tiktok']) AS p(platform)
    CROSS JOIN unnest(ARRAY['queued', 'running', 'succeeded', 'failed', 'cancelled']) AS s(state)
    LEFT JOIN public.social_post_deliveries d ON d.platform = p.platform AND d.state = s.state
    GROUP BY p.platform, s.state ORDER BY p.platform, s.state;
$$;
REVOKE ALL ON FUNCTION public.social_post_delivery_stats() FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.social_post_delivery_stats() TO social_post_metrics, service_role;

-- The claim's columns change: the old function goes first (a function's
-- result type cannot be replaced in place).
DO $claim$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname = 'public' AND p.proname = 'social_post_claim'
                 AND pg_get_function_result(p.oid) NOT LIKE '%account_login%') THEN
        DROP FUNCTION public.social_post_claim(text, integer, uuid[]);
    END IF;
END
$claim$;

CREATE OR REPLACE FUNCTION public.social_post_claim(p_owner text, p_lease integer, p_busy uuid[])
RETURNS TABLE (id bigint, job_id text, platform text, attempts integer, checkpoint text,
               takeovers integer, releases integer, user_id text, video_id text, title text,
               description text, video_url text, account_id text, access_token text,
               refresh_token text, token_expires_at bigint, video_owned boolean,
               options text, account_login text)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    c public.social_post_deliveries;
BEGIN
    WITH next AS (
        SELECT d.id FROM public.social_post_deliveries d
        WHERE ((d.state = 'queued' AND d.run_at <= now())
           OR (d.state = 'running' AND d.lease_expires_at < now()))
          AND NOT EXISTS (SELECT 1 FROM public.social_post_jobs j
                          WHERE j.id = d.job_id AND j.user_id = ANY(p_busy))
        ORDER BY d.run_at, d.id LIMIT 1 FOR UPDATE OF d SKIP LOCKED)
    UPDATE public.social_post_deliveries d
    SET state = 'running', lease_owner = p_owner,
        lease_expires_at = now() + make_interval(secs => p_lease), updated_at = now(),
        takeovers = d.takeovers + CASE WHEN d.state = 'running' THEN 1 ELSE 0 END
    FROM next WHERE d.id = next.id
    RETURNING d.* INTO c;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- the video only when the job's user owns it (users write jobs directly);
    -- one account even where the app's table allows several per platform;
    -- every text cast, as the app's tables may use other string types; the
    -- account's login read through to_jsonb, so an app's own table without
    -- the column still works; the platform's own title and description first
    RETURN QUERY
    SELECT c.id, c.job_id::text, c.platform::text, c.attempts, c.checkpoint::text, c.takeovers,
           c.releases, j.user_id::text, j.video_id::text,
           coalesce(nullif(o.opts ->> 'title', ''), nullif(j.title, ''), v.title, '')::text,
           coalesce(o.opts ->> 'description', j.description, '')::text,
           v.video_url::text, a.account_id::text, a.access_token::text, a.refresh_token::text,
           coalesce(extract(epoch FROM a.token_expires_at)::bigint, 0), v.id IS NOT NULL,
           o.opts::text, to_jsonb(a) ->> 'login'
    FROM public.social_post_jobs j
    CROSS JOIN LATERAL (SELECT CASE WHEN jsonb_typeof(j.options -> c.platform) = 'object'
                                    THEN j.options -> c.platform
                                    ELSE '{}'::jsonb END AS opts) o
    LEFT JOIN public.product_videos v ON v.id = j.video_id AND v.user_id = j.user_id
    LEFT JOIN LATERAL (SELECT * FROM public.social_accounts s
        WHERE s.user_id = j.user_id AND s.platform = c.platform
        ORDER BY s.token_expires_at DESC NULLS LAST LIMIT 1) a ON true
    WHERE j.id = c.job_id;
    IF NOT FOUND THEN -- the claim is undone with the statement
        RAISE EXCEPTION 'the delivery''s job is gone' USING ERRCODE = 'SP404';
    END IF;
    PERFORM public.social_post_refresh_job(c.job_id);
END
$$;

REVOKE ALL ON FUNCTION public.social_post_claim(text, integer, uuid[])
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.social_post_claim(text, integer, uuid[]) TO service_role;
