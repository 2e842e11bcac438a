/* Unit tests of spool_stream.c against a small HTTP server in a thread: a
 * video is read while it downloads (and never past what arrived), a cut
 * download fails its readers, and one without Content-Length is waited for;
 * every open says which version it holds (its validator), a 206 of another
 * version is never appended, a reader's wait ends when its abort says so
 * (and not the others'), and a reader that comes after all others left
 * starts a new download; a whole .part left by a worker killed before its
 * rename is read with no attempt lost and no byte fetched again when it is
 * the same version, and never passed off as another. The moments that
 * matter are forced, not waited
 * for: the server holds the second half until the test opens its gate, and
 * a failed download can be held before its readers learn of it (a wrap of
 * sp_spool_fetch). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "spool/spool.h"
#include "spool/spool_stream.h"

#define N (256 * 1024)

/* GATED_CUT: half, then the gate, then the cut; CHANGED: a new version (a
 * 200 with another ETag, whatever range was asked for); IGNORES_IF_RANGE: a
 * new version whose server answers a Range with a 206 whatever If-Range says;
 * NO_VALIDATOR: a 200 with neither ETag nor Last-Modified */
typedef enum { GATED, CUT, NO_LENGTH, GATED_CUT, CHANGED, IGNORES_IF_RANGE, NO_VALIDATOR } mode;

static int listener, port, gets;
static long last_from; /* where the last GET asked to start */
static bool last_if_range;
static bool tagged_416; /* a 416 names the version the server holds (its ETag) */
static mode serving;
static sem_t gate; /* GATED: the second half goes out once posted */
static unsigned char data[N];

static void send_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        c += w;
        n -= (size_t)w;
    }
}

/* Answers one GET at a time as serving says. */
static void *server_main(void *arg) {
    (void)arg;
    for (;;) {
        int c = accept(listener, NULL, NULL);
        if (c < 0) return NULL;
        char req[4096] = "";
        size_t got = 0;
        while (got < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
            ssize_t r = recv(c, req + got, sizeof req - 1 - got, 0);
            if (r <= 0) break;
            got += (size_t)r;
            req[got] = '\0';
        }
        gets++;
        long from = 0;
        const char *range = strstr(req, "Range: bytes=");
        if (range && serving != CHANGED) from = atol(range + 13);
        last_from = from;
        last_if_range = strstr(req, "If-Range: \"v1\"") != NULL;
        const char *etag = serving == CHANGED || serving == IGNORES_IF_RANGE ? "v2" : "v1";
        char head[256];
        int n = serving == NO_VALIDATOR
                    ? snprintf(head, sizeof head,
                               "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\n"
                               "Content-Length: %d\r\n\r\n", N)
                : serving == NO_LENGTH ? snprintf(head, sizeof head,
                                                "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\n"
                                                "ETag: \"v1\"\r\nConnection: close\r\n\r\n")
                : from > 0
                    ? snprintf(head, sizeof head,
                               "HTTP/1.1 206 Partial Content\r\nContent-Type: video/mp4\r\n"
                               "ETag: \"%s\"\r\n"
                               "Content-Range: bytes %ld-%d/%d\r\nContent-Length: %ld\r\n\r\n",
                               etag, from, N - 1, N, N - from)
                    : snprintf(head, sizeof head,
                               "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\n"
                               "ETag: \"%s\"\r\nContent-Length: %d\r\n\r\n", etag, N);
        if (from >= N) /* past the end: what servers answer (RFC 9110, 15.5.17) */
            n = snprintf(head, sizeof head,
                         "HTTP/1.1 416 Range Not Satisfiable\r\n%s%s%s"
                         "Content-Range: bytes */%d\r\nContent-Length: 0\r\n\r\n",
                         tagged_416 ? "ETag: \"" : "", tagged_416 ? etag : "",
                         tagged_416 ? "\"\r\n" : "", N);
        send_all(c, head, (size_t)n);
        if (from >= N) {
            /* nothing to send (a 416 above) */
        } else if (serving == NO_VALIDATOR) {
            send_all(c, data, N);
        } else if (from > 0) {
            send_all(c, data + from, (size_t)(N - from));
        } else {
            send_all(c, data, N / 2);
            if (serving == GATED || serving == GATED_CUT) sem_wait(&gate);
            if (serving != CUT && serving != GATED_CUT) send_all(c, data + N / 2, N / 2);
        }
        close(c);
    }
}

