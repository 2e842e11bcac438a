#!/usr/bin/python3
"""bench.py: every figure of social-post next to its limit, measured in the
same run on the same machine, as a ratio.

    bench.py [--runs 3] [--seconds 10] [--connections 16] [--polls 1000]
             [--drain-jobs 1000] [--drain-concurrency 4] [--video-mib 1024]
             [--link-mbps 100] [--out PREFIX] [name ...]

Benchmarks (all of them, in this order, when no name is given):

  static    nginx answering a static reply: the ceiling of the HTTP path
  status    GET /social-post-status?jobId= through nginx (wrk) vs pgbench
            running the program's transaction (role, claims, SELECT, COMMIT)
            as social_post_api under RLS: statement by statement, pipelined
            (one round trip), and the SELECT alone
  submit    POST /social-post through nginx vs pgbench running the program's
            transaction (role, claims, video check, INSERT with its
            triggers, COMMIT), pipelined, and the INSERT alone
  unchanged status with a matching If-None-Match for a job the status process
            knows unchanged (a 304 without the database) vs the same program
            through the same nginx answering a request that needs no
            database at all (401, no token)
  scale     1,000,000 jobs of 10,000 users and 1,000,000 deliveries (made
            once, with generate_series): status, list (first page and a deep
            cursor page) and submit at --connections, p99 each
  notify    commits/s of a one-row UPDATE with the NOTIFY a job's change
            sends (the status program listening) vs the same UPDATE alone
  longpoll  1,000 long-polls (wait=30, If-None-Match) held against the one
            status process, then a change to their jobs: how many were held,
            the process's memory and database connections, wake-up latency,
            and plain status requests meanwhile vs without long-polls
  drain     one worker draining 1,000 one-platform jobs against a platform
            that answers at once, vs pgbench running the worker's claim and
            record statements on as many connections
  upload    a 1 GiB video from its URL to the YouTube fake: the worker vs
            curl downloading it and then uploading it, and each alone;
            unpaced, then with both fakes paced like network links
            (--link-mbps, the same pacing for the worker and for curl)
  profile   where the programs' time goes under load: perf (status and
            submit), and database round trips per request (strace)

Each benchmark runs --runs times; figures are medians (min-max). HTTP load
uses wrk with keep-alive connections (--connections, 2 threads); pgbench uses
prepared statements, the same number of connections and 2 threads. Every run
line also gives the CPU each process group used (cores busy on average) and
the machine's total, so other work on the machine shows up.

The HTTP benchmarks go through a second nginx made from the stack's own
configuration (same snippet, upstreams and logging), with more connections
for the long-polls, a static location, and a second server that plays a
platform answering at once (benchkit.BenchNginx). The SQL that pgbench runs
is in bench/sql/ (see its README): when the programs' SQL changes, change it
there too.

Needs the stack of scripts/stack.py (SP_STACK_DIR) and wrk, pgbench, curl
(perf and strace for profile); bench/run.sh sets all of that up. Never
fails on a timing: the exit status is 1 only when something did not work.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import platform as pyplatform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import uuid

import psycopg2

_src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(_src, "tests", "e2e"), os.path.join(_src, "tests", "fakes"),
                os.path.join(_src, "scripts")]
import benchkit as bk  # noqa: E402 - after the path to tests/ is set
import sptest  # noqa: E402
import workerkit as wk  # noqa: E402
from benchkit import Summary  # noqa: E402
from longpoll import Holder  # noqa: E402

NAMES = ("static", "status", "submit", "unchanged", "scale", "notify", "longpoll", "drain", "upload",
         "profile")


class Bench:
    """What the benchmarks share: the stack, the bench nginx, a fixture, the table."""

    def __init__(self, args):
        self.args = args
        self.st = sptest.state()
        self.workdir = tempfile.mkdtemp(prefix="bench-", dir=self.st["stack_dir"])
        self.nginx = bk.BenchNginx(self.st)
        try:
            self.nginx.start()
            self.fixture = bk.Fixture()
            self.earlier_jobs = prefill(self)
        except BaseException:
            self.nginx.stop()
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        self.table = bk.Table()
        self.results = {}
        self.problems = []
        self.others = []  # cores taken by other processes, per load run
        self.status_pid = bk.program_pid(self.st, "social-post-status")
        self.submit_pid = bk.program_pid(self.st, "social-post")

    def close(self):
        self.nginx.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def groups(self, **extra):
        g = {"postgres": lambda: [bk.postmaster_pid(self.st)],
             "nginx": self.nginx.pids,
             "social-post-status": lambda: [self.status_pid],
             "social-post": lambda: [self.submit_pid]}
        g.update(extra)
        return g

    def meter(self, children_label, **extra):
        return bk.CpuMeter(self.groups(**extra), children_label)

    def db(self):
        conn = psycopg2.connect(self.st["database_url"])
        conn.autocommit = True
        return conn

    def sql(self, query, params=None):
        conn = self.db()
        try:
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def problem(self, text):
        self.problems.append(text)
        print("  PROBLEM: " + text, flush=True)


PREFILL_USERS = 1000
PREFILL_JOBS_PER_USER = 100


def prefill(b):
    """Gives the stack's empty tables the history of a service in use: 100,000
    completed jobs (one posted YouTube delivery each) of 1,000 users, inserted
    without their triggers, then VACUUM ANALYZE. On near-empty tables the
    planner picks sequential scans, and the programs' long-lived connections
    keep those plans (in the triggers' and RLS's statements) while the tables
    grow, until autovacuum's next ANALYZE: a start-up effect that would
    otherwise dominate the first benchmark that writes. Returns the job count."""
    n = b.sql("SELECT count(*) FROM public.social_post_jobs")[0][0]
    if n < PREFILL_USERS * PREFILL_JOBS_PER_USER // 2:
        result = ('{"success": true, "url": "https://youtube.com/shorts/earlier",'
                  ' "postId": "earlier"}')
        conn = b.db()
        try:
            with conn.cursor() as cur:
                cur.execute("SET session_replication_role = replica")  # no triggers, no FK checks
                cur.execute(
                    "WITH u AS (INSERT INTO auth.users (id, email)"
                    "   SELECT gen_random_uuid(), 'earlier-' || g || '@bench.example.test'"
                    "   FROM generate_series(1, %s) g RETURNING id),"
                    " v AS (INSERT INTO public.product_videos (user_id, title, video_url)"
                    "   SELECT id, 'Earlier video', 'http://127.0.0.1:9/video.mp4' FROM u"
                    "   RETURNING id, user_id),"
                    " j AS (INSERT INTO public.social_post_jobs (user_id, video_id, platforms,"
                    "   title, status, results, created_at, updated_at)"
                    "   SELECT v.user_id, v.id, '[\"youtube\"]', 'Earlier post ' || g, 'completed',"
                    "     jsonb_build_object('youtube', %s::jsonb || '{\"state\": \"succeeded\","
                    "       \"attempts\": 0}'), now() - make_interval(mins => g),"
                    "     now() - make_interval(mins => g)"
                    "   FROM v, generate_series(1, %s) g RETURNING id)"
                    " INSERT INTO public.social_post_deliveries (job_id, platform, state, result)"
                    " SELECT id, 'youtube', 'succeeded', %s::jsonb FROM j",
                    (PREFILL_USERS, result, PREFILL_JOBS_PER_USER, result))
                cur.execute("RESET session_replication_role")
        finally:
            conn.close()
        settle(b)
        n = b.sql("SELECT count(*) FROM public.social_post_jobs")[0][0]
    return n


def settle(b):
    """VACUUM ANALYZE of the service's tables, so that autovacuum after an
    earlier benchmark's writes does not run during the next one."""
    b.sql("VACUUM (ANALYZE) public.social_post_jobs, public.social_post_deliveries,"
          " public.scheduled_posts")


