-- 0024_cheaper_submit: a submit costs Postgres less CPU; every rule holds as
-- before, with the same messages.
--
--   social_post_jobs_initial_results  new BEFORE INSERT trigger (after the
--                            guard, by name): a new job's results, status and
--                            error as social_post_refresh_job derives them
--                            from the deliveries social_post_jobs_enqueue is
--                            about to create (each known platform once,
--                            queued, no attempt), so the job row is no
--                            longer updated a second time in its own insert
--                            (that update touched every index, as updated_at
--                            is indexed, and ran the update triggers again).
--   social_post_jobs_enqueue no longer calls social_post_refresh_job after
--                            making a new job's deliveries: it would find
--                            nothing to change (test_queue_sql checks it).
--   social_post_jobs_webhook_at_insert  new AFTER INSERT trigger: a job final
--                            from its insert (no known platform: failed) with
--                            a callback_url gets its webhook event, which the
--                            refresh's second update used to give it through
--                            social_post_jobs_webhook (AFTER UPDATE OF status).
--   social_post_platforms_problem  plpgsql instead of SQL: a SQL function
--                            that cannot be inlined (its EXISTS) was parsed
--                            and planned again in every transaction; plpgsql
--                            keeps its plans for the session. One pass over
--                            the elements instead of three.
--   social_post_jobs_check_options  a job without options that does not post
--                            to TikTok breaks no option rule: the trigger
--                            answers at once instead of calling
--                            social_post_check_options (SECURITY DEFINER,
--                            so each call set and reset search_path).
--
-- Idempotent: CREATE OR REPLACE with the same signatures (grants kept), and
-- the new trigger made when missing.

-- What is wrong with a platforms value, as the API says it; NULL: nothing.
-- The length is checked before any element is read.
CREATE OR REPLACE FUNCTION public.social_post_platforms_problem(p jsonb) RETURNS text
LANGUAGE plpgsql
IMMUTABLE
AS $$
DECLARE
    names constant text[] := public.social_post_platform_names();
    n integer;
    not_strings boolean;
    unknown boolean;
    distinct_names bigint;
BEGIN
    IF p IS NULL OR jsonb_typeof(p) <> 'array' THEN
        RETURN 'platforms must be an array of platform names';
    END IF;
    n := jsonb_array_length(p);
    IF n = 0 THEN
        RETURN 'platforms must name at least one of: ' || array_to_string(names, ', ');
    END IF;
    IF n > cardinality(names) THEN
        RETURN 'platforms has ' || n || ' entries; name each of '
               || array_to_string(names, ', ') || ' at most once';
    END IF;
    -- one pass over the elements; the messages keep their order
    SELECT bool_or(jsonb_typeof(e) <> 'string'), bool_or((e #>> '{}') <> ALL (names)),
           count(DISTINCT e #>> '{}')
    INTO not_strings, unknown, distinct_names
    FROM jsonb_array_elements(p) e;
    IF not_strings THEN
        RETURN 'platforms must contain only strings';
    END IF;
    IF unknown THEN
        RETURN 'unknown platform; use one of: ' || array_to_string(names, ', ');
    END IF;
    IF distinct_names <> n THEN
        RETURN 'platforms lists a platform twice';
    END IF;
    RETURN NULL;
END
$$;

-- Refuses a job row whose options break a rule (0013's, with a shortcut):
-- with options {} no option is checked, and the one rule left, TikTok's
-- required privacyLevel, applies only when platforms names tiktok.
CREATE OR REPLACE FUNCTION public.social_post_jobs_check_options() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    problem text;
BEGIN
    IF TG_OP = 'UPDATE'
       AND (NEW.platforms, NEW.options, NEW.title, NEW.description)
           IS NOT DISTINCT FROM (OLD.platforms, OLD.options, OLD.title, OLD.description) THEN
        RETURN NEW;
    END IF;
    IF NEW.options = '{}'::jsonb AND NOT NEW.platforms @> '["tiktok"]'::jsonb THEN
        RETURN NEW;
    END IF;
    problem := public.social_post_check_options(NEW.platforms, NEW.options, NEW.title,
                                                NEW.description);
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION USING MESSAGE = problem, ERRCODE = 'check_violation', COLUMN = 'options',
            TABLE = 'social_post_jobs', SCHEMA = 'public';
    END IF;
    RETURN NEW;
END
$$;

-- A new job's results, status and error as social_post_refresh_job derives
-- them once social_post_jobs_enqueue has made its deliveries: one per known
-- platform, queued, with no attempt, result or checkpoint. No delivery:
-- failed, 'no known platform to post to'. Otherwise the status given stays
-- (a fresh delivery has not started, which the refresh reads as pending).
CREATE OR REPLACE FUNCTION public.social_post_jobs_initial_results() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    queued jsonb;
BEGIN
    IF jsonb_typeof(NEW.platforms) = 'array' THEN
        SELECT jsonb_object_agg(p, jsonb_build_object('state', 'queued', 'attempts', 0))
        INTO queued
        FROM (SELECT DISTINCT p FROM jsonb_array_elements_text(NEW.platforms) AS p
              WHERE p IN ('youtube', 'facebook', 'instagram', 'tiktok')) known;
    END IF;
    IF queued IS NULL THEN
        NEW.results := '{}'::jsonb;
        NEW.status := 'failed';
        NEW.error := 'no known platform to post to';
    ELSE
        NEW.results := queued;
        NEW.error := NULL;
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION public.social_post_jobs_initial_results() FROM PUBLIC, anon, authenticated;

-- One delivery per platform of a new job (0012's, without the refresh that
-- now finds nothing to change).
CREATE OR REPLACE FUNCTION public.social_post_jobs_enqueue() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(NEW.platforms) = 'array' THEN
        INSERT INTO public.social_post_deliveries (job_id, platform, run_at)
        SELECT DISTINCT NEW.id, p, greatest(coalesce(NEW.scheduled_at, now()), now())
        FROM jsonb_array_elements_text(NEW.platforms) AS p
        WHERE p IN ('youtube', 'facebook', 'instagram', 'tiktok')
        ON CONFLICT (job_id, platform) DO NOTHING;
    END IF;
    -- no social_post_refresh_job: social_post_jobs_initial_results has set what it
    -- would derive from these deliveries (test_queue_sql checks that it changes nothing)
    RETURN NULL;
END
$$;

DO $initial_results_trigger$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'public.social_post_jobs'::regclass
                     AND tgname = 'social_post_jobs_initial_results') THEN
        -- BEFORE triggers run in name order: after social_post_jobs_guard,
        -- which sets a user's results to {}
        CREATE TRIGGER social_post_jobs_initial_results
            BEFORE INSERT ON public.social_post_jobs
            FOR EACH ROW EXECUTE FUNCTION public.social_post_jobs_initial_results();
    END IF;
END
$initial_results_trigger$;

DO $webhook_at_insert_trigger$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'public.social_post_jobs'::regclass
                     AND tgname = 'social_post_jobs_webhook_at_insert') THEN
        -- a job final from its insert has its one event, as a job that
        -- becomes final later has (social_post_jobs_webhook)
        CREATE TRIGGER social_post_jobs_webhook_at_insert
            AFTER INSERT ON public.social_post_jobs
            FOR EACH ROW
            WHEN (NEW.status IN ('completed', 'failed') AND NEW.callback_url IS NOT NULL)
            EXECUTE FUNCTION public.social_post_jobs_webhook();
    END IF;
END
$webhook_at_insert_trigger$;
