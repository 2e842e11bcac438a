"""benchkit: what the benchmarks of bench.py share.

    BenchNginx   an nginx made from the stack's own configuration, with more
                 connections, a static reply and an instant fake platform
    wrk()        HTTP load with keep-alive connections, exact percentiles
    pgbench()    a pgbench script against the stack's Postgres, percentiles
                 from its per-transaction log
    CpuMeter     CPU seconds per process group during a run
    Summary      median (min-max) of runs
    Table        the final table: figure | ours | limit | ratio | target

Everything talks to the stack of scripts/stack.py (state.json in
SP_STACK_DIR) through its public interfaces: HTTP through nginx, SQL,
the programs' pids from state.json, /proc. Nothing here reads the C sources.
"""
import base64
import glob
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time

import sptest
from stack import child_pids as children_of  # noqa: F401 - scripts/stack.py, shared

HERE = os.path.dirname(os.path.abspath(__file__))
SQL_DIR = os.path.join(HERE, "sql")
CLK_TCK = os.sysconf("SC_CLK_TCK")
REAP_SECONDS = 0.3  # CpuMeter: time for the postmaster to reap ended backends
MiB = 1 << 20


# ---------------------------------------------------------------- small things

def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def proc_status(pid, field):
    """A field of /proc/pid/status: KiB for VmRSS and VmHWM, a count for Threads;
    None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing accepts on 127.0.0.1:{port} after {seconds} s")


def postmaster_pid(st):
    with open(os.path.join(st["pg"]["data_dir"], "postmaster.pid")) as f:
        return int(f.readline().strip())


def program_pid(st, name):
    return st["programs"][name]["pid"]


def program_threads(st, name):
    argv = st["programs"][name]["argv"]
    return int(argv[argv.index("--threads") + 1]) if "--threads" in argv else None


def tcp_connections(pid, local_port=None, remote_port=None):
    """Established TCP connections of pid on a local or to a remote port, from
    /proc/net/tcp and the process's socket descriptors."""
    inodes = set()
    for fd in glob.glob(f"/proc/{pid}/fd/*"):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    ports = (int(cols[1].rsplit(":", 1)[1], 16), int(cols[2].rsplit(":", 1)[1], 16))
                    if cols[3] == "01" and cols[9] in inodes \
                            and (local_port is None or ports[0] == local_port) \
                            and (remote_port is None or ports[1] == remote_port):
                        n += 1
        except OSError:
            pass
    return n


