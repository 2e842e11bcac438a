-- 0005_job_controls: what the API offers beyond the seed.
--
--   idempotency_key, request_hash   a submit repeated with the same
--                                   Idempotency-Key returns the first job
--   social_post_retry_job()         failed platforms of a finished job run again
--   social_post_cancel_job()        platforms not started yet are cancelled
--   social_post_queue_stats()       delivery counts for /metrics (role
--                                   social_post_metrics)
--
-- Retry and cancel are SECURITY DEFINER functions because users may not touch
-- deliveries; each checks that the job is the caller's (auth.uid()) and
-- raises SQLSTATE SP404 (not found) or SP409 (conflict) with a message fit
-- for the user, which the HTTP programs pass on as 404 / 409.

ALTER TABLE public.social_post_jobs ADD COLUMN IF NOT EXISTS idempotency_key text;
ALTER TABLE public.social_post_jobs ADD COLUMN IF NOT EXISTS request_hash text;

CREATE UNIQUE INDEX IF NOT EXISTS idx_social_post_jobs_idempotency
    ON public.social_post_jobs (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_social_post_jobs_user_created
    ON public.social_post_jobs (user_id, created_at DESC, id DESC);

-- Raises SP404 unless p_job is the caller's; locks the job row.
CREATE OR REPLACE FUNCTION public.social_post_own_job(p_job uuid) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    PERFORM 1 FROM public.social_post_jobs
    WHERE id = p_job AND user_id = auth.uid() FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job not found' USING ERRCODE = 'SP404';
    END IF;
END
$$;
REVOKE ALL ON FUNCTION public.social_post_own_job(uuid) FROM PUBLIC;

-- Queues the failed platforms of a finished job again. Returns their names.
CREATE OR REPLACE FUNCTION public.social_post_retry_job(p_job uuid) RETURNS text[]
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    retried text[];
BEGIN
    PERFORM public.social_post_own_job(p_job);
    IF EXISTS (SELECT 1 FROM public.social_post_deliveries
               WHERE job_id = p_job AND state IN ('queued', 'running')) THEN
        RAISE EXCEPTION 'the job is still in progress; retry it once it has finished'
            USING ERRCODE = 'SP409';
    END IF;
    WITH again AS (
        UPDATE public.social_post_deliveries
        SET state = 'queued', attempts = 0, takeovers = 0, run_at = now(),
            -- start afresh, unless the checkpoint shows something went out
            -- (then the adapter records or finishes it instead of posting again)
            checkpoint = CASE WHEN checkpoint ?| ARRAY['published', 'finishing', 'mediaId',
                                                       'publishing']
                                   OR (platform = 'youtube' AND checkpoint ? 'videoId')
                              THEN checkpoint ELSE '{}'::jsonb END,
            result = NULL, last_error = NULL, updated_at = now()
        WHERE job_id = p_job AND state = 'failed'
        RETURNING platform)
    SELECT array_agg(platform ORDER BY platform) INTO retried FROM again;
    IF retried IS NULL THEN
        RAISE EXCEPTION 'no platform of this job failed: nothing to retry' USING ERRCODE = 'SP409';
    END IF;
    UPDATE public.social_post_jobs SET status = 'processing', error = NULL WHERE id = p_job;
    PERFORM public.social_post_refresh_job(p_job);
    PERFORM pg_notify('social_post_jobs', p_job::text);
    RETURN retried;
END
$$;

-- Cancels the platforms of a job that have not started (queued, never
-- tried); a platform already uploading is left to finish. Returns the names.
CREATE OR REPLACE FUNCTION public.social_post_cancel_job(p_job uuid) RETURNS text[]
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    cancelled text[];
BEGIN
    PERFORM public.social_post_own_job(p_job);
    -- SKIP LOCKED: a delivery being claimed right now has started; waiting
    -- for it could deadlock with the claim, which then locks the job
    WITH stopped AS (
        UPDATE public.social_post_deliveries
        SET state = 'cancelled', result = jsonb_build_object('success', false,
                                                             'error', 'cancelled'),
            last_error = 'cancelled', updated_at = now()
        WHERE id IN (SELECT id FROM public.social_post_deliveries
                     WHERE job_id = p_job AND state = 'queued' AND checkpoint = '{}'::jsonb
                     FOR UPDATE SKIP LOCKED)
        RETURNING platform)
    SELECT array_agg(platform ORDER BY platform) INTO cancelled FROM stopped;
    IF cancelled IS NULL THEN
        RAISE EXCEPTION 'nothing left to cancel: every platform has started or finished'
            USING ERRCODE = 'SP409';
    END IF;
    PERFORM public.social_post_refresh_job(p_job);
    RETURN cancelled;
END
$$;

-- Delivery counts per state and the age of the oldest due one, for /metrics.
CREATE OR REPLACE FUNCTION public.social_post_queue_stats()
RETURNS TABLE (state text, deliveries bigint, oldest_due_seconds double precision)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    SELECT s.state, count(d.id),
           coalesce(extract(epoch FROM now() - min(d.run_at)
                            FILTER (WHERE d.state = 'queued' AND d.run_at <= now())), 0)
    FROM unnest(ARRAY['queued', 'running', 'succeeded', 'failed', 'cancelled']) AS s(state)
    LEFT JOIN public.social_post_deliveries d ON d.state = s.state
    GROUP BY s.state ORDER BY s.state;
$$;

REVOKE ALL ON FUNCTION public.social_post_retry_job(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.social_post_cancel_job(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.social_post_retry_job(uuid) TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION public.social_post_cancel_job(uuid) TO authenticated, service_role;
-- Queue counts are for operators, not for every user with an RPC: only the
-- role social_post_metrics may read them. Grant it to the HTTP programs'
-- login (GRANT social_post_metrics TO <login>); /metrics becomes it for the
-- one query.
DO $metrics_role$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'social_post_metrics') THEN
        CREATE ROLE social_post_metrics NOLOGIN;
    END IF;
END
$metrics_role$;
REVOKE ALL ON FUNCTION public.social_post_queue_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.social_post_queue_stats() TO social_post_metrics, service_role;

-- The seed's status body of a job, in one place for the status and the list.
CREATE OR REPLACE FUNCTION public.social_post_job_json(j public.social_post_jobs) RETURNS json
LANGUAGE sql
STABLE
AS $$
    SELECT json_build_object(
        'jobId', j.id, 'status', j.status, 'videoId', j.video_id, 'platforms', j.platforms,
        'title', j.title, 'description', j.description, 'results', j.results, 'error', j.error,
        'createdAt', to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'updatedAt', to_char(j.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
$$;
