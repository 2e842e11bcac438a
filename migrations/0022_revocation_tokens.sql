-- 0022_revocation_tokens: disconnecting revokes with the right token, and
-- users never receive a token back.
--
--   social_accounts            gains user_token: the Facebook Login user's
--                              long-lived user access token of a Facebook Page
--                              or of an Instagram account linked to a Page
--                              (Meta revokes an app's grant only with a user
--                              token, DELETE /{user-id}/permissions), sealed
--                              like the other tokens. Like them, no API role
--                              (anon, authenticated) nor the metrics role may
--                              read it: column privileges, as in 0017.
--   social_post_accounts       a role (NOLOGIN) for the one call that reads a
--                              removed account's tokens to revoke them. The
--                              HTTP programs' login becomes it for that call
--                              (as it becomes social_post_metrics for
--                              /metrics); users are never members of it.
--   social_post_account_store  takes the user token too (p_user_token).
--   social_post_account_choose keeps the user token offered with the Pages.
--   social_post_account_remove is dropped: it returned the removed row's
--                              tokens to the caller (a user calling it over SQL,
--                              e.g. through PostgREST, received them).
--   social_post_account_disconnect  its replacement for users: removes the
--                              caller's account and says only whether there was
--                              one; no token, sealed or not.
--   social_post_account_revoke_take  the same removal for the accounts role,
--                              handing the removed row's tokens back once, for
--                              revoking them at the platform.

ALTER TABLE public.social_accounts ADD COLUMN IF NOT EXISTS user_token text;

-- ------------------------------------------------------------ token columns

-- As 0017: a table-level SELECT becomes a column-level one on every column
-- but the tokens, then every token column is revoked. Running this again
-- changes nothing.
DO $token_columns$
DECLARE
    r text;
    others text;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO others
    FROM pg_attribute
    WHERE attrelid = 'public.social_accounts'::regclass AND attnum > 0 AND NOT attisdropped
      AND attname NOT IN ('access_token', 'refresh_token', 'user_token');
    FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'social_post_metrics'] LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r);
        IF EXISTS (SELECT 1 FROM pg_class c, aclexplode(c.relacl) a
                   WHERE c.oid = 'public.social_accounts'::regclass
                     AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = r)
                     AND a.privilege_type = 'SELECT') THEN
            EXECUTE format('REVOKE SELECT ON public.social_accounts FROM %I', r);
            EXECUTE format('GRANT SELECT (%s) ON public.social_accounts TO %I', others, r);
        END IF;
        IF has_column_privilege(r, 'public.social_accounts', 'access_token', 'SELECT')
           OR has_column_privilege(r, 'public.social_accounts', 'refresh_token', 'SELECT')
           OR has_column_privilege(r, 'public.social_accounts', 'user_token', 'SELECT') THEN
            EXECUTE format('REVOKE SELECT (access_token, refresh_token, user_token)'
                           ' ON public.social_accounts FROM %I', r);
        END IF;
    END LOOP;
    IF has_column_privilege('public', 'public.social_accounts', 'user_token', 'SELECT') THEN
        REVOKE SELECT ON public.social_accounts FROM PUBLIC;
    END IF;
END
$token_columns$;

-- ------------------------------------------------------------ the accounts role

-- Created here; the HTTP programs' login is granted it. A deployment that
-- ran 0018 already has that login as the one member of social_post_metrics
-- that may also become authenticated: it is granted the new role here, so
-- disconnecting keeps revoking without a manual step.
DO $accounts_role$
DECLARE
    login text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'social_post_accounts') THEN
        CREATE ROLE social_post_accounts NOLOGIN NOINHERIT;
    END IF;
    FOR login IN SELECT r.rolname FROM pg_roles r
                 WHERE r.rolcanlogin
                   AND pg_has_role(r.oid, 'social_post_metrics', 'MEMBER')
                   AND pg_has_role(r.oid, 'authenticated', 'MEMBER')
                   AND NOT pg_has_role(r.oid, 'social_post_accounts', 'MEMBER')
                   AND NOT r.rolsuper LOOP
        EXECUTE format('GRANT social_post_accounts TO %I', login);
    END LOOP;
END
$accounts_role$;

-- ------------------------------------------------------------ functions

-- Stores the account a callback found, for the state's user (one row per
-- user and platform: a new connection replaces the old one), with the user
-- token of a Facebook Login (NULL for the other logins).
DROP FUNCTION IF EXISTS public.social_post_account_store(text, text, text, text, text,
                                                         timestamptz, text);
CREATE OR REPLACE FUNCTION public.social_post_account_store(
    p_state text, p_account_id text, p_display_name text, p_access_token text,
    p_refresh_token text, p_expires_at timestamptz, p_login text, p_user_token text)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
    s public.social_post_oauth_states := public.social_post_account_finish(p_state);
