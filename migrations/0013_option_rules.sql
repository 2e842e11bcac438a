-- 0013_option_rules: the rules of a job's "options" in the database, so a job
-- written through Supabase directly is held to what the API checks
-- (lib/platforms/options.c, the same rules and the same messages), and the
-- options in the status body.
--
-- social_post_check_options(platforms, options, title, description): the
--   first problem with options for a job posting to platforms, as a message
--   that starts with (or names) the field's path, e.g.
--   'options.instagram.collaborators has at most 3 usernames'; NULL when the
--   options are acceptable. Pure; users may call it (a client may ask before
--   it writes), its helpers are internal. title and description are the
--   job's own (NULL when unknown): a platform's own title or description is
--   checked against that platform's text limits with them, as the worker
--   builds its text.
-- social_post_jobs_check_options: the trigger that refuses a job row whose
--   options break a rule, on insert, and on update when the platforms, the
--   options or the text change (SQLSTATE 23514 check_violation, the message above, as a 400
--   through PostgREST). Every role: the API inserts as the user, and the
--   worker never writes these columns.
-- social_post_job_json: the status body gains "options".

-- The helpers below run inside social_post_check_options, whose search_path
-- (pg_catalog) they use: a SET clause of their own would cost more than
-- their work.

-- The first 40 bytes of a name from the body, cut on a character boundary
-- (as the API quotes it).
CREATE OR REPLACE FUNCTION public.social_post_clip_name(name text) RETURNS text
LANGUAGE plpgsql
IMMUTABLE
AS $$
DECLARE
    clipped text := left(name, 40);
BEGIN
    WHILE octet_length(clipped) > 40 LOOP
        clipped := left(clipped, -1);
    END LOOP;
    RETURN clipped;
END
$$;

-- The problem with value v of option key of platform, or NULL.
CREATE OR REPLACE FUNCTION public.social_post_option_problem(platform text, key text, v jsonb)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
AS $$
DECLARE
    path text := format('options.%s.%s', platform, key);
    kind text;
    s text := CASE WHEN jsonb_typeof(v) = 'string' THEN v #>> '{}' END;
    total bigint;
