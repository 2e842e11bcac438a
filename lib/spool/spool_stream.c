/*
 * spool_stream: one download thread per job, readers that wait on it.
 *
 * A process-wide list holds the jobs being downloaded (and those finished
 * while a reader still holds them): the bytes on disk, the announced size,
 * the state, and the read side of the .part file (which keeps its inode when
 * renamed to .video). The download thread moves "have" on from the HTTP
 * client's observer and broadcasts one condition variable; readers pread the
 * file below what it allows. An entry goes when its thread and its last
 * reader are done with it; a failed entry is never joined again (the next
 * open starts a new download, which continues the .part file).
 *
 * The download stops when every reader has left it (an upload failed for
 * good, a lease was lost, the worker stops): it is then "deserted", and no
 * new reader joins it, so one platform leaving never hands another the
 * error of a download stopped for it; a new reader starts a new download,
 * which continues the file once the old one let go of the lock (one that
 * has every byte is let finish instead: its file is whole). Each reader
 * waits with its own abort check, polled a few times a second, so a hard
 * stop or a lost lease ends its wait even when the download is stalled.
 */
#include "spool/spool_stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "spool/spool.h"

typedef enum { FETCHING, FETCHED, FAILED } fetch_state;

typedef struct entry {
    struct entry *next;
    char *dir, *job_id, *url;
    long long max_bytes;
    bool public_only;
    int fd;              /* read side of the file, -1 until the download opens it */
    long long total;     /* announced size, -1 until known */
    long long shown;     /* the size readers were given, -1 before the first */
    long long have;      /* bytes on disk */
    long long announced; /* the answer's size (whatever its validator), -1 until known */
    bool deserted;       /* every reader left: the download stops, nobody joins */
    char validator[SP_SPOOL_VALIDATOR_MAX]; /* what names the answer's bytes */
    fetch_state state;
    sp_err err; /* FAILED: why */
    int refs;
} entry;

typedef struct reader {
    struct reader *next;
    entry *e;
    FILE *f;
    long long pos;
    sp_http_abort_fn abort_fn; /* the reader's own: ends its waits */
    void *abort_arg;
} reader;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static entry *entries;
static reader *readers;
static int running; /* download threads */

/* Drops a reference (lock held); the last one frees the entry. */
static void unref(entry *e) {
    if (--e->refs > 0) return;
    for (entry **p = &entries; *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            break;
        }
    if (e->fd >= 0) close(e->fd);
    free(e->dir);
    free(e->job_id);
    free(e->url);
    free(e);
}

static void on_part(void *arg, int fd) {
    entry *e = arg;
    pthread_mutex_lock(&lock);
    if (e->fd >= 0) close(e->fd);
    e->fd = fd;
    pthread_mutex_unlock(&lock);
}

static void observe(void *arg, long long total, long long have, const char *validator) {
    entry *e = arg;
    pthread_mutex_lock(&lock);
    /* One answer per download: the same on every call. Readers come in
     * early only when the answer names its bytes: without a validator a cut
     * download starts over, and platforms holding bytes of the first try
     * would fail the job as changed; they wait for the whole file instead. */
    e->total = validator[0] ? total : -1;
    e->announced = total;
    snprintf(e->validator, sizeof e->validator, "%s", validator);
    e->have = have;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

/* Stops the download once every reader has gone (each came with the
 * open that started it): nobody would read the rest, and the job's files may
 * be removed meanwhile. From then on no reader joins it. The .part stays for
 * a later attempt. A download whose every byte is in is let finish: stopped
 * there, the whole file would stay a .part, and the next open's Range past
 * its end would get a 416 (an attempt lost, the file fetched again). */
static bool fetch_must_stop(void *arg) {
    entry *e = arg;
    pthread_mutex_lock(&lock);
    bool all_in = e->announced >= 0 && e->have >= e->announced;
    if (e->refs == 1 && !all_in) e->deserted = true;
    bool deserted = e->deserted;
    pthread_mutex_unlock(&lock);
    return deserted;
}

/* Waits (lock held) for news of downloads, a fifth of a second at most, so
 * that the waiting reader's abort is polled; false when it says stop. */
static bool wait_news(sp_http_abort_fn abort_fn, void *abort_arg) {
    if (abort_fn && abort_fn(abort_arg)) return false;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 200 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&changed, &lock, &until);
    return true;
}

