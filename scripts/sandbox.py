#!/usr/bin/python3
"""sandbox.py: the sandbox platforms for an installed social-post, on 127.0.0.1.

    sandbox.py run --state FILE [--port-base N]
        starts fake YouTube, Graph (Facebook, Instagram) and the other platforms
        the local run fakes, plus a video server, each on a fixed port from
        N + 1 (default 8790); writes FILE (ports, and the worker's settings) and
        stays in the foreground until SIGTERM or Ctrl-C, then stops them.
    sandbox.py env --state FILE
        prints the worker's settings for the sandbox as VARIABLE='value' lines,
        to append to /etc/social-post/worker.env.
    sandbox.py demo --state FILE --jwt-secret SECRET --out FILE
        adds a demo video (on the sandbox's video server) and prints, on
        stdout, the SQL that creates a user owning it with a connected sandbox
        account on every platform (pipe it into psql as a superuser); writes
        USER_ID, VIDEO_ID and TOKEN (an access token signed with SECRET, valid
        for an hour) to --out as sh assignments.

The fakes are the test suite's (tests/fakes/): real HTTP servers speaking the
platforms' protocols, so a deployment can be tried end to end on one machine
without platform credentials (docs/DEPLOY.md, "Try it with the sandbox"). The
settings are the local run's (scripts/stack.py), so both agree. Only 127.0.0.1.
"""
import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import stack  # noqa: E402  (the local run's sandbox programs and settings)

WORKER_ONLY = ("DATABASE_URL", "SOCIAL_POST_SPOOL_DIR")


def sandbox_programs():
    """The local run's sandbox programs (name, command(st, port))."""
    return [p for p in stack.LOCAL_RUN_PROGRAMS if p.name.startswith("sandbox-")]


def state_for(ports):
    """The part of a stack state that stack.worker_env reads."""
    return {"sandbox": True, "database_url": "", "stack_dir": "",
            "source_dir": os.path.dirname(HERE),
            "programs": {name: {"port": port} for name, port in ports.items()}}


def settings(ports):
    """The worker's settings for the sandbox, as stack.worker_env has them."""
    env = stack.worker_env(state_for(ports))
    return {k: v for k, v in env.items() if k not in WORKER_ONLY}


def wait_listening(port, proc, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"sandbox.py: a fake on port {port} exited ({proc.returncode})")
        if stack.port_accepts(port):
            return
        time.sleep(0.1)
    raise SystemExit(f"sandbox.py: nothing listens on port {port}")


def run(args):
    st = state_for({})
    procs, ports = [], {}
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))
    try:
        for i, prog in enumerate(sandbox_programs(), start=1):
            port = args.port_base + i
            argv = prog.command(st, str(port))
            procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True))
            wait_listening(port, procs[-1])
            ports[prog.name] = port
        with open(args.state, "w") as f:
            json.dump({"ports": ports, "settings": settings(ports)}, f, indent=1)
        print(f"sandbox: {', '.join(f'{n} on {p}' for n, p in ports.items())}", flush=True)
        while not stopping and all(p.poll() is None for p in procs):
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        try:
            os.unlink(args.state)
        except OSError:
            pass
    return 0


def load(path):
    with open(path) as f:
        return json.load(f)


def env(args):
    for key, value in load(args.state)["settings"].items():
        print(f"{key}='{value}'")
    return 0


def demo(args):
    state = load(args.state)
    port = state["ports"]["sandbox-videos"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", "/_control/videos", json.dumps({"name": "demo.mp4", "size": 8 << 20}),
                 {"Content-Type": "application/json"})
    video_url = json.loads(conn.getresponse().read())["url"]
    conn.close()
    user, video = str(uuid.uuid4()), str(uuid.uuid4())
    accounts = {"youtube": "", "facebook": "1000001", "instagram": "1780001",
                "tiktok": "sandbox-open-id"}
    sql = [f"INSERT INTO auth.users (id, email) VALUES ('{user}', '{user}@example.test');",
           "INSERT INTO public.product_videos (id, user_id, title, video_url) VALUES "
           f"('{video}', '{user}', 'Demo video', '{video_url}');"]
    for platform, account in accounts.items():
        sql.append("INSERT INTO public.social_accounts (user_id, platform, account_id,"
                   " access_token, refresh_token, token_expires_at) SELECT"
                   f" '{user}', '{platform}', '{account}', 'sandbox-token-{platform}',"
                   f" 'sandbox-refresh-{platform}', now() + interval '1 hour'"
                   " WHERE EXISTS (SELECT 1 FROM pg_constraint WHERE conname ="
                   " 'social_accounts_platform_check' AND pg_get_constraintdef(oid) LIKE"
                   f" '%''{platform}''%');")
    print("\n".join(sql))
    token = stack.hs256_token(args.jwt_secret, user)
    with open(args.out, "w") as f:
        f.write(f"USER_ID={user}\nVIDEO_ID={video}\nTOKEN={token}\n")
    return 0


def main(argv):
    parser = argparse.ArgumentParser(prog="sandbox.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="start the sandbox platforms; stop on SIGTERM")
    p.add_argument("--state", required=True)
    p.add_argument("--port-base", type=int, default=8790)
    p = sub.add_parser("env", help="print the worker's settings for the sandbox")
    p.add_argument("--state", required=True)
    p = sub.add_parser("demo", help="a demo user, video and accounts (SQL on stdout)")
    p.add_argument("--state", required=True)
    p.add_argument("--jwt-secret", required=True)
    p.add_argument("--out", required=True)
    args = parser.parse_args(argv[1:])
    return {"run": run, "env": env, "demo": demo}[args.command](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