BEGIN
    kind := CASE platform || '.' || key
        WHEN 'youtube.title' THEN 'text' WHEN 'youtube.description' THEN 'text'
        WHEN 'youtube.privacyStatus' THEN 'youtube_privacy' WHEN 'youtube.tags' THEN 'tags'
        WHEN 'youtube.categoryId' THEN 'digits' WHEN 'youtube.madeForKids' THEN 'flag'
        WHEN 'youtube.notifySubscribers' THEN 'flag' WHEN 'youtube.thumbnailUrl' THEN 'url'
        WHEN 'facebook.title' THEN 'text' WHEN 'facebook.description' THEN 'text'
        WHEN 'facebook.asReel' THEN 'flag'
        WHEN 'instagram.title' THEN 'text' WHEN 'instagram.description' THEN 'text'
        WHEN 'instagram.coverUrl' THEN 'url' WHEN 'instagram.thumbOffsetMs' THEN 'ms'
        WHEN 'instagram.shareToFeed' THEN 'flag' WHEN 'instagram.collaborators' THEN 'usernames'
        WHEN 'instagram.locationId' THEN 'digits'
        WHEN 'tiktok.title' THEN 'text' WHEN 'tiktok.description' THEN 'text'
        WHEN 'tiktok.privacyLevel' THEN 'tiktok_privacy' WHEN 'tiktok.disableComment' THEN 'flag'
        WHEN 'tiktok.disableDuet' THEN 'flag' WHEN 'tiktok.disableStitch' THEN 'flag'
        WHEN 'tiktok.videoCoverTimestampMs' THEN 'ms' WHEN 'tiktok.brandContentToggle' THEN 'flag'
        WHEN 'tiktok.brandOrganicToggle' THEN 'flag' WHEN 'tiktok.isAigc' THEN 'flag'
    END;
    IF kind IS NULL THEN
        RETURN format('options.%s.%s is not an option of %s; use: %s', platform,
                      public.social_post_clip_name(key),
                      platform, CASE platform
            WHEN 'youtube' THEN 'title, description, privacyStatus, tags, categoryId, '
                                'madeForKids, notifySubscribers, thumbnailUrl'
            WHEN 'facebook' THEN 'title, description, asReel'
            WHEN 'instagram' THEN 'title, description, coverUrl, thumbOffsetMs, shareToFeed, '
                                  'collaborators, locationId'
            ELSE 'title, description, privacyLevel, disableComment, disableDuet, '
                 'disableStitch, videoCoverTimestampMs, brandContentToggle, '
                 'brandOrganicToggle, isAigc' END);
    END IF;
    IF kind = 'text' AND s IS NULL THEN
        RETURN path || ' must be a string';
    ELSIF kind = 'flag' AND jsonb_typeof(v) IS DISTINCT FROM 'boolean' THEN
        RETURN path || ' must be true or false';
    ELSIF kind = 'youtube_privacy'
          AND NOT coalesce(s = ANY (ARRAY['public', 'unlisted', 'private']), false) THEN
        RETURN path || ' must be one of: public, unlisted, private';
    ELSIF kind = 'tiktok_privacy' AND NOT coalesce(s = ANY (ARRAY['PUBLIC_TO_EVERYONE',
            'MUTUAL_FOLLOW_FRIENDS', 'FOLLOWER_OF_CREATOR', 'SELF_ONLY']), false) THEN
        RETURN path || ' must be one of: PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, '
                       'FOLLOWER_OF_CREATOR, SELF_ONLY';
    ELSIF kind = 'digits' AND coalesce(s !~ '^[0-9]{1,20}$', true) THEN
        RETURN path || ' must be a string of 1 to 20 digits';
    ELSIF kind = 'url' AND coalesce(s !~ '^https?://[^/?#]' OR octet_length(s) > 2048
                                    OR s ~ '[\x01-\x20\x7f]', true) THEN
        RETURN path || ' must be an http or https URL of at most 2048 bytes';
    ELSIF kind = 'ms' AND (jsonb_typeof(v) IS DISTINCT FROM 'number'
                           OR v::text::numeric NOT BETWEEN 0 AND 2147483647
                           OR v::text::numeric <> trunc(v::text::numeric)) THEN
        RETURN path || ' must be a whole number of milliseconds from 0 to 2147483647';
    ELSIF kind = 'tags' THEN
        IF jsonb_typeof(v) IS DISTINCT FROM 'array' THEN
            RETURN path || ' must be an array of strings';
        END IF;
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(v) e
                   WHERE jsonb_typeof(e) <> 'string' OR e #>> '{}' = '') THEN
            RETURN path || ' must contain only non-empty strings';
        END IF;
        -- YouTube counts one comma-separated text, a tag with a space quoted
        SELECT coalesce(sum(char_length(e #>> '{}')
                            + CASE WHEN strpos(e #>> '{}', ' ') > 0 THEN 2 ELSE 0 END), 0)
               + greatest(count(*) - 1, 0)
        INTO total FROM jsonb_array_elements(v) e;
        IF total > 500 THEN
            RETURN path || ' are longer than YouTube''s 500 characters in all';
        END IF;
    ELSIF kind = 'usernames' THEN
        IF jsonb_typeof(v) IS DISTINCT FROM 'array' THEN
            RETURN path || ' must be an array of Instagram usernames';
        END IF;
        IF jsonb_array_length(v) > 3 THEN
            RETURN path || ' has at most 3 usernames';
        END IF;
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(v) e
                   WHERE jsonb_typeof(e) <> 'string' OR e #>> '{}' !~ '^[A-Za-z0-9._]{1,30}$') THEN
            RETURN path || ' must contain Instagram usernames: up to 30 letters, digits, '
                           '''.'' or ''_''';
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- The problem with platform's text (its own title or description, else the
-- job's), checked only where it has text of its own; NULL when none.
-- The limits of catalog.c: YouTube's title 100 characters and description
-- 5000 bytes without '<' or '>'; the caption (title, blank line,
-- description) of Instagram 2200 characters and of TikTok 2200 UTF-16 units.
CREATE OR REPLACE FUNCTION public.social_post_options_text_problem(platform text, opts jsonb,
                                                                   title text, description text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
AS $$
DECLARE
    own_title text := nullif(opts ->> 'title', '');
    own_desc text := opts ->> 'description';
    t text := coalesce(own_title, title);
    d text := coalesce(own_desc, description);
    tname text := CASE WHEN own_title IS NOT NULL THEN format('options.%s.title', platform)
                       ELSE 'title' END;
    dname text := CASE WHEN own_desc IS NOT NULL THEN format('options.%s.description', platform)
                       ELSE 'description' END;
    caption text;
    units bigint;
    limit_name text := CASE platform WHEN 'instagram' THEN 'Instagram' ELSE 'TikTok' END;
BEGIN
    IF own_title IS NULL AND own_desc IS NULL THEN
        RETURN NULL;
    END IF;
    IF platform = 'youtube' THEN
        IF own_title IS NOT NULL AND char_length(own_title) > 100 THEN
            RETURN tname || ' is longer than YouTube''s 100 characters';
        ELSIF own_desc IS NOT NULL AND octet_length(own_desc) > 5000 THEN
            RETURN dname || ' is longer than YouTube''s 5000 bytes';
        ELSIF own_title ~ '[<>]' THEN
            RETURN 'YouTube does not accept ''<'' or ''>'' in ' || tname;
        ELSIF own_desc ~ '[<>]' THEN
            RETURN 'YouTube does not accept ''<'' or ''>'' in ' || dname;
        END IF;
        RETURN NULL;
    ELSIF platform NOT IN ('instagram', 'tiktok') THEN
        RETURN NULL;
    END IF;
    caption := concat_ws(E'\n\n', nullif(t, ''), nullif(d, ''));
    units := char_length(caption);
    IF platform = 'tiktok' THEN -- characters above U+FFFF are two UTF-16 units
        units := units + char_length(regexp_replace(caption, '[^\U00010000-\U0010FFFF]', '', 'g'));
    END IF;
    IF units <= 2200 THEN
        RETURN NULL;
    END IF;
    RETURN format('%s %s longer than %s''s 2200 character caption',
                  concat_ws(' and ', CASE WHEN t <> '' THEN tname END,
                            CASE WHEN d <> '' THEN dname END),
                  CASE WHEN t <> '' AND d <> '' THEN 'together are' ELSE 'is' END, limit_name);
END
$$;

CREATE OR REPLACE FUNCTION public.social_post_check_options(platforms jsonb, options jsonb,
                                                            title text DEFAULT NULL,
                                                            description text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SECURITY DEFINER -- to call its helpers, which users may not
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    chosen text[] := ARRAY(SELECT e #>> '{}'
                           FROM jsonb_array_elements(CASE WHEN jsonb_typeof(platforms) = 'array'
                                                          THEN platforms ELSE '[]' END) e
                           WHERE jsonb_typeof(e) = 'string');
    platform text;
    opts jsonb;
    key text;
    v jsonb;
    problem text;
BEGIN
    IF jsonb_typeof(options) IS DISTINCT FROM 'object' THEN
        RETURN 'options must be an object keyed by platform';
    END IF;
    IF octet_length(options::text) > 65536 THEN -- the API's body limit
        RETURN 'options is longer than 64 KiB';
    END IF;
    FOR platform, opts IN SELECT o.key, o.value FROM jsonb_each(options) o LOOP
        IF platform NOT IN ('youtube', 'facebook', 'instagram', 'tiktok') THEN
            RETURN format('options.%s is not a platform; use one of: youtube, facebook, '
                          'instagram, tiktok', public.social_post_clip_name(platform));
        END IF;
        IF NOT platform = ANY (chosen) THEN
            RETURN format('options.%1$s is for a platform this job does not post to: add %1$s '
                          'to platforms or leave options.%1$s out', platform);
        END IF;
        IF jsonb_typeof(opts) <> 'object' THEN
            RETURN format('options.%1$s must be an object of %1$s''s options', platform);
        END IF;
        FOR key, v IN SELECT o.key, o.value FROM jsonb_each(opts) o LOOP
            problem := public.social_post_option_problem(platform, key, v);
            IF problem IS NOT NULL THEN
                RETURN problem;
            END IF;
        END LOOP;
    END LOOP;
    IF 'tiktok' = ANY (chosen) AND NOT coalesce(options -> 'tiktok' ? 'privacyLevel', false) THEN
        RETURN 'options.tiktok.privacyLevel is required to post to tiktok: one of '
               'PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, FOLLOWER_OF_CREATOR, SELF_ONLY';
    END IF;
    FOR platform, opts IN SELECT o.key, o.value FROM jsonb_each(options) o LOOP
        problem := public.social_post_options_text_problem(platform, opts, title, description);
        IF problem IS NOT NULL THEN
            RETURN problem;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;

REVOKE ALL ON FUNCTION public.social_post_clip_name(text) FROM PUBLIC, anon, authenticated;
REVOKE ALL ON FUNCTION public.social_post_option_problem(text, text, jsonb)
    FROM PUBLIC, anon, authenticated;
REVOKE ALL ON FUNCTION public.social_post_options_text_problem(text, jsonb, text, text)
    FROM PUBLIC, anon, authenticated;
REVOKE ALL ON FUNCTION public.social_post_check_options(jsonb, jsonb, text, text) FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION public.social_post_check_options(jsonb, jsonb, text, text)
    TO authenticated, service_role;

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
    problem := public.social_post_check_options(NEW.platforms, NEW.options, NEW.title,
                                                NEW.description);
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION USING MESSAGE = problem, ERRCODE = 'check_violation', COLUMN = 'options',
            TABLE = 'social_post_jobs', SCHEMA = 'public';
    END IF;
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION public.social_post_jobs_check_options() FROM PUBLIC, anon, authenticated;

DO $options_trigger$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = 'public.social_post_jobs'::regclass
                     AND tgname = 'social_post_jobs_check_options') THEN
        CREATE TRIGGER social_post_jobs_check_options
            BEFORE INSERT OR UPDATE OF platforms, options, title, description
            ON public.social_post_jobs
            FOR EACH ROW EXECUTE FUNCTION public.social_post_jobs_check_options();
    END IF;
END
$options_trigger$;

-- The status body of a job (one job, the list, webhooks), with its options.
CREATE OR REPLACE FUNCTION public.social_post_job_json(j public.social_post_jobs) RETURNS json
LANGUAGE sql
STABLE
AS $$
    SELECT json_build_object(
        'jobId', j.id, 'status', j.status, 'videoId', j.video_id, 'platforms', j.platforms,
        'title', j.title, 'description', j.description, 'options', j.options,
        'results', j.results, 'error', j.error,
        'createdAt', to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'updatedAt', to_char(j.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
$$;