def say(text=""):
    print(text, flush=True)


def account(r, meter):
    """Adds to a load run's result what the server side spent per request:
    server_us (CPU microseconds of the measured processes per request) and
    capacity (the requests per second the machine's cores would allow at that
    cost, if nothing else ran), plus the cores other processes took."""
    done = r.get("requests") or r.get("transactions")
    r["server_us"] = meter.server_seconds() / done * 1e6 if done else None
    r["capacity"] = os.cpu_count() * 1e6 / r["server_us"] if r["server_us"] else None
    r["others"] = meter.others()
    return r


def run_line(label, n, r, meter):
    account(r, meter)
    say(f"  {label} run {n}: {r['rps']:.0f}/s, p50 {r['p50_ms']:.2f} ms, "
        f"p99 {r['p99_ms']:.2f} ms, server CPU {r['server_us']:.0f} us per request; "
        f"{meter.line()}; load {bk.load_average()}")


def cpu_per_request(meters, rates):
    """'group N us' per request (or transaction) over the runs of one case."""
    cores = bk.mean_cores(meters)
    rate = sum(rates) / len(rates)
    cores.pop("_machine", None)
    cores.pop("other processes", None)
    parts = [f"{k} {v / rate * 1e6:.0f}" for k, v in sorted(cores.items(), key=lambda kv: -kv[1])
             if v >= 0.01]
    return "CPU per request, us: " + ", ".join(parts)


# ---------------------------------------------------------------- static

def bench_static(b):
    a = b.args
    say(f"== static: nginx answering GET /bench/static ({len(bk.STATIC_BODY)} bytes), "
        f"{a.connections} connections")
    runs, meters = [], []
    for n in range(1, a.runs + 1):
        with b.meter("wrk") as m:
            r = bk.wrk(b.workdir, b.nginx.url("/bench/static"), a.seconds, a.connections)
        run_line("static", n, r, m)
        runs.append(r)
        meters.append(m)
        if r["failed"]:
            b.problem(f"static: {r['failed']} requests failed")
    b.results["static"] = runs
    b.others.extend(r["others"] for r in runs)
    say("  " + cpu_per_request(meters, [r["rps"] for r in runs]))
    rps = Summary([r["rps"] for r in runs])
    b.table.add("nginx static reply, req/s (ceiling of the HTTP path)", None, rps)
    b.table.add("nginx static reply, capacity of the cores, req/s", None,
                Summary([r["capacity"] for r in runs]))
    b.table.add("nginx static reply, p50 / p99 ms", None,
                f"{Summary([r['p50_ms'] for r in runs]).fmt('{:.2f}', False)} / "
                f"{Summary([r['p99_ms'] for r in runs]).fmt('{:.2f}', False)}")


# ---------------------------------------------------------------- status / submit

def api_vs_pgbench(b, name, label, http_case, tx_script, bare_script, target_ratio, program,
                   pid, pipeline_target=None):
    """The HTTP request against pgbench running its transaction, pipelined, and bare."""
    settle(b)
    a, f = b.args, b.fixture
    variables = f.variables()
    # each script must reach its row (RLS included), or the limit would be a lie
    for script, role in ((tx_script, "social_post_api"), (bare_script, "postgres")):
        bk.pgbench(b.st, b.workdir, script, role, 1, transactions=1, variables=variables,
                   variant="check")
    say(f"== {name}: {label} through nginx vs pgbench, {a.connections} connections, "
        f"{program} with {bk.program_threads(b.st, program)} threads")
    bk.wrk(b.workdir, *http_case(2))  # warm-up: every thread opens its connection
    rss_before = bk.proc_status(pid, "VmRSS")
    cases = [
        ("ours", "wrk", lambda: bk.wrk(b.workdir, *http_case(a.seconds))),
        ("tx", "pgbench", lambda: bk.pgbench(b.st, b.workdir, tx_script, "social_post_api",
                                             a.connections, seconds=a.seconds,
                                             variables=variables)),
        ("pipeline", "pgbench", lambda: bk.pgbench(b.st, b.workdir, tx_script, "social_post_api",
                                                   a.connections, seconds=a.seconds,
                                                   variables=variables, variant="pipeline")),
        ("bare", "pgbench", lambda: bk.pgbench(b.st, b.workdir, bare_script, "postgres",
                                               a.connections, seconds=a.seconds,
                                               variables=variables)),
    ]
    runs = {k: [] for k, _, _ in cases}
    meters = {k: [] for k, _, _ in cases}
    served = 0
    for n in range(1, a.runs + 1):  # interleaved, so that other load hits every case alike
        for key, tool, fn in cases:
            with b.meter(tool) as m:
                r = fn()
            runs[key].append(r)
            meters[key].append(m)
            run_line(f"{name} {key:8}", n, r, m)
            if key == "ours":
                served += r["requests"]
                if r["failed"]:
                    b.problem(f"{name}: {r['failed']} requests failed (status >= 400 or "
                              "socket errors); read the stack's logs")
    rss_after = bk.proc_status(pid, "VmRSS")
    for key, _, _ in cases:
        say(f"  {key:8} " + cpu_per_request(meters[key], [r["rps"] for r in runs[key]]))
    growth = (rss_after - rss_before) * 1024 / served if served else 0
    say(f"  {program} VmRSS {rss_before} KiB after warm-up, {rss_after} KiB after "
        f"{served} requests: {growth:.2f} B per request")
    b.results[name] = {"runs": runs, "rss_kib": [rss_before, rss_after], "served": served}

    S = lambda key, field: Summary([r[field] for r in runs[key]])  # noqa: E731
    ours = S("ours", "rps")
    b.table.add(f"{name} req/s vs pgbench, same transaction", ours, S("tx", "rps"))
    b.table.add(f"{name} p50 ms vs pgbench, same transaction", S("ours", "p50_ms"),
                S("tx", "p50_ms"), spec="{:.2f}")
    p99 = S("ours", "p99_ms")
    b.table.add(f"{name} p99 ms vs pgbench, same transaction", p99, S("tx", "p99_ms"),
                spec="{:.2f}", target="< 10 ms", met=p99.median < 10)
    cap = S("ours", "capacity")
    b.table.add(f"{name} capacity of the cores, req/s, vs pgbench's same transaction", cap,
                S("tx", "capacity"))
    ratio_pipe = ours.median / S("pipeline", "rps").median
    b.table.add(f"{name} req/s vs pgbench, same transaction pipelined (1 round trip)", ours,
                S("pipeline", "rps"),
                target=f">= {pipeline_target:.2f}" if pipeline_target else None,
                met=round(ratio_pipe, 2) >= pipeline_target if pipeline_target else None)
    b.table.add(f"{name} capacity vs pgbench's pipelined transaction", cap,
                S("pipeline", "capacity"))
    # The target: the request against Postgres serving the statement
    # alone (prepared), the role, claims and RLS of the caller's transaction
    # counting against us.
    ratio_bare = ours.median / S("bare", "rps").median
    b.table.add(f"{name} req/s vs pgbench, the statement alone (superuser, autocommit)", ours,
                S("bare", "rps"), target=f">= {target_ratio:.2f}",
                met=round(ratio_bare, 2) >= target_ratio)
    if "static" in b.results:
        b.table.add(f"{name} req/s vs nginx static reply", ours,
                    Summary([r["rps"] for r in b.results["static"]]))
    b.others.extend(r["others"] for rs in runs.values() for r in rs)


