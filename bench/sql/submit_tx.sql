-- POST /social-post: the transaction of social-post today (no Idempotency-Key,
-- no scheduledAt: those parameters are NULL, as the program binds them).
BEGIN;
SELECT set_config('role', 'authenticated', true),
       set_config('request.jwt.claims', :claims, true),
       set_config('request.jwt.claim.sub', coalesce(:claims::jsonb ->> 'sub', ''), true),
       set_config('request.jwt.claim.role', 'authenticated', true),
       set_config('statement_timeout', '15s', true);
SELECT coalesce(title, '') FROM product_videos WHERE id = :video::uuid AND user_id = :user::uuid;
INSERT INTO social_post_jobs (user_id, video_id, platforms, title, description,
                              idempotency_key, request_hash, scheduled_at)
VALUES (:user::uuid, :video::uuid, :platforms::jsonb, :title, NULL, NULL, NULL,
        to_timestamp(NULL::float8))
RETURNING id::text;
COMMIT;