static atomic_bool stop_reader;

/* The reader's abort: what a lost lease or a hard stop would say. */
static bool reader_stops(void *arg) {
    (void)arg;
    return stop_reader;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int held_lock = -1;

/* Lets go of the job's lock 3 s on (what the other process would do). */
static void *release_lock_later(void *arg) {
    (void)arg;
    sleep(3);
    close(held_lock);
    return NULL;
}

/* Says stop to the reader 0.3 s on. */
static void *stop_reader_later(void *arg) {
    (void)arg;
    usleep(300 * 1000);
    stop_reader = true;
    return NULL;
}

/* A reader's sp_spool_wait run in a thread, so the test can bound it. */
typedef struct {
    FILE *f;
    long long end;
    int rc;
    sp_err err;
    sem_t done;
} waiting;

static void *wait_for_bytes(void *arg) {
    waiting *w = arg;
    w->rc = sp_spool_wait(w->f, w->end, &w->err);
    sem_post(&w->done);
    return NULL;
}

/* True when done is posted within seconds. */
static bool ends_within(sem_t *done, double seconds) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    long long ns = until.tv_nsec + (long long)(seconds * 1e9);
    until.tv_sec += (time_t)(ns / 1000000000LL);
    until.tv_nsec = (long)(ns % 1000000000LL);
    while (sem_timedwait(done, &until) != 0)
        if (errno != EINTR) return false;
    return true;
}

/* The download threads' sp_spool_fetch (linked with --wrap, see
 * tests/CMakeLists.txt): once armed, the next one that fails is held after
 * its transfer ended and before spool_stream learns of it, until let go. */
static atomic_bool hold_failed_fetch;
static sem_t fetch_held, fetch_let_go;

int __real_sp_spool_fetch(const char *dir, const char *job_id, const char *url, long long max_bytes,
                          bool public_only, const sp_spool_watch *watch, FILE **out,
                          long long *size, char *validator, sp_err *err);

int __wrap_sp_spool_fetch(const char *dir, const char *job_id, const char *url, long long max_bytes,
                          bool public_only, const sp_spool_watch *watch, FILE **out,
                          long long *size, char *validator, sp_err *err);

int __wrap_sp_spool_fetch(const char *dir, const char *job_id, const char *url, long long max_bytes,
                          bool public_only, const sp_spool_watch *watch, FILE **out,
                          long long *size, char *validator, sp_err *err) {
    int rc = __real_sp_spool_fetch(dir, job_id, url, max_bytes, public_only, watch, out, size,
                                   validator, err);
    if (rc != 0 && atomic_exchange(&hold_failed_fetch, false)) {
        sem_post(&fetch_held);
        sem_wait(&fetch_let_go);
    }
    return rc;
}

/* The spool's sp_http_download (linked with --wrap too): once armed, the
 * download whose observer hears of its last byte is held there, inside the
 * transfer, until let go. */
static atomic_bool hold_last_byte;
static sem_t last_byte_held, last_byte_let_go;
static _Atomic(sp_http_download_observer) spool_observer; /* the spool's (the same for all) */

static void observe_then_hold(void *arg, long long total, long long have, const char *validator) {
    atomic_load(&spool_observer)(arg, total, have, validator);
    if (total > 0 && have == total && atomic_exchange(&hold_last_byte, false)) {
        sem_post(&last_byte_held);
        sem_wait(&last_byte_let_go);
    }
}

int __real_sp_http_download(const sp_http_download_req *req, FILE *out, sp_http_resp *resp,
                            sp_err *err);

