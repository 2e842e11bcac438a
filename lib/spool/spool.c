/*
 * spool: download once, under a lock, to a temporary name; rename when whole.
 *
 * An interrupted download keeps <job>.part and, beside it, <job>.validator:
 * the ETag (strong) or Last-Modified the server gave those bytes. The next
 * attempt asks for the rest with If-Range, so a file replaced meanwhile is
 * sent whole instead of stitched; without a validator it starts over. What
 * a download writes is judged by http_client.c before it reaches the file
 * (200/206 only, continuing the file exactly, a video's type and size).
 *
 * When uploads read a .part while it arrives (spool_stream.c), they mark it
 * <job>.streamed, with the validator of its bytes: platforms may hold bytes
 * of it, and the next attempt continues it with that validator even when a
 * killed worker saved no .validator. If a later attempt finds
 * the file changed at its URL (the server starts over, or cannot continue),
 * those bytes belong to the old version and no upload may continue on the
 * new one: the marker turns to "changed" and every open of the job's video
 * fails, permanently, until the job's spool files go.
 *
 * The write-back of a download starts every 8 MiB as it arrives, so the
 * fsync that ends it (before any upload may send the last byte) is short.
 */
#include "spool/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/http_client.h"

/* The slowest average a download may keep (after its first minute), so one
 * trickling server cannot hold a worker slot for days. */
#define SPOOL_MIN_RATE (64.0 * 1024)

/* How much of a download may wait in the page cache for its write-back. */
#define SPOOL_WRITEBACK (8LL * 1024 * 1024)

/* The media types a video URL may answer with (an absent type passes).
 * Storage services often serve uploads as application/octet-stream. */
static const char *const video_types[] = {"video/", "application/octet-stream",
                                          "binary/octet-stream", NULL};

int sp_spool_init(const char *dir, sp_err *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) break;
        *p = '/';
    }
    char eb[128];
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return sp_err_set(err, SP_ERR_INTERNAL, "spool", "cannot create spool dir %s: %s", dir,
                          sp_strerror(errno, eb, sizeof eb));
    return 0;
}

static void job_path(char *buf, size_t len, const char *dir, const char *job_id,
                     const char *suffix) {
    snprintf(buf, len, "%s/%s%s", dir, job_id, suffix);
}

/* Judges the answer of a download that ended with an HTTP status. */
static int judge_download(const sp_http_resp *resp, long long size, sp_err *err) {
    long s = resp->status;
    if (s == 429 || s >= 500 || s == 416) /* 416: the partial file is stale; it goes */
        return sp_err_set(err, SP_ERR_TRANSIENT, "video_fetch_failed",
                          "reading the video failed with HTTP %ld; will retry", s);
    if (s != 200 && s != 206)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "video_not_found",
                          "the video file could not be read from its URL (HTTP %ld)", s);
    if (size == 0)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "empty_video", "the video file is empty");
    return 0;
}

/* Size of the open file f, or -1. */
static long long file_size(FILE *f) {
    struct stat st;
    return fstat(fileno(f), &st) == 0 ? (long long)st.st_size : -1;
}

/* Reads the validator saved beside a partial file into out ("" when none);
 * true when the file exists. */
static bool read_validator(const char *path, char *out, size_t len) {
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f) return errno != ENOENT; /* unreadable: remove it all the same */
    if (!fgets(out, (int)len, f)) out[0] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    fclose(f);
    return true;
}

/* The validator of an answer's bytes: a strong ETag, else Last-Modified
 * ("" when it gave neither). */
static const char *answer_validator(const sp_http_resp *resp) {
    return resp->etag[0] && strncmp(resp->etag, "W/", 2) != 0 ? resp->etag : resp->last_modified;
}

/* Saves the validator of the file's bytes, as resp gave it: a strong ETag,
 * else Last-Modified; none removes the old one (the next try starts over). */
static void save_validator(const char *path, const sp_http_resp *resp) {
    const char *v = answer_validator(resp);
    FILE *f = *v ? fopen(path, "w") : NULL;
    bool saved = f && fprintf(f, "%s\n", v) > 0;
    if (f && fclose(f) != 0) saved = false; /* closed either way (a full disk fails here) */
    if (!saved) unlink(path);
}

