-- 0011_queue_round_trips: the worker's claim, its record of an outcome and
-- its progress report, each one statement, so each costs the worker one
-- database round trip instead of one per statement of a transaction
-- (BEGIN, the statements, COMMIT). They do what lib/queue/queue.c used to
-- send statement by statement, in the same order and the same transaction.
--
-- social_post_claim: takes the next due delivery (or a lapsed lease) for
--   p_owner, skipping the users in p_busy, and returns it with its job, its
--   video when the job's user owns it, and the account to post with; no row
--   when nothing is due. The job is refreshed in the same transaction.
-- social_post_record: the outcome of a step, under the claim's lease: the
--   delivery's new state, a scheduled_posts row for a final one (p_posted
--   'posted' or 'failed'; NULL: none), the job refreshed, and how many of the
--   job's deliveries are still open. scheduled_posts may be the app's own
--   table, with other columns or constraints: a failing history insert is
--   undone alone (a subtransaction, as the SAVEPOINT did) and its message
--   returned, never allowed to lose the outcome. held is false, and nothing
--   changed, when the lease is no longer p_owner's.
-- social_post_progress: bytes the platform confirmed (of p_total; p_total <=
--   0 keeps the progress), and the job refreshed to show it and the phase.
--
-- Internal: the worker (service role or superuser) only, revoked from the API
-- roles by name as 0007 and 0010 do.

-- 0012 gave the claim more columns: re-running the migrations in order must
-- get past this older shape (0012 then makes the current one again).
DROP FUNCTION IF EXISTS public.social_post_claim(text, integer, uuid[]);
CREATE OR REPLACE FUNCTION public.social_post_claim(p_owner text, p_lease integer, p_busy uuid[])
RETURNS TABLE (id bigint, job_id text, platform text, attempts integer, checkpoint text,
               takeovers integer, releases integer, user_id text, video_id text, title text,
               description text, video_url text, account_id text, access_token text,
               refresh_token text, token_expires_at bigint, video_owned boolean)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    c public.social_post_deliveries;
BEGIN
    WITH next AS (
        SELECT d.id FROM public.social_post_deliveries d
        WHERE ((d.state = 'queued' AND d.run_at <= now())
           OR (d.state = 'running' AND d.lease_expires_at < now()))
          AND NOT EXISTS (SELECT 1 FROM public.social_post_jobs j
                          WHERE j.id = d.job_id AND j.user_id = ANY(p_busy))
        ORDER BY d.run_at, d.id LIMIT 1 FOR UPDATE OF d SKIP LOCKED)
    UPDATE public.social_post_deliveries d
    SET state = 'running', lease_owner = p_owner,
        lease_expires_at = now() + make_interval(secs => p_lease), updated_at = now(),
        takeovers = d.takeovers + CASE WHEN d.state = 'running' THEN 1 ELSE 0 END
    FROM next WHERE d.id = next.id
    RETURNING d.* INTO c;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- the video only when the job's user owns it (users write jobs directly);
    -- one account even where the app's table allows several per platform;
    -- every text cast, as the app's tables may use other string types
    RETURN QUERY
    SELECT c.id, c.job_id::text, c.platform::text, c.attempts, c.checkpoint::text, c.takeovers,
           c.releases, j.user_id::text, j.video_id::text,
           coalesce(nullif(j.title, ''), v.title, '')::text, coalesce(j.description, '')::text,
           v.video_url::text, a.account_id::text, a.access_token::text, a.refresh_token::text,
           coalesce(extract(epoch FROM a.token_expires_at)::bigint, 0), v.id IS NOT NULL
    FROM public.social_post_jobs j
    LEFT JOIN public.product_videos v ON v.id = j.video_id AND v.user_id = j.user_id
    LEFT JOIN LATERAL (SELECT * FROM public.social_accounts s
        WHERE s.user_id = j.user_id AND s.platform = c.platform
        ORDER BY s.token_expires_at DESC NULLS LAST LIMIT 1) a ON true
    WHERE j.id = c.job_id;
    IF NOT FOUND THEN -- the claim is undone with the statement
        RAISE EXCEPTION 'the delivery''s job is gone' USING ERRCODE = 'SP404';
    END IF;
    PERFORM public.social_post_refresh_job(c.job_id);
END
$$;

CREATE OR REPLACE FUNCTION public.social_post_record(
    p_id bigint, p_owner text, p_state text, p_run_in double precision,
    p_count_attempt integer, p_checkpoint jsonb, p_result jsonb, p_error text,
    p_release boolean, p_posted text, p_user uuid, p_video uuid, p_url text, p_post_id text)
RETURNS TABLE (held boolean, open_count integer, history_error text)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
DECLARE
    v_job uuid;
    v_platform text;
    v_history_error text;
BEGIN
    UPDATE public.social_post_deliveries d
    SET state = p_state, run_at = now() + make_interval(secs => p_run_in),
        attempts = d.attempts + p_count_attempt, checkpoint = p_checkpoint, result = p_result,
        last_error = nullif(p_error, ''), lease_owner = NULL, lease_expires_at = NULL,
        releases = CASE WHEN p_release THEN d.releases + 1 ELSE 0 END, updated_at = now()
    WHERE d.id = p_id AND d.lease_owner = p_owner AND d.state = 'running'
    RETURNING d.job_id, d.platform INTO v_job, v_platform;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, 0, NULL::text;
        RETURN;
    END IF;
    IF p_posted IS NOT NULL THEN
        BEGIN
            INSERT INTO public.scheduled_posts
                (user_id, video_id, job_id, platform, status, post_url, post_id, error, posted_at)
            VALUES (p_user, p_video, v_job, v_platform, p_posted, nullif(p_url, ''),
                    nullif(p_post_id, ''),
                    CASE WHEN p_posted = 'failed' THEN nullif(p_error, '') END,
                    CASE WHEN p_posted = 'posted' THEN now() END);
        EXCEPTION WHEN OTHERS THEN
            v_history_error := SQLERRM;
        END;
    END IF;
    PERFORM public.social_post_refresh_job(v_job);
    RETURN QUERY
    SELECT true, count(*)::integer, v_history_error
    FROM public.social_post_deliveries d
    WHERE d.job_id = v_job AND d.state IN ('queued', 'running');
END
$$;

CREATE OR REPLACE FUNCTION public.social_post_progress(p_id bigint, p_owner text,
                                                       p_confirmed bigint, p_total bigint)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    v_job uuid;
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
    PERFORM public.social_post_refresh_job(v_job);
    RETURN true;
END
$$;

REVOKE ALL ON FUNCTION public.social_post_claim(text, integer, uuid[])
    FROM PUBLIC, anon, authenticated;
REVOKE ALL ON FUNCTION public.social_post_record(bigint, text, text, double precision, integer,
    jsonb, jsonb, text, boolean, text, uuid, uuid, text, text) FROM PUBLIC, anon, authenticated;
REVOKE ALL ON FUNCTION public.social_post_progress(bigint, text, bigint, bigint)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.social_post_claim(text, integer, uuid[]) TO service_role;
GRANT EXECUTE ON FUNCTION public.social_post_record(bigint, text, text, double precision, integer,
    jsonb, jsonb, text, boolean, text, uuid, uuid, text, text) TO service_role;
GRANT EXECUTE ON FUNCTION public.social_post_progress(bigint, text, bigint, bigint)
    TO service_role;
