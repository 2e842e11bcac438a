#!/usr/bin/python3
"""worker_upload.py: how long social-post-worker takes to post one big video,
how fast that is, and how much memory the worker needs for it.

    worker_upload.py [--sizes 64,256,1024] [--runs 3] [--platforms youtube,facebook]
                     [--fb-chunk-mib 8] [--concurrency 2]

For each platform, video size (MiB) and run: a job is submitted through nginx
while no worker runs, then a fresh social-post-worker starts, claims the
delivery, spools the video from the fake video server and uploads it to the
fake platform (YouTube: resumable upload in 8 MiB chunks; Facebook: Graph
resumable upload, with the fake asking for fb_chunk_bytes per transfer). The
figures per run:

    seconds   from the delivery leaving 'queued' (the claim) to the job's
              status 'completed', both seen by polling Postgres every 10 ms
    MB/s      video bytes / seconds (MB = 10^6 bytes)
    peak RSS  the worker's VmHWM from /proc/<pid>/status, read while it runs;
              a fresh worker per run makes it the peak of that run

The table gives the median of the runs and (min-max). Every run checks that
the job completed and that the fake received the video's exact bytes (sha256);
a run that does not is reported and makes the exit status 1. Timing never
does. Every wait is bounded (--timeout, scaled by size).

Needs the stack of scripts/stack.py (SP_STACK_DIR) and PYTHONPATH with
tests/e2e and tests/fakes; bench/run.sh sets all of that up.
Not here: the other figures (bench.py, which reuses one_run for its 1 GiB case).
"""
import argparse
import signal
import statistics
import sys
import time

import psycopg2

import sptest
import workerkit as wk

MiB = 1 << 20
POLL_SECONDS = 0.01
ACCOUNTS = {"youtube": None, "facebook": "1000001"}


