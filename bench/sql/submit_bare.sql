-- The job INSERT alone (autocommit, superuser: no role switch, no RLS check;
-- the triggers that queue the delivery and notify the workers still run).
INSERT INTO social_post_jobs (user_id, video_id, platforms, title, description,
                              idempotency_key, request_hash, scheduled_at)
VALUES (:user::uuid, :video::uuid, :platforms::jsonb, :title, NULL, NULL, NULL,
        to_timestamp(NULL::float8))
RETURNING id::text;
