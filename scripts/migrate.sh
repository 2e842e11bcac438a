#!/usr/bin/env bash
# migrate.sh [DATABASE_URL]: applies social-post's migrations that have not run yet.
#
# Every migrations/*.sql file, in filename order, that is not recorded in
# public.social_post_schema_migrations is applied in its own transaction
# (psql --single-transaction) together with the row that records it, so a file
# either ran completely and is recorded, or did not run at all. Files recorded
# earlier are skipped; a warning says when one changed since (sha256).
# Migrations are idempotent, so two runners at once are harmless: each file's
# transaction takes an advisory lock first, and recording ignores duplicates.
#
# DATABASE_URL: the argument, else the environment; connect as a superuser (on
# Supabase: the postgres role). The migrations directory is the one beside this
# script (installed: share/social-post/migrations) or ../migrations (source tree).
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -d "$script_dir/migrations" ]; then
    migrations_dir=$script_dir/migrations
elif [ -d "$script_dir/../migrations" ]; then
    migrations_dir=$(cd "$script_dir/../migrations" && pwd)
else
    echo "migrate.sh: no migrations directory beside $script_dir or in its parent" >&2
    exit 1
fi

database_url=${1:-${DATABASE_URL:-}}
if [ -z "$database_url" ]; then
    echo "usage: migrate.sh [DATABASE_URL]  (or set DATABASE_URL)" >&2
    exit 2
fi

command -v psql >/dev/null || { echo "migrate.sh: psql not found on PATH" >&2; exit 1; }
command -v sha256sum >/dev/null || { echo "migrate.sh: sha256sum not found" >&2; exit 1; }

psql_run() {
    psql -X -q -v ON_ERROR_STOP=1 -d "$database_url" "$@"
}

# Advisory lock key shared by all runners ("social-post migrations").
lock_key=7462851093

psql_run -v lock_key="$lock_key" <<'SQL'
SET client_min_messages = warning;
SELECT pg_advisory_lock(:lock_key) \g /dev/null
DO $create$
BEGIN
    IF to_regclass('public.social_post_schema_migrations') IS NULL THEN
        CREATE TABLE public.social_post_schema_migrations (
            filename text PRIMARY KEY,
            checksum text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        );
        COMMENT ON TABLE public.social_post_schema_migrations IS
            'Migrations applied by social-post''s scripts/migrate.sh.';
        -- Bookkeeping, not API data (Supabase's default privileges would expose it).
        REVOKE ALL ON public.social_post_schema_migrations FROM PUBLIC;
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
            REVOKE ALL ON public.social_post_schema_migrations FROM anon;
        END IF;
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
            REVOKE ALL ON public.social_post_schema_migrations FROM authenticated;
        END IF;
    END IF;
END
$create$;
SELECT pg_advisory_unlock(:lock_key) \g /dev/null
SQL

declare -A recorded=()
while IFS='|' read -r name sum; do
    [ -n "$name" ] && recorded[$name]=$sum
done < <(psql_run -A -t -c 'SELECT filename, checksum FROM public.social_post_schema_migrations')

shopt -s nullglob
files=()
while IFS= read -r f; do files+=("$f"); done < <(
    for f in "$migrations_dir"/*.sql; do printf '%s\n' "$f"; done | LC_ALL=C sort)
if [ ${#files[@]} -eq 0 ]; then
    echo "migrate.sh: no migrations in $migrations_dir" >&2
    exit 1
fi

applied=0
for file in "${files[@]}"; do
    name=$(basename "$file")
    sum=$(sha256sum "$file" | cut -d' ' -f1)
    if [ -n "${recorded[$name]+set}" ]; then
        if [ "${recorded[$name]}" != "$sum" ]; then
            echo "migrate.sh: warning: $name changed since it was applied (sha256 ${recorded[$name]} then, $sum now); not applying it again" >&2
        fi
        continue
    fi
    if ! psql_run --single-transaction -v filename="$name" -v checksum="$sum" \
        -c 'SET client_min_messages = warning' \
        -c "SELECT pg_advisory_xact_lock($lock_key)" -o /dev/null \
        -f "$file" \
        -f - <<'SQL'
INSERT INTO public.social_post_schema_migrations (filename, checksum)
VALUES (:'filename', :'checksum')
ON CONFLICT (filename) DO NOTHING;
SQL
    then
        echo "migrate.sh: $name failed and was rolled back; later files were not applied" >&2
        exit 1
    fi
    echo "applied $name"
    applied=$((applied + 1))
done

if [ "$applied" -eq 0 ]; then
    echo "up to date"
fi
