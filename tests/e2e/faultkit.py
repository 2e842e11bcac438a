"""faultkit: what the fault tests (test_faults_*.py) share, on top of workerkit.

A fault test injects one fault through a fake (tests/fakes/) or the operating
system, and checks what a user would see: the bytes a platform received and
their sha256, the posts it created, the job's status, the worker's exit code and
how long things took (generous liveness bounds only, never performance).

    checks = faultkit.Checks("what must hold")
    checks.check(ok, "what broke, with the figures")
    checks.done()           # one AssertionError listing every failed check

Helpers here: CPU time of a process (/proc), sanitizer reports of one worker,
whether a worker is still alive and sane, stopping a worker with a deadline,
moving a delivery's retry time forward (so a test of "re-queued every minute"
needs no minutes), a full spool disk for a worker (a small tmpfs in a
private mount namespace; RLIMIT_FSIZE where that is not possible), and a
second nginx with stock `include fastcgi_params;` locations (StockNginx).
"""
import glob
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import time

import sptest
import workerkit

CLK_TCK = os.sysconf("SC_CLK_TCK")


class Platforms(workerkit.Platforms):
    """workerkit.Platforms whose workers spool into a folder of their own
    (.spool), removed at close: a fault test leaves partial files behind by
    design, and they must not show up in other tests' spool."""

    _n = 0

    def __init__(self):
        super().__init__()
        Platforms._n += 1
        self.spool = os.path.join(sptest.state()["stack_dir"], f"spool-faults-{os.getpid()}-{Platforms._n}")

    def env(self):
        e = super().env()
        e["SOCIAL_POST_SPOOL_DIR"] = self.spool
        return e

    def close(self):
        try:
            super().close()
        finally:
            shutil.rmtree(self.spool, ignore_errors=True)


class Checks:
    """Collects failed expectations so that one run reports all of them."""

    def __init__(self, what):
        self.what = what
        self.failed = []

    def check(self, ok, message):
        if not ok:
            self.failed.append(message)
        return ok

    def done(self):
        if self.failed:
            raise AssertionError(f"{self.what}: " + "; ".join(self.failed))