def bench_status(b):
    f = b.fixture
    url = b.nginx.url(f"/social-post-status?jobId={f.job}")
    api_vs_pgbench(b, "status", "GET /social-post-status?jobId=",
                   lambda s: (url, s, b.args.connections, "GET", None, f.token),
                   "status_tx", "status_bare", 0.40, "social-post-status", b.status_pid,
                   pipeline_target=0.50)


def bench_submit(b):
    f = b.fixture
    url = b.nginx.url("/social-post")
    api_vs_pgbench(b, "submit", "POST /social-post",
                   lambda s: (url, s, b.args.connections, "POST", f.submit_body, f.token),
                   "submit_tx", "submit_bare", 0.80, "social-post", b.submit_pid)
    wk.clear_queue()  # the submitted jobs' deliveries: no worker is meant to take them


# ---------------------------------------------------------------- unchanged

def commits_now(b):
    """Transactions committed so far in the stack's database."""
    return b.sql("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
                 )[0][0]


def bench_unchanged(b):
    """A conditional GET the status process answers from what its LISTEN
    connection told it, against the cheapest answer the same program gives
    through the same nginx: 401 for a request without a token."""
    a, f = b.args, b.fixture
    url = b.nginx.url(f"/social-post-status?jobId={f.job}")
    etag = sptest.http("GET", f"/social-post-status?jobId={f.job}", token=f.token).headers["etag"]
    say(f"== unchanged: GET /social-post-status?jobId= with If-None-Match {etag} vs 401 "
        f"(no token), {a.connections} connections")
    cases = [("304", lambda s: bk.wrk(b.workdir, url, s, a.connections, token=f.token,
                                      if_none_match=etag)),
             ("401", lambda s: bk.wrk(b.workdir, url, s, a.connections))]
    for _, fn in cases:
        fn(2)  # warm-up: every status process has read the job once
    runs = {k: [] for k, _ in cases}
    per_request = []
    for n in range(1, a.runs + 1):
        for key, fn in cases:
            before = commits_now(b)
            with b.meter("wrk") as m:
                r = fn(a.seconds)
            tx = commits_now(b) - before
            run_line(f"unchanged {key}", n, r, m)
            runs[key].append(r)
            if key == "304":
                per_request.append(tx / max(1, r["requests"]))
                if r["failed"]:
                    b.problem(f"unchanged: {r['failed']} conditional requests failed")
    say(f"  database transactions per 304: {Summary(per_request).fmt('{:.4f}')} "
        "(the stats collector's own commits included)")
    b.results["unchanged"] = {"runs": runs, "tx_per_304": per_request}
    ours = Summary([r["rps"] for r in runs["304"]])
    limit = Summary([r["rps"] for r in runs["401"]])
    ratio = ours.median / limit.median
    b.table.add("status 304 (known unchanged) req/s vs 401 (no token), same program and nginx",
                ours, limit, target=">= 0.90", met=round(ratio, 2) >= 0.90)
    b.table.add("status 304 (known unchanged) capacity of the cores vs 401's (CPU per request)",
                Summary([r["capacity"] for r in runs["304"]]),
                Summary([r["capacity"] for r in runs["401"]]))
    b.table.add("status 304 (known unchanged) p99 ms vs 401",
                Summary([r["p99_ms"] for r in runs["304"]]),
                Summary([r["p99_ms"] for r in runs["401"]]), spec="{:.2f}")
    b.others.extend(r["others"] for rs in runs.values() for r in rs)


# ---------------------------------------------------------------- scale

SCALE_USERS = 10000
SCALE_JOBS_PER_USER = 100
SCALE_DEEP_PAGE = 80  # the deep cursor page starts after this many of the user's jobs


def scale_rows(b):
    """Brings the jobs to SCALE_USERS x SCALE_JOBS_PER_USER (a delivery each),
    in SQL with generate_series, as prefill does; returns (jobs, seconds)."""
    n = b.sql("SELECT count(*) FROM public.social_post_jobs")[0][0]
    want = SCALE_USERS * SCALE_JOBS_PER_USER
    t0 = time.monotonic()
    users = (want - n) // SCALE_JOBS_PER_USER
    if users > 0:
        result = ('{"success": true, "url": "https://youtube.com/shorts/earlier",'
                  ' "postId": "earlier"}')
        conn = b.db()
        try:
            with conn.cursor() as cur:
                cur.execute("SET session_replication_role = replica")
                cur.execute(
                    "WITH u AS (INSERT INTO auth.users (id, email)"
                    "   SELECT gen_random_uuid(), 'scale-' || g || '-' || gen_random_uuid()"
                    "     || '@bench.example.test'"
                    "   FROM generate_series(1, %s) g RETURNING id),"
                    " v AS (INSERT INTO public.product_videos (user_id, title, video_url)"
                    "   SELECT id, 'Scale video', 'http://127.0.0.1:9/video.mp4' FROM u"
                    "   RETURNING id, user_id),"
                    " j AS (INSERT INTO public.social_post_jobs (user_id, video_id, platforms,"
                    "   title, status, results, created_at, updated_at)"
                    "   SELECT v.user_id, v.id, '[\"youtube\"]', 'Scale post ' || g, 'completed',"
                    "     jsonb_build_object('youtube', %s::jsonb || '{\"state\": \"succeeded\","
                    "       \"attempts\": 0}'), now() - make_interval(mins => g),"
                    "     now() - make_interval(mins => g)"
                    "   FROM v, generate_series(1, %s) g RETURNING id)"
                    " INSERT INTO public.social_post_deliveries (job_id, platform, state, result)"
                    " SELECT id, 'youtube', 'succeeded', %s::jsonb FROM j",
                    (users, result, SCALE_JOBS_PER_USER, result))
                cur.execute("RESET session_replication_role")
        finally:
            conn.close()
        settle(b)
    n = b.sql("SELECT count(*) FROM public.social_post_jobs")[0][0]
    return n, time.monotonic() - t0


def bench_scale(b):
    a = b.args
    jobs, made_in = scale_rows(b)
    deliveries = b.sql("SELECT count(*) FROM public.social_post_deliveries")[0][0]
    size = b.sql("SELECT pg_size_pretty(pg_total_relation_size('public.social_post_jobs')),"
                 " pg_size_pretty(pg_total_relation_size('public.social_post_deliveries'))")[0]
    say(f"== scale: {jobs} jobs ({size[0]}), {deliveries} deliveries ({size[1]}); rows made in "
        f"{made_in:.0f} s; {a.connections} connections")
    user, video = b.sql("SELECT v.user_id, v.id FROM public.product_videos v"
                        " WHERE v.title IN ('Scale video', 'Earlier video')"
                        " ORDER BY v.title DESC LIMIT 1")[0]
    job, = b.sql("SELECT id FROM public.social_post_jobs WHERE user_id = %s"
                 " ORDER BY created_at DESC LIMIT 1", (user,))[0]
    cursor, = b.sql("SELECT to_char(created_at AT TIME ZONE 'UTC',"
                    " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || ',' || id"
                    " FROM public.social_post_jobs WHERE user_id = %s"
                    " ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
                    (user, SCALE_DEEP_PAGE - 1))[0]
    token = sptest.token(str(user), exp_in=6 * 3600)
    body = json.dumps({"videoId": str(video), "platforms": ["youtube"], "title": "Scale post"})
    quoted = urllib.parse.quote(cursor, safe="")
    cases = [
        ("status", b.nginx.url(f"/social-post-status?jobId={job}"), "GET", None),
        ("list first page", b.nginx.url("/social-post-status"), "GET", None),
        (f"list after {SCALE_DEEP_PAGE} jobs", b.nginx.url(f"/social-post-status?before={quoted}"),
         "GET", None),
        ("submit", b.nginx.url("/social-post"), "POST", body),
    ]
    for label, url, method, payload in cases:  # each answers as expected before it is timed
        r = sptest.http(method, url[url.index("/social-post"):], payload and json.loads(payload),
                        token=token)
        if r.status not in (200, 202):
            raise RuntimeError(f"scale {label}: {r.status} {r.body[:200]!r}")
    runs = {label: [] for label, _, _, _ in cases}
    for n in range(1, a.runs + 1):
        for label, url, method, payload in cases:
            with b.meter("wrk") as m:
                r = bk.wrk(b.workdir, url, a.seconds, a.connections, method, payload, token)
            run_line(f"scale {label}", n, r, m)
            runs[label].append(r)
            if r["failed"]:
                b.problem(f"scale {label}: {r['failed']} requests failed")
    wk.clear_queue()
    b.results["scale"] = {"jobs": jobs, "deliveries": deliveries, "made_in_s": made_in,
                          "runs": runs}
    for label, _, _, _ in cases:
        p99 = Summary([r["p99_ms"] for r in runs[label]])
        b.table.add(f"scale ({jobs // 1000}k jobs): {label} p99 ms (req/s "
                    f"{Summary([r['rps'] for r in runs[label]]).fmt('{:.0f}', False)})",
                    p99, None, spec="{:.2f}", target="< 10 ms", met=p99.median < 10)
    b.others.extend(r["others"] for rs in runs.values() for r in rs)


