"""A page of the list after a cursor costs the same however many jobs come
before it: the cursor is an index condition in every plan. With one prepared
statement for the first page and the later ones ("$1 IS NULL OR (created_at,
id) < ..."), Postgres's generic plan (chosen after a few runs) walked the
caller's jobs from the newest down to the cursor, so a deep page of a user
with a long history cost milliseconds of database CPU per request."""
import statistics
import time

import fcgikit
import sptest

HISTORY = 20000


def median_ms(prog, token, query, n=15):
    took = []
    for _ in range(n):
        conn = fcgikit.Connection(prog.port, timeout=30)
        t0 = time.monotonic()
        r = conn.request("GET", query=query, headers={"Authorization": "Bearer " + token})
        took.append((time.monotonic() - t0) * 1000)
        conn.close()
        assert r.status == 200, r
        assert len(r.json["jobs"]) == 20, r.json
    return statistics.median(took)


def test_a_deep_page_costs_what_the_first_page_costs():
    user = sptest.new_user()
    video = sptest.new_video(user)
    sptest.sql("SET LOCAL session_replication_role = replica;"
               "INSERT INTO public.social_post_jobs (user_id, video_id, platforms, title, status,"
               " created_at, updated_at)"
               " SELECT %s, %s, '[\"youtube\"]', 'Old post ' || g, 'completed',"
               "        now() - make_interval(secs => g), now() - make_interval(secs => g)"
               " FROM generate_series(1, %s) g", (user, video, HISTORY))
    sptest.sql("ANALYZE public.social_post_jobs")
    cursor, = sptest.sql("SELECT to_char(created_at AT TIME ZONE 'UTC',"
                         " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || ',' || id"
                         " FROM public.social_post_jobs WHERE user_id = %s"
                         " ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
                         (user, HISTORY - 100))[0]
    url = sptest.state()["api_database_url"]
    url += ("&" if "?" in url else "?") + "options=-c%20plan_cache_mode%3Dforce_generic_plan"
    token = sptest.token(user)
    with fcgikit.Program(["social-post-status", "--threads", "1"],
                         env={"DATABASE_URL": url}) as prog:
        first = median_ms(prog, token, "limit=20")
        deep = median_ms(prog, token, "limit=20&before=" + cursor.replace("+", "%2B"))
        assert deep < 2 * first + 2, f"deep page {deep:.1f} ms, first page {first:.1f} ms"
        assert prog.stop() == 0


if __name__ == "__main__":
    sptest.run(globals())
