#!/usr/bin/python3
"""client_gone.py: what status reads whose clients hung up cost the status
program. One job with a 20 MB description (written directly, as a user can
through Supabase), then N requests for it through nginx, each closed by its
client 0.3 s after sending; then one ordinary read of another job.

    client_gone.py [--requests 400] [--mib 20]

Prints how long the ordinary read waited, how long until the program was idle
again (its CPU time stops growing), and the CPU seconds it spent. Runs against
the stack of SP_BUILD_DIR (scripts/stack.py start).
"""
import argparse
import os
import socket
import sys
import time

sys.path[:0] = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"),
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fakes")]
import faultkit  # noqa: E402
import sptest  # noqa: E402

STATUS = "/social-post-status"


def new_job(user):
    r = sptest.http("POST", "/social-post", {"videoId": sptest.new_video(user),
                                             "platforms": ["youtube"]}, token=sptest.token(user))
    assert r.status == 202, r.body
    return r.json["jobId"]


def ask(port, path, token):
    """Sends one request through nginx and returns its socket, unread."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n"
              "\r\n".encode())
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--mib", type=int, default=20)
    args = ap.parse_args()
    st = sptest.state()
    pid = st["programs"]["social-post-status"]["pid"]
    port = int(st["api_base_url"].rsplit(":", 1)[1].strip("/"))
    user = sptest.new_user()
    big, small = new_job(user), new_job(user)
    sptest.sql("UPDATE social_post_jobs SET description = repeat('x', %s) WHERE id = %s",
               (args.mib << 20, big))
    token = sptest.token(user)
    cpu0 = faultkit.cpu_seconds(pid)
    started = time.monotonic()
    socks = [ask(port, f"{STATUS}?jobId={big}", token) for _ in range(args.requests)]
    time.sleep(0.3)  # the requests reached the program; then every client hangs up
    for s in socks:
        s.close()
    sent = time.monotonic() - started
    r = sptest.http("GET", f"{STATUS}?jobId={small}", token=token, timeout=600)
    waited = time.monotonic() - started
    last, idle_since = faultkit.cpu_seconds(pid), time.monotonic()
    while time.monotonic() - idle_since < 1.0:  # idle: no CPU for a second
        time.sleep(0.2)
        now = faultkit.cpu_seconds(pid)
        if now > last + 0.02:
            last, idle_since = now, time.monotonic()
    busy = idle_since - started
    print(f"{args.requests} hung-up reads of a {args.mib} MiB job (sent in {sent:.2f} s): "
          f"an ordinary read answered {r.status} after {waited:.2f} s; the program was busy "
          f"for {busy:.2f} s and spent {last - cpu0:.2f} CPU s")


if __name__ == "__main__":
    main()