# ---------------------------------------------------------------- notify

def bench_notify(b):
    a = b.args
    b.sql("CREATE TABLE IF NOT EXISTS bench_scratch (id int PRIMARY KEY, n bigint NOT NULL)")
    b.sql("INSERT INTO bench_scratch SELECT g, 0 FROM generate_series(1, 1000) g"
          " ON CONFLICT DO NOTHING")
    say(f"== notify: one-row UPDATE per transaction with and without NOTIFY, "
        f"{a.connections} pgbench clients")
    runs = {"notify": [], "plain": []}
    for n in range(1, a.runs + 1):
        for key in runs:
            with b.meter("pgbench") as m:
                r = bk.pgbench(b.st, b.workdir, f"update_{key}", "postgres", a.connections,
                               seconds=a.seconds)
            run_line(f"notify {key:6}", n, r, m)
            runs[key].append(r)
    b.results["notify"] = runs
    b.table.add("commits/s with NOTIFY (status program listening) vs without",
                Summary([r["rps"] for r in runs["notify"]]),
                Summary([r["rps"] for r in runs["plain"]]))
    b.others.extend(r["others"] for rs in runs.values() for r in rs)


# ---------------------------------------------------------------- longpoll

def plain_latencies(b, count=300):
    """count sequential plain status requests on one keep-alive connection; sorted ms.
    They come from 127.0.0.2, another client address than the long-polls' (as
    another user's browser would): the shipped nginx site allows 1,000 status
    connections per address (limit_conn), which the long-polls fill."""
    f = b.fixture
    conn = http.client.HTTPConnection("127.0.0.1", b.nginx.port, timeout=30,
                                      source_address=("127.0.0.2", 0))
    out = []
    try:
        for _ in range(count):
            t0 = time.perf_counter()
            conn.request("GET", f"/social-post-status?jobId={f.job}",
                         headers={"Authorization": "Bearer " + f.token})
            resp = conn.getresponse()
            resp.read()
            out.append((time.perf_counter() - t0) * 1000)
            if resp.status != 200:
                raise RuntimeError(f"plain status request answered {resp.status}")
    finally:
        conn.close()
    return sorted(out)


def longpoll_jobs(b, n, per_user=10):
    """n pending jobs of n/per_user users (scheduled a year ahead, so no worker
    takes them); returns [(job, token)]."""
    users = [str(uuid.uuid4()) for _ in range((n + per_user - 1) // per_user)]
    rows = b.sql(
        "WITH u AS (INSERT INTO auth.users (id, email)"
        "           SELECT id, id || '@bench.example.test' FROM unnest(%s::uuid[]) id"
        "           RETURNING id),"
        " v AS (INSERT INTO public.product_videos (user_id, title, video_url)"
        "       SELECT id, 'Long-poll video', 'http://127.0.0.1:9/video.mp4' FROM u"
        "       RETURNING id, user_id)"
        " SELECT id::text, user_id::text FROM v", (users,))
    jobs = b.sql(
        "INSERT INTO public.social_post_jobs (user_id, video_id, platforms, title, scheduled_at)"
        " SELECT v.user_id, v.id, '[\"youtube\"]', 'Long-poll job ' || g,"
        "        now() + interval '1 year'"
        " FROM unnest(%s::uuid[], %s::uuid[]) AS v(id, user_id), generate_series(1, %s) g"
        " RETURNING id::text, user_id::text",
        ([r[0] for r in rows], [r[1] for r in rows], per_user))[:n]
    tokens = {u: sptest.token(u, exp_in=3600) for u in users}
    return [(job, tokens[user]) for job, user in jobs]


def etags(b, jobs):
    """The current ETag of each job, read through nginx as its owner."""
    def one(item):
        job, token = item
        conn = http.client.HTTPConnection("127.0.0.1", b.nginx.port, timeout=30)
        try:
            conn.request("GET", f"/social-post-status?jobId={job}",
                         headers={"Authorization": "Bearer " + token})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError(f"GET status of {job} answered {resp.status}")
            return resp.getheader("ETag")
        finally:
            conn.close()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, jobs))


def longpoll_run(b, n_run):
    a = b.args
    jobs = longpoll_jobs(b, a.polls)
    tags = etags(b, jobs)
    base = plain_latencies(b)
    requests = [(f"/social-post-status?jobId={job}&wait={a.wait}",
                 {"Authorization": "Bearer " + token, "If-None-Match": tag})
                for (job, token), tag in zip(jobs, tags)]
    res = {"plain_without": base}
    with b.meter(None) as m, Holder("127.0.0.1", b.nginx.port, requests) as h:
        h.wait_quiet(quiet=1.5, least=3.0, most=20.0)
        res["answered_before_change"] = h.answered()
        res["rss_kib"] = bk.proc_status(b.status_pid, "VmRSS")
        res["hwm_kib"] = bk.proc_status(b.status_pid, "VmHWM")
        res["threads"] = bk.proc_status(b.status_pid, "Threads")
        res["db_conns"] = bk.tcp_connections(b.status_pid, remote_port=b.st["pg"]["port"])
        res["pg_api_conns"] = b.sql("SELECT count(*) FROM pg_stat_activity"
                                    " WHERE usename = 'social_post_api'")[0][0]
        res["held_in_program"] = bk.tcp_connections(  # the FastCGI requests it holds
            b.status_pid, local_port=b.st["programs"]["social-post-status"]["port"])
        res["plain_during"] = plain_latencies(b)
        conn = b.db()
        try:
            with conn.cursor() as cur:
                cur.execute("UPDATE public.social_post_jobs SET title = title || '.'"
                            " WHERE id = ANY(%s::uuid[])", ([j for j, _ in jobs],))
            t_change = time.monotonic()
        finally:
            conn.close()
        h.wait_all(a.wait + 15)
    at_once, held, other = {}, [], {}
    for ans in h.answers:
        status, when = ans if ans else (None, "no answer")
        if status is not None and when < t_change:
            at_once[status] = at_once.get(status, 0) + 1
        elif status == 200:
            held.append((when - t_change) * 1000)
        else:
            key = str(status) if status is not None else str(when)[:60]
            other[key] = other.get(key, 0) + 1
    held.sort()
    res.update(at_once=at_once, held=len(held), wake_ms=held, other=other,
               cpu=m.line())
    wk.clear_queue()
    say(f"  longpoll run {n_run}: {len(requests)} opened, answered at once {at_once}, "
        f"held until the change {len(held)}, other {other or 0}; while holding: "
        f"{res['held_in_program']} FastCGI connections in the program, "
        f"VmRSS {res['rss_kib'] / 1024:.1f} MiB, VmHWM {res['hwm_kib'] / 1024:.1f} MiB, "
        f"{res['threads']} threads, {res['db_conns']} database connections "
        f"({res['pg_api_conns']} of social_post_api in all)")
    if held:
        say(f"    wake-up after the change: p50 {bk.percentile(held, .5):.0f} ms, "
            f"p99 {bk.percentile(held, .99):.0f} ms, max {held[-1]:.0f} ms")
    say(f"    plain status without long-polls p50 {bk.percentile(base, .5):.2f} ms "
        f"p99 {bk.percentile(base, .99):.2f} ms; during: "
        f"p50 {bk.percentile(res['plain_during'], .5):.2f} ms "
        f"p99 {bk.percentile(res['plain_during'], .99):.2f} ms; {res['cpu']}")
    return res


