"""sptest: what the end-to-end tests share.

A test script is a list of functions named test_* that call these helpers
against the stack that scripts/stack.py started (its state.json in
$SP_STACK_DIR), and ends with `sptest.run(globals())`:

    import sptest
    def test_status_needs_a_token():
        r = sptest.http("GET", "/social-post-status?jobId=" + str(uuid.uuid4()))
        assert r.status == 401, r.body
    sptest.run(globals())

Database helpers run as the superuser, or with sql_as() as a user exactly as
the FastCGI programs do (role authenticated + request.jwt.claims in one
transaction), so row-level security applies. Tokens are signed with the
stack's keys (HS256 secret, ES256 and RS256 private keys) via PyJWT.
Not here: starting or stopping the stack (stack.py does; pg_stop/pg_start
only bounce its Postgres for outage tests).
"""

import asyncio
import base64
import http.client as httpclient
import json
import os
import sys
import time
import traceback
import urllib.parse
import uuid

import jwt
import psycopg2

_state = None


def _stack_module():
    """scripts/stack.py, imported once (pg_start/pg_stop live there)."""
    scripts = os.path.join(state()["source_dir"], "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    import stack
    return stack


def state():
    """The running stack's state.json as a dict (read once)."""
    global _state
    if _state is None:
        stack_dir = os.environ.get("SP_STACK_DIR")
        if not stack_dir:
            raise RuntimeError("SP_STACK_DIR is not set (run the tests through ctest)")
        with open(os.path.join(stack_dir, "state.json")) as f:
            _state = json.load(f)
    return _state


# ---------------------------------------------------------------- database

def db():
    """A new superuser connection to the stack's database, in autocommit mode."""
    conn = psycopg2.connect(state()["database_url"])
    conn.autocommit = True
    return conn


def _rows(cur):
    return cur.fetchall() if cur.description is not None else []


def sql(query, params=None):
    """Runs query as the superuser; returns its rows (a list of tuples)."""
    conn = db()
    try:
        with conn.cursor() as cur:
            cur.execute(query, params)
            return _rows(cur)
    finally:
        conn.close()


def sql_as(user_id, query, params=None, role="authenticated", **claims):
    """Runs query in one transaction as user_id would through the API (or
    PostgREST): role (authenticated, or anon) with request.jwt.claims set,
    claims added to them, so RLS applies. Returns the rows; errors (psycopg2
    exceptions) roll back and propagate."""
    body = {"sub": str(user_id), "role": role, "aud": role}
    body.update(claims)
    conn = psycopg2.connect(state()["database_url"])
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT set_config('role', %s, true),"
                        " set_config('request.jwt.claims', %s, true),"
                        " set_config('request.jwt.claim.sub', %s, true),"
                        " set_config('request.jwt.claim.role', %s, true)",
                        (role, json.dumps(body), str(user_id), role))
            cur.execute(query, params)
            rows = _rows(cur)
        conn.commit()
        return rows
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def new_user(email=None):
    """Adds a user to auth.users; returns its id."""
    user_id = str(uuid.uuid4())
    sql("INSERT INTO auth.users (id, email) VALUES (%s, %s)",
        (user_id, email or f"user-{user_id}@example.test"))
    return user_id


def new_video(user_id, title="Demo video", video_url="http://127.0.0.1:9/video.mp4"):
    """Adds a product_videos row of user_id; returns its id."""
    return str(sql("INSERT INTO public.product_videos (user_id, title, video_url)"
                   " VALUES (%s, %s, %s) RETURNING id", (user_id, title, video_url))[0][0])


def pg_stop():
    """Stops the stack's Postgres (fast: clients are disconnected)."""
    _stack_module().pg_stop(state())


def pg_start():
    """Starts the stack's Postgres again (same port, same data) and waits for it."""
    _stack_module().pg_start(state())


# ---------------------------------------------------------------- tokens