/* Turns a failed download into the error its cause deserves. */
static int download_failed(const sp_http_resp *resp, long long max_bytes, sp_err *err) {
    char why[sizeof err->msg];
    snprintf(why, sizeof why, "%s", err->msg); /* err is rewritten below */
    if (!strcmp(err->code, "too_large"))
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "video_too_large",
                          "the video is larger than the %lld byte limit", max_bytes);
    if (!strcmp(err->code, "media_type"))
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "not_a_video",
                          "the video URL returned %.60s, not a video", resp->content_type);
    if (!strcmp(err->code, "write_failed"))
        return sp_err_set(err, SP_ERR_TRANSIENT, "spool_write_failed",
                          "the video could not be spooled (%.100s); will retry", why);
    if (err->kind == SP_ERR_UNPROCESSABLE || err->kind == SP_ERR_TRANSIENT) {
        if (!strcmp(err->code, "network"))
            return sp_err_set(err, SP_ERR_TRANSIENT, "video_fetch_failed",
                              "reading the video failed (%.150s); will retry",
                              resp->transport_error);
        return -1; /* too_slow, range_mismatch, private_address: said well already */
    }
    return sp_err_set(err, SP_ERR_TRANSIENT, "video_fetch_failed",
                      "reading the video failed (%.150s); will retry", why);
}

/* What the download's observer needs: the file, how far its write-back was
 * started, and the watch to pass the news on to. */
typedef struct {
    int fd;
    long long flushed;
    const sp_spool_watch *watch;
} progress;

/* Starts writing the file's new bytes to disk every SPOOL_WRITEBACK bytes,
 * so the fsync that judges the download good (and holds back the upload's
 * last byte) waits for the last few MiB only, not for the whole file. */
static void on_progress(void *arg, long long total, long long have, const char *validator) {
    progress *p = arg;
    if (have < p->flushed) p->flushed = 0; /* started over */
    if (have - p->flushed >= SPOOL_WRITEBACK) {
        sync_file_range(p->fd, p->flushed, have - p->flushed, SYNC_FILE_RANGE_WRITE);
        p->flushed = have; /* a failure shows in the fsync at the end */
    }
    if (p->watch && p->watch->observe) p->watch->observe(p->watch->arg, total, have, validator);
}

/* True when the marker at path says the video changed while streamed. */
static bool marked_changed(const char *path) {
    char text[16];
    read_validator(path, text, sizeof text);
    return strcmp(text, "changed") == 0;
}

static int video_changed(sp_err *err) {
    return sp_err_set(err, SP_ERR_UNPROCESSABLE, "video_changed",
                      "the video at its URL changed while it was being uploaded; submit it again");
}

/* Downloads url into part_path, continuing what an interrupted download left
 * there; 0 when the file is a complete video. A transient failure keeps the
 * partial file for the next try (unless it cannot be continued, or the disk
 * is full); anything else removes it. A restart of a file uploads read from
 * (streamed_path exists) fails as video_changed. */