def bench_longpoll(b):
    settle(b)
    a = b.args
    limit = "?"
    with open(f"/proc/{b.status_pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                limit = line.split()[3]
    say(f"== longpoll: {a.polls} long-polls (wait={a.wait}, If-None-Match) against one "
        f"social-post-status ({bk.program_threads(b.st, 'social-post-status')} threads, "
        f"open files limit {limit}), then one UPDATE of all their jobs")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < a.polls + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, a.polls + 1000)), hard))
    runs = [longpoll_run(b, n) for n in range(1, a.runs + 1)]
    b.results["longpoll"] = runs
    n = a.polls
    held = Summary([r["held"] for r in runs])
    b.table.add(f"long-polls held until the change (of {n})", held, Summary([n] * len(runs)),
                target="1.00", met=held.median >= n)
    at_once = Summary([sum(r["at_once"].values()) for r in runs])
    b.table.add(f"long-polls answered at once (of {n})", at_once, None, target="0",
                met=at_once.median == 0)
    woke = [r for r in runs if r["wake_ms"]]
    p50 = Summary([bk.percentile(r["wake_ms"], .5) for r in woke])
    p99 = Summary([bk.percentile(r["wake_ms"], .99) for r in woke])
    worst = Summary([r["wake_ms"][-1] for r in woke])
    b.table.add("long-poll wake-up after the change, p50 ms", p50, None, spec="{:.0f}")
    b.table.add("long-poll wake-up after the change, p99 / max ms",
                f"{p99.fmt('{:.0f}', False)} / {worst.fmt('{:.0f}', False)}", None,
                target="all held, all < 1000 ms",
                met=bool(woke) and held.median >= n and worst.median < 1000)
    rss = Summary([r["rss_kib"] / 1024 for r in runs])
    b.table.add("status process VmRSS while holding, MiB", rss, None, spec="{:.1f}",
                target="< 64 MiB", met=rss.median < 64)
    b.table.add("status process VmHWM (peak), MiB", Summary([r["hwm_kib"] / 1024 for r in runs]),
                None, spec="{:.1f}")
    conns = Summary([r["db_conns"] for r in runs])
    b.table.add("status process database connections while holding", conns, None,
                target="< 8", met=conns.median < 8)
    for q, label in ((.5, "p50"), (.99, "p99")):
        during = Summary([bk.percentile(r["plain_during"], q) for r in runs])
        without = Summary([bk.percentile(r["plain_without"], q) for r in runs])
        b.table.add(f"plain status {label} ms during long-polls vs without", during, without,
                    spec="{:.2f}", target="<= 1.5" if q > .5 else None,
                    met=(round(during.median / without.median, 2) <= 1.5) if q > .5 else None)


# ---------------------------------------------------------------- drain

def drain_env(b):
    st = b.st
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": st["database_url"],
        "YOUTUBE_UPLOAD_URL": b.nginx.platform_url("/upload/youtube/v3/videos"),
        "GOOGLE_TOKEN_URL": b.nginx.platform_url("/token"),
        "GOOGLE_CLIENT_ID": "bench-client-id", "GOOGLE_CLIENT_SECRET": "bench-client-secret",
        "FACEBOOK_GRAPH_URL": b.nginx.platform_url("/v27.0"),
        "FACEBOOK_VIDEO_URL": b.nginx.platform_url("/v27.0"),
        "FACEBOOK_RUPLOAD_URL": b.nginx.platform_url("/video-upload/v27.0"),
        "INSTAGRAM_GRAPH_URL": b.nginx.platform_url("/instagram/v27.0"),
        "SOCIAL_POST_SPOOL_DIR": os.path.join(st["stack_dir"], "spool"),
        "SOCIAL_POST_ALLOW_PRIVATE_VIDEO_URLS": "1",
    })
    return env


def queue_jobs(b, user, video, n, tag):
    """n one-platform (YouTube) jobs, queued at once; returns their ids."""
    wk.clear_queue()
    rows = b.sql("INSERT INTO public.social_post_jobs (user_id, video_id, platforms, title)"
                 " SELECT %s, %s, '[\"youtube\"]', %s || ' ' || g FROM generate_series(1, %s) g"
                 " RETURNING id::text", (user, video, tag, n))
    return [r[0] for r in rows]


def completed(b, ids):
    return b.sql("SELECT count(*) FILTER (WHERE status = 'completed') FROM social_post_jobs"
                 " WHERE id = ANY(%s::uuid[])", (ids,))[0][0]


def commits(b):
    return b.sql("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
                 )[0][0]