/* The error of a wait its reader's abort ended. */
static int interrupted(sp_err *err) {
    return sp_err_set(err, SP_ERR_TRANSIENT, "interrupted",
                      "waiting for the video was interrupted (the worker stops or lost the lease)");
}

static void *fetch_main(void *arg) {
    entry *e = arg;
    sp_http_client_set_abort(fetch_must_stop, e);
    sp_spool_watch watch = {
        .on_part = on_part, .observe = observe, .stop = fetch_must_stop, .arg = e};
    FILE *f = NULL;
    long long size = 0;
    sp_err err;
    sp_err_clear(&err);
    char validator[SP_SPOOL_VALIDATOR_MAX] = "";
    int rc = sp_spool_fetch(e->dir, e->job_id, e->url, e->max_bytes, e->public_only, &watch, &f,
                            &size, validator, &err);
    pthread_mutex_lock(&lock);
    long long expected = e->shown >= 0 ? e->shown : e->total;
    if (rc == 0 && expected >= 0 && size != expected) {
        sp_err_set(&err, SP_ERR_TRANSIENT, "video_fetch_failed",
                   "the video changed size while it was read (%lld, then %lld bytes); will retry",
                   expected, size);
        rc = -1;
    }
    if (rc == 0 && e->fd < 0) { /* on disk already (another process fetched it) */
        e->fd = dup(fileno(f));
        if (e->fd < 0)
            rc = sp_err_set(&err, SP_ERR_TRANSIENT, "spool", "cannot open the spool file");
    }
    if (rc == 0) {
        e->total = e->have = size;
        snprintf(e->validator, sizeof e->validator, "%s", validator);
        e->state = FETCHED;
    } else {
        e->err = err;
        e->state = FAILED;
        sp_log(SP_LOG_INFO, "download of job %s's video ended: %s", e->job_id, err.msg);
    }
    running--;
    unref(e);
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    if (f) fclose(f);
    return NULL;
}

/* The bytes readers may have (lock held): all of them once the download is
 * judged good, else all but the last. */
static long long readable(const entry *e) {
    if (e->state == FETCHED) return e->total;
    if (e->total < 0) return 0;
    return e->have < e->total ? e->have : e->total - 1;
}

static ssize_t stream_read(void *cookie, char *buf, size_t n) {
    reader *r = cookie;
    entry *e = r->e;
    pthread_mutex_lock(&lock);
    bool go_on = true;
    while (go_on && e->state == FETCHING && readable(e) <= r->pos)
        go_on = wait_news(r->abort_fn, r->abort_arg);
    long long limit = e->state == FAILED || !go_on ? -1 : readable(e);
    int fd = e->fd;
    pthread_mutex_unlock(&lock);
    if (limit < 0) {
        errno = EIO;
        return -1;
    }
    if (r->pos >= limit) return 0;
    if ((long long)n > limit - r->pos) n = (size_t)(limit - r->pos);
    ssize_t got = pread(fd, buf, n, (off_t)r->pos);
    if (got > 0) r->pos += got;
    return got;
}

static int stream_seek(void *cookie, off64_t *offset, int whence) {
    reader *r = cookie;
    long long base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? r->pos : -1;
    if (whence == SEEK_END) {
        pthread_mutex_lock(&lock);
        base = r->e->total;
        pthread_mutex_unlock(&lock);
    }
    if (base < 0 || base + *offset < 0) {
        errno = EINVAL;
        return -1;
    }
    r->pos = base + *offset;
    *offset = r->pos;
    return 0;
}

