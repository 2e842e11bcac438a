-- 0016_fresh_releases: a finished delivery queued again (a user's retry)
-- starts its row of releases afresh, as it starts its attempts and takeovers
-- afresh.
--
-- releases counts a delivery's releases without progress in a row (0007; the
-- worker sets it back to 0 after any other outcome and after a release that
-- followed progress): past three, each release is an attempt. A delivery
-- that failed that way kept its count through social_post_retry_job, so the
-- first release without progress after a retry already cost an attempt.
-- A trigger resets it whoever queues a failed or cancelled delivery again,
-- leaving social_post_retry_job's definition as it is.
--
-- Internal: revoked from the API roles by name, as 0007 and 0010 do.

CREATE OR REPLACE FUNCTION public.social_post_deliveries_fresh_releases() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.releases := 0;
    RETURN NEW;
END
$$;

DO $fresh_releases$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'public.social_post_deliveries'::regclass
                     AND tgname = 'social_post_deliveries_fresh_releases') THEN
        CREATE TRIGGER social_post_deliveries_fresh_releases
            BEFORE UPDATE OF state ON public.social_post_deliveries
            FOR EACH ROW
            WHEN (OLD.state IN ('failed', 'cancelled') AND NEW.state = 'queued'
                  AND NEW.releases <> 0)
            EXECUTE FUNCTION public.social_post_deliveries_fresh_releases();
    END IF;
END
$fresh_releases$;

REVOKE ALL ON FUNCTION public.social_post_deliveries_fresh_releases()
    FROM PUBLIC, anon, authenticated;