def strace_counts(path, per):
    """strace -c's table in path: {syscall: {"calls": calls / per, "ms": mean
    wall time per call}}; {} when there is none."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                cols = line.split()  # % time, seconds, usecs/call, calls, [errors,] syscall
                if len(cols) >= 5 and cols[0][0].isdigit() and cols[-1] != "total":
                    out[cols[-1]] = {"calls": int(cols[3]) / per, "ms": int(cols[2]) / 1000}
    except OSError:
        pass
    return out


# ---------------------------------------------------------------- summaries

class Summary:
    """median (min-max) of a list of run values."""

    def __init__(self, values):
        self.values = [v for v in values if v is not None]

    @property
    def median(self):
        return statistics.median(self.values) if self.values else None

    def fmt(self, spec="{:.0f}", ranges=True):
        if not self.values:
            return "-"
        med = spec.format(self.median)
        if not ranges or len(self.values) == 1:
            return med
        return f"{med} ({spec.format(min(self.values))}-{spec.format(max(self.values))})"


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


class Table:
    """Rows of the final table; ratio is ours/limit unless given."""

    def __init__(self):
        self.rows = []

    def add(self, figure, ours, limit, spec="{:.0f}", ratio=None, target=None, met=None):
        """ours, limit: a Summary, a ready text, or None. target: text; met: True/False/None."""
        def cell(x):
            return "-" if x is None else x if isinstance(x, str) else x.fmt(spec)

        def median(x):
            return x.median if isinstance(x, Summary) else None
        if ratio is None and median(ours) is not None and median(limit):
            ratio = median(ours) / median(limit)
        self.rows.append({
            "figure": figure, "ours": cell(ours), "limit": cell(limit),
            "ratio": f"{ratio:.2f}" if ratio is not None else "-",
            "target": (target or "-") + ("" if met is None else (" met" if met else " MISSED")),
            "ours_median": median(ours), "limit_median": median(limit), "ratio_value": ratio,
        })

    def print(self, out=print):
        cols = ("figure", "ours", "limit", "ratio", "target")
        widths = {c: max([len(c)] + [len(r[c]) for r in self.rows]) for c in cols}
        out(" | ".join(c.ljust(widths[c]) for c in cols))
        out("-+-".join("-" * widths[c] for c in cols))
        for r in self.rows:
            out(" | ".join(r[c].ljust(widths[c]) for c in cols))

    def markdown(self):
        lines = ["| figure | ours | limit | ratio | target |", "|---|---|---|---|---|"]
        for r in self.rows:
            lines.append(f"| {r['figure']} | {r['ours']} | {r['limit']} | {r['ratio']} | "
                         f"{r['target']} |")
        return "\n".join(lines)


# ---------------------------------------------------------------- CPU

def _proc_ticks(pid, with_children=False):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if with_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: reaped children
    return ticks


def _machine_busy_ticks():
    with open("/proc/stat") as f:
        cols = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (cols + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal


class CpuMeter:
    """CPU seconds of process groups over a run, plus this script's children
    (wrk, pgbench, a worker: whatever was reaped in between) under one label,
    this process itself, and the rest of the machine ("other").

    groups: {name: function returning pids}; a group whose function returns a
    postmaster (name "postgres") also counts reaped backends (cutime).
    """

    def __init__(self, groups, children_label=None):
        self.groups = groups
        self.children_label = children_label

    def _snapshot(self):
        snap = {}
        for name, pids_fn in self.groups.items():
            total = 0
            for pid in pids_fn():
                total += _proc_ticks(pid, with_children=(name == "postgres"))
                if name in ("postgres", "nginx"):
                    total += sum(_proc_ticks(k) for k in children_of(pid))
            snap[name] = total / CLK_TCK
        ch = resource.getrusage(resource.RUSAGE_CHILDREN)
        me = resource.getrusage(resource.RUSAGE_SELF)
        snap["_children"] = ch.ru_utime + ch.ru_stime
        snap["_self"] = me.ru_utime + me.ru_stime
        snap["_machine"] = _machine_busy_ticks() / CLK_TCK
        snap["_wall"] = time.monotonic()
        return snap

    def __enter__(self):
        self.start = self._snapshot()
        return self

    def __exit__(self, *exc):
        # A backend that ended with its client (pgbench) counts once the
        # postmaster has reaped it: take the groups' CPU a little later, but
        # end the run's wall time and the machine's total now.
        wall, machine = time.monotonic(), _machine_busy_ticks() / CLK_TCK
        time.sleep(REAP_SECONDS)
        self.end = self._snapshot()
        self.end["_wall"], self.end["_machine"] = wall, machine
        return False

    def seconds(self, name):
        """CPU seconds of one group over the run."""
        return self.end[name] - self.start[name]

    def cores(self):
        """{label: cores used on average} over the run, largest first."""
        wall = self.end["_wall"] - self.start["_wall"]
        out = {}
        for name in self.groups:
            out[name] = (self.end[name] - self.start[name]) / wall
        if self.children_label:
            out[self.children_label] = (self.end["_children"] - self.start["_children"]) / wall
        out["bench.py"] = (self.end["_self"] - self.start["_self"]) / wall
        ours = sum(out.values())
        machine = (self.end["_machine"] - self.start["_machine"]) / wall
        out["other processes"] = max(0.0, machine - ours)
        out["_machine"] = machine
        return out

    def server_seconds(self):
        """CPU seconds of the measured groups only (not the load generator, not
        this script, not other processes)."""
        return sum(self.seconds(name) for name in self.groups)

    def others(self):
        return self.cores()["other processes"]

    def line(self):
        c = self.cores()
        machine = c.pop("_machine")
        parts = [f"{k} {v:.2f}" for k, v in sorted(c.items(), key=lambda kv: -kv[1]) if v >= 0.01]
        return f"cores busy: {', '.join(parts)}; machine {machine:.2f} of {os.cpu_count()}"


def mean_cores(meters):
    """The average of several CpuMeter.cores()."""
    acc = {}
    for m in meters:
        for k, v in m.cores().items():
            acc[k] = acc.get(k, 0.0) + v / len(meters)
    return acc


def cores_line(cores):
    c = dict(cores)
    machine = c.pop("_machine", None)
    parts = [f"{k} {v:.2f}" for k, v in sorted(c.items(), key=lambda kv: -kv[1]) if v >= 0.01]
    tail = f"; machine {machine:.2f} of {os.cpu_count()}" if machine is not None else ""
    return "cores busy: " + ", ".join(parts) + tail


# ---------------------------------------------------------------- nginx

STATIC_BODY = json.dumps({
    "jobId": "00000000-0000-4000-8000-000000000000", "status": "pending",
    "videoId": "00000000-0000-4000-8000-000000000001", "platforms": ["youtube"],
    "title": "Benchmark post", "description": None,
    "results": {"youtube": {"state": "queued", "attempts": 0}}, "error": None,
    "createdAt": "2026-01-23T10:00:00.000Z", "updatedAt": "2026-01-23T10:00:00.000Z"},
    separators=(",", ":"))


class BenchNginx:
    """A second nginx made from the stack's generated nginx.conf, so the HTTP
    path (the snippet, the upstreams, logging) is the stack's own, with:

      - worker_connections and the fd limit raised for 1,000 long-polls
        (each holds a client and an upstream connection);
      - GET /bench/static: a static reply of a status body's size, the
        ceiling of the HTTP path;
      - a second server on its own port that plays a platform answering at
        once: a YouTube resumable upload (init -> Location, PUT -> the video)
        and a small video file to download.

    The stack's nginx keeps running; this one listens on other ports.
    """

    def __init__(self, st, video_bytes=64 * 1024):
        self.st = st
        self.video_bytes = video_bytes
        self.dir = tempfile.mkdtemp(prefix="sp-bench-nginx-")
        os.chmod(self.dir, 0o755)  # the workers (nobody, under root) read the video from here
        self.port = free_port()
        self.platform_port = free_port()
        self.pid = None

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def platform_url(self, path):
        return f"http://127.0.0.1:{self.platform_port}{path}"

    def _conf(self):
        """The stack's nginx.conf with this nginx's own files, ports and limits."""
        with open(self.st["nginx"]["conf"]) as f:
            text = f.read()
        d = self.dir
        # pid, logs and temporary files: every path under the stack's prefix moves here
        text = text.replace(self.st["nginx"]["prefix"].rstrip("/") + "/", d + "/")

        def at_least(directive, value):
            nonlocal text
            pattern = rf"^(\s*){directive}\s+(\d+);"
            if re.search(pattern, text, flags=re.M):
                text = re.sub(pattern, lambda m: f"{m.group(1)}{directive} "
                              f"{max(int(m.group(2)), value)};", text, flags=re.M)
                return True
            return False
        if not at_least("worker_connections", 8192):
            raise RuntimeError("the stack's nginx.conf has no worker_connections line")
        if not at_least("worker_rlimit_nofile", 20000):
            text = "worker_rlimit_nofile 20000;\n" + text
        static = ("\n        location = /bench/static {\n"
                  "            default_type application/json;\n"
                  f"            return 200 '{STATIC_BODY}\\n';\n"
                  "        }\n")
        text, n = re.subn(rf"^(\s*listen\s+)127\.0\.0\.1:{self.st['nginx']['port']}\b([^;]*;)",
                          lambda m: f"{m.group(1)}127.0.0.1:{self.port}{m.group(2)}{static}",
                          text, count=1, flags=re.M)
        if n != 1:
            raise RuntimeError("the stack's nginx.conf has no listen line with its port")
        session = f"http://127.0.0.1:{self.platform_port}/upload/session?upload_id=bench"
        platform = f"""
    # bench: a platform that answers at once (YouTube resumable upload, a video file)
    server {{
        listen 127.0.0.1:{self.platform_port};
        access_log off;
        location = /bench/video.mp4 {{
            root {d}/www;
        }}
        location = /upload/youtube/v3/videos {{
            add_header Location "{session}" always;
            return 200 '';
        }}
        location = /upload/session {{
            default_type application/json;
            return 200 '{{"kind":"youtube#video","id":"benchVideo0"}}';
        }}
    }}
