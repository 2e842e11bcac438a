-- 0017_sealed_tokens_quota_waits: tokens sealed at rest, quotas waited out.
--
--   social_accounts            the token columns are never readable by the API's
--                              roles (anon, authenticated) or the metrics role:
--                              column privileges, so an app's own table that
--                              grants those roles SELECT keeps every other
--                              column and loses only the tokens.
--   social_post_token_stats()  rows whose tokens are sealed / in clear, for
--                              /metrics (role social_post_metrics).
--   social_post_deliveries     gains waiting_for_quota: the last step ended on a
--                              platform quota; the job shows the delivery as
--                              phase "waiting_for_quota" with retryAt (its
--                              run_at) until a worker claims it again.
--   social_post_refresh_job    shows that phase and time.
--   social_post_quota_waits()  deliveries waiting for a quota per platform, for
--                              /metrics.

-- ------------------------------------------------------------ token columns

-- A table-level SELECT (Supabase grants one to anon and authenticated on
-- every new table) is turned into a column-level one on every other column;
-- then the token columns are revoked. Running this again changes nothing.
DO $token_columns$
DECLARE
    r text;
    others text;
BEGIN
    IF to_regclass('public.social_accounts') IS NULL THEN
        RETURN;
    END IF;
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO others
    FROM pg_attribute
    WHERE attrelid = 'public.social_accounts'::regclass AND attnum > 0 AND NOT attisdropped
      AND attname NOT IN ('access_token', 'refresh_token');
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'social_post_metrics'] LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r);
        IF EXISTS (SELECT 1 FROM pg_class c, aclexplode(c.relacl) a
                   WHERE c.oid = 'public.social_accounts'::regclass
                     AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = r)
                     AND a.privilege_type = 'SELECT') THEN
            EXECUTE format('REVOKE SELECT ON public.social_accounts FROM %I', r);
            EXECUTE format('GRANT SELECT (%s) ON public.social_accounts TO %I', others, r);
        END IF;
        IF has_column_privilege(r, 'public.social_accounts', 'access_token', 'SELECT')
           OR has_column_privilege(r, 'public.social_accounts', 'refresh_token', 'SELECT') THEN
            EXECUTE format('REVOKE SELECT (access_token, refresh_token) ON public.social_accounts'
                           ' FROM %I', r);
        END IF;
    END LOOP;
    IF has_column_privilege('public', 'public.social_accounts', 'access_token', 'SELECT') THEN
        REVOKE SELECT ON public.social_accounts FROM PUBLIC;
    END IF;
END
$token_columns$;

-- How many account rows hold sealed tokens ("sp1:" starts each sealed one)
-- and how many hold at least one in clear.
CREATE OR REPLACE FUNCTION public.social_post_token_stats()
RETURNS TABLE (sealed bigint, plain bigint)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    SELECT count(*) FILTER (WHERE NOT clear), count(*) FILTER (WHERE clear)
    FROM (SELECT (access_token IS NOT NULL AND left(access_token, 4) <> 'sp1:')
                 OR (refresh_token IS NOT NULL AND left(refresh_token, 4) <> 'sp1:') AS clear
          FROM public.social_accounts
          WHERE access_token IS NOT NULL OR refresh_token IS NOT NULL) a
$$;
REVOKE ALL ON FUNCTION public.social_post_token_stats() FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.social_post_token_stats() TO social_post_metrics, service_role;

-- ---------------------------------------------------------------- quotas

ALTER TABLE public.social_post_deliveries
    ADD COLUMN IF NOT EXISTS waiting_for_quota boolean NOT NULL DEFAULT false;