int __wrap_sp_http_download(const sp_http_download_req *req, FILE *out, sp_http_resp *resp,
                            sp_err *err);

int __wrap_sp_http_download(const sp_http_download_req *req, FILE *out, sp_http_resp *resp,
                            sp_err *err) {
    sp_http_download_req held = *req;
    if (held.observe) {
        atomic_store(&spool_observer, held.observe);
        held.observe = observe_then_hold;
    }
    return __real_sp_http_download(&held, out, resp, err);
}

/* Copies dir/<from><suffix> to dir/<to><suffix>; false when it cannot. */
static bool copy_file(const char *dir, const char *from, const char *to, const char *suffix) {
    char src[512], dst[512];
    snprintf(src, sizeof src, "%s/%s%s", dir, from, suffix);
    snprintf(dst, sizeof dst, "%s/%s%s", dir, to, suffix);
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    static unsigned char buf[N];
    size_t n = in ? fread(buf, 1, sizeof buf, in) : 0;
    bool ok = in && out && !ferror(in) && fwrite(buf, 1, n, out) == n;
    if (in) fclose(in);
    if (out && fclose(out) != 0) ok = false;
    return ok;
}

/* Writes text to dir/<job><suffix>. */
static bool write_text(const char *dir, const char *job, const char *suffix, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s%s", dir, job, suffix);
    FILE *f = fopen(path, "w");
    bool ok = f && fputs(text, f) >= 0;
    if (f && fclose(f) != 0) ok = false;
    return ok;
}

static bool read_is(FILE *f, long long at, size_t n) {
    static unsigned char buf[N];
    return fseeko(f, at, SEEK_SET) == 0 && fread(buf, 1, n, f) == n &&
           memcmp(buf, data + at, n) == 0;
}