"""
        idx = text.rstrip().rfind("}")
        return text[:idx] + platform + text[idx:]

    def start(self):
        os.makedirs(os.path.join(self.dir, "www", "bench"))
        for p in (os.path.join(self.dir, "www"), os.path.join(self.dir, "www", "bench")):
            os.chmod(p, 0o755)
        os.makedirs(os.path.join(self.dir, "logs"))
        for t in ("client_body", "fastcgi", "proxy", "scgi", "uwsgi"):
            os.makedirs(os.path.join(self.dir, "tmp", t))
        for p in [os.path.join(self.dir, "tmp")] + glob.glob(os.path.join(self.dir, "tmp", "*")):
            os.chmod(p, 0o777)  # the workers (nobody, under a root master) write these
        video = os.path.join(self.dir, "www", "bench", "video.mp4")
        with open(video, "wb") as f:
            f.write(os.urandom(self.video_bytes))
        os.chmod(video, 0o644)
        # files the stack's nginx.conf includes from its prefix (social-post.conf) come along
        prefix = self.st["nginx"]["prefix"]
        for inc in glob.glob(os.path.join(prefix, "*.conf")):
            if os.path.basename(inc) != "nginx.conf":
                shutil.copy(inc, self.dir)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(self._conf())
        nginx = self.st["nginx"].get("bin") or shutil.which("nginx") or "/usr/sbin/nginx"
        base = [nginx, "-p", self.dir + "/", "-c", conf, "-e", os.path.join(self.dir, "error.log")]
        for argv in (base + ["-t", "-q"], base):
            out = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if out.returncode != 0:
                raise RuntimeError(f"{' '.join(argv)}: {out.stdout}{out.stderr}")
        deadline = time.monotonic() + 10
        while self.pid is None and time.monotonic() < deadline:
            try:
                with open(os.path.join(self.dir, "nginx.pid")) as f:
                    self.pid = int(f.read().strip())
            except (OSError, ValueError):
                time.sleep(0.05)
        wait_port(self.port)
        wait_port(self.platform_port)
        return self

    def pids(self):
        return [self.pid] if self.pid else []

    def stop(self):
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and os.path.exists(f"/proc/{self.pid}"):
                try:
                    with open(f"/proc/{self.pid}/stat") as f:
                        if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                            break
                except OSError:
                    break
                time.sleep(0.05)
            self.pid = None
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- wrk

# The method, body and token come from the environment; done() prints one
# JSON line with exact figures (wrk's own output rounds them). wrk counts a
# status >= 400 as an error.
WRK_LUA = r"""
wrk.method = os.getenv("SP_BENCH_METHOD") or "GET"
local body = os.getenv("SP_BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local token = os.getenv("SP_BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
local inm = os.getenv("SP_BENCH_IF_NONE_MATCH")
if inm and inm ~= "" then
  wrk.headers["If-None-Match"] = inm
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nSP_BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,' ..
    '"failed":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def wrk(workdir, url, seconds, connections, method="GET", body=None, token=None,
        if_none_match=None):
    """One wrk run: {requests, rps, p50_ms, p99_ms, failed} (failed: socket
    errors and answers >= 400)."""
    script = os.path.join(workdir, "bench-wrk.lua")
    if not os.path.exists(script):
        with open(script, "w") as f:
            f.write(WRK_LUA)
    env = dict(os.environ, SP_BENCH_METHOD=method, SP_BENCH_BODY=body or "",
               SP_BENCH_TOKEN=token or "", SP_BENCH_IF_NONE_MATCH=if_none_match or "")
    argv = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s",
            "--timeout", "5s", "-s", script, url]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 60,
                         stdin=subprocess.DEVNULL)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("SP_BENCH ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout}{out.stderr}")
    r = json.loads(line[len("SP_BENCH "):])
    return {"requests": r["requests"], "rps": r["requests"] / (r["duration_us"] / 1e6),
            "p50_ms": r["p50_us"] / 1000, "p99_ms": r["p99_us"] / 1000, "failed": r["failed"]}