static int stream_close(void *cookie) {
    reader *r = cookie;
    pthread_mutex_lock(&lock);
    for (reader **p = &readers; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    unref(r->e);
    pthread_mutex_unlock(&lock);
    free(r);
    return 0;
}

/* The job's entry to join (lock held): a running or finished download that
 * its readers have not all left. */
static entry *find(const char *dir, const char *job_id) {
    for (entry *e = entries; e; e = e->next)
        if (e->state != FAILED && !e->deserted && !strcmp(e->job_id, job_id) &&
            !strcmp(e->dir, dir))
            return e;
    return NULL;
}

/* Starts the job's download thread (lock held); NULL when it cannot. */
static entry *start(const char *dir, const char *job_id, const char *url, long long max_bytes,
                    bool public_only) {
    entry *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    *e = (entry){.dir = strdup(dir),
                 .job_id = strdup(job_id),
                 .url = strdup(url),
                 .max_bytes = max_bytes,
                 .public_only = public_only,
                 .fd = -1,
                 .total = -1,
                 .announced = -1,
                 .shown = -1,
                 .refs = 1};
    pthread_t t;
    pthread_attr_t attr;
    bool started = false;
    if (e->dir && e->job_id && e->url && pthread_attr_init(&attr) == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        started = pthread_create(&t, &attr, fetch_main, e) == 0;
        pthread_attr_destroy(&attr);
    }
    if (!started) {
        free(e->dir);
        free(e->job_id);
        free(e->url);
        free(e);
        return NULL;
    }
    e->next = entries;
    entries = e;
    running++;
    return e;
}

int sp_spool_open_stream(const char *dir, const char *job_id, const char *url, long long max_bytes,
                         bool public_only, sp_http_abort_fn abort_fn, void *abort_arg, FILE **out,
                         long long *size, char *validator, sp_err *err) {
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.video", dir, job_id);
    struct stat st;
    if (!url || !*url || stat(path, &st) == 0) /* nothing to wait for */
        return sp_spool_fetch(dir, job_id, url, max_bytes, public_only, NULL, out, size,
                              validator, err);
    pthread_mutex_lock(&lock);
    entry *e = find(dir, job_id);
    if (!e) e = start(dir, job_id, url, max_bytes, public_only);
    if (!e) {
        pthread_mutex_unlock(&lock);
        return sp_err_set(err, SP_ERR_TRANSIENT, "spool", "cannot start the video's download");
    }
    e->refs++;
    bool go_on = true;
    while (go_on && e->state == FETCHING && (e->total < 0 || e->fd < 0))
        go_on = wait_news(abort_fn, abort_arg);
    int rc = 0;
    reader *r = NULL;
    if (!go_on) {
        rc = interrupted(err);
    } else if (e->state == FAILED) {
        *err = e->err;
        rc = -1;
    } else if (!(r = calloc(1, sizeof *r))) {
        rc = sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory");
    } else {
        *r = (reader){.e = e, .abort_fn = abort_fn, .abort_arg = abort_arg};
        r->f = fopencookie(r, "rb",
                           (cookie_io_functions_t){
                               .read = stream_read, .seek = stream_seek, .close = stream_close});
        if (!r->f) {
            free(r);
            rc = sp_err_set(err, SP_ERR_OOM, "out_of_memory", "cannot open the video stream");
        } else {
            r->next = readers;
            readers = r;
            *out = r->f;
            if (e->shown < 0) e->shown = e->total;
            *size = e->shown;
            snprintf(validator, SP_SPOOL_VALIDATOR_MAX, "%s", e->validator);
            e = NULL; /* the reader holds the reference now */
        }
    }
    if (e) unref(e); /* the last reader gone: the download is deserted */
    pthread_mutex_unlock(&lock);
    return rc;
}

int sp_spool_wait(FILE *f, long long end, sp_err *err) {
    pthread_mutex_lock(&lock);
    reader *r = readers;
    while (r && r->f != f)
        r = r->next;
    bool go_on = true;
    while (go_on && r && r->e->state == FETCHING && readable(r->e) < end)
        go_on = wait_news(r->abort_fn, r->abort_arg);
    int rc = 0;
    if (!go_on) {
        rc = interrupted(err);
    } else if (r && r->e->state == FAILED) {
        *err = r->e->err;
        rc = -1;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void sp_spool_stream_drain(void) {
    pthread_mutex_lock(&lock);
    while (running > 0)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
}
