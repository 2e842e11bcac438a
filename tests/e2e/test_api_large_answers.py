"""An answer larger than one write reaches nginx at once: the programs set
TCP_NODELAY on their FastCGI connections. Without it Nagle's algorithm held
the end of the answer until nginx acknowledged its start, which nginx delays
by 40 ms: a list of 20 jobs took 44 ms (p50) against 4.5 ms for the status
of one (bench/run.sh scale)."""
import statistics
import time

import sptest
import workerkit


def test_a_list_of_twenty_jobs_is_not_held_back_by_delayed_acks():
    user = sptest.new_user()
    video = sptest.new_video(user)
    for i in range(20):
        workerkit.submit(user, video, ["youtube"], title=f"Post {i}",
                         description="Long enough to fill a FastCGI record. " * 40)
    tok = sptest.token(user)
    first = sptest.http("GET", "/social-post-status?limit=20", token=tok)
    assert first.status == 200 and len(first.json["jobs"]) == 20, first.status
    assert len(first.body) > 16384, len(first.body)  # more than one record's write
    took = []
    for _ in range(15):
        t0 = time.monotonic()
        r = sptest.http("GET", "/social-post-status?limit=20", token=tok)
        took.append((time.monotonic() - t0) * 1000)
        assert r.status == 200
    assert statistics.median(took) < 30, f"median {statistics.median(took):.1f} ms: {took}"


if __name__ == "__main__":
    sptest.run(globals())
