-- 0020_retention: history that does not grow forever. A worker removes, in
-- small batches, what nobody needs once it is old:
--   - the attempt details of finished deliveries (the checkpoint an adapter
--     resumes from, and the last error of a final delivery): the job row
--     keeps the result users see (its results and error), and a retry starts
--     from an empty checkpoint anyway (0005/0006);
--   - webhook events that are finished (delivered, or given up on).
-- Jobs are the users' history: they are kept, unless the operator sets a job
-- retention too (then finished jobs older than it go, with their deliveries
-- and events: ON DELETE CASCADE). scheduled_posts, the seed's history, is
-- never touched.
--
-- social_post_prune(age, job_age, batch) removes at most `batch` rows of
-- each kind older than the ages (job_age NULL: jobs are kept) and returns
-- how many it removed. Each call is one short transaction that:
--   - runs only while it holds the transaction advisory lock below
--     (pg_try_advisory_xact_lock: a second worker's call removes nothing and
--     returns at once, so one worker prunes at a time);
--   - waits for no lock: lock_timeout is 50 ms, and rows a worker or a user
--     holds are skipped (FOR UPDATE SKIP LOCKED);
--   - finds its rows through partial indexes that hold only what may still
--     be removed, so a batch costs the same with a million rows behind it.
-- It counts what it removed in social_post_prune_totals, which
-- social_post_prune_stats() reads for /metrics (role social_post_metrics).

CREATE TABLE IF NOT EXISTS public.social_post_prune_totals (
    what text PRIMARY KEY CHECK (what IN ('delivery_details', 'webhook_events', 'jobs')),
    rows_removed bigint NOT NULL DEFAULT 0,
    last_removed_at timestamptz
);
ALTER TABLE public.social_post_prune_totals ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.social_post_prune_totals FROM anon, authenticated;
GRANT ALL ON public.social_post_prune_totals TO service_role;
INSERT INTO public.social_post_prune_totals (what)
    VALUES ('delivery_details'), ('webhook_events'), ('jobs')
    ON CONFLICT (what) DO NOTHING;

-- What may still be pruned, by age: rows leave these indexes once pruned.
CREATE INDEX IF NOT EXISTS idx_social_post_deliveries_prunable
    ON public.social_post_deliveries (updated_at)
    WHERE state IN ('succeeded', 'failed', 'cancelled')
      AND (checkpoint <> '{}'::jsonb OR last_error IS NOT NULL);
CREATE INDEX IF NOT EXISTS idx_social_post_webhooks_finished
    ON public.social_post_webhooks (updated_at) WHERE state IN ('delivered', 'failed');
CREATE INDEX IF NOT EXISTS idx_social_post_jobs_finished
    ON public.social_post_jobs (updated_at) WHERE status IN ('completed', 'failed');

CREATE OR REPLACE FUNCTION public.social_post_prune(p_age interval, p_job_age interval,
                                                    p_batch integer)
RETURNS TABLE (delivery_details integer, webhook_events integer, jobs integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    n_details integer := 0;
    n_events integer := 0;
    n_jobs integer := 0;
BEGIN
    -- 'social_post_prune' as a number: one pruner at a time
    IF NOT pg_try_advisory_xact_lock(hashtext('social_post_prune')) THEN
        RETURN QUERY SELECT 0, 0, 0;
        RETURN;
    END IF;
    PERFORM set_config('lock_timeout', '50ms', true);

    WITH old AS (
        SELECT id FROM social_post_deliveries
        WHERE state IN ('succeeded', 'failed', 'cancelled')
          AND (checkpoint <> '{}'::jsonb OR last_error IS NOT NULL)
          AND updated_at < now() - p_age
        ORDER BY updated_at
        LIMIT p_batch
        FOR UPDATE SKIP LOCKED
    )
    UPDATE social_post_deliveries d SET checkpoint = '{}'::jsonb, last_error = NULL
    FROM old WHERE d.id = old.id;
    GET DIAGNOSTICS n_details = ROW_COUNT;

    WITH old AS (
        SELECT id FROM social_post_webhooks
        WHERE state IN ('delivered', 'failed') AND updated_at < now() - p_age
        ORDER BY updated_at
        LIMIT p_batch
        FOR UPDATE SKIP LOCKED
    )
    DELETE FROM social_post_webhooks w USING old WHERE w.id = old.id;
    GET DIAGNOSTICS n_events = ROW_COUNT;

    IF p_job_age IS NOT NULL THEN
        WITH old AS (
            SELECT id FROM social_post_jobs
            WHERE status IN ('completed', 'failed') AND updated_at < now() - p_job_age
              AND NOT EXISTS (SELECT 1 FROM social_post_deliveries d
                              WHERE d.job_id = social_post_jobs.id
                                AND d.state IN ('queued', 'running'))
            ORDER BY updated_at
            LIMIT p_batch
            FOR UPDATE SKIP LOCKED
        )
        DELETE FROM social_post_jobs j USING old WHERE j.id = old.id;
        GET DIAGNOSTICS n_jobs = ROW_COUNT;
    END IF;

    UPDATE social_post_prune_totals t
    SET rows_removed = t.rows_removed + c.n, last_removed_at = now()
    FROM (VALUES ('delivery_details', n_details), ('webhook_events', n_events),
                 ('jobs', n_jobs)) AS c (what, n)
    WHERE t.what = c.what AND c.n > 0;

    RETURN QUERY SELECT n_details, n_events, n_jobs;
END
$$;
REVOKE ALL ON FUNCTION public.social_post_prune(interval, interval, integer)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.social_post_prune(interval, interval, integer) TO service_role;

-- Rows removed so far, per kind, for /metrics.
CREATE OR REPLACE FUNCTION public.social_post_prune_stats()
RETURNS TABLE (what text, rows_removed bigint, last_removed_at timestamptz)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    SELECT what, rows_removed, last_removed_at FROM social_post_prune_totals ORDER BY what
$$;
REVOKE ALL ON FUNCTION public.social_post_prune_stats() FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.social_post_prune_stats() TO social_post_metrics, service_role;
