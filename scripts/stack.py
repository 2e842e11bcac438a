#!/usr/bin/python3
"""stack.py: starts and stops social-post's whole local stack on 127.0.0.1.

    stack.py start [--skip-missing]   Postgres (set up as a new Supabase project is), migrations,
                                      test keys, the programs, nginx
    stack.py stop                     stops all of it; exit 1 on sanitizer reports or crashes
    stack.py status                   what runs where
    stack.py run                      start, print how to use it, stop on Ctrl-C / SIGTERM
    stack.py user                     adds a user and a video; prints their ids and a token

The end-to-end tests (the ctest fixture) and the README's local run both use it.
Everything lives in one state folder (SP_STACK_DIR) that `start` wipes first:
Postgres's data, socket and log, the keys, each program's log and the nginx
prefix; state.json in it records ports, pids and paths for `stop`, for
tests/e2e/sptest.py and for people. Each program runs under a small supervisor
(this file, `_supervise`) that records its exit status, so `stop` can say that
a program died and how, even though `start` has long exited.

state.json: api_base_url (nginx), database_url (superuser postgres),
api_database_url (login social_post_api: NOINHERIT, member of authenticated),
hs256_secret, webhook_secret (whsec_...), jwks_file, ec_kid / rsa_kid with ec_private_pem, ec_public_pem,
rsa_private_pem, rsa_public_pem (file paths), cors_origins, source_dir,
build_dir, stack_dir, pg {port, bin_dir, data_dir, socket_dir, log},
nginx {port, pid, conf, error_log, access_log}, and programs {name: {port,
pid, supervisor_pid, log, argv}}.

Settings (environment):
    SP_SOURCE_DIR    the repository (default: this script's parent's parent)
    SP_BUILD_DIR     the cmake build folder with the programs (default: SP_SOURCE_DIR/build)
    SP_STACK_DIR     the state folder (default: SP_BUILD_DIR/stack)
    SP_NGINX_PORT    nginx's port on 127.0.0.1 (default: a free one)
    SP_CORS_ORIGINS  CORS_ALLOWED_ORIGINS for the programs (default: https://app.example.test)
    SP_PG_BINDIR     where initdb, pg_ctl, psql and pg_dump are (default: found)
    SP_SUBMIT_THREADS, SP_STATUS_THREADS   the programs' --threads (default 4 each)

Not here: the tests themselves, and anything that talks to the internet.
Needs only the standard library, plus the `cryptography` package for the keys.
"""

import argparse
import base64
import glob
import hashlib
import hmac
import http.client
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid

WAIT_SECONDS = 30  # every wait for something to come up is bounded by this
STOP_SECONDS = 10  # SIGTERM, then SIGKILL after this long
SANITIZER_PATTERNS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
EC_KID = "ec-test-1"
RSA_KID = "rsa-test-1"
# Configuration variables of the programs (DESIGN.md §6); those set in the
# caller's environment are not passed on, so a developer's shell cannot point
# the stack at a real project.
PROGRAM_CONFIG_VARS = (
    "DATABASE_URL", "SUPABASE_JWT_SECRET", "SUPABASE_JWKS_FILE", "SUPABASE_URL",
    "JWT_AUDIENCE", "CORS_ALLOWED_ORIGINS", "YOUTUBE_UPLOAD_URL", "YOUTUBE_THUMBNAILS_URL",
    "GOOGLE_TOKEN_URL",
    "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "FACEBOOK_GRAPH_URL", "FACEBOOK_VIDEO_URL",
    "SOCIAL_POST_SPOOL_DIR", "SOCIAL_POST_ALLOW_PRIVATE_VIDEO_URLS", "ASAN_OPTIONS",
    "UBSAN_OPTIONS", "LSAN_OPTIONS", "SOCIAL_POST_WEBHOOK_SECRET",
    "SOCIAL_POST_ALLOW_PRIVATE_CALLBACK_URLS",
    "TIKTOK_API_URL", "TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET",
    "FACEBOOK_GRAPH_VERSION", "FACEBOOK_RUPLOAD_URL", "INSTAGRAM_GRAPH_URL",
    "SOCIAL_POST_PUBLIC_URL", "GOOGLE_AUTH_URL", "GOOGLE_REVOKE_URL", "FACEBOOK_APP_ID",
    "FACEBOOK_APP_SECRET", "FACEBOOK_AUTH_URL", "INSTAGRAM_APP_ID", "INSTAGRAM_APP_SECRET",
    "INSTAGRAM_AUTH_URL", "INSTAGRAM_TOKEN_URL", "TIKTOK_AUTH_URL",
)


class StackError(Exception):
    """A step failed; the message says what and which log to read."""


# ---------------------------------------------------------------- programs

class Program:
    """One long-running program of the stack, started in table order.

    command(st, port) returns its argv; port is a free TCP port on 127.0.0.1
    when listen is True (the program counts as up once it accepts there), else
    None (up once it has run for a moment). env(st) adds environment variables
    to the common ones (api_env). A missing argv[0] fails `start` unless
    --skip-missing is given. `stop` sends SIGTERM and allows stop_seconds
    before SIGKILL (longer for a program with a shutdown grace period).
    """

    def __init__(self, name, command, listen=True, env=None, stop_seconds=STOP_SECONDS):
        self.name = name
        self.command = command
        self.listen = listen
        self.env = env or (lambda st: {})
        self.stop_seconds = stop_seconds


def build_binary(st, name):
    return os.path.join(st["build_dir"], name)


