-- 0003_social_post_jobs: the job queue, exactly as the seed document lists it.
--
-- One row per submitted post: the platforms asked for, the per-platform
-- results (seed keys success/url/postId/error) and the overall status
-- pending -> processing -> completed | failed. Users see, create and update
-- only their own rows (RLS, as on Supabase); the worker connects with a role
-- that has service_role's rights and bypasses RLS.
-- An AFTER INSERT trigger sends NOTIFY social_post_jobs '<job id>' so that a
-- listening worker wakes at once instead of at its next poll.
-- Every statement is guarded, so this also runs on a database where the
-- seed's own migration already created the table (its policies are kept).

CREATE TABLE IF NOT EXISTS public.social_post_jobs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    video_id uuid NOT NULL REFERENCES public.product_videos (id) ON DELETE CASCADE,
    platforms jsonb NOT NULL DEFAULT '[]'::jsonb,
    title text,
    description text,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    results jsonb NOT NULL DEFAULT '{}'::jsonb,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS idx_social_post_jobs_user_id ON public.social_post_jobs (user_id);
CREATE INDEX IF NOT EXISTS idx_social_post_jobs_status ON public.social_post_jobs (status);
CREATE INDEX IF NOT EXISTS idx_social_post_jobs_video_id ON public.social_post_jobs (video_id);
CREATE INDEX IF NOT EXISTS idx_social_post_jobs_created_at ON public.social_post_jobs (created_at);

-- Wakes the workers: NOTIFY social_post_jobs with the new job's id.
CREATE OR REPLACE FUNCTION public.social_post_jobs_notify() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_notify('social_post_jobs', NEW.id::text);
    RETURN NULL;
END
$$;

DO $triggers$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'public.social_post_jobs'::regclass
                     AND tgname = 'social_post_jobs_touch_updated_at') THEN
        CREATE TRIGGER social_post_jobs_touch_updated_at
            BEFORE UPDATE ON public.social_post_jobs
            FOR EACH ROW EXECUTE FUNCTION public.social_post_touch_updated_at();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'public.social_post_jobs'::regclass
                     AND tgname = 'social_post_jobs_notify') THEN
        CREATE TRIGGER social_post_jobs_notify
            AFTER INSERT ON public.social_post_jobs
            FOR EACH ROW EXECUTE FUNCTION public.social_post_jobs_notify();
    END IF;
END
$triggers$;

ALTER TABLE public.social_post_jobs ENABLE ROW LEVEL SECURITY;

-- Own rows only. Inserting or updating also requires the video to be the
-- caller's: foreign-key checks ignore RLS, so without this a user who learnt
-- another user's video id could have the worker post that video.
DO $policies$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                   AND tablename = 'social_post_jobs' AND policyname = 'social_post_jobs_select_own') THEN
        CREATE POLICY social_post_jobs_select_own ON public.social_post_jobs
            FOR SELECT TO authenticated
            USING (user_id = (SELECT auth.uid()));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                   AND tablename = 'social_post_jobs' AND policyname = 'social_post_jobs_insert_own') THEN
        CREATE POLICY social_post_jobs_insert_own ON public.social_post_jobs
            FOR INSERT TO authenticated
            WITH CHECK (user_id = (SELECT auth.uid())
                        AND EXISTS (SELECT 1 FROM public.product_videos v
                                    WHERE v.id = social_post_jobs.video_id AND v.user_id = (SELECT auth.uid())));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                   AND tablename = 'social_post_jobs' AND policyname = 'social_post_jobs_update_own') THEN
        CREATE POLICY social_post_jobs_update_own ON public.social_post_jobs
            FOR UPDATE TO authenticated
            USING (user_id = (SELECT auth.uid()))
            WITH CHECK (user_id = (SELECT auth.uid())
                        AND EXISTS (SELECT 1 FROM public.product_videos v
                                    WHERE v.id = social_post_jobs.video_id AND v.user_id = (SELECT auth.uid())));
    END IF;
END
$policies$;

-- Exactly these rights for the API roles, whatever default privileges the
-- database has (Supabase grants ALL on new tables to anon and authenticated;
-- TRUNCATE would ignore RLS). Revoking what is absent and granting what is
-- present change nothing, so re-running leaves the same ACL.
REVOKE ALL ON public.social_post_jobs FROM anon;
REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON public.social_post_jobs FROM authenticated;
GRANT SELECT, INSERT, UPDATE ON public.social_post_jobs TO authenticated;
GRANT ALL ON public.social_post_jobs TO service_role;
