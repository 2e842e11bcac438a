-- One delivery through the worker's queue: sp_queue_claim, then sp_queue_record
-- of a success (the queue_* statements), without the platform in between. Every client
-- claims a different queued delivery (SKIP LOCKED); bench.py queues exactly as
-- many as the clients will claim, so a claim never comes back empty. The
-- outcome's message (empty on success) is the literal '': pgbench cannot pass
-- an empty variable.
BEGIN;
WITH next AS (
  SELECT id FROM public.social_post_deliveries
  WHERE (state = 'queued' AND run_at <= now())
     OR (state = 'running' AND lease_expires_at < now())
  ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
UPDATE public.social_post_deliveries d
SET state = 'running', lease_owner = :owner,
    lease_expires_at = now() + make_interval(secs => :lease::int), updated_at = now(),
    takeovers = d.takeovers + CASE WHEN d.state = 'running' THEN 1 ELSE 0 END
FROM next WHERE d.id = next.id
RETURNING d.id, d.job_id::text, d.platform, d.attempts, d.checkpoint::text,
          d.takeovers \gset c_
SELECT j.user_id::text, j.video_id::text, coalesce(j.title, ''),
       coalesce(j.description, ''), v.video_url, a.account_id, a.access_token,
       a.refresh_token, coalesce(extract(epoch FROM a.token_expires_at)::bigint, 0)
FROM public.social_post_jobs j
LEFT JOIN public.product_videos v ON v.id = j.video_id
LEFT JOIN LATERAL (SELECT * FROM public.social_accounts s
  WHERE s.user_id = j.user_id AND s.platform = :c_platform
  ORDER BY s.token_expires_at DESC NULLS LAST LIMIT 1) a ON true
WHERE j.id = :c_job_id::uuid \gset d_
SELECT public.social_post_refresh_job(:c_job_id::uuid);
COMMIT;
BEGIN;
UPDATE public.social_post_deliveries
SET state = :state, run_at = now() + make_interval(secs => :run_in::float8),
    attempts = attempts + :count_attempt::int, checkpoint = :checkpoint::jsonb,
    result = :result::jsonb, last_error = nullif('', ''), lease_owner = NULL,
    lease_expires_at = NULL,
    updated_at = now()
WHERE id = :c_id::bigint AND lease_owner = :owner AND state = 'running';
SAVEPOINT history;
INSERT INTO public.scheduled_posts
  (user_id, video_id, job_id, platform, status, post_url, post_id, error, posted_at)
VALUES (:d_user_id::uuid, :d_video_id::uuid, :c_job_id::uuid, :c_platform, :posted,
        nullif(:url, ''), nullif(:post_id, ''), nullif('', ''),
        CASE WHEN :posted = 'posted' THEN now() END);
RELEASE SAVEPOINT history;
SELECT public.social_post_refresh_job(:c_job_id::uuid);
SELECT count(*) FROM public.social_post_deliveries
WHERE job_id = :c_job_id::uuid AND state IN ('queued', 'running');
COMMIT;
