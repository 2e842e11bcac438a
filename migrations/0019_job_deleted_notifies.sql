-- 0019_job_deleted_notifies: a job's deletion is notified like its changes.
--
-- 0008's trigger sends the job's id on social_post_job_changed after every
-- INSERT and UPDATE, not after a DELETE. A job goes when its user deletes
-- the video it posts (product_videos, ON DELETE CASCADE; the app does that
-- through Supabase) or the user's account. The status programs keep the
-- version of each job they served and answer an unchanged conditional GET
-- 304 from it, dropping it on the job's notification: without one for a
-- deletion, a deleted job was answered 304 instead of 404, and a long-poll
-- on it waited out its whole wait.
--
-- A trigger of its own (0008's function stays as it is). Internal: revoked
-- from the API roles, as 0007, 0010 and 0015 do.

CREATE OR REPLACE FUNCTION public.social_post_job_deleted() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_notify('social_post_job_changed', OLD.id::text);
    RETURN NULL;
END
$$;

DO $job_deleted$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'public.social_post_jobs'::regclass
                     AND tgname = 'social_post_job_deleted') THEN
        CREATE TRIGGER social_post_job_deleted
            AFTER DELETE ON public.social_post_jobs
            FOR EACH ROW EXECUTE FUNCTION public.social_post_job_deleted();
    END IF;
END
$job_deleted$;

REVOKE ALL ON FUNCTION public.social_post_job_deleted() FROM PUBLIC, anon, authenticated;