int main(void) {
    for (int i = 0; i < N; i++)
        data[i] = (unsigned char)(i * 7 + i / 4096);
    sem_init(&gate, 0, 0);
    sem_init(&fetch_held, 0, 0);
    sem_init(&fetch_let_go, 0, 0);
    sem_init(&last_byte_held, 0, 0);
    sem_init(&last_byte_let_go, 0, 0);
    listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    CHECK(bind(listener, (struct sockaddr *)&a, sizeof a) == 0 && listen(listener, 8) == 0);
    getsockname(listener, (struct sockaddr *)&a, &alen);
    port = ntohs(a.sin_port);
    pthread_t server;
    CHECK(pthread_create(&server, NULL, server_main, NULL) == 0);
    char dir[] = "/tmp/sp-spool-stream-test-XXXXXX", url[128];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v.mp4", port);
    sp_err err;
    FILE *f = NULL, *g = NULL;
    long long size = 0, size2 = 0;
    char v[SP_SPOOL_VALIDATOR_MAX];

    /* read while it arrives: half is there, the rest waits for the gate */
    serving = GATED;
    CHECK(sp_spool_open_stream(dir, "job1", url, -1, false, NULL, NULL, &f, &size, v, &err) == 0);
    CHECK(size == N);
    CHECK(sp_spool_open_stream(dir, "job1", url, -1, false, NULL, NULL, &g, &size2, v, &err) == 0);
    CHECK(size2 == N && gets == 1); /* one download for both readers */
    CHECK(f && read_is(f, 0, N / 2));
    CHECK(sp_spool_wait(f, N / 2, &err) == 0);
    sem_post(&gate);
    CHECK(sp_spool_wait(g, N, &err) == 0);
    CHECK(read_is(f, N / 2, N / 2) && read_is(g, 1000, N - 1000));
    CHECK(fgetc(f) == EOF && !ferror(f));
    if (f) fclose(f);
    if (g) fclose(g);
    /* on disk now: a plain file, no GET */
    CHECK(sp_spool_open_stream(dir, "job1", url, -1, false, NULL, NULL, &f, &size, v, &err) == 0);
    CHECK(size == N && gets == 1 && read_is(f, 0, N));
    if (f) fclose(f);
    sp_spool_remove(dir, "job1");

    /* cut after half: the open (when the cut came first) or the reads fail */
    serving = CUT;
    gets = 0;
    f = NULL;
    if (sp_spool_open_stream(dir, "job2", url, -1, false, NULL, NULL, &f, &size, v, &err) == 0) {
        CHECK(size == N);
        CHECK(sp_spool_wait(f, N, &err) == -1);
        CHECK(!read_is(f, 0, N) && ferror(f)); /* never a whole file */
        fclose(f);
    }
    CHECK(err.kind == SP_ERR_TRANSIENT);
    /* the next open continues the .part file with a Range and completes */
    serving = GATED;
    CHECK(sp_spool_open_stream(dir, "job2", url, -1, false, NULL, NULL, &f, &size, v, &err) == 0);
    CHECK(size == N && f && read_is(f, 0, N) && gets == 2);
    CHECK(last_from > 0 && last_if_range); /* a 206 from where the cut left it */
    if (f) fclose(f);
    sp_spool_remove(dir, "job2");

    /* no Content-Length: the open waits for the whole file */
    serving = NO_LENGTH;
    CHECK(sp_spool_open_stream(dir, "job3", url, -1, false, NULL, NULL, &f, &size, v, &err) == 0);
    CHECK(size == N && f && read_is(f, 0, N) && gets == 3);
    if (f) fclose(f);
    sp_spool_remove(dir, "job3");

    /* a video that changes at its URL after uploads read part of it: the
     * next open holds the new version, and says so (its caller judges) */
    serving = GATED_CUT;
    gets = 0;
    CHECK(sp_spool_open_stream(dir, "job4", url, -1, false, NULL, NULL, &f, &size, v, &err) == 0);
    CHECK_STR(v, "\"v1\"");
    CHECK(f && read_is(f, 0, N / 2)); /* read while it arrives */
    sem_post(&gate);
    CHECK(f && sp_spool_wait(f, N, &err) == -1 && err.kind == SP_ERR_TRANSIENT);
    if (f) fclose(f);
    serving = CHANGED;
    CHECK(sp_spool_open_stream(dir, "job4", url, -1, false, NULL, NULL, &f, &size, v, &err) == 0);
    CHECK_STR(v, "\"v2\"");
    CHECK(f && sp_spool_wait(f, N, &err) == 0 && read_is(f, 0, N) && gets == 2);
    if (f) fclose(f);
    CHECK(sp_spool_open_stream(dir, "job4", url, -1, false, NULL, NULL, &f, &size, v, &err) == 0);
    CHECK_STR(v, "\"v2\""); /* the whole file on disk keeps its validator */
    if (f) fclose(f);
    sp_spool_remove(dir, "job4");

    /* a server that ignores If-Range: its 206 of a new version is not
     * appended to the old bytes; the file starts over with a whole answer */
    serving = CUT;
    gets = 0;
    if (sp_spool_open_stream(dir, "job5", url, -1, false, NULL, NULL, &f, &size, v, &err) == 0) {
        CHECK(sp_spool_wait(f, N, &err) == -1);
        fclose(f);
    }
    serving = IGNORES_IF_RANGE;
    CHECK(sp_spool_open_stream(dir, "job5", url, -1, false, NULL, NULL, &f, &size, v, &err) == 0);
    CHECK(f && sp_spool_wait(f, N, &err) == 0 && read_is(f, 0, N));
    CHECK_STR(v, "\"v2\"");
    CHECK(gets == 3 && last_from == 0); /* the 206 refused, then everything again */
    if (f) fclose(f);
    sp_spool_remove(dir, "job5");

    /* two platforms read a stalled download; one's abort says stop (its lease
     * was lost, or the worker stops hard): its wait ends within a bounded
     * time although no byte comes, and the other's reads go on unharmed */
    serving = GATED;
    gets = 0;
    stop_reader = false;
    g = NULL;
    CHECK(sp_spool_open_stream(dir, "job6", url, -1, false, NULL, NULL, &f, &size, v, &err) == 0);
    CHECK(sp_spool_open_stream(dir, "job6", url, -1, false, reader_stops, NULL, &g, &size2, v,
                               &err) == 0);
    CHECK(f && g && gets == 1 && read_is(g, 0, N / 2));
    waiting w = {.f = g, .end = N};
    sem_init(&w.done, 0, 0);
    pthread_t waiter;
    CHECK(g && pthread_create(&waiter, NULL, wait_for_bytes, &w) == 0);
    stop_reader = true; /* the server holds the second half until the gate opens */
    bool ended = ends_within(&w.done, 5.0);
    CHECK(ended);    /* failed before: the wait went on until the download moved */
    sem_post(&gate); /* the other reader's half (and the waiter's, had it not ended) */
    if (g) pthread_join(waiter, NULL);
    CHECK(ended && w.rc == -1 && !strcmp(w.err.code, "interrupted"));
    CHECK(f && sp_spool_wait(f, N, &err) == 0 && read_is(f, 0, N));
    if (g) fclose(g);
    if (f) fclose(f);
    sem_destroy(&w.done);
    stop_reader = false;
    sp_spool_remove(dir, "job6");

    /* the last reader leaves, and the download it stopped is held between
     * its transfer's end and its failure being known (the moment another
     * platform may arrive): the newcomer starts a download of its own that
     * continues the file, never taking the stopped one's error */
    serving = GATED;
    gets = 0;
    CHECK(sp_spool_open_stream(dir, "job9", url, -1, false, NULL, NULL, &f, &size, v, &err) == 0);
    CHECK(f && read_is(f, 0, N / 2));
    atomic_store(&hold_failed_fetch, true);
    if (f) fclose(f);                      /* every reader left: the download stops */
    CHECK(ends_within(&fetch_held, 20.0)); /* curl polls its abort once a second at least */
    atomic_store(&hold_failed_fetch, false);
    sem_post(&gate); /* the server is done with the stopped answer */
    g = NULL;
    int opened = sp_spool_open_stream(dir, "job9", url, -1, false, NULL, NULL, &g, &size2, v, &err);
    sem_post(&fetch_let_go); /* the stopped download says it failed */
    CHECK(opened == 0 && g && size2 == N);
    CHECK(g && sp_spool_wait(g, N, &err) == 0); /* failed before: the stopped one's error */
    CHECK(g && read_is(g, 0, N));
    CHECK(gets == 2 && last_from > 0 && last_if_range); /* the file continued */
    if (g) fclose(g);
    sp_spool_stream_drain();
    sp_spool_remove(dir, "job9");

    /* the last reader leaves once every byte is in, the transfer not yet
     * ended: the download is let finish, so the whole file is the video
     * (stopped, it stayed a .part whose next Range, past its end, got a
     * 416: the next platform to open it lost an attempt) */
    serving = GATED;
    gets = 0;
    CHECK(sp_spool_open_stream(dir, "job10", url, -1, false, NULL, NULL, &f, &size, v, &err) == 0);
    CHECK(f && read_is(f, 0, N / 2));
    atomic_store(&hold_last_byte, true);
    sem_post(&gate);
    CHECK(ends_within(&last_byte_held, 20.0)); /* every byte in, the transfer held */
    atomic_store(&hold_last_byte, false);
    if (f) fclose(f); /* the last reader leaves */
    sem_post(&last_byte_let_go);
    sp_spool_stream_drain();
    g = NULL;
    CHECK(sp_spool_open_stream(dir, "job10", url, -1, false, NULL, NULL, &g, &size2, v, &err) ==
          0); /* failed before: the 416 */
    CHECK(g && size2 == N && read_is(g, 0, N) && gets == 1);
    if (g) fclose(g);
    sp_spool_remove(dir, "job10");

    /* a worker killed after the last byte and before the rename leaves a
     * whole .part and the validator beside it: made here by the spool
     * itself (a download held at its last byte, its files copied as a kill
     * would leave them). The next open must read the whole video, with no
     * failure and no byte fetched again: it asked for a Range past the end,
     * got a 416 (this server's has no ETag, like many) and lost an attempt */
    serving = GATED;
    gets = 0;
    CHECK(sp_spool_open_stream(dir, "job11", url, -1, false, NULL, NULL, &f, &size, v, &err) == 0);
    atomic_store(&hold_last_byte, true);
    sem_post(&gate);
    CHECK(ends_within(&last_byte_held, 20.0)); /* every byte in, not renamed */
    atomic_store(&hold_last_byte, false);
    CHECK(copy_file(dir, "job11", "job12", ".part"));
    CHECK(copy_file(dir, "job11", "job12", ".validator"));
    CHECK(copy_file(dir, "job11", "job14", ".part"));
    CHECK(copy_file(dir, "job11", "job14", ".validator"));
    sem_post(&last_byte_let_go);
    CHECK(f && sp_spool_wait(f, N, &err) == 0);
    if (f) fclose(f);
    sp_spool_stream_drain();
    sp_spool_remove(dir, "job11");
    serving = CUT; /* no whole answer to be had: the file on disk must do */
    gets = 0;
    g = NULL;
    CHECK(sp_spool_open_stream(dir, "job12", url, -1, false, NULL, NULL, &g, &size2, v, &err) ==
          0); /* failed before: "reading the video failed with HTTP 416" */
    CHECK(g && size2 == N && sp_spool_wait(g, N, &err) == 0 && read_is(g, 0, N));
    CHECK_STR(v, "\"v1\"");
    CHECK(gets == 0); /* its size beside it says it is whole: no request */
    if (g) fclose(g);
    sp_spool_stream_drain();
    /* renamed: the next open is the plain file */
    CHECK(sp_spool_open_stream(dir, "job12", url, -1, false, NULL, NULL, &g, &size2, v, &err) == 0);
    CHECK(g && size2 == N && read_is(g, 0, N) && gets == 0);
    if (g) fclose(g);
    sp_spool_remove(dir, "job12");
    /* whole, but the size limit is lower now: refused as too large, no GET */
    g = NULL;
    CHECK(sp_spool_open_stream(dir, "job14", url, N - 1, false, NULL, NULL, &g, &size2, v,
                               &err) == -1);
    CHECK(!strcmp(err.code, "video_too_large") && gets == 0 && !g);
    if (g) fclose(g);
    sp_spool_stream_drain();
    sp_spool_remove(dir, "job14");

    /* the same whole .part whose validator says no size (written before
     * sizes were kept): the 416 decides. One naming the version sent in
     * If-Range: the file is whole, no byte again; one naming no version:
     * nothing confirms it, so the video is read again from its start, in
     * the same open (no attempt lost); one naming another version (a
     * server that ignores If-Range, the video replaced): never the old
     * bytes, the new version from its start */
    struct {
        mode serving;
        bool tagged;
        const char *version;
        int gets;
        long from;
    } past_end[] = {{GATED, true, "\"v1\"", 1, N},
                    {GATED, false, "\"v1\"", 2, 0},
                    {IGNORES_IF_RANGE, true, "\"v2\"", 2, 0},
                    {IGNORES_IF_RANGE, false, "\"v2\"", 2, 0},
                    {CHANGED, true, "\"v2\"", 1, 0}};
    for (size_t i = 0; i < sizeof past_end / sizeof past_end[0]; i++) {
        fprintf(stderr, "  a whole .part, no size beside it, case %zu\n", i);
        serving = past_end[i].serving;
        tagged_416 = past_end[i].tagged;
        gets = 0;
        g = NULL;
        CHECK(write_text(dir, "job13", ".validator", "\"v1\"\n"));
        char part[512];
        snprintf(part, sizeof part, "%s/job13.part", dir);
        FILE *p = fopen(part, "wb");
        CHECK(p && fwrite(data, 1, N, p) == N);
        if (p) fclose(p);
        if (serving != GATED) data[0] ^= 1; /* the new version's bytes */
        if (serving == GATED) sem_post(&gate); /* a whole answer, when one is asked for */
        CHECK(sp_spool_open_stream(dir, "job13", url, -1, false, NULL, NULL, &g, &size2, v,
                                   &err) == 0); /* failed before: the 416 */
        CHECK(g && size2 == N && sp_spool_wait(g, N, &err) == 0 && read_is(g, 0, N));
        CHECK_STR(v, past_end[i].version);
        CHECK(gets == past_end[i].gets && last_from == past_end[i].from);
        if (g) fclose(g);
        if (serving != GATED) data[0] ^= 1;
        sp_spool_stream_drain();
        sp_spool_remove(dir, "job13");
        if (serving == GATED && gets < 2) sem_wait(&gate); /* the gate not taken */
    }
    tagged_416 = false;

    /* another process downloads the job (it holds the lock): a reader that
     * gives up leaves its download, which stops waiting for the lock too, so
     * a worker that stops is not held by another's download */
    char lock_path[512];
    snprintf(lock_path, sizeof lock_path, "%s/job8.lock", dir);
    held_lock = open(lock_path, O_CREAT | O_RDWR, 0600);
    CHECK(held_lock >= 0 && flock(held_lock, LOCK_EX) == 0);
    stop_reader = false;
    pthread_t releaser;
    CHECK(pthread_create(&releaser, NULL, release_lock_later, NULL) == 0); /* 3 s on */
    pthread_t stopper;
    CHECK(pthread_create(&stopper, NULL, stop_reader_later, NULL) == 0); /* 0.3 s on */
    double t0 = now();
    CHECK(sp_spool_open_stream(dir, "job8", url, -1, false, reader_stops, NULL, &f, &size, v,
                               &err) == -1 && !strcmp(err.code, "interrupted"));
    sp_spool_stream_drain(); /* the download thread is gone */
    CHECK(now() - t0 < 2.0);
    pthread_join(stopper, NULL);
    pthread_join(releaser, NULL);
    stop_reader = false;

    /* a server that names no version: the whole file is named by its bytes,
     * so two versions are told apart on any host */
    serving = NO_VALIDATOR;
    char first[SP_SPOOL_VALIDATOR_MAX] = "";
    for (int round = 0; round < 3; round++) {
        if (round == 2) data[N / 2] ^= 1; /* another version, the same size */
        CHECK(sp_spool_open_stream(dir, "job7", url, -1, false, NULL, NULL, &f, &size, v,
                                   &err) == 0);
        CHECK(f && size == N && read_is(f, 0, N) && !strncmp(v, "content:", 8));
        if (round == 0) snprintf(first, sizeof first, "%s", v);
        CHECK(round == 2 ? strcmp(v, first) != 0 : strcmp(v, first) == 0);
        if (f) fclose(f);
        if (round == 0) { /* whole on disk: the same name from the file beside it */
            CHECK(sp_spool_open(dir, "job7", url, -1, false, &f, &size, &err) == 0);
            if (f) fclose(f);
            CHECK(sp_spool_open_stream(dir, "job7", url, -1, false, NULL, NULL, &f, &size, v,
                                       &err) == 0 && !strcmp(v, first));
            if (f) fclose(f);
        }
        sp_spool_remove(dir, "job7");
    }
    data[N / 2] ^= 1;

    sp_spool_stream_drain();
    shutdown(listener, SHUT_RDWR);
    close(listener);
    pthread_join(server, NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/job1.lock", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/job2.lock", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/job3.lock", dir);
    unlink(path);
    for (int i = 4; i <= 14; i++) {
        snprintf(path, sizeof path, "%s/job%d.lock", dir, i);
        unlink(path);
    }
    CHECK(rmdir(dir) == 0);
    sem_destroy(&gate);
    sem_destroy(&fetch_held);
    sem_destroy(&fetch_let_go);
    sem_destroy(&last_byte_held);
    sem_destroy(&last_byte_let_go);
    return check_done("test_spool_stream");
}