def api_env(st):
    """The environment every program gets: database, JWT keys, CORS, sanitizers."""
    stack = st["stack_dir"]
    return {
        "DATABASE_URL": st["api_database_url"],
        "SUPABASE_JWT_SECRET": st["hs256_secret"],
        "SOCIAL_POST_WEBHOOK_SECRET": st["webhook_secret"],
        "SUPABASE_JWKS_FILE": st["jwks_file"],
        "CORS_ALLOWED_ORIGINS": st["cors_origins"],
        "ASAN_OPTIONS": "detect_leaks=1:log_path=" + os.path.join(stack, "asan"),
        "UBSAN_OPTIONS": "print_stacktrace=1:log_path=" + os.path.join(stack, "ubsan"),
    }


def connect_env(st):
    """The submit program's settings for connecting accounts: the public URL
    (nginx), and in the sandbox the OAuth fake as every platform's consent
    page, token endpoint and account lookup; with real credentials, those of
    the caller's environment."""
    env = {"SOCIAL_POST_PUBLIC_URL": st["public_url"]}
    if not st.get("sandbox"):
        env.update({k: os.environ[k] for k in PROGRAM_CONFIG_VARS
                    if os.environ.get(k) and k not in ("DATABASE_URL", "SOCIAL_POST_PUBLIC_URL")})
        return env
    url = sandbox_url(st, "sandbox-oauth")
    env.update({
        "GOOGLE_AUTH_URL": url + "/google/o/oauth2/v2/auth", "GOOGLE_TOKEN_URL": url + "/google/token",
        "GOOGLE_REVOKE_URL": url + "/google/revoke", "YOUTUBE_UPLOAD_URL": url + "/upload/youtube/v3/videos",
        "GOOGLE_CLIENT_ID": "sandbox-client", "GOOGLE_CLIENT_SECRET": "sandbox-secret",
        "FACEBOOK_AUTH_URL": url + "/facebook/dialog/oauth", "FACEBOOK_GRAPH_URL": url + "/graph",
        "FACEBOOK_APP_ID": "sandbox-app", "FACEBOOK_APP_SECRET": "sandbox-secret",
        "INSTAGRAM_AUTH_URL": url + "/instagram/oauth/authorize",
        "INSTAGRAM_TOKEN_URL": url + "/instagram/oauth/access_token",
        "INSTAGRAM_GRAPH_URL": url + "/iggraph",
        "INSTAGRAM_APP_ID": "sandbox-ig-app", "INSTAGRAM_APP_SECRET": "sandbox-secret",
        "TIKTOK_AUTH_URL": url + "/tiktok/v2/auth/authorize/", "TIKTOK_API_URL": url,
        "TIKTOK_CLIENT_KEY": "sandbox-client-key", "TIKTOK_CLIENT_SECRET": "sandbox-secret",
    })
    return env


# The stack's programs, in start order (stopped in reverse). The OAuth fake
# comes first: the submit program's settings name its port.
PROGRAMS = [
    Program("sandbox-oauth",
            lambda st, port: [sys.executable,
                              os.path.join(st["source_dir"], "tests", "fakes", "fake_oauth.py"),
                              "--port", port]),
    Program("social-post",
            lambda st, port: [build_binary(st, "social-post"),
                              "--listen", f"127.0.0.1:{port}", "--threads",
                              os.environ.get("SP_SUBMIT_THREADS", "4")],
            env=connect_env),
    Program("social-post-status",
            lambda st, port: [build_binary(st, "social-post-status"),
                              "--listen", f"127.0.0.1:{port}", "--threads",
                              os.environ.get("SP_STATUS_THREADS", "4")]),
]

# Platform variables a local run passes to its worker when it talks to the
# real platforms (GOOGLE_CLIENT_ID set); otherwise the sandbox is used.
REAL_PLATFORM_VARS = ("YOUTUBE_UPLOAD_URL", "YOUTUBE_THUMBNAILS_URL", "GOOGLE_TOKEN_URL", "GOOGLE_CLIENT_ID",
                      "GOOGLE_CLIENT_SECRET", "FACEBOOK_GRAPH_URL", "FACEBOOK_VIDEO_URL",
                      "FACEBOOK_GRAPH_VERSION", "FACEBOOK_RUPLOAD_URL", "INSTAGRAM_GRAPH_URL")
REAL_TIKTOK_VARS = ("TIKTOK_API_URL", "TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET")


def fake_program(name, script):
    """A platform fake of tests/fakes as a sandbox program."""
    return Program(name, lambda st, port: [sys.executable,
                                           os.path.join(st["source_dir"], "tests", "fakes", script),
                                           "--port", port])


def sandbox_url(st, name, path=""):
    return f"http://127.0.0.1:{st['programs'][name]['port']}{path}"


