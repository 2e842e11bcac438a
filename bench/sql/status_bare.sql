-- The status SELECT alone (autocommit, superuser: no role switch, no RLS).
WITH v AS (SELECT social_post_job_json(j)::text AS body, j.status
           FROM social_post_jobs j WHERE j.id = :job::uuid)
SELECT body, md5(body), status IN ('completed', 'failed') FROM v;
