-- 0002_app_tables: the tables of the user's app that social-post reads.
--
--   product_videos   the videos a user may post (the rest of the app writes it)
--   social_accounts  per-user platform credentials, read by the worker only
--   scheduled_posts  the history rows the worker writes, one per platform result
--
-- Each table is created only when it is missing, and its grants and row-level
-- security policies only together with it: an existing table (a Supabase
-- project that already has product_videos or scheduled_posts) is never
-- replaced or altered. A WARNING names the columns social-post needs that an
-- existing table lacks.
-- social_accounts holds OAuth tokens: RLS is on with no policy for anon or
-- authenticated and every privilege revoked from them, so no API role can read
-- it (service_role, with BYPASSRLS, has all).

-- Keeps updated_at current on every UPDATE; shared by this service's tables.
CREATE OR REPLACE FUNCTION public.social_post_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

DO $product_videos$
BEGIN
    IF to_regclass('public.product_videos') IS NULL THEN
        CREATE TABLE public.product_videos (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
            title text,
            video_url text,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX product_videos_user_id_idx ON public.product_videos (user_id);
        ALTER TABLE public.product_videos ENABLE ROW LEVEL SECURITY;
        CREATE POLICY product_videos_select_own ON public.product_videos
            FOR SELECT TO authenticated USING (user_id = (SELECT auth.uid()));
        CREATE POLICY product_videos_insert_own ON public.product_videos
            FOR INSERT TO authenticated WITH CHECK (user_id = (SELECT auth.uid()));
        CREATE POLICY product_videos_update_own ON public.product_videos
            FOR UPDATE TO authenticated
            USING (user_id = (SELECT auth.uid())) WITH CHECK (user_id = (SELECT auth.uid()));
        CREATE POLICY product_videos_delete_own ON public.product_videos
            FOR DELETE TO authenticated USING (user_id = (SELECT auth.uid()));
        REVOKE ALL ON public.product_videos FROM anon;
        GRANT SELECT, INSERT, UPDATE, DELETE ON public.product_videos TO authenticated;
        GRANT ALL ON public.product_videos TO service_role;
    END IF;
END
$product_videos$;

DO $social_accounts$
BEGIN
    IF to_regclass('public.social_accounts') IS NULL THEN
        CREATE TABLE public.social_accounts (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
            platform text NOT NULL CHECK (platform IN ('youtube', 'facebook', 'instagram')),
            account_id text,
            access_token text,
            refresh_token text,
            token_expires_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (user_id, platform)
        );
        CREATE TRIGGER social_accounts_touch_updated_at
            BEFORE UPDATE ON public.social_accounts
            FOR EACH ROW EXECUTE FUNCTION public.social_post_touch_updated_at();
        ALTER TABLE public.social_accounts ENABLE ROW LEVEL SECURITY;
        REVOKE ALL ON public.social_accounts FROM anon, authenticated;
        GRANT ALL ON public.social_accounts TO service_role;
        COMMENT ON TABLE public.social_accounts IS
            'Platform credentials per user; never readable through the API (no grants, no policies).';
    ELSIF has_table_privilege('authenticated', 'public.social_accounts', 'SELECT')
          OR has_table_privilege('anon', 'public.social_accounts', 'SELECT') THEN
        RAISE WARNING 'public.social_accounts already exists and anon or authenticated may SELECT it: '
                      'make sure its RLS policies never expose access tokens';
    END IF;
END
$social_accounts$;

DO $scheduled_posts$
BEGIN
    IF to_regclass('public.scheduled_posts') IS NULL THEN
        CREATE TABLE public.scheduled_posts (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id uuid REFERENCES auth.users (id) ON DELETE CASCADE,
            video_id uuid,
            job_id uuid,
            platform text,
            status text,
            post_url text,
            post_id text,
            error text,
            posted_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX scheduled_posts_user_id_idx ON public.scheduled_posts (user_id);
        CREATE INDEX scheduled_posts_job_id_idx ON public.scheduled_posts (job_id);
        ALTER TABLE public.scheduled_posts ENABLE ROW LEVEL SECURITY;
        CREATE POLICY scheduled_posts_select_own ON public.scheduled_posts
            FOR SELECT TO authenticated USING (user_id = (SELECT auth.uid()));
        REVOKE ALL ON public.scheduled_posts FROM anon;
        GRANT SELECT ON public.scheduled_posts TO authenticated;
        GRANT ALL ON public.scheduled_posts TO service_role;
    END IF;
END
$scheduled_posts$;

-- Warns about columns social-post uses that a pre-existing table lacks.
DO $check_columns$
DECLARE
    wanted constant jsonb := '{
        "product_videos": ["id", "user_id", "title", "video_url"],
        "social_accounts": ["user_id", "platform", "account_id", "access_token",
                            "refresh_token", "token_expires_at"],
        "scheduled_posts": ["user_id", "video_id", "job_id", "platform", "status",
                            "post_url", "post_id", "error", "posted_at"]
    }';
    tbl text;
    missing text;
BEGIN
    FOR tbl IN SELECT jsonb_object_keys(wanted) LOOP
        SELECT string_agg(c, ', ') INTO missing
        FROM jsonb_array_elements_text(wanted -> tbl) AS c
        WHERE NOT EXISTS (SELECT 1 FROM information_schema.columns ic
                          WHERE ic.table_schema = 'public' AND ic.table_name = tbl
                            AND ic.column_name = c);
        IF missing IS NOT NULL THEN
            RAISE WARNING 'public.% lacks column(s) social-post uses: %', tbl, missing;
        END IF;
    END LOOP;
END
$check_columns$;
