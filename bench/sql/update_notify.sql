-- update_plain.sql plus the NOTIFY a job's change sends (migration 0008's trigger).
\set id random(1, 1000)
BEGIN;
UPDATE bench_scratch SET n = n + 1 WHERE id = :id;
SELECT pg_notify('social_post_job_changed', 'bench-' || :id);
COMMIT;