BEGIN
    INSERT INTO public.social_accounts AS a (user_id, platform, account_id, display_name,
                                             access_token, refresh_token, token_expires_at,
                                             login, connected_at, user_token)
    VALUES (s.user_id, s.platform, p_account_id, p_display_name, p_access_token,
            p_refresh_token, p_expires_at, p_login, now(), p_user_token)
    ON CONFLICT (user_id, platform) DO UPDATE
        SET account_id = EXCLUDED.account_id, display_name = EXCLUDED.display_name,
            access_token = EXCLUDED.access_token, refresh_token = EXCLUDED.refresh_token,
            token_expires_at = EXCLUDED.token_expires_at, login = EXCLUDED.login,
            connected_at = EXCLUDED.connected_at, user_token = EXCLUDED.user_token;
    DELETE FROM public.social_post_account_choices c
    WHERE c.user_id = s.user_id AND c.platform = s.platform;
    PERFORM public.social_post_account_count(s.platform, 'connected');
    RETURN s.platform;
END
$$;

-- The caller chooses one of the accounts offered (options: [{"id", "name",
-- "access_token", "user_token", "login"}]): it becomes their account of that
-- platform. False when there is no such open offer.
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
                                             login, connected_at, user_token)
    VALUES (me, p_platform, o ->> 'id', o ->> 'name', o ->> 'access_token', NULL, NULL,
            o ->> 'login', now(), o ->> 'user_token')
    ON CONFLICT (user_id, platform) DO UPDATE
        SET account_id = EXCLUDED.account_id, display_name = EXCLUDED.display_name,
            access_token = EXCLUDED.access_token, refresh_token = NULL,
            token_expires_at = NULL, login = EXCLUDED.login, connected_at = now(),
            user_token = EXCLUDED.user_token;
    DELETE FROM public.social_post_account_choices c
    WHERE c.user_id = me AND c.platform = p_platform;
    RETURN true;
END
$$;

-- Removes the caller's account of a platform (and any open choice of it);
-- true when there was an account. No token comes back: the account is only
-- forgotten, not revoked (the HTTP API's DELETE revokes, through
-- social_post_account_revoke_take).
-- 0018's social_post_account_remove handed the tokens back to the caller: it
-- is gone (a function's return type cannot be replaced, and 0018 must still
-- run again as it is). social_post_account_disconnect takes its place.
DROP FUNCTION IF EXISTS public.social_post_account_remove(text);

-- Removes the caller's account of a platform (and any open choice of it);
-- true when there was an account. No token comes back: the account is only
-- forgotten, not revoked (the HTTP API's DELETE revokes, through
-- social_post_account_revoke_take).
CREATE OR REPLACE FUNCTION public.social_post_account_disconnect(p_platform text)
RETURNS boolean
LANGUAGE sql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
    WITH gone AS (
        DELETE FROM public.social_post_account_choices c
        WHERE c.user_id = auth.uid() AND c.platform = p_platform
    ), removed AS (
        DELETE FROM public.social_accounts a
        WHERE a.user_id = auth.uid() AND a.platform = p_platform
        RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM removed)
$$;

-- The same removal, for the accounts role only: the removed row's tokens
-- (as stored: sealed when SOCIAL_POST_TOKEN_KEYS is set) handed back once so
-- that the platform can revoke them; no row when there was none.
CREATE OR REPLACE FUNCTION public.social_post_account_revoke_take(p_platform text)
RETURNS TABLE (access_token text, refresh_token text, user_token text)
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
    RETURNING a.access_token, a.refresh_token, a.user_token
$$;

-- store and disconnect as 0018 granted its functions (authenticated, never anon);
-- revoke_take for the accounts role alone. Only what changes is touched.
DO $grants$
DECLARE
    f record;
BEGIN
    FOR f IN SELECT p.oid::regprocedure AS sig, p.proname::text AS name
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'public' AND p.proname IN (
                 'social_post_account_store', 'social_post_account_disconnect',
                 'social_post_account_revoke_take') LOOP
        IF has_function_privilege('anon', f.sig, 'EXECUTE')
           OR (f.name = 'social_post_account_revoke_take'
               AND has_function_privilege('authenticated', f.sig, 'EXECUTE')) THEN
            EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, anon, authenticated', f.sig);
        END IF;
        IF f.name = 'social_post_account_revoke_take' THEN
            IF NOT has_function_privilege('social_post_accounts', f.sig, 'EXECUTE') THEN
                EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO social_post_accounts', f.sig);
            END IF;
        ELSIF NOT has_function_privilege('authenticated', f.sig, 'EXECUTE') THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO authenticated', f.sig);
        END IF;
    END LOOP;
END
$grants$;
