-- GET /social-post-status?jobId=: the transaction of social-post-status today.
BEGIN;
SELECT set_config('role', 'authenticated', true),
       set_config('request.jwt.claims', :claims, true),
       set_config('request.jwt.claim.sub', coalesce(:claims::jsonb ->> 'sub', ''), true),
       set_config('request.jwt.claim.role', 'authenticated', true),
       set_config('statement_timeout', '15s', true);
WITH v AS (SELECT social_post_job_json(j)::text AS body, j.status
           FROM social_post_jobs j WHERE j.id = :job::uuid)
SELECT body, md5(body), status IN ('completed', 'failed') FROM v;
COMMIT;