def worker_env(st):
    """The worker's environment: a role that bypasses RLS, and the platforms."""
    env = {"DATABASE_URL": st["database_url"],
           "SOCIAL_POST_SPOOL_DIR": os.path.join(st["stack_dir"], "spool")}
    if st.get("sandbox"):
        env.update({
            "SOCIAL_POST_ALLOW_PRIVATE_VIDEO_URLS": "1",  # the sandbox videos are on 127.0.0.1
            "SOCIAL_POST_ALLOW_PRIVATE_CALLBACK_URLS": "1",  # so are a local run's receivers
            "YOUTUBE_UPLOAD_URL": sandbox_url(st, "sandbox-youtube", "/upload/youtube/v3/videos"),
            "YOUTUBE_THUMBNAILS_URL": sandbox_url(st, "sandbox-youtube", "/upload/youtube/v3/thumbnails/set"),
            "GOOGLE_TOKEN_URL": sandbox_url(st, "sandbox-youtube", "/token"),
            "GOOGLE_CLIENT_ID": "sandbox-client", "GOOGLE_CLIENT_SECRET": "sandbox-secret",
            "FACEBOOK_GRAPH_URL": sandbox_url(st, "sandbox-graph", "/v27.0"),
            "FACEBOOK_VIDEO_URL": sandbox_url(st, "sandbox-graph", "/v27.0"),
            "FACEBOOK_RUPLOAD_URL": sandbox_url(st, "sandbox-graph", "/video-upload/v27.0"),
            "INSTAGRAM_GRAPH_URL": sandbox_url(st, "sandbox-graph", "/instagram/v27.0"),
        })
        env.update({"TIKTOK_API_URL": sandbox_url(st, "sandbox-tiktok"),
                    "TIKTOK_CLIENT_KEY": "sandbox-client-key", "TIKTOK_CLIENT_SECRET": "sandbox-secret"})
    else:
        env.update({k: os.environ[k] for k in REAL_PLATFORM_VARS if os.environ.get(k)})
        env.update({k: os.environ[k] for k in REAL_TIKTOK_VARS if os.environ.get(k)})
    return env


# The local run (SP_STACK_WORKER=1) adds the worker, and the sandbox platforms
# unless real credentials are configured. The tests start their own workers.
LOCAL_RUN_PROGRAMS = [
    fake_program("sandbox-youtube", "fake_youtube.py"),
    fake_program("sandbox-graph", "fake_graph.py"),
    fake_program("sandbox-tiktok", "fake_tiktok.py"),
    fake_program("sandbox-videos", "video_server.py"),
    Program("social-post-worker",
            lambda st, port: [build_binary(st, "social-post-worker"), "--concurrency", "4"],
            listen=False, env=worker_env, stop_seconds=40),
]


def programs(st):
    """The programs this stack runs, in start order."""
    extra = []
    if st.get("worker"):
        extra = [p for p in LOCAL_RUN_PROGRAMS
                 if st.get("sandbox") or not p.name.startswith("sandbox-")]
    return PROGRAMS + extra


NGINX_UPSTREAMS = {"@SUBMIT_ADDR@": "social-post", "@STATUS_ADDR@": "social-post-status"}


# ---------------------------------------------------------------- helpers

def settings():
    """The stack's folders and options from the environment, all absolute."""
    here = os.path.dirname(os.path.abspath(__file__))
    source = os.path.abspath(os.environ.get("SP_SOURCE_DIR") or os.path.dirname(here))
    build = os.path.abspath(os.environ.get("SP_BUILD_DIR") or os.path.join(source, "build"))
    stack = os.path.abspath(os.environ.get("SP_STACK_DIR") or os.path.join(build, "stack"))
    port = os.environ.get("SP_NGINX_PORT")
    return {
        "source_dir": source,
        "build_dir": build,
        "stack_dir": stack,
        "nginx_port": int(port) if port else None,
        "cors_origins": os.environ.get("SP_CORS_ORIGINS", "https://app.example.test"),
        "worker": os.environ.get("SP_STACK_WORKER") == "1",
        "sandbox": not os.environ.get("GOOGLE_CLIENT_ID"),
    }


def state_path(stack_dir):
    return os.path.join(stack_dir, "state.json")