def cpu_seconds(pid):
    """User + system CPU seconds that process pid (all its threads) has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def sanitizer_report(pid):
    """The ASan/UBSan report a worker wrote (stack dir, asan.<pid> / ubsan.<pid>),
    or None. Under the plain build there are none."""
    stack = sptest.state()["stack_dir"]
    texts = []
    for path in sorted(glob.glob(os.path.join(stack, f"asan.{pid}*")) +
                       glob.glob(os.path.join(stack, f"ubsan.{pid}*"))):
        with open(path, errors="replace") as f:
            texts.append(f"{os.path.basename(path)}:\n{f.read()[:3000]}")
    return "\n".join(texts) or None


def describe_exit(code):
    if code is None:
        return "still running"
    if code < 0:
        try:
            return "killed by " + signal.Signals(-code).name
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


SANITIZER_PATTERNS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def worker_problem(w):
    """None while worker w runs without a sanitizer report (a file, or lines in
    its log), else what went wrong."""
    code = w.proc.poll()
    report = sanitizer_report(w.proc.pid)
    if not report:
        lines = [line for line in w.output().splitlines() if any(p in line for p in SANITIZER_PATTERNS)]
        report = "\n".join(lines[:5]) or None
    if code is None and not report:
        return None
    text = f"worker pid {w.proc.pid}: {describe_exit(code)}"
    if report:
        text += f"; sanitizer report:\n{report}"
    else:
        text += f"; last log lines:\n{w.output()[-1500:]}"
    return text


def stop_within(w, seconds):
    """SIGTERM, then waits up to seconds: (exit code or None, seconds taken).
    A worker still running then is killed (and None returned)."""
    started = time.monotonic()
    w.signal(signal.SIGTERM)
    code = w.wait(seconds)
    taken = time.monotonic() - started
    if code is None:
        w.kill()
    else:
        w.log.close()
    return code, taken


def delivery(job, platform):
    """The delivery row as a dict (state, attempts, takeovers, run_in seconds,
    lease_owner, last_error, checkpoint), or None."""
    rows = sptest.sql("SELECT state, attempts, takeovers,"
                      " extract(epoch FROM run_at - now())::float8, lease_owner, last_error,"
                      " checkpoint, result FROM social_post_deliveries"
                      " WHERE job_id = %s AND platform = %s", (job, platform))
    if not rows:
        return None
    keys = ("state", "attempts", "takeovers", "run_in", "lease_owner", "last_error", "checkpoint",
            "result")
    return dict(zip(keys, rows[0]))


def hurry(job):
    """Makes the job's queued deliveries due now (the clock of a retry or a
    'put back for a minute' jumps forward); returns how many."""
    return len(sptest.sql("UPDATE social_post_deliveries SET run_at = now()"
                          " WHERE job_id = %s AND state = 'queued' AND run_at > now()"
                          " RETURNING id", (job,)))


def wait_final(job, platform, timeout, hurry_queued=False, every=0.1, worker=None):
    """Waits until the delivery is final (succeeded, failed, cancelled); with
    hurry_queued, every wait for a retry is skipped; with worker, gives up as
    soon as that worker has died. Returns (row, hurried): the last row seen
    (final or not) and how often it was put forward."""
    deadline = time.time() + timeout
    hurried = 0
    while True:
        row = delivery(job, platform)
        if row and row["state"] in ("succeeded", "failed", "cancelled"):
            return row, hurried
        if time.time() > deadline or (worker is not None and worker.proc.poll() is not None):
            return row, hurried
        if hurry_queued and row and row["state"] == "queued" and row["run_in"] > 0.05:
            hurried += hurry(job)
        time.sleep(every)


def steps_logged(w, job):
    """The worker's "step" log lines for job (one per claim it worked on)."""
    out = []
    for line in w.output().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == "step" and entry.get("job") == job:
            out.append(entry)
    return out


def wait_until(check, timeout, every=0.1):
    """Polls check() until it returns a true value (returned) or timeout (None)."""
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            return None
        time.sleep(every)


# ---------------------------------------------------------------- a full disk

def _can_mount_namespace():
    """The unshare arguments that give a private mount namespace here, or None."""
    unshare = shutil.which("unshare")
    if not unshare:
        return None
    for args in ([unshare, "--mount"], [unshare, "--user", "--map-root-user", "--mount"]):
        probe = subprocess.run([*args, "sh", "-c", 'd=$(mktemp -d) || exit 1; '
                                'mount -t tmpfs -o size=64k tmpfs "$d"; rc=$?; umount "$d" 2>/dev/null; '
                                'rmdir "$d"; exit $rc'],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if probe.returncode == 0:
            return args
    return None


def small_disk(spool_dir, size_bytes):
    """How to start a worker whose spool folder holds size_bytes at most:
    (prefix, preexec_fn, how). Where a private mount namespace is allowed
    (root, or unprivileged user namespaces), the worker runs in one with a
    tmpfs of that size over spool_dir: writes fail with ENOSPC, as on a full
    disk, and only that worker sees it. Elsewhere the worker gets
    RLIMIT_FSIZE = size_bytes with SIGXFSZ ignored: a write past it fails
    with EFBIG (per file, not per folder, and its log counts too)."""
    os.makedirs(spool_dir, exist_ok=True)
    ns = _can_mount_namespace()
    if ns:
        script = ('mount -t tmpfs -o size=%d,mode=0700 tmpfs "$1" || exit 97; shift; exec "$@"'
                  % size_bytes)
        return [*ns, "sh", "-c", script, "sh", spool_dir], None, "tmpfs in a mount namespace"

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size_bytes, size_bytes))
    return (), limit, "RLIMIT_FSIZE"


# ---------------------------------------------------------------- a stock nginx

