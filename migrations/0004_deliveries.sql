-- 0004_deliveries: the worker's queue. One delivery per platform of a job.
--
-- The unit of work is a delivery, so each platform succeeds, fails, retries
-- and resumes on its own. A job's results, status and error are derived from
-- its deliveries by social_post_refresh_job(), which the worker calls in the
-- same transaction as every change to a delivery: a job never disagrees with
-- its deliveries.
--
-- States (the worker's enum in lib/delivery.c mirrors this CHECK):
--   queued     ready to run once run_at has passed (new, retrying, or waiting
--              for Instagram's transcoding)
--   running    claimed by a worker until lease_expires_at; a lapsed lease
--              means the worker is gone, and another one takes it over
--   succeeded, failed, cancelled   final
-- checkpoint holds what a platform adapter must remember to resume without
-- posting twice (upload session, offsets, container and media ids).
-- attempts counts transient failures (backoff, give-up); takeovers counts
-- claims of a lapsed lease, so a delivery that kills its workers ends failed
-- instead of being taken over forever.
-- Not readable through the API: RLS on, no policy for anon/authenticated.

CREATE TABLE IF NOT EXISTS public.social_post_deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id uuid NOT NULL REFERENCES public.social_post_jobs (id) ON DELETE CASCADE,
    platform text NOT NULL CHECK (platform IN ('youtube', 'facebook', 'instagram')),
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    attempts integer NOT NULL DEFAULT 0,
    takeovers integer NOT NULL DEFAULT 0,
    run_at timestamptz NOT NULL DEFAULT now(),
    lease_owner text,
    lease_expires_at timestamptz,
    checkpoint jsonb NOT NULL DEFAULT '{}'::jsonb,
    result jsonb,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (job_id, platform)
);

CREATE INDEX IF NOT EXISTS idx_social_post_deliveries_ready
    ON public.social_post_deliveries (run_at) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS idx_social_post_deliveries_leases
    ON public.social_post_deliveries (lease_expires_at) WHERE state = 'running';

ALTER TABLE public.social_post_deliveries ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.social_post_deliveries FROM anon, authenticated;
GRANT ALL ON public.social_post_deliveries TO service_role;

-- Derives a job's results, status and error from its deliveries.
--   status: pending until a delivery has started; processing while any is
--   queued or running; then completed when at least one succeeded, else failed.
--   results: per platform, the seed's keys (success, url, postId, error) once
--   final, plus state and attempts at all times, and lastError while retrying.
-- Concurrency: two workers finishing two platforms of one job at once must
-- not compute from snapshots that miss each other's change. The job row is
-- locked first, and the computation is a separate statement of a plpgsql
-- function, so under READ COMMITTED it takes its snapshot after the lock:
-- whoever waited sees what the other committed.
CREATE OR REPLACE FUNCTION public.social_post_refresh_job(p_job uuid) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM 1 FROM public.social_post_jobs WHERE id = p_job FOR UPDATE;
    WITH mine AS (
        SELECT platform, state, attempts, result, last_error, checkpoint
        FROM public.social_post_deliveries WHERE job_id = p_job
    ), summary AS (
        SELECT
            count(*) AS total,
            count(*) FILTER (WHERE state IN ('queued', 'running')) AS open,
            count(*) FILTER (WHERE state = 'succeeded') AS succeeded,
            count(*) FILTER (WHERE state <> 'queued' OR attempts > 0
                             OR checkpoint <> '{}'::jsonb) AS started,
            coalesce(jsonb_object_agg(platform, coalesce(result, '{}'::jsonb)
                         || jsonb_build_object('state', state, 'attempts', attempts)
                         || CASE WHEN state IN ('queued', 'running') AND last_error IS NOT NULL
                                 THEN jsonb_build_object('lastError', last_error)
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

-- When a job's deliveries may start (the API's scheduledAt); NULL: at once.
ALTER TABLE public.social_post_jobs ADD COLUMN IF NOT EXISTS scheduled_at timestamptz;

-- A new job gets one delivery per known platform it names, whoever inserted
-- it (the API, or the app through Supabase directly), due at scheduled_at.
-- SECURITY DEFINER: the caller may not write deliveries itself.
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
        WHERE p IN ('youtube', 'facebook', 'instagram')
        ON CONFLICT (job_id, platform) DO NOTHING;
    END IF;
    PERFORM public.social_post_refresh_job(NEW.id);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION public.social_post_jobs_enqueue() FROM PUBLIC;

DO $triggers$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'public.social_post_jobs'::regclass
                     AND tgname = 'social_post_jobs_enqueue') THEN
        CREATE TRIGGER social_post_jobs_enqueue
            AFTER INSERT ON public.social_post_jobs
            FOR EACH ROW EXECUTE FUNCTION public.social_post_jobs_enqueue();
    END IF;
END
$triggers$;