def bench_drain(b):
    settle(b)
    a = b.args
    c = a.drain_concurrency
    n = -(-a.drain_jobs // c) * c  # a multiple of the connections, for pgbench -t
    user, video = wk.user_with_video(b.nginx.platform_url("/bench/video.mp4"),
                                     title="Drain video")
    wk.connect(user, "youtube")
    say(f"== drain: {n} YouTube jobs, a {b.nginx.video_bytes // 1024} KiB video, against nginx "
        f"answering as the platform; one social-post-worker --concurrency {c} --once vs "
        f"pgbench claim+record on {c} connections")
    env = drain_env(b)
    variables = {"owner": "bench-pgbench:1:1", "lease": "30", "state": "succeeded",
                 "run_in": "0.000", "count_attempt": "0", "posted": "posted",
                 "checkpoint": json.dumps({"session": b.nginx.platform_url(
                     "/upload/session?upload_id=bench"), "offset": b.nginx.video_bytes,
                     "total": b.nginx.video_bytes, "videoId": "benchVideo0"}),
                 "result": json.dumps({"success": True, "url": "https://youtube.com/shorts/"
                                       "benchVideo0", "postId": "benchVideo0"}),
                 "url": "https://youtube.com/shorts/benchVideo0", "post_id": "benchVideo0"}
    ours, limit, tx_per_job = [], [], []
    for k in range(1, a.runs + 1):
        ids = queue_jobs(b, user, video, n, f"drain worker {k}")
        c0 = commits(b)
        with b.meter("social-post-worker") as m:
            t0 = time.monotonic()
            w = wk.Worker(["--concurrency", str(c), "--once"], env)
            code = w.wait(300)
            t1 = time.monotonic()
        if code is None:
            w.kill()  # closes its log too
        else:
            w.log.close()
        done = completed(b, ids)
        time.sleep(0.6)  # the backends have exited; their counts reach pg_stat_database
        tx = (commits(b) - c0) / n
        if code != 0 or done != n:
            b.problem(f"drain: the worker exited with {code} and completed {done} of {n} jobs;"
                      f" log {w.log_path}")
            continue
        rate = n / (t1 - t0)
        ours.append(rate)
        tx_per_job.append(tx)
        say(f"  drain worker  run {k}: {n} jobs in {t1 - t0:.2f} s = {rate:.0f} jobs/s, "
            f"{tx:.1f} transactions per job; {m.line()}; load {bk.load_average()}")
        ids = queue_jobs(b, user, video, n, f"drain pgbench {k}")
        with b.meter("pgbench") as m:
            r = bk.pgbench(b.st, b.workdir, "drain", "postgres", c, transactions=n // c,
                           variables=variables)
        done = completed(b, ids)
        if done != n:
            b.problem(f"drain: pgbench completed {done} of {n} jobs")
            continue
        limit.append(r["rps"])
        say(f"  drain pgbench run {k}: {r['rps']:.0f} jobs/s, p50 {r['p50_ms']:.2f} ms, "
            f"p99 {r['p99_ms']:.2f} ms; {m.line()}; load {bk.load_average()}")
    anatomy = drain_anatomy(b, user, video, env, c) if shutil.which("strace") else None
    wk.clear_queue()
    b.results["drain"] = {"worker_jobs_per_s": ours, "pgbench_jobs_per_s": limit,
                          "transactions_per_job": tx_per_job, "worker_syscalls_per_job": anatomy}
    if ours and limit:
        s_ours, s_limit = Summary(ours), Summary(limit)
        b.table.add(f"drain jobs/s, one worker (--concurrency {c}) vs pgbench claim+record",
                    s_ours, s_limit, target=">= 0.50",
                    met=round(s_ours.median / s_limit.median, 2) >= 0.5)
    if anatomy:
        statements = sum(1 for kind, _ in bk.pgbench_commands(bk.script_variant("drain", "plain"))
                         if kind == "sql")
        b.table.add("drain: database round trips per job, worker vs the pgbench script",
                    Summary([anatomy["sendto"]["calls"]]), Summary([statements]), spec="{:.1f}")


def drain_anatomy(b, user, video, env, c, n=100):
    """One more, untimed drain of n jobs under strace -f -c -w: what a job costs
    the worker in system calls (calls per job, mean wall time per call)."""
    ids = queue_jobs(b, user, video, n, "drain anatomy")
    out = os.path.join(b.workdir, "worker-strace.txt")
    binary = os.path.join(b.st["build_dir"], "social-post-worker")
    with open(os.path.join(b.st["stack_dir"], "worker-drain-strace.log"), "wb") as log:
        subprocess.run(["strace", "-f", "-c", "-w", "-o", out, binary, "--concurrency", str(c),
                        "--once"], env=env, stdin=subprocess.DEVNULL, stdout=log,
                       stderr=subprocess.STDOUT, timeout=300)
    if completed(b, ids) != n or not os.path.exists(out):
        say("  (no drain anatomy: the worker under strace did not complete its jobs; "
            "may strace trace here?)")
        return None
    calls = bk.strace_counts(out, n)
    get = lambda name: calls.get(name, {"calls": 0, "ms": 0})  # noqa: E731
    say(f"  drain anatomy ({n} jobs under strace, untimed), per job: "
        f"{get('sendto')['calls']:.1f} database round trips (libpq send), "
        f"{get('connect')['calls']:.1f} TCP connects (platform and video requests), "
        f"{get('fsync')['calls']:.1f} fsync of {get('fsync')['ms']:.1f} ms each, "
        f"{get('poll')['calls']:.1f} poll")
    return calls


# ---------------------------------------------------------------- upload

def curl(argv, timeout=600):
    out = subprocess.run(["curl", "-sS", "--noproxy", "*"] + argv, capture_output=True,
                         text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        raise RuntimeError(f"curl {' '.join(argv[:3])}...: {out.stderr.strip()}")
    return out.stdout


def curl_transfers(b, p, url, size, sha):
    """curl downloads the video into the worker's spool folder, then uploads it
    to the YouTube fake (a resumable session, one PUT). Returns the seconds of the
    download, of the upload, and of an fsync of the downloaded file (the worker's
    spool flushes its file to disk before uploading; curl does not), timed apart."""
    spool = os.path.join(b.st["stack_dir"], "spool")
    os.makedirs(spool, exist_ok=True)
    path = os.path.join(spool, "bench-curl-video.mp4")
    try:
        t0 = time.monotonic()
        code = curl(["-o", path, "-w", "%{http_code}", url])
        t1 = time.monotonic()
        if code != "200" or os.path.getsize(path) != size:
            raise RuntimeError(f"curl download: HTTP {code}, {os.path.getsize(path)} bytes")
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)  # what the worker's spool does before it uploads; timed apart
        finally:
            os.close(fd)
        t_sync = time.monotonic() - t1
        auth = "Authorization: Bearer ya29.valid-token"
        t2 = time.monotonic()
        head = curl(["-D", "-", "-o", "/dev/null", "-X", "POST",
                     p.youtube.url + "/upload/youtube/v3/videos?uploadType=resumable"
                     "&part=snippet,status", "-H", auth,
                     "-H", "Content-Type: application/json; charset=UTF-8",
                     "-H", f"X-Upload-Content-Length: {size}",
                     "-H", "X-Upload-Content-Type: video/*",
                     "--data", json.dumps({"snippet": {"title": "curl upload"},
                                           "status": {"privacyStatus": "public"}})])
        location = next((ln.split(":", 1)[1].strip() for ln in head.splitlines()
                         if ln.lower().startswith("location:")), None)
        if not location:
            raise RuntimeError("the YouTube fake gave no session")
        body = curl(["-X", "PUT", "-T", path, "-H", auth, "-H", "Expect:",
                     "-H", f"Content-Range: bytes 0-{size - 1}/{size}", location])
        t3 = time.monotonic()
        vid = json.loads(body).get("id")
        got = next((v["sha256"] for v in p.youtube.stats()["videos"] if v["id"] == vid), None)
        if got != sha:
            raise RuntimeError(f"curl upload: the fake stored sha256 {got}, expected {sha}")
        return t1 - t0, t3 - t2, t_sync
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def pace(p, rate):
    """Paces the video fake's sending and the YouTube fake's receiving at rate
    bytes/s each (0: as fast as they go), like two network links."""
    p.video.config({"bandwidth_bytes_per_sec": rate})
    p.youtube.config({"bandwidth_bytes_per_sec": rate})


def upload_case(b, p, case, url, sha, user, video, size):
    """--runs runs of the worker, then curl, on one pacing; returns the seconds."""
    import worker_upload as wu
    opts = argparse.Namespace(concurrency=2, timeout=60)
    fakes = lambda: [p.youtube.proc.pid, p.video.proc.pid]  # noqa: E731
    worker, peak, dl, ul, fsyncs = [], [], [], [], []
    conn = b.db()
    try:
        for k in range(1, b.args.runs + 1):
            with b.meter("social-post-worker", fakes=fakes) as m:
                r = wu.one_run(p, conn, opts, "youtube", user, video, size, sha)
            if not r["ok"]:
                b.problem(f"upload ({case}): " + r["error"])
                continue
            worker.append(r["seconds"])
            peak.append(r["peak_kib"] / 1024)
            say(f"  upload {case} worker run {k}: {r['seconds']:.2f} s = {r['mbps']:.0f} MB/s, "
                f"peak RSS {r['peak_kib'] / 1024:.1f} MiB; {m.line()}; "
                f"load {bk.load_average()}")
            with b.meter("curl", fakes=fakes) as m:
                d, u, sync = curl_transfers(b, p, url, size, sha)
            dl.append(d)
            ul.append(u)
            fsyncs.append(sync)
            say(f"  upload {case} curl   run {k}: download {d:.2f} s = {size / d / 1e6:.0f} "
                f"MB/s, upload {u:.2f} s = {size / u / 1e6:.0f} MB/s, in sequence "
                f"{d + u:.2f} s = {size / (d + u) / 1e6:.0f} MB/s (fsync of the download "
                f"{sync:.2f} s, not counted); {m.line()}; load {bk.load_average()}")
    finally:
        conn.close()
    return {"worker_s": worker, "worker_peak_mib": peak, "curl_download_s": dl,
            "curl_upload_s": ul, "fsync_s": fsyncs}


def upload_rows(b, case, r, size, target):
    """The table's rows of one upload case; target applies to its ratio or not."""
    worker, dl, ul = r["worker_s"], r["curl_download_s"], r["curl_upload_s"]
    if not worker or not dl:
        return
    mbps = lambda secs: Summary([size / s / 1e6 for s in secs])  # noqa: E731
    ours = mbps(worker)
    seq = mbps([d + u for d, u in zip(dl, ul)])
    slower = mbps([max(d, u) for d, u in zip(dl, ul)])
    b.table.add(f"{b.args.video_mib} MiB video URL->platform MB/s, {case}: worker vs curl "
                "download then upload", ours, seq, target=">= 1.50" if target else None,
                met=round(ours.median / seq.median, 2) >= 1.5 if target else None)
    b.table.add("  ... worker vs the slower of the two transfers alone", ours, slower,
                target="-> 1.00")
    b.table.add("  ... curl download alone, MB/s", None, mbps(dl))
    b.table.add("  ... curl upload alone, MB/s", None, mbps(ul))
    b.table.add("  ... fsync of the downloaded file, s (the spool's, not in curl's)", None,
                Summary(r["fsync_s"]), spec="{:.2f}")
    pk = Summary(r["worker_peak_mib"])
    b.table.add("  ... worker peak RSS (VmHWM) during the upload, MiB", pk, None, spec="{:.1f}",
                target="< 32 MiB", met=pk.median < 32)


def bench_upload(b):
    settle(b)
    a = b.args
    size = a.video_mib * bk.MiB
    rate = a.link_mbps * 10**6
    cases = [("unpaced", 0)] + ([(f"links at {a.link_mbps} MB/s", rate)] if rate else [])
    say(f"== upload: a {a.video_mib} MiB video from the video fake to the YouTube fake "
        "(8 MiB chunks): social-post-worker --concurrency 2 vs curl download, then upload; "
        f"unpaced, then with both fakes paced at {a.link_mbps} MB/s (a remote URL's case)")
    b.results["upload"] = {"bytes": size, "link_mbps": a.link_mbps}
    with wk.Platforms() as p:
        url, sha = p.video.add_video("bench-upload.mp4", size)
        user, video = wk.user_with_video(url, title="Upload video")
        wk.connect(user, "youtube")
        try:
            for case, r in cases:
                pace(p, r)
                b.results["upload"][case] = upload_case(b, p, case, url, sha, user, video, size)
        finally:
            pace(p, 0)
            p.video.reset()
    for case, r in cases:
        # the target is the paced case's: unpaced, both transfers are CPU-bound loopback
        # copies on the same 2 cores, which running them at once cannot add up
        upload_rows(b, case, b.results["upload"][case], size, target=r > 0 or not rate)


# ---------------------------------------------------------------- profile

def perf_usable():
    if not shutil.which("perf"):
        return "perf is not installed (apt-get install linux-perf)"
    out = subprocess.run(["perf", "stat", "-e", "task-clock", "true"], capture_output=True,
                         text=True)
    return None if out.returncode == 0 else "perf does not work here: " + out.stderr.strip()[:200]


def perf_report(data, args):
    out = subprocess.run(["perf", "report", "-i", data, "--stdio", "-g", "none"] + args,
                         capture_output=True, text=True)
    return [ln for ln in out.stdout.splitlines() if ln.strip() and not ln.startswith("#")]


def sequential_requests(b, count, method, path, body):
    f = b.fixture
    conn = http.client.HTTPConnection("127.0.0.1", b.nginx.port, timeout=30)
    try:
        headers = {"Authorization": "Bearer " + f.token}
        if body:
            headers["Content-Type"] = "application/json"
        for _ in range(count):
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status >= 400:
                raise RuntimeError(f"{method} {path} answered {resp.status}")
    finally:
        conn.close()


def syscalls_per_request(b, pid, count, method, path, body):
    """strace -c over count sequential requests: {syscall: calls per request}."""
    out = os.path.join(b.workdir, f"strace-{pid}.txt")
    tracer = subprocess.Popen(["strace", "-f", "-c", "-o", out, "-p", str(pid)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached to every thread
    try:
        sequential_requests(b, count, method, path, body)
    finally:
        time.sleep(0.3)
        tracer.send_signal(signal.SIGINT)
        tracer.wait(30)
    return {name: c["calls"] for name, c in bk.strace_counts(out, count).items()}


def profile_program(b, program, pid, method, path, body):
    a = b.args
    f = b.fixture
    say(f"-- {program} under {method} {path.split('?')[0]} at {a.connections} connections")
    calls = None
    if shutil.which("strace"):
        calls = syscalls_per_request(b, pid, 300, method, path, body)
    if calls:
        sends = calls.get("sendto", 0)
        say(f"  database round trips per request (libpq send() calls): {sends:.1f}; "
            "system calls per request: "
            + ", ".join(f"{k} {v:.1f}" for k, v in sorted(calls.items(), key=lambda kv: -kv[1])
                        if v >= 0.5))
        b.results.setdefault("profile", {})[program] = {"syscalls_per_request": calls}
    else:
        say("  (no round-trip count: strace is not installed or may not trace here)")
    problem = perf_usable()
    if problem:
        say("  perf skipped: " + problem)
        return
    data = os.path.join(b.workdir, f"perf-{program}.data")
    load = {}

    def run_load():
        try:
            load["r"] = bk.wrk(b.workdir, b.nginx.url(path), a.seconds + 2, a.connections,
                               method, body, f.token)
        except Exception as e:  # noqa: BLE001 - reported below
            load["error"] = e
    loader = threading.Thread(target=run_load)
    loader.start()
    try:
        time.sleep(1)
        backends = [row[0] for row in b.sql("SELECT pid FROM pg_stat_activity"
                                            " WHERE usename = 'social_post_api'")]
        pids = [pid] + backends + bk.children_of(b.nginx.pid)
        subprocess.run(["perf", "record", "-F", "499", "--call-graph", "dwarf,16384", "-p",
                        ",".join(map(str, pids)), "-o", data, "--", "sleep", str(a.seconds)],
                       stdin=subprocess.DEVNULL, capture_output=True)
    finally:
        loader.join()
    r = load.get("r")
    if not r or r["failed"]:
        b.problem(f"profile: the load on {program} failed: {load.get('error') or r}")
        return
    say(f"  load while profiling: {r['rps']:.0f} req/s, p50 {r['p50_ms']:.2f} ms, "
        f"p99 {r['p99_ms']:.2f} ms; perf on {program}, its {len(backends)} Postgres "
        "backends (all of social_post_api) and the nginx workers")
    out = b.results.setdefault("profile", {}).setdefault(program, {})
    with open(f"/proc/{pid}/comm") as fh:
        comm = fh.read().strip()

    def rows(args, columns):
        """perf report lines as (percentages..., comm, rest) for --sort comm,<x>."""
        got = []
        for ln in perf_report(data, args + ["--percent-limit", "0.1"]):
            cols = ln.split()
            try:
                nums = [float(c.rstrip("%")) for c in cols[:columns]]
            except ValueError:
                continue
            rest = cols[columns:]
            if rest:
                got.append((nums, rest[0], " ".join(c for c in rest[1:] if c != "-")))
        return got

    by_dso = rows(["--no-children", "--sort", "comm,dso"], 1)
    totals = {}
    for (pct,), who, _ in by_dso:
        totals[who] = totals.get(who, 0) + pct
    lines = [f"{who} {pct:.1f}%" for who, pct in sorted(totals.items(), key=lambda kv: -kv[1])]
    say("  on-CPU samples by process: " + ", ".join(lines))
    out["samples by process"] = lines
    mine = totals.get(comm) or 1
    pg = totals.get("postgres") or 1
    sections = [
        (f"{program}: its samples by library (self)", by_dso, comm, mine, 8, None),
        (f"{program}: functions with what they call (share of its samples: children, self)",
         rows(["--children", "--sort", "comm,symbol"], 2), comm, mine, 30,
         lambda rest: rest.startswith("[.]") and "0x0000" not in rest
         and not any(x in rest for x in ("thread_main", "clone3", "start_thread"))),
        ("postgres backends: their samples by library (self)", by_dso, "postgres", pg, 6, None),
        ("postgres backends: top functions (self)",
         rows(["--no-children", "--sort", "comm,symbol"], 1), "postgres", pg, 16, None),
    ]
    for title, table, who, total, limit, keep in sections:
        lines = [" ".join(f"{n / total * 100:5.1f}%" for n in nums) + "  " + rest
                 for nums, w, rest in table if w == who and (keep is None or keep(rest))][:limit]
        say(f"  {title}:")
        for ln in lines:
            say("    " + ln)
        out[title] = lines
    os.unlink(data)


def bench_profile(b):
    f = b.fixture
    say("== profile: where the programs' time goes under load")
    profile_program(b, "social-post-status", b.status_pid, "GET",
                    f"/social-post-status?jobId={f.job}", None)
    profile_program(b, "social-post", b.submit_pid, "POST", "/social-post", f.submit_body)
    wk.clear_queue()


# ---------------------------------------------------------------- main

def machine_notes():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                         model)
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        mem = int(next(ln for ln in f if ln.startswith("MemTotal")).split()[1]) / 1048576
    return (f"{os.cpu_count()} cores ({model}), {mem:.0f} GiB RAM, "
            f"{pyplatform.system()} {pyplatform.release()}")


def tool_versions(st):
    def first_line(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "-"
    return {"postgres": first_line([os.path.join(st["pg"]["bin_dir"], "postgres"), "--version"]),
            "nginx": first_line(["nginx", "-v"]),
            "wrk": first_line(["wrk", "-v"]).split(" Copyright")[0],
            "pgbench": first_line([os.path.join(st["pg"]["bin_dir"], "pgbench"), "--version"]),
            "curl": first_line(["curl", "--version"]).split(" (")[0]}


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 2)[2])
    parser.add_argument("names", nargs="*", metavar="name",
                        help="benchmarks to run: " + ", ".join(NAMES) + " (default: all)")
    parser.add_argument("--runs", type=int, default=3, help="runs per case (default 3)")
    parser.add_argument("--seconds", type=int, default=10,
                        help="length of each load run (default 10)")
    parser.add_argument("--connections", type=int, default=16,
                        help="HTTP connections and pgbench clients (default 16)")
    parser.add_argument("--polls", type=int, default=1000, help="long-polls (default 1000)")
    parser.add_argument("--wait", type=int, default=30, help="the long-polls' wait= (default 30)")
    parser.add_argument("--drain-jobs", type=int, default=1000, help="jobs to drain (default 1000)")
    parser.add_argument("--drain-concurrency", type=int, default=4,
                        help="the worker's --concurrency and pgbench's clients (default 4)")
    parser.add_argument("--video-mib", type=int, default=1024,
                        help="the upload's video size in MiB (default 1024)")
    parser.add_argument("--link-mbps", type=int, default=100,
                        help="upload: also run with the video fake and the YouTube fake "
                             "paced at this many MB/s each, like network links (default "
                             "100; 0: unpaced only)")
    parser.add_argument("--out", help="write PREFIX.json (every figure) and PREFIX.md (the table)")
    args = parser.parse_args()
    names = args.names or list(NAMES)
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    if not (1 <= args.runs <= 20 and 1 <= args.seconds <= 120 and 1 <= args.connections <= 256
            and 1 <= args.polls <= 10000 and 1 <= args.wait <= 60
            and 1 <= args.drain_concurrency <= 64 and 1 <= args.video_mib <= 4096
            and 0 <= args.link_mbps <= 10000):
        parser.error("a setting is out of range (see --help)")
    missing = [t for t in ("wrk", "curl") if not shutil.which(t)]
    if missing:
        parser.error(f"{', '.join(missing)} not found; bench/run.sh installs them")

    b = Bench(args)
    st = b.st
    say(f"machine: {machine_notes()}; load average {bk.load_average()}")
    versions = tool_versions(st)
    say("tools: " + "; ".join(f"{k} {v}" for k, v in versions.items()))
    say(f"stack: social-post --threads {bk.program_threads(st, 'social-post')}, "
        f"social-post-status --threads {bk.program_threads(st, 'social-post-status')}; "
        f"bench nginx on 127.0.0.1:{b.nginx.port} from the stack's nginx.conf; "
        f"{b.earlier_jobs} jobs in the table to begin with\n")
    started = time.monotonic()
    failed = []
    try:
        for name in names:
            t0 = time.monotonic()
            try:
                globals()["bench_" + name](b)
            except Exception as e:  # noqa: BLE001 - one benchmark failing must not hide the rest
                traceback.print_exc()
                b.problem(f"{name} did not run to its end: {e}")
                failed.append(name)
            say(f"   ({name}: {time.monotonic() - t0:.0f} s)\n")
    finally:
        b.close()
    say(f"== results ({', '.join(names)}; {args.runs} runs each, medians (min-max); "
        f"ratio = ours / limit; {time.monotonic() - started:.0f} s in all)")
    b.table.print(say)
    if b.others:
        others = Summary(b.others)
        note = (f"other processes on the machine took {others.fmt('{:.2f}')} of the "
                f"{os.cpu_count()} cores during the load runs (median (min-max))")
        say(note)
        b.results["other_processes_cores"] = b.others
    if args.out:
        with open(args.out + ".json", "w") as f:
            json.dump({"machine": machine_notes(), "tools": versions, "args": vars(args),
                       "table": b.table.rows, "results": b.results, "problems": b.problems},
                      f, indent=1, default=str)
        with open(args.out + ".md", "w") as f:
            f.write(b.table.markdown() + "\n")
            if b.others:
                f.write("\n" + note[0].upper() + note[1:] + ".\n")
        say(f"\nwritten: {args.out}.json, {args.out}.md")
    if b.problems:
        say("\nproblems:\n  " + "\n  ".join(b.problems))
    return 1 if b.problems else 0


if __name__ == "__main__":
    sys.exit(main())