def load_average():
    """The 1-minute load average: other work on the machine skews the figures."""
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def vm_hwm_kib(pid):
    """VmHWM of pid in KiB, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def watch_job(conn, worker, job, timeout):
    """Polls the job's delivery until the job is final; returns
    (claimed_at, done_at, status, peak_kib) with monotonic times."""
    claimed = done = None
    peak = 0
    deadline = time.monotonic() + timeout
    with conn.cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute("SELECT d.state, j.status FROM social_post_deliveries d"
                        " JOIN social_post_jobs j ON j.id = d.job_id WHERE d.job_id = %s", (job,))
            state, status = cur.fetchone()
            now = time.monotonic()
            peak = max(peak, vm_hwm_kib(worker.proc.pid) or 0)
            if claimed is None and state != "queued":
                claimed = now
            if status in ("completed", "failed"):
                done = now
                return claimed, done, status, peak
            if worker.proc.poll() is not None:
                return claimed, None, f"worker exited with {worker.proc.returncode}", peak
            time.sleep(POLL_SECONDS)
    return claimed, None, f"not final after {timeout:.0f} s", peak


def received_sha(platforms, platform, post_id):
    """The sha256 of what the fake platform stored for post_id."""
    if platform == "youtube":
        videos = platforms.youtube.stats()["videos"]
        return next((v["sha256"] for v in videos if v["id"] == post_id), None)
    videos = platforms.graph.stats()["fb_videos"]
    return next((v["sha256"] for v in videos if v["video_id"] == post_id), None)


def one_run(p, conn, args, platform, user, video, size, sha):
    """Submits a job, runs a fresh worker on it; returns a result dict."""
    wk.clear_queue()
    job = wk.submit(user, video, [platform])
    worker = p.worker("--concurrency", str(args.concurrency))
    timeout = args.timeout + size / (5 * 10**6)  # at least 5 MB/s before giving up
    try:
        claimed, done, status, peak = watch_job(conn, worker, job, timeout)
        peak = max(peak, vm_hwm_kib(worker.proc.pid) or 0)
    finally:
        code = worker.stop()
    result = {"platform": platform, "size": size, "peak_kib": peak, "ok": False}
    if status != "completed" or claimed is None:
        result["error"] = f"job {job}: {status}; worker log {worker.log_path}"
        return result
    post = wk.status(user, job)["results"][platform]
    got = received_sha(p, platform, post.get("postId"))
    if got != sha:
        result["error"] = f"job {job}: the fake received sha256 {got}, expected {sha}"
        return result
    if code != 0:
        result["error"] = f"worker exited with {code} on SIGTERM; log {worker.log_path}"
        return result
    seconds = done - claimed
    result.update(ok=True, seconds=seconds, mbps=size / seconds / 1e6)
    return result


def summary(values, fmt):
    """'median (min-max)' of values with fmt, or '-' when there are none."""
    if not values:
        return "-"
    med = statistics.median(values)
    return f"{fmt.format(med)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def print_table(results, runs):
    header = (f"{'platform':9} {'size':>9} {'ok':>4}  {'claim->completed s':>22}  "
              f"{'throughput MB/s':>20}  {'worker peak RSS MiB':>20}")
    print(header)
    print("-" * len(header))
    keys = []
    for r in results:
        if (r["platform"], r["size"]) not in keys:
            keys.append((r["platform"], r["size"]))
    for platform, size in keys:
        rs = [r for r in results if r["platform"] == platform and r["size"] == size]
        ok = [r for r in rs if r["ok"]]
        print(f"{platform:9} {size // MiB:>5} MiB {len(ok):>2}/{runs}"
              f"  {summary([r['seconds'] for r in ok], '{:.2f}'):>22}"
              f"  {summary([r['mbps'] for r in ok], '{:.0f}'):>20}"
              f"  {summary([r['peak_kib'] / 1024 for r in rs if r['peak_kib']], '{:.1f}'):>20}")


def main():
    # SIGTERM (from bench/run.sh) unwinds like Ctrl-C: workers and fakes are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="64,256,1024", help="video sizes in MiB (default 64,256,1024)")
    parser.add_argument("--runs", type=int, default=3, help="runs per size and platform (default 3)")
    parser.add_argument("--platforms", default="youtube,facebook")
    parser.add_argument("--fb-chunk-mib", type=int, default=8,
                        help="bytes per Facebook transfer the fake asks for, in MiB (default 8)")
    parser.add_argument("--concurrency", type=int, default=2, help="the worker's --concurrency")
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds a run may take, plus 1 s per 5 MB of video (default 60)")
    args = parser.parse_args()
    sizes = [int(s) * MiB for s in args.sizes.split(",") if s]
    platforms = [p for p in args.platforms.split(",") if p]
    if not 1 <= args.runs <= 20 or not sizes or any(p not in ACCOUNTS for p in platforms) \
            or any(not 0 < s <= 4096 * MiB for s in sizes):
        parser.error("--runs 1..20, sizes 1..4096 MiB, platforms among " + ",".join(ACCOUNTS))

    print(f"worker upload: sizes {args.sizes} MiB, {args.runs} runs each, fresh worker per run "
          f"(--concurrency {args.concurrency}); Facebook transfers of {args.fb_chunk_mib} MiB",
          flush=True)
    results = []
    conn = psycopg2.connect(sptest.state()["database_url"])
    conn.autocommit = True
    try:
        with wk.Platforms() as p:
            p.graph.config({"fb_chunk_bytes": args.fb_chunk_mib * MiB})
            for size in sizes:
                url, sha = p.video.add_video(f"bench-{size // MiB}m.mp4", size)
                user, video = wk.user_with_video(url, title="Benchmark video")
                for platform in platforms:
                    wk.connect(user, platform, account_id=ACCOUNTS[platform])
                for platform in platforms:
                    for n in range(args.runs):
                        r = one_run(p, conn, args, platform, user, video, size, sha)
                        results.append(r)
                        line = (f"{r['seconds']:.2f} s, {r['mbps']:.0f} MB/s" if r["ok"]
                                else "FAILED: " + r["error"])
                        print(f"  {platform} {size // MiB} MiB run {n + 1}: {line}, "
                              f"peak RSS {r['peak_kib'] / 1024:.1f} MiB, load {load_average()}", flush=True)
                p.video.reset()  # deletes the generated file before the next size
    finally:
        conn.close()
    print()
    print_table(results, args.runs)
    failed = [r for r in results if not r["ok"]]
    if failed:
        print(f"\n{len(failed)} run(s) failed; see above")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
