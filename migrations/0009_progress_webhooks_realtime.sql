-- 0009_progress_webhooks_realtime: what people see while a job runs, and how
-- apps are told when it ends.
--
--   progress     social_post_deliveries.progress (0..1, the bytes the platform
--                has confirmed over the video's size), written by the worker
--                at most about once a second; a job's results show it, with
--                the adapter's phase, for every platform still open
--   webhooks     social_post_jobs.callback_url, and an outbox
--                (social_post_webhooks) that gets one event per final state of
--                a job, in the transaction that makes the job final; the
--                worker sends the events (signed, retried for about a day)
--   realtime     social_post_jobs joins Supabase's supabase_realtime
--                publication when there is one, so a Supabase client can
--                subscribe to its own jobs (RLS decides who sees what)

-- ---------------------------------------------------------------- progress

ALTER TABLE public.social_post_deliveries ADD COLUMN IF NOT EXISTS progress double precision;

DO $progress_check$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conrelid = 'public.social_post_deliveries'::regclass
                     AND conname = 'social_post_deliveries_progress_range') THEN
        ALTER TABLE public.social_post_deliveries ADD CONSTRAINT social_post_deliveries_progress_range
            CHECK (progress >= 0 AND progress <= 1);
    END IF;
END
$progress_check$;

-- A checkpoint started afresh (a retry from scratch) has uploaded nothing:
-- its old progress goes with it, whoever resets it.
CREATE OR REPLACE FUNCTION public.social_post_deliveries_forget_progress() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.progress := NULL;
    RETURN NEW;
END
$$;

DO $progress_trigger$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'public.social_post_deliveries'::regclass
                     AND tgname = 'social_post_deliveries_forget_progress') THEN
        CREATE TRIGGER social_post_deliveries_forget_progress
            BEFORE UPDATE OF checkpoint ON public.social_post_deliveries
            FOR EACH ROW WHEN (NEW.checkpoint = '{}'::jsonb AND OLD.progress IS NOT NULL)
            EXECUTE FUNCTION public.social_post_deliveries_forget_progress();
    END IF;
END
$progress_trigger$;

-- Derives a job's results, status and error from its deliveries (as in
-- 0004), and shows where each open platform stands:
--   results: per platform, the seed's keys (success, url, postId, error) once
--   final, plus state and attempts at all times; while queued or running also
--   lastError (retrying), phase (the adapter's, from the checkpoint) and
--   progress (0..1, once the platform has confirmed bytes). A final entry
--   has neither phase nor progress.
-- Concurrency: the job row is locked first, and the computation is a separate
-- statement, so under READ COMMITTED it sees what a concurrent writer
-- committed before the lock was granted.
CREATE OR REPLACE FUNCTION public.social_post_refresh_job(p_job uuid) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM 1 FROM public.social_post_jobs WHERE id = p_job FOR UPDATE;
    WITH mine AS (
        SELECT platform, state, attempts, result, last_error, checkpoint, progress
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
                         || CASE WHEN state IN ('queued', 'running')
                                 THEN jsonb_strip_nulls(jsonb_build_object(
                                          'lastError', last_error,
                                          'phase', checkpoint ->> 'phase',
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
