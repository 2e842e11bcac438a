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

-- ---------------------------------------------------------------- webhooks

-- Where the job's final states are POSTed (the API checks the URL; this
-- check is for rows the app inserts straight through Supabase, and the
-- worker checks the URL again before each attempt).
ALTER TABLE public.social_post_jobs ADD COLUMN IF NOT EXISTS callback_url text;

DO $callback_check$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conrelid = 'public.social_post_jobs'::regclass
                     AND conname = 'social_post_jobs_callback_url_form') THEN
        ALTER TABLE public.social_post_jobs ADD CONSTRAINT social_post_jobs_callback_url_form
            CHECK (callback_url IS NULL
                   OR (length(callback_url) <= 2048 AND callback_url ~* '^https?://'));
    END IF;
END
$callback_check$;

-- The outbox: one row per event (a job reaching completed or failed with a
-- callback_url). id is the event's webhook-id, the same on every attempt;
-- body is the job's status body at that moment, sent byte for byte on every
-- attempt (the signature covers it).
--   state  pending    due at run_at (new, or waiting to retry)
--          sending    claimed by a worker until lease_expires_at (a lapsed
--                     lease means the worker is gone: another one sends it)
--          delivered  a 2xx answer arrived
--          failed     given up (about a day of failures, or 410 Gone)
-- Not readable through the API: RLS on, no policy for anon/authenticated.
CREATE TABLE IF NOT EXISTS public.social_post_webhooks (
    id text PRIMARY KEY DEFAULT 'msg_' || replace(gen_random_uuid()::text, '-', ''),
    job_id uuid NOT NULL REFERENCES public.social_post_jobs (id) ON DELETE CASCADE,
    url text NOT NULL,
    status text NOT NULL,
    body text NOT NULL,
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    run_at timestamptz NOT NULL DEFAULT now(),
    lease_owner text,
    lease_expires_at timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz
);

CREATE INDEX IF NOT EXISTS idx_social_post_webhooks_due
    ON public.social_post_webhooks (run_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS idx_social_post_webhooks_leases
    ON public.social_post_webhooks (lease_expires_at) WHERE state = 'sending';
CREATE INDEX IF NOT EXISTS idx_social_post_webhooks_job
    ON public.social_post_webhooks (job_id);

ALTER TABLE public.social_post_webhooks ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.social_post_webhooks FROM anon, authenticated;
GRANT ALL ON public.social_post_webhooks TO service_role;

-- Adds the event of a job that just became final, and wakes the workers
-- (NOTIFY social_post_webhooks '<event id>', sent at commit). It runs in the
-- transaction that made the job final, so there is an event exactly when the
-- job is final, and a job is never final before its event exists.
-- SECURITY DEFINER: whoever finishes the job (the worker, a cancel) may not
-- write the outbox itself.
CREATE OR REPLACE FUNCTION public.social_post_jobs_webhook() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    event_id text;
BEGIN
    INSERT INTO public.social_post_webhooks (job_id, url, status, body)
    VALUES (NEW.id, NEW.callback_url, NEW.status, public.social_post_job_json(NEW)::text)
    RETURNING id INTO event_id;
    PERFORM pg_notify('social_post_webhooks', event_id);
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION public.social_post_jobs_webhook() FROM PUBLIC;

DO $webhook_trigger$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'public.social_post_jobs'::regclass
                     AND tgname = 'social_post_jobs_webhook') THEN
        -- each change into a final state is one event: a retried job that
        -- finishes again gets another
        CREATE TRIGGER social_post_jobs_webhook
            AFTER UPDATE OF status ON public.social_post_jobs
            FOR EACH ROW
            WHEN (NEW.status IN ('completed', 'failed') AND OLD.status IS DISTINCT FROM NEW.status
                  AND NEW.callback_url IS NOT NULL)
            EXECUTE FUNCTION public.social_post_jobs_webhook();
    END IF;
END
$webhook_trigger$;

-- ---------------------------------------------------------------- realtime

-- On Supabase, Realtime streams the changes of the tables in the
-- supabase_realtime publication. Elsewhere there is no such publication and
-- nothing happens; a publication FOR ALL TABLES already has the table.
DO $realtime$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime' AND NOT puballtables)
       AND NOT EXISTS (SELECT 1 FROM pg_publication_tables
                       WHERE pubname = 'supabase_realtime' AND schemaname = 'public'
                         AND tablename = 'social_post_jobs') THEN
        ALTER PUBLICATION supabase_realtime ADD TABLE public.social_post_jobs;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'social_post_jobs was not added to supabase_realtime (%): run '
                  '"ALTER PUBLICATION supabase_realtime ADD TABLE public.social_post_jobs" '
                  'as its owner', SQLERRM;
END
$realtime$;
