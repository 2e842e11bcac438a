/*
 * spool: download once, under a lock, to a temporary name; rename when whole.
 *
 * Beside <job>.part (and later <job>.video) lies <job>.validator: the ETag
 * (strong) or Last-Modified of the answer whose bytes the file holds (empty
 * while a download whose server gave neither runs; a hash of the whole file
 * once it is complete, so that its versions are told apart too). It is written when an answer is accepted,
 * before any byte of its body reaches the file (a 200 empties the file
 * first), so a worker killed at any moment leaves a validator that names the
 * bytes on disk, or a file with no validator, which is never trusted: a
 * partial file without one starts over, a whole one is fetched again. Its
 * second line is the size the answer announced (when it did): a .part that
 * long is whole (a worker killed between the last byte and the rename) and
 * is renamed with no request; a 416 to a Range past the end is whole only
 * when it names the same size and validator, else the file starts over. The
 * next attempt asks for the rest with If-Range, and http_client.c takes a 206
 * only when it names the same validator (a server that ignores If-Range
 * answers a 206 of its new version), so a file replaced meanwhile is sent
 * whole instead of stitched. What a download writes is judged by
 * http_client.c before it reaches the file (200/206 only, continuing the
 * file exactly, a video's type and size).
 *
 * The validator goes back to the caller with the file: this host's spool is
 * a cache, and whether a platform that holds part of a video may go on with
 * this version is judged against the delivery's checkpoint (platforms/step.c),
 * which every host sees. Nothing here is written so that uploads may read.
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
#include "core/http_headers.h"

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

/* Judges a file found whole without an answer to judge (its answer was
 * judged when its bytes came): only the size limit may have changed since. */
static int judge_whole(long long size, long long max_bytes, sp_err *err) {
    if (max_bytes >= 0 && size > max_bytes)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "video_too_large",
                          "the video is larger than the %lld byte limit", max_bytes);
    return 0;
}

/* Size of the open file f, or -1. */
static long long file_size(FILE *f) {
    struct stat st;
    return fstat(fileno(f), &st) == 0 ? (long long)st.st_size : -1;
}

/* Reads the validator beside a file into out, and the size its answer
 * announced into *size (-1 when it did not say, or a file written before
 * sizes were kept); false when there is none to trust: absent, unreadable,
 * or cut short by a crash while it was written (each line ends with a
 * newline). */