def token(sub, alg="HS256", kid=None, exp_in=3600, remove=(), **overrides):
    """A Supabase-like access token for sub, signed with the stack's keys.

    overrides replace or add claims, remove drops claims by name. HS256 uses
    the secret (no kid unless given); ES256 and RS256 use the private keys,
    with their kid unless kid is given (it may name a key that does not exist).
    """
    now = int(time.time())
    claims = {"sub": str(sub), "aud": "authenticated", "role": "authenticated",
              "iat": now, "exp": now + exp_in, "email": f"{sub}@example.test"}
    claims.update(overrides)
    for name in remove:
        claims.pop(name, None)
    st = state()
    if alg == "HS256":
        key = st["hs256_secret"]
    elif alg == "ES256":
        key, kid = _read(st["ec_private_pem"]), kid or st["ec_kid"]
    elif alg == "RS256":
        key, kid = _read(st["rsa_private_pem"]), kid or st["rsa_kid"]
    else:
        raise ValueError(f"token(): unsupported alg {alg!r} (use raw_token for others)")
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid} if kid else None)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def b64url(data):
    """base64url without padding, as JWTs use it."""
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header, payload, signature):
    """header.payload.signature from a dict, a dict and bytes, signed by nobody."""
    def part(d):
        return b64url(json.dumps(d, separators=(",", ":")).encode())
    return f"{part(header)}.{part(payload)}.{b64url(signature)}"


# ---------------------------------------------------------------- http

class Response:
    """An HTTP answer: status, headers (lower-case names), body bytes, parsed json."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"<Response {self.status} {self.body[:300]!r}>"


def http(method, path, body=None, headers=None, token=None, timeout=30):
    """Sends one request through the stack's nginx; returns a Response.

    A dict or list body is sent as JSON (with Content-Type application/json
    unless headers set one); str and bytes are sent as they are.
    """
    base = urllib.parse.urlsplit(state()["api_base_url"])
    headers = dict(headers or {})
    has_type = any(k.lower() == "content-type" for k in headers)
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        if not has_type:
            headers["Content-Type"] = "application/json"
    elif isinstance(body, str):
        body = body.encode()
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    conn = httpclient.HTTPConnection(base.hostname, base.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        names = {}
        for name, value in resp.getheaders():
            key = name.lower()
            names[key] = names[key] + ", " + value if key in names else value
        return Response(resp.status, names, data)
    finally:
        conn.close()


def http_at_once(requests):
    """Sends each (path, headers) GET through the stack's nginx on its own
    connection, all at once, and waits for every answer; returns their
    statuses in order (None for a connection closed without one)."""
    port = urllib.parse.urlsplit(state()["api_base_url"]).port
    return asyncio.run(http_at_once_async(port, requests))


async def http_at_once_async(port, requests):
    """http_at_once inside a running event loop (to hold some while others go)."""
    async def one(path, headers):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write((head + "\r\n").encode())
        await writer.drain()
        data = await reader.read()
        writer.close()
        return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else None
    return await asyncio.gather(*(one(p, h) for p, h in requests))


# ---------------------------------------------------------------- runner

def run(namespace):
    """Runs every test_* function of namespace (a script's globals()) in
    definition order, each on its own: a failure prints its traceback and the
    rest still run. Names given on the command line select tests. Ends with
    'N passed, N failed' and exits 1 when any failed (or none ran)."""
    module = namespace.get("__name__")
    tests = [(name, fn) for name, fn in namespace.items()
             if name.startswith("test_") and callable(fn)
             and getattr(fn, "__module__", module) == module]
    wanted = sys.argv[1:]
    if wanted:
        unknown = set(wanted) - {name for name, _ in tests}
        if unknown:
            print(f"no such test: {', '.join(sorted(unknown))}")
            sys.exit(2)
        tests = [(name, fn) for name, fn in tests if name in wanted]
    passed = failed = 0
    for name, fn in tests:
        started = time.monotonic()
        try:
            fn()
        except BaseException as e:  # noqa: B902 - a test's SystemExit is a failure too
            if isinstance(e, KeyboardInterrupt):
                raise
            failed += 1
            print(f"FAIL {name} ({time.monotonic() - started:.2f} s)")
            traceback.print_exc(file=sys.stdout)
        else:
            passed += 1
            print(f"ok   {name} ({time.monotonic() - started:.2f} s)")
        sys.stdout.flush()
    if not tests:
        print("no test_* functions found")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or not tests else 0)
