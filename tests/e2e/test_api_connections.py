"""Connections to the FastCGI programs: a peer that sends nothing or half a
record holds up no one, a stop answers every request that reached the
program, and a client that has gone costs no work."""
import os
import re
import signal
import socket
import struct
import time

import fcgikit
import sptest


def _wait_exit(prog, timeout=30):
    code = prog.proc.wait(timeout)
    prog.log.close()
    return code


def test_an_idle_connection_does_not_stop_the_program_accepting():
    with fcgikit.Program(["social-post-status", "--threads", "2"]) as prog:
        silent = socket.create_connection(("127.0.0.1", prog.port))
        half = socket.create_connection(("127.0.0.1", prog.port))
        half.sendall(struct.pack(">BBHHBx", 1, 1, 1, 8, 0)[:5])  # half a record header
        kept = fcgikit.Connection(prog.port, timeout=10)
        assert kept.request("GET", "/health", keep=True).status == 200
        kept.sock.sendall(struct.pack(">BBHHBx", 1, 1, 1, 8, 0) + b"\0\1\1")  # part of a head
        time.sleep(0.3)
        for _ in range(3):  # more fresh connections than threads, each answered at once
            started = time.monotonic()
            fresh = fcgikit.Connection(prog.port, timeout=5)
            answer = fresh.request("GET", "/health")
            assert answer is not None and answer.status == 200, answer
            assert time.monotonic() - started < 2
            fresh.close()
        # and the silent ones are closed once their head is overdue
        for s in (silent, half):
            s.settimeout(20)
            assert s.recv(1) == b""
        assert kept.closed_by_peer(timeout=20)
        assert prog.stop() == 0


def test_requests_arriving_during_a_stop_are_answered():
    with fcgikit.Program(["social-post-status", "--threads", "2"]) as prog:
        kept = fcgikit.Connection(prog.port)
        assert kept.request("GET", "/health", keep=True).status == 200
        fresh = fcgikit.Connection(prog.port)  # accepted, nothing sent yet
        time.sleep(0.2)
        os.kill(prog.proc.pid, signal.SIGTERM)
        time.sleep(0.1)
        fresh.send("GET", "/health")
        kept.send("GET", "/health", keep=True)
        answers = [fresh.receive(), kept.receive()]
        assert [a.status if a else None for a in answers] == [200, 200], answers
        assert _wait_exit(prog) == 0


def test_a_request_sent_just_before_sigterm_is_answered():
    for _ in range(3):
        with fcgikit.Program(["social-post-status", "--threads", "2"]) as prog:
            conns = [fcgikit.Connection(prog.port) for _ in range(4)]
            for c in conns:
                c.send("GET", "/health")
            os.kill(prog.proc.pid, signal.SIGTERM)
            answers = [c.receive() for c in conns]
            assert [a.status if a else None for a in answers] == [200] * 4, answers
            assert _wait_exit(prog) == 0


def test_reads_whose_clients_hung_up_do_not_keep_the_program_busy():
    """100 reads of a job with a 20 MiB description (a row written around the
    API's limits), each client gone 0.3 s after asking: an ordinary read just
    after must not wait for the abandoned ones (about 20 s of work before)."""
    user = sptest.new_user()
    token = sptest.token(user)
    jobs = []
    for _ in range(2):
        r = sptest.http("POST", "/social-post", {"videoId": sptest.new_video(user),
                                                 "platforms": ["youtube"]}, token=token)
        jobs.append(r.json["jobId"])
    big, small = jobs
    # as the superuser, triggers off: a row as large as the database allows
    sptest.sql("SET session_replication_role = replica;"
               " UPDATE social_post_jobs SET description = repeat('x', 20 << 20) WHERE id = %s;"
               " SET session_replication_role = origin", (big,))
    port = int(sptest.state()["api_base_url"].rsplit(":", 1)[1].strip("/"))
    socks = []
    for _ in range(100):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(f"GET /social-post-status?jobId={big} HTTP/1.1\r\nHost: localhost\r\n"
                  f"Authorization: Bearer {token}\r\n\r\n".encode())
        socks.append(s)
    time.sleep(0.3)
    for s in socks:
        s.close()
    started = time.monotonic()
    r = sptest.http("GET", f"/social-post-status?jobId={small}", token=token, timeout=120)
    took = time.monotonic() - started
    sptest.sql("UPDATE social_post_jobs SET description = NULL WHERE id = %s", (big,))
    assert r.status == 200, r
    assert took < 3, f"an ordinary read waited {took:.1f} s behind reads nobody would get"


def test_long_polls_hold_no_thread_as_the_status_unit_says():
    unit_path = os.path.join(sptest.state()["source_dir"], "deploy", "systemd",
                             "social-post-status.service")
    with open(unit_path) as f:
        unit = f.read()
    assert "holds no thread" in unit and "holds one of the --threads" not in unit
    threads = int(re.search(r"--threads (\d+)", unit).group(1))
    user = sptest.new_user()
    r = sptest.http("POST", "/social-post", {"videoId": sptest.new_video(user),
                                             "platforms": ["youtube"]}, token=sptest.token(user))
    job = r.json["jobId"]
    auth = {"Authorization": "Bearer " + sptest.token(user)}
    with fcgikit.Program(["social-post-status", "--threads", str(threads)]) as prog:
        etag = fcgikit.Connection(prog.port).request("GET", query=f"jobId={job}",
                                                     headers=auth).headers["etag"]
        polls = [fcgikit.Connection(prog.port, timeout=60) for _ in range(3 * threads)]
        for c in polls:
            c.send("GET", query=f"jobId={job}&wait=30", headers={**auth, "If-None-Match": etag})
        time.sleep(1)
        started = time.monotonic()
        assert fcgikit.Connection(prog.port, timeout=5).request(
            "GET", query=f"jobId={job}", headers=auth).status == 200
        assert time.monotonic() - started < 2
        os.kill(prog.proc.pid, signal.SIGTERM)
        assert [a.status if a else None for a in (c.receive() for c in polls)] == [304] * len(polls)
        assert _wait_exit(prog) == 0


if __name__ == "__main__":
    sptest.run(globals())
