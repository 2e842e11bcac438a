-- 0021_progress_coalescing: progress reports reach a job (its row update,
-- the NOTIFY of 0008's trigger, and Supabase Realtime's change) at most about
-- once a second per job, however many of its platforms are uploading at
-- once. A report always lands on its delivery row (which nobody watches);
-- the job is refreshed from its deliveries only when it last changed a
-- second or more ago, so the next refresh (the next report, or any state or
-- phase change, which the worker records through social_post_record and
-- which always refreshes at once) shows every platform's latest progress.
-- The interval is the setting social_post.progress_every (seconds, default
-- 1; 0 refreshes on every report: for benchmarks that compare).
CREATE OR REPLACE FUNCTION public.social_post_progress(p_id bigint, p_owner text,
                                                       p_confirmed bigint, p_total bigint)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    v_job uuid;
    v_every float8 := coalesce(nullif(current_setting('social_post.progress_every', true), ''),
                               '1')::float8;
BEGIN
    UPDATE public.social_post_deliveries d
    SET progress = CASE WHEN p_total > 0
            THEN round(least(greatest(p_confirmed::numeric / p_total, 0), 1), 4)::float8
            ELSE d.progress END,
        updated_at = now()
    WHERE d.id = p_id AND d.lease_owner = p_owner AND d.state = 'running'
    RETURNING d.job_id INTO v_job;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF v_every <= 0 OR EXISTS (SELECT 1 FROM public.social_post_jobs j
                               WHERE j.id = v_job
                                 AND j.updated_at <= clock_timestamp()
                                     - make_interval(secs => v_every)) THEN
        PERFORM public.social_post_refresh_job(v_job);
    END IF;
    RETURN true;
END
$$;
REVOKE ALL ON FUNCTION public.social_post_progress(bigint, text, bigint, bigint)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.social_post_progress(bigint, text, bigint, bigint)
    TO service_role;