# ---------------------------------------------------------------- pgbench

def pgbench_commands(text):
    """A pgbench script as a list of ("meta"|"sql", text); SQL ends with ';' or \\gset."""
    cmds, cur = [], []
    for line in text.splitlines():
        s = line.strip()
        if not cur and (not s or s.startswith("--")):
            continue
        if not cur and s.startswith("\\"):
            cmds.append(("meta", s))
            continue
        cur.append(line)
        if s.endswith(";") or re.search(r"\\gset(\s+\w+)?$", s):
            cmds.append(("sql", "\n".join(cur)))
            cur = []
    if cur:
        raise ValueError("a pgbench script ends inside a statement")
    return cmds


def script_variant(name, variant):
    """The text of sql/<name>.sql as it runs: "plain"; "pipeline" (the whole
    script in one \\startpipeline ... \\endpipeline: one round trip); "check"
    (each SELECT and INSERT ... RETURNING must return exactly one row, else
    pgbench fails: proves that the variables reach the rows, RLS included)."""
    with open(os.path.join(SQL_DIR, name + ".sql")) as f:
        text = f.read()
    if variant == "plain":
        return text
    cmds = pgbench_commands(text)
    if variant == "pipeline":
        return "\\startpipeline\n" + text + "\n\\endpipeline\n"
    out = []
    for kind, cmd in cmds:
        body = cmd.rstrip()
        first = body.lstrip().split(None, 1)[0].upper()
        returns = first in ("SELECT", "WITH") or (first == "INSERT" and "RETURNING" in body.upper())
        if kind == "sql" and body.endswith(";") and returns:
            out.append(f"WITH checked AS (\n{body[:-1]}\n) SELECT 1 AS checked_one_row "
                       "FROM checked \\gset")
        else:
            out.append(cmd)
    return "\n".join(out) + "\n"