def load_state(stack_dir):
    """The state that `start` recorded, or None when there is none."""
    try:
        with open(state_path(stack_dir)) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def save_state(st):
    path = state_path(st["stack_dir"])
    with open(path + ".tmp", "w") as f:
        json.dump(st, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(path + ".tmp", path)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def pid_alive(pid):
    """True while pid runs; a zombie counts as gone."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def wait_until(what, check, log, seconds=WAIT_SECONDS, failed=None):
    """Polls check() until true; raises naming log after `seconds`, or at once
    when failed() returns a reason (e.g. the process exited)."""
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return
        reason = failed() if failed else None
        if reason:
            raise StackError(f"{what}: {reason}; read {log}")
        if time.monotonic() > deadline:
            raise StackError(f"{what}: not ready after {seconds} s; read {log}")
        time.sleep(0.05)


def signal_pid(pid, sig):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def child_pids(pid):
    """The pids whose parent is pid (nginx's workers)."""
    kids = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                kids.append(int(stat.split("/")[2]))
        except (OSError, IndexError, ValueError):
            pass
    return kids


def run_logged(argv, log, what, env=None):
    """Runs argv to completion with its output appended to log."""
    with open(log, "ab") as out:
        try:
            rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env).returncode
        except OSError as e:
            raise StackError(f"{what}: cannot run {argv[0]}: {e}")
    if rc != 0:
        raise StackError(f"{what} failed (exit status {rc}); read {log}")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---------------------------------------------------------------- postgres

def pg_bindir():
    """The folder of initdb/pg_ctl/psql: SP_PG_BINDIR, pg_config's, Debian's, or PATH's."""
    candidates = []
    if os.environ.get("SP_PG_BINDIR"):
        candidates.append(os.environ["SP_PG_BINDIR"])
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if out.returncode == 0:
            candidates.append(out.stdout.strip())

    def version(path):
        m = re.search(r"/postgresql/(\d+)/bin$", path)
        return int(m.group(1)) if m else 0

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    if shutil.which("initdb"):
        candidates.append(os.path.dirname(os.path.realpath(shutil.which("initdb"))))
    for d in candidates:
        if all(os.access(os.path.join(d, tool), os.X_OK)
               for tool in ("initdb", "pg_ctl", "postgres", "psql")):
            return d
    raise StackError("no PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) found; "
                     "install postgresql or set SP_PG_BINDIR")


def as_postgres(argv):
    """argv run as the postgres OS user when we are root (Postgres refuses root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + argv
    return argv


def pg_tool(st, tool):
    return os.path.join(st["pg"]["bin_dir"], tool)


def pg_ctl(st, *args):
    pg = st["pg"]
    argv = as_postgres([pg_tool(st, "pg_ctl"), "-D", pg["data_dir"], "-l", pg["log"], *args])
    run_logged(argv, pg["ctl_log"], "pg_ctl " + args[-1])


def pg_start(st):
    """Starts the stack's Postgres (same data, port and socket) and waits for it."""
    pg_ctl(st, "-w", "-t", str(WAIT_SECONDS), "start")


def pg_stop(st):
    """Stops the stack's Postgres, disconnecting every client (-m fast)."""
    pg_ctl(st, "-w", "-t", str(WAIT_SECONDS), "-m", "fast", "stop")


def pg_running(st):
    pg = st.get("pg")
    if not pg or not os.path.exists(os.path.join(pg["data_dir"], "postmaster.pid")):
        return False
    with open(os.path.join(pg["data_dir"], "postmaster.pid")) as f:
        first = f.readline().strip()
    return first.isdigit() and pid_alive(int(first))


def pg_root_dir(stack):
    """Makes stack/pg, owned by the postgres OS user when we are root. When
    that user cannot reach it (a checkout under a private folder such as
    /root), a private folder in the system temp dir is used instead and
    removed again at stop."""
    root = os.path.join(stack, "pg")
    os.makedirs(root)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", root])
        if probe.returncode != 0:
            import tempfile
            root = tempfile.mkdtemp(prefix="sp-pg-data-")
            os.chown(root, pw.pw_uid, pw.pw_gid)
            print(f"stack: the postgres user cannot reach {stack}; its data goes to {root}")
    return root


def socket_dir(root):
    """Postgres's unix socket folder: in the stack unless its path is too long."""
    sock = os.path.join(root, "run")
    if len(sock) > 90:  # sun_path holds 107 bytes, with "/.s.PGSQL.NNNNN" after it
        import tempfile
        sock = tempfile.mkdtemp(prefix="sp-pg-")
    else:
        os.makedirs(sock)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(sock, pw.pw_uid, pw.pw_gid)
    return sock


def start_postgres(st):
    """initdb (trust, superuser postgres), configure for 127.0.0.1:port, start."""
    stack = st["stack_dir"]
    root = pg_root_dir(stack)
    pg = st["pg"] = {
        "bin_dir": pg_bindir(),
        "port": free_port(),
        "data_dir": os.path.join(root, "data"),
        "socket_dir": socket_dir(root),
        "log": os.path.join(root, "postgres.log"),
        "ctl_log": os.path.join(stack, "pg_ctl.log"),
    }
    save_state(st)
    run_logged(as_postgres([pg_tool(st, "initdb"), "-D", pg["data_dir"], "-U", "postgres",
                            "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]),
               os.path.join(stack, "initdb.log"), "initdb")
    with open(os.path.join(pg["data_dir"], "postgresql.conf"), "a") as conf:
        conf.write("\n# social-post stack\n"
                   "listen_addresses = '127.0.0.1'\n"
                   f"port = {pg['port']}\n"
                   f"unix_socket_directories = '{pg['socket_dir']}'\n"
                   "max_connections = 200\n"
                   "fsync = off\n"
                   "full_page_writes = off\n"
                   "log_min_messages = warning\n")
    pg_start(st)
    base = f"postgresql://postgres@127.0.0.1:{pg['port']}"
    st["database_url"] = base + "/social_post"
    st["api_database_url"] = (f"postgresql://social_post_api@127.0.0.1:{pg['port']}"
                              "/social_post?connect_timeout=3")
    psql(st, base + "/postgres", "CREATE DATABASE social_post")


def psql(st, url, sql):
    """Runs sql as the superuser; output goes to the stack's psql.log."""
    run_logged([pg_tool(st, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
               os.path.join(st["stack_dir"], "psql.log"), "psql")


# What Supabase's own database setup does before any project migration runs:
# the API roles, USAGE on public, and default privileges that grant ALL on
# every new table, function and sequence in public to anon, authenticated
# and service_role. The migrations must hold against these grants, so the
# test database starts as a new Supabase project does. Source:
# https://github.com/supabase/postgres/blob/develop/migrations/db/init-scripts/00000000000000-initial-schema.sql
SUPABASE_INIT_SQL = """
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
GRANT USAGE ON SCHEMA public TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;
"""


def imitate_supabase(st):
    """The grants a new Supabase project has before its first migration."""
    psql(st, st["database_url"], SUPABASE_INIT_SQL)


def migrate(st):
    """scripts/migrate.sh against the stack's database, with this Postgres's psql."""
    env = dict(os.environ, PATH=st["pg"]["bin_dir"] + os.pathsep + os.environ.get("PATH", ""))
    run_logged(["bash", os.path.join(st["source_dir"], "scripts", "migrate.sh"),
                st["database_url"]], os.path.join(st["stack_dir"], "migrate.log"),
               "scripts/migrate.sh", env=env)


def create_api_role(st):
    """The login the HTTP programs use: no rights of its own, may become authenticated."""
    psql(st, st["database_url"],
         "CREATE ROLE social_post_api LOGIN NOINHERIT; GRANT authenticated TO social_post_api;"
         " GRANT social_post_metrics TO social_post_api; GRANT social_post_accounts TO social_post_api;")


# ---------------------------------------------------------------- keys

def make_keys(st):
    """A random HS256 secret, an EC P-256 and an RSA 2048 key: jwks.json with the
    public keys, and PEM files (<kid>.pem private, <kid>.pub.pem public)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    stack = st["stack_dir"]

    def write_pems(key, kid):
        private = os.path.join(stack, kid + ".pem")
        public = os.path.join(stack, kid + ".pub.pem")
        with open(private, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        with open(public, "wb") as f:
            f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
        return private, public

    def uint(n, size=None):
        return b64url(n.to_bytes(size or (n.bit_length() + 7) // 8, "big"))

    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_pub = ec_key.public_key().public_numbers()
    rsa_pub = rsa_key.public_key().public_numbers()
    jwks = {"keys": [
        {"kty": "EC", "crv": "P-256", "x": uint(ec_pub.x, 32), "y": uint(ec_pub.y, 32),
         "kid": EC_KID, "alg": "ES256", "use": "sig"},
        {"kty": "RSA", "n": uint(rsa_pub.n), "e": uint(rsa_pub.e),
         "kid": RSA_KID, "alg": "RS256", "use": "sig"},
    ]}
    st["jwks_file"] = os.path.join(stack, "jwks.json")
    with open(st["jwks_file"], "w") as f:
        json.dump(jwks, f, indent=2)
    st["hs256_secret"] = secrets.token_urlsafe(48)
    st["webhook_secret"] = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    st["ec_kid"], st["rsa_kid"] = EC_KID, RSA_KID
    st["ec_private_pem"], st["ec_public_pem"] = write_pems(ec_key, EC_KID)
    st["rsa_private_pem"], st["rsa_public_pem"] = write_pems(rsa_key, RSA_KID)


# ---------------------------------------------------------------- programs

def supervise(exit_file, pid_file, argv):
    """Runs argv as a child, passes on termination signals, records its exit status."""
    child = None
    pending = []

    def forward(sig, _frame):
        if child is None:
            pending.append(sig)
        else:
            try:
                child.send_signal(sig)
            except ProcessLookupError:
                pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, forward)
    try:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    except OSError as e:
        write_json(exit_file, {"error": str(e)})
        return 127
    write_json(pid_file, {"pid": child.pid})
    for sig in pending:
        child.send_signal(sig)
    rc = child.wait()
    write_json(exit_file, {"returncode": rc})
    return 0


def write_json(path, value):
    with open(path + ".tmp", "w") as f:
        json.dump(value, f)
    os.replace(path + ".tmp", path)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return None


def describe_exit(info):
    """'exit status 1', 'killed by SIGSEGV', ... from a supervisor's exit file."""
    if info is None:
        return "exit status unknown"
    if "error" in info:
        return "could not start: " + info["error"]
    rc = info["returncode"]
    if rc < 0:
        try:
            return "killed by " + signal.Signals(-rc).name
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit status {rc}"


def start_program(st, prog, skip_missing):
    """Starts one program under a supervisor and waits until it is up."""
    stack = st["stack_dir"]
    port = free_port() if prog.listen else None
    argv = [str(a) for a in prog.command(st, port)]
    entry = st["programs"][prog.name] = {"port": port, "argv": argv,
                                         "stop_seconds": prog.stop_seconds}
    if not os.access(argv[0], os.X_OK):
        if not skip_missing:
            raise StackError(f"{prog.name}: {argv[0]} is missing; build it first "
                             "(cmake --build) or set SP_BUILD_DIR")
        print(f"stack: {prog.name}: {argv[0]} is missing; not started (--skip-missing)")
        entry["skipped"] = True
        return
    entry.update(log=os.path.join(stack, prog.name + ".log"),
                 exit_file=os.path.join(stack, prog.name + ".exit"),
                 pid_file=os.path.join(stack, prog.name + ".pid"))
    env = {k: v for k, v in os.environ.items() if k not in PROGRAM_CONFIG_VARS}
    env.update(api_env(st))
    env.update(prog.env(st))
    with open(entry["log"], "ab") as log:
        sup = subprocess.Popen([sys.executable, os.path.abspath(__file__), "_supervise",
                                entry["exit_file"], entry["pid_file"], "--", *argv],
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                               env=env, cwd=stack, start_new_session=True)
    entry["supervisor_pid"] = sup.pid
    save_state(st)

    def exited():
        info = read_json(entry["exit_file"])
        return f"exited during startup ({describe_exit(info)})" if info else None

    wait_until(f"{prog.name} start", lambda: os.path.exists(entry["pid_file"]),
               entry["log"], failed=exited)
    entry["pid"] = read_json(entry["pid_file"])["pid"]
    if prog.listen:
        wait_until(f"{prog.name} accepting on 127.0.0.1:{port}", lambda: port_accepts(port),
                   entry["log"], failed=exited)
    else:
        time.sleep(0.3)
        reason = exited()
        if reason:
            raise StackError(f"{prog.name}: {reason}; read {entry['log']}")
    save_state(st)


def stop_program(name, entry):
    """SIGTERM (through the supervisor), SIGKILL after its stop_seconds. Returns problems."""
    pids = [p for p in (entry.get("supervisor_pid"), entry.get("pid")) if p]
    if not any(pid_alive(p) for p in pids):
        return []
    signal_pid(pids[0] if pid_alive(pids[0]) else pids[-1], signal.SIGTERM)
    seconds = entry.get("stop_seconds", STOP_SECONDS)
    deadline = time.monotonic() + seconds
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    if any(pid_alive(p) for p in pids):
        for p in pids:
            try:
                os.killpg(p, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                signal_pid(p, signal.SIGKILL)
        return [f"{name} did not stop within {seconds} s of SIGTERM and was killed; "
                f"read {entry['log']}"]
    info = read_json(entry["exit_file"])
    if info and info.get("returncode") not in (0, -signal.SIGTERM, 128 + signal.SIGTERM):
        return [f"{name} ended with {describe_exit(info)} on SIGTERM; read {entry['log']}"]
    return []


def died_before_stop(st):
    """Problems for programs that are no longer running although nobody stopped them."""
    problems = []
    for name, entry in st.get("programs", {}).items():
        if entry.get("skipped") or not entry.get("pid"):
            continue
        if not pid_alive(entry["pid"]):
            info = read_json(entry["exit_file"])
            problems.append(f"{name} (pid {entry['pid']}) died before stop: "
                            f"{describe_exit(info)}; read {entry['log']}")
    return problems


# ---------------------------------------------------------------- nginx

def find_nginx():
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK)
                                      else None)
    if not found:
        raise StackError("nginx not found; install nginx-light (scripts/install-deps.sh)")
    return found


def upstream_addr(st, name):
    return f"127.0.0.1:{st['programs'][name]['port']}"


def web_root(st):
    """The status page's folder for nginx: web/ of the source tree, or a copy
    of it in the system temp dir when nginx's workers (nobody, under root)
    cannot read the checkout."""
    web = os.path.join(st["source_dir"], "web")
    if os.geteuid() != 0 or subprocess.run(
            ["runuser", "-u", "nobody", "--", "test", "-r",
             os.path.join(web, "index.html")]).returncode == 0:
        return web
    import tempfile
    tmp = st["nginx"]["web_copy_dir"] = tempfile.mkdtemp(prefix="sp-nginx-web-")
    os.chmod(tmp, 0o755)
    copy = os.path.join(tmp, "web")
    shutil.copytree(web, copy)
    for d, _, files in os.walk(copy):
        os.chmod(d, 0o755)
        for name in files:
            os.chmod(os.path.join(d, name), 0o644)
    return copy


def write_nginx_snippet(st):
    """nginx/social-post.conf with the status page's folder filled in, written
    into the nginx prefix (as `cmake --install` does for its copy); its path."""
    with open(os.path.join(st["source_dir"], "nginx", "social-post.conf")) as f:
        text = f.read().replace("@SP_WEB_ROOT@", web_root(st))
    path = os.path.join(st["nginx"]["prefix"], "social-post.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def write_nginx_conf(st):
    """nginx/local.conf.in with its placeholders filled, and the prefix folders."""
    ng = st["nginx"]
    prefix = ng["prefix"]
    for d in ("logs", "tmp/client_body", "tmp/fastcgi", "tmp/proxy", "tmp/scgi", "tmp/uwsgi"):
        os.makedirs(os.path.join(prefix, d), exist_ok=True)
    # Workers run as nobody when the master is root: they write the temp files.
    for d in glob.glob(os.path.join(prefix, "tmp")) + glob.glob(os.path.join(prefix, "tmp", "*")):
        os.chmod(d, 0o777)
    with open(os.path.join(st["source_dir"], "nginx", "local.conf.in")) as f:
        text = f.read()
    if os.geteuid() == 0 and subprocess.run(
            ["runuser", "-u", "nobody", "--", "test", "-w", os.path.join(prefix, "tmp")]).returncode:
        # a checkout under a private folder: nobody cannot reach the prefix
        import tempfile
        tmp = ng["tmp_dir"] = tempfile.mkdtemp(prefix="sp-nginx-tmp-")
        os.chmod(tmp, 0o755)
        for d in ("client_body", "fastcgi", "proxy", "scgi", "uwsgi"):
            os.makedirs(os.path.join(tmp, d))
            os.chmod(os.path.join(tmp, d), 0o777)
        text = text.replace("@PREFIX@/tmp/", tmp + "/")
    values = {"@NGINX_PORT@": str(ng["port"]), "@PREFIX@": prefix,
              "@SNIPPET@": write_nginx_snippet(st)}
    values.update({k: upstream_addr(st, v) for k, v in NGINX_UPSTREAMS.items()})
    for key, value in values.items():
        text = text.replace(key, value)
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise StackError(f"nginx/local.conf.in: unknown placeholders {sorted(set(left))}")
    with open(ng["conf"], "w") as f:
        f.write(text)


def start_nginx(st, port):
    """Generates nginx.conf, checks it, starts nginx and waits for the health URL."""
    prefix = os.path.join(st["stack_dir"], "nginx")
    ng = st["nginx"] = {
        "bin": find_nginx(), "port": port, "prefix": prefix,
        "conf": os.path.join(prefix, "nginx.conf"),
        "pid_file": os.path.join(prefix, "nginx.pid"),
        "error_log": os.path.join(prefix, "logs", "error.log"),
        "access_log": os.path.join(prefix, "logs", "access.log"),
    }
    write_nginx_conf(st)
    base = [ng["bin"], "-p", prefix + "/", "-c", ng["conf"], "-e", ng["error_log"]]
    out_log = os.path.join(prefix, "logs", "stderr.log")
    run_logged(base + ["-t", "-q"], out_log, "nginx -t (configuration test)")
    run_logged(base, out_log, "nginx start")
    wait_until("nginx start", lambda: read_pid(ng["pid_file"]) is not None, ng["error_log"])
    ng["pid"] = read_pid(ng["pid_file"])
    st["api_base_url"] = f"http://127.0.0.1:{port}"
    save_state(st)
    wait_until("nginx answering GET /social-post-status/health",
               lambda: http_answers(port, "/social-post-status/health"), ng["error_log"],
               failed=lambda: None if pid_alive(ng["pid"]) else "nginx exited")


def read_pid(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return int(text) if text else None
    except (FileNotFoundError, ValueError):
        return None


def http_answers(port, path):
    """True when an HTTP GET of path gets any response at all."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def stop_nginx(st):
    """Fast shutdown of nginx (SIGTERM), SIGKILL for master and workers after STOP_SECONDS."""
    ng = st.get("nginx")
    pid = ng and (ng.get("pid") or read_pid(ng["pid_file"]))
    if not pid or not pid_alive(pid):
        return []
    workers = child_pids(pid)
    signal_pid(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        for p in [pid] + workers:
            signal_pid(p, signal.SIGKILL)
        return [f"nginx did not stop within {STOP_SECONDS} s and was killed; read {ng['error_log']}"]
    return []


# ---------------------------------------------------------------- start / stop

def start(skip_missing=False):
    """Starts the whole stack; on failure stops what it started and raises."""
    cfg = settings()
    old = load_state(cfg["stack_dir"])
    if old and anything_running(old):
        print("stack: stopping the stack left running in " + cfg["stack_dir"])
        stop_everything(old)
    if not skip_missing:
        for prog in programs(cfg):  # fail early, before wiping anything
            try:
                path = prog.command(cfg, 0)[0]
            except (KeyError, TypeError):
                continue  # needs state from earlier steps; start_program checks it
            if not os.access(path, os.X_OK):
                raise StackError(f"{prog.name}: {path} is missing; build it first "
                                 "(cmake --build) or set SP_BUILD_DIR")
    shutil.rmtree(cfg["stack_dir"], ignore_errors=True)
    os.makedirs(cfg["stack_dir"])
    os.chmod(cfg["stack_dir"], 0o755)
    st = dict(cfg, programs={}, started_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    del st["nginx_port"]
    save_state(st)
    try:
        start_postgres(st)
        save_state(st)
        imitate_supabase(st)
        migrate(st)
        create_api_role(st)
        make_keys(st)
        save_state(st)
        nginx_port = cfg["nginx_port"] or free_port()
        st["public_url"] = f"http://127.0.0.1:{nginx_port}"  # where OAuth sends browsers back
        for prog in programs(st):
            if prog.name == "sandbox-oauth" and not st.get("sandbox"):
                continue
            start_program(st, prog, skip_missing)
        start_nginx(st, nginx_port)
        save_state(st)
    except BaseException:
        stop_everything(st)
        raise
    return st


def anything_running(st):
    """True when a process of the stack in st still runs."""
    pids = [st.get("nginx", {}).get("pid")]
    for entry in st.get("programs", {}).values():
        pids += [entry.get("supervisor_pid"), entry.get("pid")]
    return pg_running(st) or any(pid_alive(p) for p in pids if p)


def stop_everything(st):
    """Stops nginx, the programs (reverse order) and Postgres. Returns problems."""
    problems = stop_nginx(st)
    for name in reversed(list(st.get("programs", {}))):
        entry = st["programs"][name]
        if not entry.get("skipped"):
            problems += stop_program(name, entry)
    if pg_running(st):
        try:
            pg_stop(st)
        except StackError as e:
            problems.append(str(e))
    sock = st.get("pg", {}).get("socket_dir")
    if sock and not sock.startswith(st["stack_dir"] + os.sep) and not pg_running(st):
        shutil.rmtree(sock, ignore_errors=True)  # the short-path fallback of socket_dir()
    if st.get("nginx", {}).get("tmp_dir"):
        shutil.rmtree(st["nginx"]["tmp_dir"], ignore_errors=True)  # write_nginx_conf()'s fallback
    if st.get("nginx", {}).get("web_copy_dir"):
        shutil.rmtree(st["nginx"]["web_copy_dir"], ignore_errors=True)  # web_root()'s fallback
    data = st.get("pg", {}).get("data_dir")
    if data and not data.startswith(st["stack_dir"] + os.sep) and not pg_running(st):
        shutil.rmtree(os.path.dirname(data), ignore_errors=True)  # pg_root_dir()'s fallback
    return problems


def sanitizer_reports(st):
    """(file, excerpt) for every sanitizer report in the stack's logs."""
    stack = st["stack_dir"]
    files = sorted(glob.glob(os.path.join(stack, "asan*")) +
                   glob.glob(os.path.join(stack, "ubsan*")))
    files += [e["log"] for e in st.get("programs", {}).values() if e.get("log")]
    # workers started by the tests (tests/e2e/workerkit.py): UBSan reports land in their logs
    files += sorted(glob.glob(os.path.join(stack, "worker-*.log")))
    found = []
    for path in files:
        try:
            with open(path, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        hits = [i for i, line in enumerate(lines) if any(p in line for p in SANITIZER_PATTERNS)]
        if hits:
            found.append((path, "\n".join(lines[hits[0]:hits[0] + 60])))
    return found


def stop():
    """Stops the stack; returns 1 when a program crashed or a sanitizer reported."""
    cfg = settings()
    st = load_state(cfg["stack_dir"])
    if not st:
        print(f"stack: no state in {cfg['stack_dir']}; nothing to stop")
        return 0
    problems = died_before_stop(st)
    problems += stop_everything(st)
    reports = sanitizer_reports(st)
    for path, excerpt in reports:
        print(f"stack: sanitizer report in {path}:\n{excerpt}\n")
    for p in problems:
        print("stack: " + p)
    if problems or reports:
        print("stack: stopped, with the problems above")
        return 1
    print("stack: stopped")
    return 0


def status():
    cfg = settings()
    st = load_state(cfg["stack_dir"])
    if not st:
        print(f"stack: not started (no state in {cfg['stack_dir']})")
        return 1
    print(f"stack dir:          {st['stack_dir']}")
    print(f"API:                {st.get('api_base_url', '(nginx not started)')}")
    print(f"database:           {st.get('database_url', '-')}  "
          f"({'running' if pg_running(st) else 'stopped'})")
    ng = st.get("nginx")
    if ng:
        print(f"nginx:              pid {ng.get('pid')} "
              f"({'running' if pid_alive(ng.get('pid')) else 'stopped'}), log {ng['error_log']}")
    for name, e in st.get("programs", {}).items():
        if e.get("skipped"):
            print(f"{name + ':':19} skipped (binary missing)")
            continue
        where = f"127.0.0.1:{e['port']}" if e.get("port") else "-"
        alive = "running" if pid_alive(e.get("pid")) else describe_exit(read_json(e["exit_file"]))
        print(f"{name + ':':19} pid {e.get('pid')} on {where} ({alive}), log {e['log']}")
    return 0


# ---------------------------------------------------------------- local run

def hs256_token(secret, sub, seconds=3600):
    """A Supabase-like access token for sub, signed with the stack's HS256 secret."""
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"sub": sub, "aud": "authenticated", "role": "authenticated",
              "iat": now, "exp": now + seconds, "email": f"{sub}@example.test"}
    signing_input = ".".join(b64url(json.dumps(part, separators=(",", ":")).encode())
                             for part in (header, claims))
    sig = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def sandbox_video(st):
    """A demo video on the sandbox's video server; returns its URL."""
    port = st["programs"]["sandbox-videos"]["port"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", "/_control/videos",
                     json.dumps({"name": "demo.mp4", "size": 8 << 20}),
                     {"Content-Type": "application/json"})
        return json.loads(conn.getresponse().read())["url"]
    finally:
        conn.close()


def demo_user(st):
    """Adds a user and one of their videos (with connected sandbox accounts
    when the sandbox runs); returns ids and a one-hour token."""
    user, video = str(uuid.uuid4()), str(uuid.uuid4())
    sandbox = st.get("worker") and st.get("sandbox")
    video_url = sandbox_video(st) if sandbox else "http://127.0.0.1:9/video.mp4"
    accounts = ""
    if sandbox:
        accounts = "".join(
            f"INSERT INTO public.social_accounts (user_id, platform, account_id, access_token,"
            f" refresh_token, token_expires_at) VALUES ('{user}', '{p}', '{acct}',"
            f" 'sandbox-token-{p}', 'sandbox-refresh-{p}', now() + interval '1 hour');"
            for p, acct in (("youtube", ""), ("facebook", "1000001"), ("instagram", "1780001"),
                            ("tiktok", "sandbox-open-id")))
    psql(st, st["database_url"],
         f"INSERT INTO auth.users (id, email) VALUES ('{user}', '{user}@example.test');"
         f"INSERT INTO public.product_videos (id, user_id, title, video_url) VALUES "
         f"('{video}', '{user}', 'Demo video', '{video_url}');" + accounts)
    return {"userId": user, "videoId": video,
            "token": hs256_token(st["hs256_secret"], user)}


def run(skip_missing):
    """start, print how to use the stack, wait for Ctrl-C or SIGTERM, stop."""
    st = start(skip_missing)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    demo = demo_user(st)
    url = st["api_base_url"]
    print(f"""
social-post is running at {url}   (state: {state_path(st['stack_dir'])})

A demo user with one video, and a token valid for an hour:
  TOKEN={demo['token']}

Status page: {url}/social-post-ui/  (Access token: $TOKEN, Video ID: {demo['videoId']})
  Its Accounts area connects accounts through the sandbox's consent pages.

  curl -s -X POST {url}/social-post -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' \\
       -d '{{"videoId":"{demo['videoId']}","platforms":["youtube","facebook","instagram","tiktok"],"options":{{"tiktok":{{"privacyLevel":"SELF_ONLY"}}}}}}'
  curl -s "{url}/social-post-status?jobId=<jobId>" -H "Authorization: Bearer $TOKEN"
  curl -s {url}/social-post-status/health

More users: {sys.argv[0]} user     Database: psql {st['database_url']}
Press Ctrl-C to stop.
""", flush=True)
    reported = set()
    while not stopping:
        for line in died_before_stop(st):
            if line not in reported:
                reported.add(line)
                print("stack: " + line, flush=True)
        time.sleep(0.5)
    print("stack: stopping")
    return stop()


def main(argv):
    if len(argv) > 1 and argv[1] == "_supervise":
        sep = argv.index("--")
        return supervise(argv[2], argv[3], argv[sep + 1:])
    parser = argparse.ArgumentParser(description="social-post's local stack on 127.0.0.1")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("start", "start the stack"), ("run", "start, wait for Ctrl-C, stop")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--skip-missing", action="store_true",
                       help="start without the programs whose binary is missing")
    sub.add_parser("stop", help="stop the stack; exit 1 on crashes or sanitizer reports")
    sub.add_parser("status", help="print what runs where")
    sub.add_parser("user", help="add a user with a video; print ids and a token")
    args = parser.parse_args(argv[1:])
    try:
        if args.command == "start":
            st = start(args.skip_missing)
            print(f"stack: up at {st['api_base_url']} (state in {state_path(st['stack_dir'])})")
            return 0
        if args.command == "run":
            return run(args.skip_missing)
        if args.command == "stop":
            return stop()
        if args.command == "status":
            return status()
        if args.command == "user":
            st = load_state(settings()["stack_dir"])
            if not st:
                raise StackError("the stack is not running (stack.py start)")
            print(json.dumps(demo_user(st), indent=2))
            return 0
    except StackError as e:
        print(f"stack: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stack: interrupted", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
