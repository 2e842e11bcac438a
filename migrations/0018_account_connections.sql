-- 0018_account_connections: users connect and disconnect their platform
-- accounts themselves (OAuth authorization-code flows run by the HTTP API).
--
--   social_post_oauth_states   one row per started connection: the user, the
--                              platform, the login it goes through (Instagram:
--                              'instagram' or 'facebook'), the PKCE verifier, a hash of the
--                              browser's connect cookie, an expiry (10 minutes)
--                              and when it was used (single use) and finished.
--   social_post_account_choices  a connection that found several accounts (a
--                              user with several Facebook Pages): the options,
--                              their tokens, until the user chooses one.
--   social_accounts            gains display_name and connected_at.
--   social_post_account_outcomes  how many connections ended how, by platform
--                              (connected, choose, access_denied,
--                              unknown_state, ..., exchange_failed): counters
--                              for /metrics, read by social_post_metrics
--                              through social_post_account_stats().
--
-- The API's role never reads a token: every write and delete goes through the
-- SECURITY DEFINER functions below, which act on the caller's own rows
-- (auth.uid()) or on the user a state names (the state is the capability of
-- a callback, which carries no bearer token), and return no token, except
-- social_post_account_remove, which hands the removed row's tokens back once
-- so the platform can be told to revoke them. Tables: no grants to anon or
-- authenticated, RLS on without policies.

ALTER TABLE public.social_accounts ADD COLUMN IF NOT EXISTS display_name text;
ALTER TABLE public.social_accounts ADD COLUMN IF NOT EXISTS connected_at timestamptz;

CREATE TABLE IF NOT EXISTS public.social_post_oauth_states (
    state text PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    platform text NOT NULL CHECK (platform IN ('youtube', 'facebook', 'instagram', 'tiktok')),
    login text CHECK (login IS NULL OR login IN ('facebook', 'instagram')),
    verifier text NOT NULL,
    browser_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX IF NOT EXISTS social_post_oauth_states_user ON public.social_post_oauth_states (user_id);
ALTER TABLE public.social_post_oauth_states ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.social_post_oauth_states FROM PUBLIC, anon, authenticated;
GRANT ALL ON public.social_post_oauth_states TO service_role;

CREATE TABLE IF NOT EXISTS public.social_post_account_choices (
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    platform text NOT NULL CHECK (platform IN ('youtube', 'facebook', 'instagram', 'tiktok')),
    options jsonb NOT NULL,  -- [{"id", "name", "access_token", "login"}]
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, platform)
);
ALTER TABLE public.social_post_account_choices ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.social_post_account_choices FROM PUBLIC, anon, authenticated;
GRANT ALL ON public.social_post_account_choices TO service_role;

CREATE TABLE IF NOT EXISTS public.social_post_account_outcomes (
    platform text NOT NULL,
    outcome text NOT NULL,
    total bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (platform, outcome)
);
ALTER TABLE public.social_post_account_outcomes ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON public.social_post_account_outcomes FROM PUBLIC, anon, authenticated;
GRANT ALL ON public.social_post_account_outcomes TO service_role;

-- Counts one connection's outcome (internal).
CREATE OR REPLACE FUNCTION public.social_post_account_count(p_platform text, p_outcome text)
RETURNS void
LANGUAGE sql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    INSERT INTO public.social_post_account_outcomes AS o (platform, outcome, total)
    VALUES (coalesce(p_platform, 'unknown'), p_outcome, 1)
    ON CONFLICT (platform, outcome) DO UPDATE SET total = o.total + 1
$$;

-- The counters, for the metrics role.
CREATE OR REPLACE FUNCTION public.social_post_account_stats()
RETURNS TABLE (platform text, outcome text, total bigint)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    SELECT o.platform, o.outcome, o.total FROM public.social_post_account_outcomes o
    ORDER BY 1, 2
$$;