def pgbench(st, workdir, name, role, clients, seconds=None, transactions=None, variables=None,
            variant="plain"):
    """One pgbench run of sql/<name>.sql: {transactions, rps, p50_ms, p99_ms}.
    Prepared statements (-M prepared), -j 2 threads, latencies from -l."""
    script = os.path.join(workdir, f"{name}.{variant}.sql")
    with open(script, "w") as f:
        f.write(script_variant(name, variant))
    logdir = tempfile.mkdtemp(prefix="pgbench-log-", dir=workdir)
    pgb = os.path.join(st["pg"]["bin_dir"], "pgbench")
    argv = [pgb, "-n", "-M", "prepared", "-f", script, "-c", str(clients),
            "-j", str(min(2, clients)), "-h", "127.0.0.1", "-p", str(st["pg"]["port"]),
            "-U", role, "-l", "--log-prefix", os.path.join(logdir, "tx")]
    argv += ["-T", str(seconds)] if seconds else ["-t", str(transactions)]
    for k, v in (variables or {}).items():
        argv += ["-D", f"{k}={v}"]
    argv.append("social_post")
    try:
        out = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                             timeout=(seconds or 120) + 60)
        text = out.stdout + out.stderr
        m = re.search(r"tps = ([\d.]+) \(without initial connection time\)", text)
        failed = re.search(r"number of failed transactions: (\d+)", text)
        if out.returncode != 0 or not m or (failed and int(failed.group(1))) \
                or "aborted" in text:
            raise RuntimeError(f"pgbench {name} ({variant}) failed ({out.returncode}):\n{text}")
        lat = []
        for path in glob.glob(os.path.join(logdir, "tx*")):
            with open(path) as f:
                for line in f:
                    cols = line.split()
                    if len(cols) >= 3 and cols[2].isdigit():
                        lat.append(int(cols[2]))
        lat.sort()
        return {"transactions": len(lat), "rps": float(m.group(1)),
                "p50_ms": percentile(lat, 0.50) / 1000, "p99_ms": percentile(lat, 0.99) / 1000}
    finally:
        shutil.rmtree(logdir, ignore_errors=True)


# ---------------------------------------------------------------- fixture

class Fixture:
    """One user with a video and a job, a token good for hours, and the
    token's payload as the programs pass it to Postgres (request.jwt.claims)."""

    def __init__(self):
        self.user = sptest.new_user()
        self.video = sptest.new_video(self.user, title="Benchmark video")
        self.token = sptest.token(self.user, exp_in=6 * 3600)
        payload = self.token.split(".")[1]
        self.claims = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
        self.platforms = '["youtube"]'
        self.title = "Benchmark post"
        self.submit_body = json.dumps({"videoId": self.video, "platforms": ["youtube"],
                                       "title": self.title})
        r = sptest.http("POST", "/social-post", self.submit_body,
                        headers={"Content-Type": "application/json"}, token=self.token)
        if r.status != 202:
            raise RuntimeError(f"POST /social-post answered {r.status}: {r.body[:300]!r}")
        self.job = r.json["jobId"]

    def variables(self):
        return {"claims": self.claims, "user": self.user, "video": self.video, "job": self.job,
                "platforms": self.platforms, "title": self.title}