static int fetch(const char *url, const char *part_path, const char *validator_path,
                 const char *streamed_path, long long max_bytes, bool public_only,
                 const sp_spool_watch *watch, sp_err *err) {
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "invalid_video_url",
                          "the video URL is not an http(s) URL");
    char eb[128];
    FILE *f = fopen(part_path, "ab");
    if (!f)
        return sp_err_set(err, SP_ERR_TRANSIENT, "spool", "cannot write the spool file: %s",
                          sp_strerror(errno, eb, sizeof eb));
    char validator[160], marker[160] = "";
    bool had_validator = read_validator(validator_path, validator, sizeof validator);
    /* uploads read bytes of this video before (even if the partial file
     * they read was dropped since): the marker holds the validator of what
     * they read, which also continues the file when nothing else was saved
     * (a worker killed mid-download saves nothing) */
    bool streamed = access(streamed_path, F_OK) == 0;
    if (streamed) read_validator(streamed_path, marker, sizeof marker);
    if (!validator[0] && strcmp(marker, "changed") != 0)
        snprintf(validator, sizeof validator, "%s", marker);
    sp_http_download_req req = {.url = url,
                                .resume_from = file_size(f),
                                .validator = validator,
                                .max_bytes = max_bytes,
                                .public_only = public_only,
                                .media_types = video_types,
                                .min_rate = SPOOL_MIN_RATE,
                                .observe = on_progress};
    progress prog = {.fd = fileno(f), .flushed = req.resume_from, .watch = watch};
    req.observe_arg = &prog;
    sp_http_resp resp;
    int rc = sp_http_download(&req, f, &resp, err);
    if ((fflush(f) != 0 || fsync(fileno(f)) != 0) && rc == 0)
        rc = sp_err_set(err, SP_ERR_TRANSIENT, "spool", "spool write failed: %s",
                        sp_strerror(errno, eb, sizeof eb));
    long long size = file_size(f);
    fclose(f);
    rc = rc < 0 ? download_failed(&resp, max_bytes, err) : judge_download(&resp, size, err);
    /* a whole answer is the same file only when it names the same bytes */
    bool same = validator[0] && !strcmp(validator, answer_validator(&resp));
    bool restarted =
        (resp.status == 200 && !same) || (rc < 0 && !strcmp(err->code, "range_mismatch"));
    if (streamed && restarted) { /* the bytes uploads had are not this file's */
        FILE *m = fopen(streamed_path, "w");
        if (m) {
            fputs("changed\n", m);
            fclose(m);
        }
        rc = video_changed(err);
    }
    if (rc == 0) unlink(streamed_path); /* what was read is the file's */
    bool keep = rc == 0 || (err->kind == SP_ERR_TRANSIENT && resp.status != 416 && size > 0 &&
                            strcmp(err->code, "spool_write_failed") != 0);
    if (!keep) unlink(part_path);
    /* the validator is for continuing a partial file: saved only when one is
     * kept for the next try (not for every whole download, only to be
     * removed again: creating and removing files is not free) */
    if (rc != 0 && (keep || streamed)) { /* streamed: the next whole answer is judged by it */
        if (resp.status == 200 || resp.status == 206) save_validator(validator_path, &resp);
    } else if (had_validator) {
        unlink(validator_path);
    }
    sp_http_resp_free(&resp);
    return rc;
}

/* Opens and locks the job's lock file. The sweeper may remove a lock file
 * nobody holds: a lock taken on a file no longer at its path is taken again. */
static int lock_job(const char *lock_path, sp_err *err) {
    for (int tries = 0; tries < 10; tries++) {
        int fd = open(lock_path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0 || flock(fd, LOCK_EX) != 0) {
            char eb[128];
            int e = errno;
            if (fd >= 0) close(fd);
            return sp_err_set(err, SP_ERR_TRANSIENT, "spool", "cannot lock the spool: %s",
                              sp_strerror(e, eb, sizeof eb));
        }
        struct stat held, now;
        if (fstat(fd, &held) == 0 && stat(lock_path, &now) == 0 && held.st_ino == now.st_ino &&
            held.st_dev == now.st_dev)
            return fd;
        close(fd);
    }
    return sp_err_set(err, SP_ERR_TRANSIENT, "spool", "the spool lock keeps changing");
}

int sp_spool_open(const char *dir, const char *job_id, const char *url, long long max_bytes,
                  bool public_only, FILE **out, long long *size, sp_err *err) {
    return sp_spool_fetch(dir, job_id, url, max_bytes, public_only, NULL, out, size, err);
}

int sp_spool_fetch(const char *dir, const char *job_id, const char *url, long long max_bytes,
                   bool public_only, const sp_spool_watch *watch, FILE **out, long long *size,
                   sp_err *err) {
    char lock_path[4096], video_path[4096], tmp_path[4096], validator_path[4096],
        streamed_path[4096];
    job_path(lock_path, sizeof lock_path, dir, job_id, ".lock");
    job_path(streamed_path, sizeof streamed_path, dir, job_id, ".streamed");
    job_path(video_path, sizeof video_path, dir, job_id, ".video");
    job_path(tmp_path, sizeof tmp_path, dir, job_id, ".part"); /* one writer: the lock */
    job_path(validator_path, sizeof validator_path, dir, job_id, ".validator");
    *out = NULL;
    if (!url || !*url)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "invalid_video_url", "the video has no URL");
    int lock_fd = lock_job(lock_path, err);
    if (lock_fd < 0) return -1;
    int rc = -1;
    FILE *f = NULL;
    if (marked_changed(streamed_path)) {
        video_changed(err);
        goto done;
    }
    f = fopen(video_path, "rb");
    if (!f && watch && watch->on_part) { /* the file the download writes, for its readers */
        int part_fd = open(tmp_path, O_CREAT | O_RDONLY | O_CLOEXEC, 0600);
        if (part_fd < 0) {
            char eb[128];
            sp_err_set(err, SP_ERR_TRANSIENT, "spool", "cannot open the spool file: %s",
                       sp_strerror(errno, eb, sizeof eb));
            goto done;
        }
        watch->on_part(watch->arg, part_fd);
    }
    if (!f) {
        if (fetch(url, tmp_path, validator_path, streamed_path, max_bytes, public_only, watch,
                  err) < 0)
            goto done;
        if (rename(tmp_path, video_path) != 0 || !(f = fopen(video_path, "rb"))) {
            char eb[128];
            sp_err_set(err, SP_ERR_TRANSIENT, "spool", "spool file lost: %s",
                       sp_strerror(errno, eb, sizeof eb));
            goto done;
        }
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        sp_err_set(err, SP_ERR_TRANSIENT, "spool", "cannot stat the spool file");
        goto done;
    }
    *size = (long long)st.st_size;
    *out = f;
    f = NULL;
    rc = 0;
