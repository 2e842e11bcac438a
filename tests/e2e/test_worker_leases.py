"""Leases: a slot whose lease was lost stops its platform call.

When another worker has taken a delivery over (its lease lapsed while this
worker was cut off, or a renewal found it gone), the upload this worker still
runs must stop at once, not at the end of its 8 MiB chunk: two workers sending
one video is what leases exist to prevent, and the slot is needed for other
work. The lease keeper notices at its next renewal (every third of the lease)
and the slot's transfer polls that. What a user sees: the slot is free again
within seconds, and nothing is written over the other worker's claim.
"""
import time

import sptest
import workerkit as wk

MiB = 1 << 20


def uploaded(p):
    return sum(s["received"] for s in p.youtube.stats()["upload_sessions"])


def test_a_slot_whose_lease_was_taken_over_stops_uploading():
    with wk.Platforms() as p:
        wk.clear_queue()
        url, _ = p.video.add_video("taken.mp4", 16 * MiB)
        user, video = wk.user_with_video(url, title="Taken over")
        wk.connect(user, "youtube")
        p.youtube.config({"bandwidth_bytes_per_sec": 256 * 1024})  # an 8 MiB chunk takes 32 s
        job = wk.submit(user, video, ["youtube"])
        w = p.worker("--lease", "6", "--concurrency", "1")
        wk.wait_for("the upload", lambda: uploaded(p) >= 512 * 1024, timeout=30)
        # another worker holds the delivery now, as after a lapsed lease
        other = "elsewhere:1:00000000:1"
        sptest.sql("UPDATE social_post_deliveries SET lease_owner = %s,"
                   " lease_expires_at = now() + interval '1 hour' WHERE job_id = %s", (other, job))
        taken = time.time()
        # the worker's one slot must be free for other work long before the chunk ends
        url2, _ = p.video.add_video("next.mp4", 256 * 1024)
        user2, video2 = wk.user_with_video(url2, title="Next in line")
        wk.connect(user2, "facebook", access_token="EAAB-page-token")
        job2 = wk.submit(user2, video2, ["facebook"])
        s2 = wk.wait_job(user2, job2, timeout=15)
        free_after = time.time() - taken
        assert s2["status"] == "completed", s2
        print(f"the slot was free again {free_after:.1f} s after its lease was taken over")
        assert "was lost" in w.output(), w.output()[-2000:]
        row = sptest.sql("SELECT state, lease_owner FROM social_post_deliveries WHERE job_id = %s",
                         (job,))
        assert row == [("running", other)], row  # nothing written over the other's claim
        assert w.stop() == 0


if __name__ == "__main__":
    sptest.run(globals())
