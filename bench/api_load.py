#!/usr/bin/python3
"""api_load.py: requests per second and latency of the HTTP API through nginx,
and whether the FastCGI programs' memory grows with requests.

    api_load.py [--seconds 10] [--runs 3] [--connections 2,8] [--generator auto|wrk|python]

Two cases, each at every connection count (keep-alive connections to nginx),
--runs times for --seconds:

    status   GET /social-post-status?jobId=<a job of the user>   (200)
    submit   POST /social-post {"videoId", "platforms": ["youtube"]}   (202, a new job each)

with one user's HS256 token, so every request verifies a JWT, runs its
transaction as that user under row-level security, and answers. No worker
runs, so submitted jobs only pile up in the queue.

The load comes from wrk (two threads; its Lua done() hook reports exact
percentiles) when it is installed, else from Python threads with http.client
(slower: then the figures say more about Python than about the server).
Per case and connection count the table gives the median over the runs of
requests/s (min-max), latency p50 and p99, and the requests that failed
(status >= 400 or socket errors; expected 0).

Memory: VmRSS of social-post-status and social-post (pids from the stack's
state.json) after a warm-up at the highest connection count (so every
FastCGI thread holds its database connection), and again after all runs of
their case; the difference over the requests in between is the growth per
request, which should be about 0.

Needs the stack of scripts/stack.py (SP_STACK_DIR) and PYTHONPATH with
tests/e2e; bench/run.sh sets that up. Never fails on a timing.
Not here: the worker's figures (worker_upload.py).
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import sptest

WARMUP_SECONDS = 2

# wrk script: the method and body come from the environment; done() prints one
# JSON line with the exact figures (wrk's own output rounds them).
WRK_LUA = r"""
wrk.method = os.getenv("SP_BENCH_METHOD") or "GET"
local body = os.getenv("SP_BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SP_BENCH_TOKEN")

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nSP_BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"failed":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def load_average():
    """The 1-minute load average: other work on the machine skews the figures."""
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def rss_kib(pid):
    """VmRSS of pid in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


class WrkLoad:
    """Runs wrk against the API; one instance per process."""

    name = "wrk"

    def __init__(self, workdir):
        self.script = os.path.join(workdir, "bench-wrk.lua")
        with open(self.script, "w") as f:
            f.write(WRK_LUA)

    def run(self, case, connections, seconds):
        env = dict(os.environ, SP_BENCH_METHOD=case["method"], SP_BENCH_BODY=case["body"] or "",
                   SP_BENCH_TOKEN=case["token"])
        argv = ["wrk", "-t", str(min(2, connections)), "-c", str(connections),
                "-d", f"{seconds}s", "--timeout", "5s", "-s", self.script, case["url"]]
        out = subprocess.run(argv, env=env, capture_output=True, text=True,
                             timeout=seconds + 30, stdin=subprocess.DEVNULL)
        line = next((ln for ln in out.stdout.splitlines() if ln.startswith("SP_BENCH ")), None)
        if out.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout}{out.stderr}")
        r = json.loads(line[len("SP_BENCH "):])
        return {"requests": r["requests"], "rps": r["requests"] / (r["duration_us"] / 1e6),
                "p50_ms": r["p50_us"] / 1000, "p99_ms": r["p99_us"] / 1000, "failed": r["failed"]}


class PythonLoad:
    """Threads with one keep-alive http.client connection each."""

    name = "python threads"

    def run(self, case, connections, seconds):
        url = urllib.parse.urlsplit(case["url"])
        target = url.path + ("?" + url.query if url.query else "")
        headers = {"Authorization": "Bearer " + case["token"]}
        body = case["body"].encode() if case["body"] else None
        if body:
            headers["Content-Type"] = "application/json"
        deadline = time.monotonic() + seconds
        results = []

        def client():
            lat, failed = [], 0
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                try:
                    conn.request(case["method"], target, body=body, headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                    ok = resp.status < 400
                except (OSError, http.client.HTTPException):
                    ok = False
                    conn.close()
                lat.append(time.perf_counter() - t0)
                failed += not ok
            conn.close()
            results.append((lat, failed))

        started = time.monotonic()
        threads = [threading.Thread(target=client, daemon=True) for _ in range(connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 30)
        elapsed = time.monotonic() - started
        lat = sorted(x for r in results for x in r[0])
        if not lat:
            raise RuntimeError("no request completed")
        pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
        return {"requests": len(lat), "rps": len(lat) / elapsed, "p50_ms": pick(0.50),
                "p99_ms": pick(0.99), "failed": sum(r[1] for r in results)}


def make_cases():
    """The two cases: a user, a video, a pending job to read, a token."""
    user = sptest.new_user()
    video = sptest.new_video(user, title="Benchmark video")
    token = sptest.token(user, exp_in=3 * 3600)
    body = json.dumps({"videoId": video, "platforms": ["youtube"], "title": "Benchmark post"})
    r = sptest.http("POST", "/social-post", body, headers={"Content-Type": "application/json"},
                    token=token)
    if r.status != 202:
        raise RuntimeError(f"POST /social-post answered {r.status}: {r.body[:300]!r}")
    job = r.json["jobId"]
    r = sptest.http("GET", f"/social-post-status?jobId={job}", token=token)
    if r.status != 200:
        raise RuntimeError(f"GET /social-post-status answered {r.status}: {r.body[:300]!r}")
    base = sptest.state()["api_base_url"]
    return [
        {"name": "status", "label": "GET /social-post-status?jobId=", "method": "GET",
         "url": f"{base}/social-post-status?jobId={job}", "body": None, "token": token,
         "program": "social-post-status"},
        {"name": "submit", "label": "POST /social-post", "method": "POST",
         "url": f"{base}/social-post", "body": body, "token": token, "program": "social-post"},
    ]


def fmt_range(values, fmt):
    med = statistics.median(values)
    return f"{fmt.format(med)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def main():
    # SIGTERM (from bench/run.sh) unwinds like Ctrl-C: workers and fakes are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each run (default 10)")
    parser.add_argument("--runs", type=int, default=3, help="runs per case (default 3)")
    parser.add_argument("--connections", default="2,8", help="connection counts (default 2,8)")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    args = parser.parse_args()
    conns = [int(c) for c in args.connections.split(",") if c]
    if not 1 <= args.runs <= 20 or not 1 <= args.seconds <= 120 or not conns \
            or any(not 1 <= c <= 64 for c in conns):
        parser.error("--runs 1..20, --seconds 1..120, --connections 1..64 each")

    st = sptest.state()
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk"))
    workdir = tempfile.mkdtemp(prefix="bench-", dir=st["stack_dir"])
    load = WrkLoad(workdir) if use_wrk else PythonLoad()
    cases = make_cases()
    print(f"API load through nginx: {args.runs} runs x {args.seconds} s per case, "
          f"connections {args.connections}, load generator: {load.name}", flush=True)

    rows, memory = [], []
    try:
        for case in cases:
            pid = st["programs"][case["program"]]["pid"]
            rss_start = rss_kib(pid)
            load.run(case, max(conns), WARMUP_SECONDS)
            rss_before = rss_kib(pid)
            served = 0
            for c in conns:
                runs = []
                for n in range(args.runs):
                    r = load.run(case, c, args.seconds)
                    served += r["requests"]
                    runs.append(r)
                    print(f"  {case['name']} c={c} run {n + 1}: {r['rps']:.0f} req/s, "
                          f"p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
                          f"failed {r['failed']}, load {load_average()}", flush=True)
                rows.append((case, c, runs))
            rss_after = rss_kib(pid)
            memory.append((case, rss_start, rss_before, rss_after, served))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    header = (f"{'request':32} {'conns':>5}  {'req/s median (min-max)':>24}  "
              f"{'p50 ms':>7}  {'p99 ms':>7}  {'failed':>6}")
    print(header)
    print("-" * len(header))
    for case, c, runs in rows:
        print(f"{case['label']:32} {c:>5}  {fmt_range([r['rps'] for r in runs], '{:.0f}'):>24}"
              f"  {statistics.median(r['p50_ms'] for r in runs):>7.2f}"
              f"  {statistics.median(r['p99_ms'] for r in runs):>7.2f}"
              f"  {sum(r['failed'] for r in runs):>6}")
    print()
    print(f"{'program':19} {'RSS at start':>12} {'after warm-up':>14} {'after runs':>11} "
          f"{'requests':>9} {'growth/request':>15}")
    for case, start, before, after, served in memory:
        per = (after - before) * 1024 / served if served else 0
        print(f"{case['program']:19} {start:>8} KiB {before:>10} KiB {after:>7} KiB "
              f"{served:>9} {per:>11.2f} B")
    failed = sum(r["failed"] for _, _, runs in rows for r in runs)
    if failed:
        print(f"\n{failed} request(s) failed (status >= 400 or socket errors); read the stack's logs")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
