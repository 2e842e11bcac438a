-- 0007_hardening: what users may do with their rows directly, which functions
-- they may call, and counting releases.
--
-- Users may insert and update their own social_post_jobs through Supabase
-- (RLS allows it), so the columns the worker owns are guarded here whatever
-- the table's grants: as anon or authenticated, an insert starts pending with
-- no results, an update may change only title and description, and
-- scheduled_at may be at most a year ahead (the API's rule). The worker
-- checks what it claims again (title, description, the video).
--
-- Functions: Supabase grants EXECUTE on new functions in public to anon and
-- authenticated by default, so REVOKE ... FROM PUBLIC is not enough; each
-- internal function is revoked from them by name. They keep what the API
-- needs: retry and cancel (authenticated), the status body (any caller).
--
-- releases counts a delivery's consecutive releases (put back without an
-- outcome: worker stopping, lease lost); past a few, each counts as an
-- attempt, so a delivery cannot cycle claim -> abort -> requeue for ever.

ALTER TABLE public.social_post_deliveries
    ADD COLUMN IF NOT EXISTS releases integer NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION public.social_post_jobs_guard() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF current_user NOT IN ('anon', 'authenticated') THEN
        RETURN NEW; -- the worker, the migrations, our SECURITY DEFINER functions
    END IF;
    IF NEW.scheduled_at IS NOT NULL AND NEW.scheduled_at > now() + interval '366 days'
       AND (TG_OP = 'INSERT' OR NEW.scheduled_at IS DISTINCT FROM OLD.scheduled_at) THEN
        RAISE EXCEPTION 'scheduledAt is more than a year ahead' USING ERRCODE = '22023';
    END IF;
    IF TG_OP = 'INSERT' THEN
        NEW.status := 'pending';
        NEW.results := '{}'::jsonb;
        NEW.error := NULL;
        RETURN NEW;
    END IF;
    IF (NEW.id, NEW.user_id, NEW.video_id, NEW.platforms, NEW.status, NEW.results, NEW.error,
        NEW.scheduled_at, NEW.idempotency_key, NEW.request_hash, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.user_id, OLD.video_id, OLD.platforms, OLD.status, OLD.results, OLD.error,
        OLD.scheduled_at, OLD.idempotency_key, OLD.request_hash, OLD.created_at) THEN
        RAISE EXCEPTION 'only the title and description of a job may be changed'
            USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END
$$;

DO $guard$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'public.social_post_jobs'::regclass
                     AND tgname = 'social_post_jobs_guard') THEN
        CREATE TRIGGER social_post_jobs_guard
            BEFORE INSERT OR UPDATE ON public.social_post_jobs
            FOR EACH ROW EXECUTE FUNCTION public.social_post_jobs_guard();
    END IF;
END
$guard$;

-- Internal functions: the worker (service role or superuser) and triggers only.
REVOKE ALL ON FUNCTION public.social_post_refresh_job(uuid) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.social_post_refresh_job(uuid) TO service_role;
REVOKE ALL ON FUNCTION public.social_post_jobs_enqueue() FROM PUBLIC, anon, authenticated;
REVOKE ALL ON FUNCTION public.social_post_jobs_notify() FROM PUBLIC, anon, authenticated;
REVOKE ALL ON FUNCTION public.social_post_touch_updated_at() FROM PUBLIC, anon, authenticated;
REVOKE ALL ON FUNCTION public.social_post_jobs_guard() FROM PUBLIC, anon, authenticated;
REVOKE ALL ON FUNCTION public.social_post_own_job(uuid) FROM PUBLIC, anon, authenticated;
REVOKE ALL ON FUNCTION public.social_post_queue_stats() FROM PUBLIC, anon, authenticated;
-- What users may call: retry and cancel their own jobs (not anon).
REVOKE ALL ON FUNCTION public.social_post_retry_job(uuid) FROM PUBLIC, anon;
REVOKE ALL ON FUNCTION public.social_post_cancel_job(uuid) FROM PUBLIC, anon;