-- Any change of state ends a quota wait (a claim, a cancel, a user's retry),
-- except the record of the step that began it (running to queued: the worker
-- marks the wait in the same transaction, and the claim before had ended any
-- older one).
CREATE OR REPLACE FUNCTION public.social_post_deliveries_end_quota_wait() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state
       AND NOT (OLD.state = 'running' AND NEW.state = 'queued') THEN
        NEW.waiting_for_quota := false;
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION public.social_post_deliveries_end_quota_wait()
    FROM PUBLIC, anon, authenticated;

DROP TRIGGER IF EXISTS social_post_deliveries_end_quota_wait ON public.social_post_deliveries;
CREATE TRIGGER social_post_deliveries_end_quota_wait
    BEFORE UPDATE OF state ON public.social_post_deliveries
    FOR EACH ROW EXECUTE FUNCTION public.social_post_deliveries_end_quota_wait();

-- Deliveries waiting for a platform's quota, per platform (every platform
-- with a delivery is listed, zeros included).
CREATE OR REPLACE FUNCTION public.social_post_quota_waits()
RETURNS TABLE (platform text, deliveries bigint)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    SELECT p.platform, count(d.id)
    FROM unnest(ARRAY['youtube', 'facebook', 'instagram', 'tiktok']) AS p (platform)
    LEFT JOIN public.social_post_deliveries d
           ON d.platform = p.platform AND d.state = 'queued' AND d.waiting_for_quota
    GROUP BY p.platform
    ORDER BY p.platform
$$;
REVOKE ALL ON FUNCTION public.social_post_quota_waits() FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.social_post_quota_waits() TO social_post_metrics, service_role;

-- The job's results and status from its deliveries (as in 0009), and a
-- delivery waiting for a quota shows phase "waiting_for_quota" and retryAt,
-- when the worker will ask the platform again.
CREATE OR REPLACE FUNCTION public.social_post_refresh_job(p_job uuid) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM 1 FROM public.social_post_jobs WHERE id = p_job FOR UPDATE;
    WITH mine AS (
        SELECT platform, state, attempts, result, last_error, checkpoint, progress,
               waiting_for_quota AND state = 'queued' AS quota_wait, run_at
        FROM public.social_post_deliveries WHERE job_id = p_job
    ), summary AS (
        SELECT
            count(*) AS total,
            count(*) FILTER (WHERE state IN ('queued', 'running')) AS open,
            count(*) FILTER (WHERE state = 'succeeded') AS succeeded,
            count(*) FILTER (WHERE state <> 'queued' OR attempts > 0
                             OR checkpoint <> '{}'::jsonb OR quota_wait) AS started,
            coalesce(jsonb_object_agg(platform, coalesce(result, '{}'::jsonb)
                         || jsonb_build_object('state', state, 'attempts', attempts)
                         || CASE WHEN state IN ('queued', 'running')
                                 THEN jsonb_strip_nulls(jsonb_build_object(
                                          'lastError', last_error,
                                          'phase', CASE WHEN quota_wait THEN 'waiting_for_quota'
                                                        ELSE checkpoint ->> 'phase' END,
                                          'retryAt', CASE WHEN quota_wait THEN
                                              to_char(run_at AT TIME ZONE 'UTC',
                                                      'YYYY-MM-DD"T"HH24:MI:SS"Z"') END,
                                          'progress', progress))
                                 ELSE '{}'::jsonb END)
                     FILTER (WHERE platform IS NOT NULL), '{}'::jsonb) AS results,
            string_agg(platform || ': ' || coalesce(last_error, state), '; ' ORDER BY platform)
                FILTER (WHERE state IN ('failed', 'cancelled')) AS errors
        FROM mine
    ), derived AS (
        SELECT results,
               CASE WHEN total = 0 THEN 'failed'
                    WHEN open > 0 AND started > 0 THEN 'processing'
                    WHEN open > 0 THEN 'pending'
                    WHEN succeeded > 0 THEN 'completed'
                    ELSE 'failed' END AS status,
               CASE WHEN total = 0 THEN 'no known platform to post to'
                    WHEN open = 0 AND succeeded = 0 THEN errors
                    ELSE NULL END AS error
        FROM summary
    )
    -- a job that has started never goes back to pending
    UPDATE public.social_post_jobs j
    SET results = d.results,
        status = CASE WHEN d.status = 'pending' THEN j.status ELSE d.status END,
        error = d.error
    FROM derived d
    WHERE j.id = p_job
      AND (j.results, j.status, j.error) IS DISTINCT FROM
          (d.results, CASE WHEN d.status = 'pending' THEN j.status ELSE d.status END, d.error);
END
$$;
REVOKE ALL ON FUNCTION public.social_post_refresh_job(uuid) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.social_post_refresh_job(uuid) TO service_role;