static bool read_validator(const char *path, char *out, size_t len, long long *size) {
    out[0] = '\0';
    *size = -1;
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[32] = "";
    bool whole = fgets(out, (int)len, f) && strchr(out, '\n');
    if (whole && fgets(line, sizeof line, f)) /* the size, when the answer gave one */
        whole = strchr(line, '\n') && sp_http_parse_count(line, strcspn(line, "\n"), size);
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    if (!whole) {
        out[0] = '\0';
        *size = -1;
    }
    return whole;
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
 * started, the validator of the file's bytes and where it lies, and the
 * watch to pass the news on to. */
typedef struct {
    int fd;
    long long flushed;
    const sp_spool_watch *watch;
    const char *validator_path;
    char validator[SP_SPOOL_VALIDATOR_MAX]; /* what names the bytes in the file */
    long long total;                        /* the size its answer announced, -1: unknown */
    bool known;                             /* validator_path holds validator and total */
    bool named; /* the answer's validator is beside the file */
} progress;

static bool write_validator(const char *path, const char *validator, long long total);

/* Called once the answer is accepted, before any of its body reaches the
 * file: makes the validator beside the file the answer's, with the size it
 * announced (a 206 was accepted only with the same validator; a 200 emptied
 * the file). */
static void name_bytes(progress *p, const char *validator, long long total) {
    p->named = true;
    if (p->known && !strcmp(p->validator, validator) && p->total == total) return;
    if (validator != p->validator) snprintf(p->validator, sizeof p->validator, "%s", validator);
    p->total = total;
    p->known = p->named = write_validator(p->validator_path, validator, total);
}

/* Names the answer's bytes at its first call; then starts writing the
 * file's new bytes to disk every SPOOL_WRITEBACK bytes, so the fsync that
 * judges the download good (and holds back the upload's last byte) waits
 * for the last few MiB only, not for the whole file. */
static void on_progress(void *arg, long long total, long long have, const char *validator) {
    progress *p = arg;
    if (!p->named) name_bytes(p, validator, total);
    if (have < p->flushed) p->flushed = 0; /* started over */
    if (have - p->flushed >= SPOOL_WRITEBACK) {
        sync_file_range(p->fd, p->flushed, have - p->flushed, SYNC_FILE_RANGE_WRITE);
        p->flushed = have; /* a failure shows in the fsync at the end */
    }
    if (p->watch && p->watch->observe) p->watch->observe(p->watch->arg, total, have, validator);
}

/* Writes the validator of the file's bytes beside it (empty when the
 * answer gave none), and on a line of its own the size the answer
 * announced (when it did): with it a file cut off between its last byte and
 * its rename is known to be whole. false when it could not (the validator
 * is gone then). */
static bool write_validator(const char *path, const char *validator, long long total) {
    FILE *f = fopen(path, "w");
    bool saved = f && (total >= 0 ? fprintf(f, "%s\n%lld\n", validator, total)
                                  : fprintf(f, "%s\n", validator)) >= 0;
    if (f && fclose(f) != 0) saved = false; /* closed either way (a full disk fails here) */
    if (!saved) unlink(path);
    return saved;
}

/* Names the bytes of a whole file whose server named none of its versions
 * (no ETag, no Last-Modified) by a hash of them, "content:<16 hex digits>"
 * (FNV-1a, 64 bits: it tells two versions of a user's video apart by
 * accident, not against an adversary; only the user could make the two).
 * false when the file could not be read. */
static bool content_validator(const char *path, char *out, size_t len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = malloc(1 << 20);
    unsigned long long h = 1469598103934665603ULL;
    size_t n = 0;
    while (f && buf && (n = fread(buf, 1, 1 << 20, f)) > 0)
        for (size_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 1099511628211ULL;
    bool ok = f && buf && !ferror(f);
    if (f) fclose(f);
    free(buf);
    if (ok) snprintf(out, len, "content:%016llx", h);
    return ok;
}

/* Downloads url into part_path, continuing what an interrupted download left
 * there (named by the validator at validator_path); 0 when the file is a
 * complete video, its validator in validator (SP_SPOOL_VALIDATOR_MAX). A
 * transient failure keeps the partial file for the next try (unless it cannot
 * be continued, or the disk is full); anything else removes it. */
static int fetch(const char *url, const char *part_path, const char *validator_path,
                 long long max_bytes, bool public_only, const sp_spool_watch *watch,
                 char *validator, sp_err *err) {
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "invalid_video_url",
                          "the video URL is not an http(s) URL");
    char eb[128];
    FILE *f = fopen(part_path, "ab");
    if (!f)
        return sp_err_set(err, SP_ERR_TRANSIENT, "spool", "cannot write the spool file: %s",
                          sp_strerror(errno, eb, sizeof eb));
    progress prog = {.fd = fileno(f), .watch = watch, .validator_path = validator_path};
    prog.known = read_validator(validator_path, prog.validator, sizeof prog.validator, &prog.total);
    sp_http_download_req req = {.url = url,
                                .max_bytes = max_bytes,
                                .public_only = public_only,
                                .media_types = video_types,
                                .min_rate = SPOOL_MIN_RATE,
                                .observe = on_progress,
                                .observe_arg = &prog};
    sp_http_resp resp = {.status = 0};
    int rc = 0;
    bool whole = false; /* the file held every byte already: no answer to judge */
    if (prog.known && prog.validator[0] && prog.total > 0 && file_size(f) == prog.total) {
        whole = true; /* cut off before its rename: the version named beside it, whole */
        if (judge_whole(prog.total, max_bytes, err) == 0) /* readers wait for none too large */
            on_progress(&prog, prog.total, prog.total, prog.validator);
    }
    for (int tries = 0; !whole; tries++) {
        req.resume_from = prog.flushed = file_size(f);
        req.validator = prog.known ? prog.validator : "";
        rc = sp_http_download(&req, f, &resp, err);
        if (rc == 0 && resp.status == 416 && resp.whole) { /* the same version, all here */
            whole = true;
            if (judge_whole(req.resume_from, max_bytes, err) == 0)
                on_progress(&prog, req.resume_from, req.resume_from, prog.validator);
            break;
        }
        /* A Range that cannot continue the file: a 206 of other bytes (the
         * file was emptied), or a 416 (past the end of what the URL holds
         * now, or of a version the 416 does not name): once more, from the
         * start, in this attempt. */
        bool restart = rc == 0 ? resp.status == 416 && req.resume_from > 0
                               : !strcmp(err->code, "range_mismatch");
        if (tries > 0 || !restart) break;
        if (rc == 0 && ftruncate(fileno(f), 0) != 0) break; /* the 416 is judged below */
        sp_http_resp_free(&resp);
        sp_err_clear(err);
    }
    if ((fflush(f) != 0 || fsync(fileno(f)) != 0) && rc == 0)
        rc = sp_err_set(err, SP_ERR_TRANSIENT, "spool", "spool write failed: %s",
                        sp_strerror(errno, eb, sizeof eb));
    long long size = file_size(f);
    fclose(f);
    rc = rc < 0 ? download_failed(&resp, max_bytes, err)
         : whole ? judge_whole(size, max_bytes, err)
                 : judge_download(&resp, size, err);
    if (rc == 0 && prog.named && !prog.validator[0] && /* its server named no version */
        (!content_validator(part_path, prog.validator, sizeof prog.validator) ||
         !write_validator(validator_path, prog.validator, size)))
        prog.named = false;
    if (rc == 0 && !prog.named) /* the bytes are good, but nothing says which version */
        rc = sp_err_set(err, SP_ERR_TRANSIENT, "spool_write_failed",
                        "the video's validator could not be spooled; will retry");
    bool keep = rc == 0 || (err->kind == SP_ERR_TRANSIENT && resp.status != 416 && size > 0 &&
                            strcmp(err->code, "spool_write_failed") != 0);
    if (!keep) {
        unlink(part_path);
        unlink(validator_path);
    }
    if (rc == 0) snprintf(validator, SP_SPOOL_VALIDATOR_MAX, "%s", prog.validator);
    sp_http_resp_free(&resp);
    return rc;
}

/* Takes the lock on fd, blocking; with stop, polling it every 50 ms while
 * another holds the lock (another process's download), EINTR when it says
 * stop. */
static int take_lock(int fd, const sp_spool_watch *watch) {
    if (!watch || !watch->stop) return flock(fd, LOCK_EX);
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) return -1;
        if (watch->stop(watch->arg)) {
            errno = EINTR;
            return -1;
        }
        usleep(50 * 1000);
    }
    return 0;
}

