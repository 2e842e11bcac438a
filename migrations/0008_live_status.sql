-- 0008_live_status: wake long-polls on every change of a job, and count
-- deliveries per platform for /metrics.
--
-- A status program parks long-polls (GET ...?jobId=&wait=N) and LISTENs on
-- social_post_job_changed; this trigger sends the job's id there whenever a
-- job row changes, whoever changed it: the API (retry, cancel), the worker
-- (social_post_refresh_job), the app through Supabase directly, or plain SQL.
-- Notifications are sent at commit, and Postgres folds repeats of one id
-- within a transaction into one.

CREATE OR REPLACE FUNCTION public.social_post_job_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('social_post_job_changed', NEW.id::text);
    RETURN NULL;
END
$$;

DO $triggers$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'public.social_post_jobs'::regclass
                     AND tgname = 'social_post_job_changed') THEN
        CREATE TRIGGER social_post_job_changed
            AFTER INSERT OR UPDATE ON public.social_post_jobs
            FOR EACH ROW EXECUTE FUNCTION public.social_post_job_changed();
    END IF;
END
$triggers$;

-- Delivery counts per platform and state (every pair, zeros included, so a
-- scrape always has the same series) and the age of the oldest due delivery
-- of each platform, for /metrics. Readable by social_post_metrics (0005).
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
    FROM unnest(ARRAY['youtube', 'facebook', 'instagram']) AS p(platform)
    CROSS JOIN unnest(ARRAY['queued', 'running', 'succeeded', 'failed', 'cancelled']) AS s(state)
    LEFT JOIN public.social_post_deliveries d ON d.platform = p.platform AND d.state = s.state
    GROUP BY p.platform, s.state ORDER BY p.platform, s.state;
$$;

REVOKE ALL ON FUNCTION public.social_post_delivery_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.social_post_delivery_stats() TO social_post_metrics, service_role;
