-- 0006_delivery_phases: a retry asks a delivery's phase, not its adapter's keys.
--
-- Every platform adapter saves its progress in the checkpoint as "phase"
-- (lib/platforms/step.h). Two phase names mean the same for every platform:
--   publishing   the call that makes the post may have gone out (its answer
--                may have been lost)
--   published    the post exists
-- A retried delivery keeps its checkpoint in those two phases (the adapter
-- then records or finishes that post) and starts afresh in any other.

-- Checkpoints written before phases existed get theirs once, from the keys
-- those versions wrote. Nothing else in the schema knows adapter keys.
UPDATE public.social_post_deliveries
SET checkpoint = checkpoint || jsonb_build_object('phase', CASE platform
    WHEN 'youtube' THEN CASE WHEN checkpoint ? 'videoId' THEN 'published'
                             WHEN checkpoint ? 'session' THEN 'uploading'
                             ELSE 'session' END
    WHEN 'facebook' THEN CASE WHEN checkpoint -> 'published' = 'true'::jsonb THEN 'published'
                              WHEN checkpoint ? 'finishing' THEN 'publishing'
                              WHEN checkpoint ? 'sessionId' THEN 'transfer'
                              ELSE 'start' END
    ELSE CASE WHEN checkpoint ? 'mediaId' THEN 'published'
              WHEN checkpoint ? 'publishing' THEN 'publishing'
              WHEN checkpoint ? 'containerId' THEN 'processing'
              ELSE 'container' END
    END)
WHERE checkpoint <> '{}'::jsonb AND NOT checkpoint ? 'phase';

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
            -- start afresh, unless something may have gone out
            checkpoint = CASE WHEN checkpoint ->> 'phase' IN ('publishing', 'published')
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
REVOKE ALL ON FUNCTION public.social_post_retry_job(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.social_post_retry_job(uuid) TO authenticated, service_role;