done:
    if (f) fclose(f);
    flock(lock_fd, LOCK_UN);
    close(lock_fd);
    return rc;
}

bool sp_spool_mark_streamed(const char *dir, const char *job_id, const char *validator) {
    /* written whole under another name, then renamed: a worker killed while
     * writing leaves no marker (and no platform got a byte), never an empty
     * one that would lose the validator */
    char path[4096], tmp[4096];
    job_path(path, sizeof path, dir, job_id, ".streamed");
    job_path(tmp, sizeof tmp, dir, job_id, ".streaming");
    FILE *f = fopen(tmp, "w");
    if (!f) return false;
    bool ok = fprintf(f, "%s\n", validator) > 0;
    if (fclose(f) != 0) ok = false;
    if (ok && rename(tmp, path) == 0) return true;
    unlink(tmp);
    return false;
}

void sp_spool_clear_streamed(const char *dir, const char *job_id) {
    char path[4096];
    job_path(path, sizeof path, dir, job_id, ".streamed");
    if (!marked_changed(path)) unlink(path);
}

void sp_spool_remove(const char *dir, const char *job_id) {
    char path[4096];
    job_path(path, sizeof path, dir, job_id, ".video");
    unlink(path);
    job_path(path, sizeof path, dir, job_id, ".streamed");
    unlink(path);
    /* The partial file, its validator and the lock file too, unless a slot
     * holds the lock (the sweep takes them a day later then): removed while
     * we hold it, so a slot that opened it before takes its lock on a file
     * no longer at its path and takes it again (lock_job). Left behind, one
     * lock file per job made the folder, and each new file in it, dearer as
     * jobs came and went. */
    job_path(path, sizeof path, dir, job_id, ".lock");
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        static const char *const leftovers[] = {".part", ".validator", ".streaming", ".lock"};
        for (size_t i = 0; i < sizeof leftovers / sizeof *leftovers; i++) {
            job_path(path, sizeof path, dir, job_id, leftovers[i]);
            unlink(path);
        }
    }
    close(fd); /* after the unlinks: nobody took the lock in between */
}

/* Removes dir/name when it is one of ours, older than max_age, and its job
 * is not locked by a slot (fetching, or holding the lock file itself). */
static bool sweep_one(const char *dir, const char *name, time_t now, double max_age) {
    static const char *const suffixes[] = {".video",     ".part",     ".lock",
                                           ".validator", ".streamed", ".streaming"};
    const char *dot = strchr(name, '.');
    bool ours = false;
    for (size_t i = 0; dot && i < sizeof suffixes / sizeof suffixes[0]; i++)
        ours = ours || strcmp(dot, suffixes[i]) == 0;
    char path[4096], lock_path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!ours || stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
        difftime(now, st.st_mtime) <= max_age)
        return false;
    snprintf(lock_path, sizeof lock_path, "%s/%.*s.lock", dir, (int)(dot - name), name);
    int fd = open(lock_path, O_RDWR | O_CLOEXEC);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) { /* a slot holds it: not stale */
        close(fd);
        return false;
    }
    bool removed = unlink(path) == 0;
    if (fd >= 0) close(fd); /* after the unlink: nobody took the lock in between */
    return removed;
}

int sp_spool_sweep(const char *dir, double max_age) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (sweep_one(dir, e->d_name, now, max_age)) removed++;
    closedir(d);
    return removed;
}