# nginx's own conf/fastcgi_params (what `include fastcgi_params;` reads)
STOCK_FASTCGI_PARAMS = """
fastcgi_param  QUERY_STRING       $query_string;
fastcgi_param  REQUEST_METHOD     $request_method;
fastcgi_param  CONTENT_TYPE       $content_type;
fastcgi_param  CONTENT_LENGTH     $content_length;

fastcgi_param  SCRIPT_NAME        $fastcgi_script_name;
fastcgi_param  REQUEST_URI        $request_uri;
fastcgi_param  DOCUMENT_URI       $document_uri;
fastcgi_param  DOCUMENT_ROOT      $document_root;
fastcgi_param  SERVER_PROTOCOL    $server_protocol;
fastcgi_param  REQUEST_SCHEME     $scheme;
fastcgi_param  HTTPS              $https if_not_empty;

fastcgi_param  GATEWAY_INTERFACE  CGI/1.1;
fastcgi_param  SERVER_SOFTWARE    nginx/$nginx_version;

fastcgi_param  REMOTE_ADDR        $remote_addr;
fastcgi_param  REMOTE_PORT        $remote_port;
fastcgi_param  REMOTE_USER        $remote_user;
fastcgi_param  SERVER_ADDR        $server_addr;
fastcgi_param  SERVER_PORT        $server_port;
fastcgi_param  SERVER_NAME        $server_name;

fastcgi_param  REDIRECT_STATUS    200;
"""

CONF = """
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/client_body;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    proxy_temp_path {prefix}/tmp/proxy;
    scgi_temp_path {prefix}/tmp/scgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    server {{
        listen 127.0.0.1:{port};
        location /social-post-status {{ include fastcgi_params; fastcgi_pass 127.0.0.1:{status}; }}
        location /social-post {{ include fastcgi_params; fastcgi_pass 127.0.0.1:{submit}; }}
        location /.netlify/functions/social-post-status {{
            include fastcgi_params; fastcgi_pass 127.0.0.1:{status};
        }}
        location /.netlify/functions/social-post {{ include fastcgi_params; fastcgi_pass 127.0.0.1:{submit}; }}
    }}
}}
"""


def port_accepts(port):
    """True when something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StockNginx:
    """A second nginx on a free port, with stock locations (`include
    fastcgi_params; fastcgi_pass ...;`, no PATH_INFO) for both path styles,
    passing to the stack's programs or to the given ports. .http() sends one
    request through it; .stop() ends it."""

    def __init__(self, status_port=None, submit_port=None):
        st = sptest.state()
        status_port = status_port or st["programs"]["social-post-status"]["port"]
        submit_port = submit_port or st["programs"]["social-post"]["port"]
        self.prefix = os.path.join(st["stack_dir"], f"nginx-stock-{os.getpid()}-{free_port()}")
        shutil.rmtree(self.prefix, ignore_errors=True)
        for d in ("client_body", "fastcgi", "proxy", "scgi", "uwsgi"):
            os.makedirs(os.path.join(self.prefix, "tmp", d))
        with open(os.path.join(self.prefix, "fastcgi_params"), "w") as f:
            f.write(STOCK_FASTCGI_PARAMS)
        self.port = free_port()
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            # as root the workers would be nobody, who may not reach this folder
            f.write(CONF.format(user="user root;" if os.geteuid() == 0 else "", prefix=self.prefix,
                                port=self.port, status=status_port, submit=submit_port))
        self.argv = [st["nginx"]["bin"], "-p", self.prefix + "/", "-c", conf,
                     "-e", os.path.join(self.prefix, "error.log")]
        subprocess.run(self.argv + ["-t", "-q"], check=True, capture_output=True)
        subprocess.run(self.argv, check=True, capture_output=True)
        up = wait_until(lambda: port_accepts(self.port), 15)
        assert up, "the stock nginx did not come up; read " + os.path.join(self.prefix, "error.log")

    def http(self, method, path, body=None, token=None):
        headers = {"Authorization": "Bearer " + token} if token else {}
        if body is not None:
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return sptest.Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def stop(self):
        try:
            with open(os.path.join(self.prefix, "nginx.pid")) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10)
