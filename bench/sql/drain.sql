-- One delivery through the worker's queue: sp_queue_claim, then sp_queue_record
-- of a success (the queue_claim and queue_record statements, each one round
-- trip: the functions of migration 0011), without the platform in between.
-- Every client claims a different queued delivery (SKIP LOCKED); bench.py
-- queues exactly as many as the clients will claim, so a claim never comes
-- back empty. No user is busy ('{}', what the worker sends then); the outcome's
-- message (empty on success) is the literal '': pgbench cannot pass an empty
-- variable.
SELECT id, job_id, platform, attempts, checkpoint, takeovers, releases, user_id, video_id,
       title, description, video_url, account_id, access_token, refresh_token, token_expires_at,
       video_owned FROM public.social_post_claim(:owner, :lease::int, '{}'::uuid[]) \gset c_
SELECT held, open_count, history_error FROM public.social_post_record(:c_id::bigint, :owner,
       :state, :run_in::float8, :count_attempt::int, :checkpoint::jsonb, :result::jsonb, '',
       false, :posted, :c_user_id::uuid, :c_video_id::uuid, :url, :post_id);
