-- 0023_cancel_quota_backoffs: a platform that has only waited out a quota
-- can still be cancelled.
--
--   social_post_cancel_job  cancels a queued platform whose checkpoint holds
--                           nothing but the worker's count of quota waits
--                           without a platform estimate ("quotaBackoffs", see
--                           lib/platforms/step.h): nothing of the post
--                           reached the platform. Before, any key in the
--                           checkpoint read as "started" (409).
--
-- Idempotent: CREATE OR REPLACE with the same signature and grants.

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
                     WHERE job_id = p_job AND state = 'queued'
                       AND checkpoint - 'quotaBackoffs' = '{}'::jsonb
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

REVOKE ALL ON FUNCTION public.social_post_cancel_job(uuid) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION public.social_post_cancel_job(uuid) TO authenticated, service_role;