-- Starts a connection for the caller: a new state (at most 20 open per user;
-- the caller's expired ones are forgotten here).
CREATE OR REPLACE FUNCTION public.social_post_account_begin(
    p_platform text, p_login text, p_state text, p_verifier text, p_browser text) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    me uuid := auth.uid();
BEGIN
    IF me IS NULL THEN
        RAISE EXCEPTION 'no caller' USING ERRCODE = '42501';
    END IF;
    DELETE FROM public.social_post_oauth_states
    WHERE user_id = me AND expires_at < now() - interval '1 day';
    IF (SELECT count(*) FROM public.social_post_oauth_states
        WHERE user_id = me AND used_at IS NULL AND expires_at > now()) >= 20 THEN
        RAISE EXCEPTION 'too many connections started at once: finish one, or start again in 10 minutes'
            USING ERRCODE = 'SP409';
    END IF;
    INSERT INTO public.social_post_oauth_states (state, user_id, platform, login, verifier,
                                                 browser_hash, expires_at)
    VALUES (p_state, me, p_platform, p_login, p_verifier, sha256(convert_to(p_browser, 'UTF8')),
            now() + interval '10 minutes');
END
$$;

-- Takes a state as a callback brings it back (no caller: the state and the
-- browser's cookie are the proof). Marks it used whatever the outcome, so it
-- never works twice. outcome: ok, unknown_state, expired_state, used_state,
-- other_session (the cookie of another browser: another user's state). The
-- user comes back only with ok: the tokens found next are sealed for them.
CREATE OR REPLACE FUNCTION public.social_post_account_take(p_state text, p_browser text)
RETURNS TABLE (outcome text, platform text, verifier text, login text, user_id uuid)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    s public.social_post_oauth_states;
BEGIN
    SELECT * INTO s FROM public.social_post_oauth_states o WHERE o.state = p_state FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM public.social_post_account_count(NULL, 'unknown_state');
        RETURN QUERY SELECT 'unknown_state'::text, NULL::text, NULL::text, NULL::text, NULL::uuid;
        RETURN;
    END IF;
    UPDATE public.social_post_oauth_states o SET used_at = coalesce(o.used_at, now())
    WHERE o.state = p_state;
    IF s.used_at IS NOT NULL THEN
        PERFORM public.social_post_account_count(s.platform, 'used_state');
        RETURN QUERY SELECT 'used_state'::text, s.platform, NULL::text, NULL::text, NULL::uuid;
    ELSIF s.expires_at < now() THEN
        PERFORM public.social_post_account_count(s.platform, 'expired_state');
        RETURN QUERY SELECT 'expired_state'::text, s.platform, NULL::text, NULL::text, NULL::uuid;
    ELSIF p_browser IS NULL OR s.browser_hash <> sha256(convert_to(p_browser, 'UTF8')) THEN
        PERFORM public.social_post_account_count(s.platform, 'other_session');
        RETURN QUERY SELECT 'other_session'::text, s.platform, NULL::text, NULL::text, NULL::uuid;
    ELSE
        RETURN QUERY SELECT 'ok'::text, s.platform, s.verifier, s.login, s.user_id;
    END IF;
END
$$;

-- The state's user, when the state was taken as ok within its 10 minutes and
-- has not finished; marks it finished. Raises otherwise.
CREATE OR REPLACE FUNCTION public.social_post_account_finish(p_state text)
RETURNS public.social_post_oauth_states
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    s public.social_post_oauth_states;
BEGIN
    UPDATE public.social_post_oauth_states o SET finished_at = now()
    WHERE o.state = p_state AND o.used_at IS NOT NULL AND o.finished_at IS NULL
      AND o.used_at < o.expires_at
    RETURNING * INTO s;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'state not taken or already finished' USING ERRCODE = '22023';
    END IF;
    RETURN s;
END
$$;

-- Stores the account a callback found, for the state's user (one row per
-- user and platform: a new connection replaces the old one).
CREATE OR REPLACE FUNCTION public.social_post_account_store(
    p_state text, p_account_id text, p_display_name text, p_access_token text,
    p_refresh_token text, p_expires_at timestamptz, p_login text) RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    s public.social_post_oauth_states := public.social_post_account_finish(p_state);
BEGIN
    INSERT INTO public.social_accounts AS a (user_id, platform, account_id, display_name,
                                             access_token, refresh_token, token_expires_at,
                                             login, connected_at)
    VALUES (s.user_id, s.platform, p_account_id, p_display_name, p_access_token,
            p_refresh_token, p_expires_at, p_login, now())
    ON CONFLICT (user_id, platform) DO UPDATE
        SET account_id = EXCLUDED.account_id, display_name = EXCLUDED.display_name,
            access_token = EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token,
            token_expires_at = EXCLUDED.token_expires_at, login = EXCLUDED.login,
            connected_at = EXCLUDED.connected_at;
    DELETE FROM public.social_post_account_choices c
    WHERE c.user_id = s.user_id AND c.platform = s.platform;
    PERFORM public.social_post_account_count(s.platform, 'connected');
    RETURN s.platform;
END
$$;

-- Keeps the accounts a callback found when the user must choose one
-- (p_options: [{"id", "name", "access_token", "login"}]), for 10 minutes.
CREATE OR REPLACE FUNCTION public.social_post_account_offer(p_state text, p_options jsonb)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    s public.social_post_oauth_states := public.social_post_account_finish(p_state);
BEGIN
    INSERT INTO public.social_post_account_choices (user_id, platform, options, expires_at)
    VALUES (s.user_id, s.platform, p_options, now() + interval '10 minutes')
    ON CONFLICT (user_id, platform) DO UPDATE
        SET options = EXCLUDED.options, expires_at = EXCLUDED.expires_at;
    PERFORM public.social_post_account_count(s.platform, 'choose');
    RETURN s.platform;
END
$$;

-- A taken state whose connection failed after all (consent refused, the
-- exchange or the lookup failed): finished, counted, nothing stored.
CREATE OR REPLACE FUNCTION public.social_post_account_fail(p_state text, p_reason text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    s public.social_post_oauth_states := public.social_post_account_finish(p_state);
BEGIN
    PERFORM public.social_post_account_count(s.platform, left(p_reason, 32));
END
$$;

-- The caller chooses one of the accounts offered: it becomes their account
-- of that platform. False when there is no such open offer.
CREATE OR REPLACE FUNCTION public.social_post_account_choose(p_platform text, p_account_id text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    me uuid := auth.uid();
    o jsonb;
BEGIN
    SELECT e INTO o
    FROM public.social_post_account_choices c, jsonb_array_elements(c.options) e
    WHERE c.user_id = me AND c.platform = p_platform AND c.expires_at > now()
      AND e ->> 'id' = p_account_id;
    IF o IS NULL THEN
        RETURN false;
    END IF;
    INSERT INTO public.social_accounts AS a (user_id, platform, account_id, display_name,
                                             access_token, refresh_token, token_expires_at,
                                             login, connected_at)
    VALUES (me, p_platform, o ->> 'id', o ->> 'name', o ->> 'access_token', NULL, NULL,
            o ->> 'login', now())
    ON CONFLICT (user_id, platform) DO UPDATE
        SET account_id = EXCLUDED.account_id, display_name = EXCLUDED.display_name,
            access_token = EXCLUDED.access_token, refresh_token = NULL,
            token_expires_at = NULL, login = EXCLUDED.login, connected_at = now();
    DELETE FROM public.social_post_account_choices c
    WHERE c.user_id = me AND c.platform = p_platform;
    RETURN true;
END
$$;

-- The caller's accounts and open choices, without a token. needs_reconnect:
-- an access token that has expired with no refresh token to renew it.
CREATE OR REPLACE FUNCTION public.social_post_accounts_of_caller()
RETURNS TABLE (platform text, account_id text, display_name text, connected_at timestamptz,
               needs_reconnect boolean, choices jsonb)
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    SELECT a.platform, a.account_id, a.display_name, coalesce(a.connected_at, a.created_at),
           a.access_token IS NULL
               OR (a.refresh_token IS NULL AND a.token_expires_at IS NOT NULL
                   AND a.token_expires_at < now()),
           NULL::jsonb
    FROM public.social_accounts a WHERE a.user_id = auth.uid()
    UNION ALL
    SELECT c.platform, NULL, NULL, NULL, false,
           (SELECT jsonb_agg(jsonb_build_object('id', e ->> 'id', 'name', e ->> 'name'))
            FROM jsonb_array_elements(c.options) e)
    FROM public.social_post_account_choices c
    WHERE c.user_id = auth.uid() AND c.expires_at > now()
    ORDER BY 1, 6 NULLS FIRST
$$;

-- Removes the caller's account of a platform and hands its tokens back once,
-- for revoking them at the platform; no row when there was none.
CREATE OR REPLACE FUNCTION public.social_post_account_remove(p_platform text)
RETURNS TABLE (access_token text, refresh_token text, login text)
LANGUAGE sql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    WITH gone AS (
        DELETE FROM public.social_post_account_choices c
        WHERE c.user_id = auth.uid() AND c.platform = p_platform
    )
    DELETE FROM public.social_accounts a
    WHERE a.user_id = auth.uid() AND a.platform = p_platform
    RETURNING a.access_token, a.refresh_token, a.login
$$;

-- Users call the functions above as themselves (the HTTP API, or Supabase's
-- PostgREST); anon never. finish and count are internal; stats is the
-- metrics role's. Only what changes is touched.
DO $grants$
DECLARE
    f record;
    internal boolean;
BEGIN
    FOR f IN SELECT p.oid::regprocedure AS sig, p.proname::text AS name
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND p.proname IN (
                 'social_post_account_begin', 'social_post_account_take',
                 'social_post_account_finish', 'social_post_account_store',
                 'social_post_account_offer', 'social_post_account_choose',
                 'social_post_accounts_of_caller', 'social_post_account_remove',
                 'social_post_account_fail', 'social_post_account_count',
                 'social_post_account_stats') LOOP
        internal := f.name IN ('social_post_account_finish', 'social_post_account_count',
                               'social_post_account_stats');
        IF has_function_privilege('anon', f.sig, 'EXECUTE')
           OR (internal AND has_function_privilege('authenticated', f.sig, 'EXECUTE')) THEN
            EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, anon', f.sig);
            IF internal THEN
                EXECUTE format('REVOKE ALL ON FUNCTION %s FROM authenticated', f.sig);
            END IF;
        END IF;
        IF NOT internal AND NOT has_function_privilege('authenticated', f.sig, 'EXECUTE') THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO authenticated', f.sig);
        END IF;
        IF f.name = 'social_post_account_stats'
           AND NOT has_function_privilege('social_post_metrics', f.sig, 'EXECUTE') THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO social_post_metrics', f.sig);
        END IF;
    END LOOP;
END
$grants$;