/* Opens and locks the job's lock file. The sweeper may remove a lock file
 * nobody holds: a lock taken on a file no longer at its path is taken again. */
static int lock_job(const char *lock_path, const sp_spool_watch *watch, sp_err *err) {
    for (int tries = 0; tries < 10; tries++) {
        int fd = open(lock_path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0 || take_lock(fd, watch) != 0) {
            char eb[128];
            int e = errno;
            if (fd >= 0) close(fd);
            return sp_err_set(err, SP_ERR_TRANSIENT, e == EINTR ? "interrupted" : "spool",
                              "cannot lock the spool: %s", sp_strerror(e, eb, sizeof eb));
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
    return sp_spool_fetch(dir, job_id, url, max_bytes, public_only, NULL, out, size, NULL, err);
}

/* Opens the job's whole video when it is on disk with its validator (copied
 * to validator); a whole file nothing names is removed, to be fetched again. */
static FILE *open_whole(const char *video_path, const char *validator_path, char *validator) {
    FILE *f = fopen(video_path, "rb");
    long long announced;
    if (f && !read_validator(validator_path, validator, SP_SPOOL_VALIDATOR_MAX, &announced)) {
        fclose(f);
        unlink(video_path);
        f = NULL;
    }
    return f;
}

int sp_spool_fetch(const char *dir, const char *job_id, const char *url, long long max_bytes,
                   bool public_only, const sp_spool_watch *watch, FILE **out, long long *size,
                   char *validator, sp_err *err) {
    char lock_path[4096], video_path[4096], tmp_path[4096], validator_path[4096];
    char named[SP_SPOOL_VALIDATOR_MAX];
    job_path(lock_path, sizeof lock_path, dir, job_id, ".lock");
    job_path(video_path, sizeof video_path, dir, job_id, ".video");
    job_path(tmp_path, sizeof tmp_path, dir, job_id, ".part"); /* one writer: the lock */
    job_path(validator_path, sizeof validator_path, dir, job_id, ".validator");
    *out = NULL;
    if (!url || !*url)
        return sp_err_set(err, SP_ERR_UNPROCESSABLE, "invalid_video_url", "the video has no URL");
    int lock_fd = lock_job(lock_path, watch, err);
    if (lock_fd < 0) return -1;
    int rc = -1;
    FILE *f = open_whole(video_path, validator_path, named);
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
        if (fetch(url, tmp_path, validator_path, max_bytes, public_only, watch, named, err) < 0)
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
    if (validator) snprintf(validator, SP_SPOOL_VALIDATOR_MAX, "%s", named);
    *out = f;
    f = NULL;
    rc = 0;
done:
    if (f) fclose(f);
    flock(lock_fd, LOCK_UN);
    close(lock_fd);
    return rc;
}

void sp_spool_remove(const char *dir, const char *job_id) {
    char path[4096];
    job_path(path, sizeof path, dir, job_id, ".video");
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
        static const char *const leftovers[] = {".part", ".validator", ".lock"};
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
    /* .streamed and .streaming: markers earlier versions left */
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
