/*
 * long_poll: the lot of parked requests and its waker thread; see
 * long_poll.h.
 *
 * Only the waker removes and answers waiters, so it may use a waiter outside
 * the lock once it has seen it in the table; handlers only insert. The lock
 * guards the table, the notification marks and the flags.
 */
#include "api/long_poll.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "api/dispatcher.h"
#include "api/metrics.h"
#include "api/response.h"
#include "api/version_cache.h"
#include "core/clock.h"
#include "core/log.h"
#include "db/listen.h"

#define TABLE_SIZE 1024 /* waiters' buckets, by job id */
#define MARK_SLOTS 4096 /* last notification per job hash */
#define READ_BATCH 32   /* re-reads per pipeline round trip */
#define CHANNEL "social_post_job_changed"
#define USER_SLOTS 256       /* buckets of the per-user counts */
#define CALL_DEADLINE 10.0   /* seconds a database call of the waker may take */
#define OVERDUE_GRACE 0.5    /* seconds past a waiter's deadline before a call is abandoned */

/* How many waiters one caller has parked. */
typedef struct user_count {
    struct user_count *next;
    char user_id[37];
    int n;
} user_count;

typedef struct waiter {
    struct waiter *next;
    sp_request req; /* borrows from its FCGX_Request, kept open */
    char job_id[37];
    char user_id[37];
    char baseline[40];
    char *claims_json;
    sp_job_view view; /* the latest read */
    double deadline;  /* monotonic seconds */
    bool dirty;       /* to be re-read */
} waiter;

struct sp_long_poll {
    char *conninfo;
    sp_long_poll_done done;
    void *done_arg;
    int wake_fd;
    pthread_mutex_t mu;
    waiter *table[TABLE_SIZE];
    user_count *users[USER_SLOTS];
    int count;
    uint64_t seq;               /* notifications seen (and reconnects) */
    uint64_t marks[MARK_SLOTS]; /* seq of each job hash's last notification */
    uint64_t listening_since;   /* seq when LISTEN last began; 0: not listening */
    sp_version_cache *versions; /* the jobs served, kept current by notifications */
    bool stopping;
    bool any_dirty;
    double next_reap; /* the waker's: when to look for waiters whose client has gone */
};

static uint32_t hash_id(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

sp_long_poll *sp_long_poll_new(const char *conninfo, sp_long_poll_done done, void *done_arg) {
    sp_long_poll *lp = calloc(1, sizeof *lp);
    if (!lp) return NULL;
    lp->conninfo = strdup(conninfo);
    lp->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    lp->versions = sp_version_cache_new();
    if (!lp->conninfo || lp->wake_fd < 0 || !lp->versions) {
        if (lp->wake_fd >= 0) close(lp->wake_fd);
        sp_version_cache_free(lp->versions);
        free(lp->conninfo);
        free(lp);
        return NULL;
    }
    lp->done = done;
    lp->done_arg = done_arg;
    lp->seq = 1;
    pthread_mutex_init(&lp->mu, NULL);
    return lp;
}

void sp_long_poll_free(sp_long_poll *lp) {
    if (!lp) return;
    for (int i = 0; i < USER_SLOTS; i++)
        while (lp->users[i]) {
            user_count *u = lp->users[i];
            lp->users[i] = u->next;
            free(u);
        }
    close(lp->wake_fd);
    sp_version_cache_free(lp->versions);
    pthread_mutex_destroy(&lp->mu);
    free(lp->conninfo);
    free(lp);
}

static void wake(sp_long_poll *lp) {
    uint64_t one = 1;
    if (write(lp->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        sp_log(SP_LOG_ERROR, "cannot wake the long-poll waker: %s", strerror(errno));
}

/* Adds delta to user_id's parked count (caller holds mu); false when adding
 * would pass SP_LONG_POLL_MAX_PER_USER, or on no memory. */
static bool count_user(sp_long_poll *lp, const char *user_id, int delta) {
    user_count **p = &lp->users[hash_id(user_id) % USER_SLOTS];
    while (*p && strcmp((*p)->user_id, user_id) != 0)
        p = &(*p)->next;
    if (!*p) {
        if (delta < 0 || !(*p = calloc(1, sizeof **p))) return false;
        snprintf((*p)->user_id, sizeof (*p)->user_id, "%s", user_id);
    }
    if (delta > 0 && (*p)->n + delta > SP_LONG_POLL_MAX_PER_USER) return false;
    (*p)->n += delta;
    if ((*p)->n == 0) { /* forget users with nothing parked */
        user_count *gone = *p;
        *p = gone->next;
        free(gone);
    }
    return true;
}

/* True when a read that began at mark has missed no notification of the
 * job hashing to h: LISTEN ran all along and the job was not notified since
 * (caller holds mu). */
static bool heard_all_since(const sp_long_poll *lp, uint32_t h, uint64_t mark) {
    return lp->listening_since && lp->listening_since <= mark && lp->marks[h % MARK_SLOTS] <= mark;
}

void sp_long_poll_remember(sp_long_poll *lp, const char *job_id, const char *user_id,
                           const char *etag, uint64_t mark) {
    uint32_t h = hash_id(job_id);
    pthread_mutex_lock(&lp->mu);
    if (heard_all_since(lp, h, mark)) sp_version_cache_put(lp->versions, h, job_id, user_id, etag);
    pthread_mutex_unlock(&lp->mu);
}

bool sp_long_poll_known(sp_long_poll *lp, const char *job_id, const char *user_id, char etag[40]) {
    uint32_t h = hash_id(job_id);
    pthread_mutex_lock(&lp->mu);
    bool known =
        lp->listening_since && sp_version_cache_get(lp->versions, h, job_id, user_id, etag);
    pthread_mutex_unlock(&lp->mu);
    return known;
}

uint64_t sp_long_poll_mark(sp_long_poll *lp) {
    pthread_mutex_lock(&lp->mu);
    uint64_t mark = lp->seq;
    pthread_mutex_unlock(&lp->mu);
    return mark;
}

int sp_long_poll_park(sp_long_poll *lp, sp_request *r, const char *claims_json, const char *job_id,
                      int wait, const char *baseline, sp_job_view *view, uint64_t mark) {
    waiter *w = calloc(1, sizeof *w);
    if (!w || !(w->claims_json = strdup(claims_json))) {
        free(w);
        return -1;
    }
    w->req = *r;
    if (r->allow == r->allow_buf) w->req.allow = w->req.allow_buf;
    snprintf(w->job_id, sizeof w->job_id, "%s", job_id);
    snprintf(w->user_id, sizeof w->user_id, "%s", r->user_id);
    snprintf(w->baseline, sizeof w->baseline, "%s", baseline);
    w->deadline = sp_clock_monotonic() + wait;
    w->view = *view;
    uint32_t h = hash_id(job_id);
    pthread_mutex_lock(&lp->mu);
    bool ok = !lp->stopping && count_user(lp, w->user_id, 1);
    if (ok) {
        /* notified (or LISTEN restarted) since the handler's read began */
        w->dirty =
            !lp->listening_since || lp->listening_since > mark || lp->marks[h % MARK_SLOTS] > mark;
        lp->any_dirty |= w->dirty;
        w->next = lp->table[h % TABLE_SIZE];
        lp->table[h % TABLE_SIZE] = w;
        lp->count++;
    }
    pthread_mutex_unlock(&lp->mu);
    if (!ok) {
        free(w->claims_json);
        free(w);
        return -1;
    }
    view->json = NULL;
    r->parked = true;
    sp_metrics_parked(1);
    wake(lp); /* its deadline may be the nearest */
    return 0;
}

/* Unlinks w from the table (caller holds mu). */
static void unlink_waiter(sp_long_poll *lp, waiter *w) {
    waiter **p = &lp->table[hash_id(w->job_id) % TABLE_SIZE];
    while (*p && *p != w)
        p = &(*p)->next;
    if (*p) *p = w->next;
    lp->count--;
    count_user(lp, w->user_id, -1);
}

/* Answers w (already unlinked) with view, or with err when view is NULL,
 * and hands its request back to the server. */
static void answer(sp_long_poll *lp, waiter *w, const sp_job_view *view, const sp_err *err) {
    if (view)
        sp_response_send_versioned(&w->req, view->json, view->etag);
    else
        sp_response_send_error(&w->req, err);
    sp_metrics_parked(-1);
    w->req.parked = false;
    lp->done(lp->done_arg, &w->req);
    free(w->view.json);
    free(w->claims_json);
    free(w);
}

/* Marks job_id notified, and its waiters to be re-read. */
static void note_notification(sp_long_poll *lp, const char *job_id) {
    uint32_t h = hash_id(job_id);
    pthread_mutex_lock(&lp->mu);
    lp->marks[h % MARK_SLOTS] = ++lp->seq;
    sp_version_cache_drop(lp->versions, h, job_id);
    for (waiter *w = lp->table[h % TABLE_SIZE]; w; w = w->next)
        if (!strcmp(w->job_id, job_id)) w->dirty = lp->any_dirty = true;
    pthread_mutex_unlock(&lp->mu);
}

/* A notification's handler (db/listen.h): its payload is the job id. */
static void on_notification(void *arg, const char *channel, const char *payload) {
    (void)channel;
    note_notification(arg, payload);
}

/* Marks every waiter to be re-read (after LISTEN restarted). */
static void mark_all(sp_long_poll *lp) {
    pthread_mutex_lock(&lp->mu);
    for (int i = 0; i < TABLE_SIZE; i++)
        for (waiter *w = lp->table[i]; w; w = w->next)
            w->dirty = lp->any_dirty = true;
    pthread_mutex_unlock(&lp->mu);
}

/* Connects and LISTENs; true when listening. Every waiter is re-read then:
 * changes made while the connection was down were not notified. */
static bool listen_again(sp_long_poll *lp, sp_db *db) {
    sp_err err;
    if (!db || sp_db_listen(db, CHANNEL, &err) < 0) return false;
    pthread_mutex_lock(&lp->mu);
    lp->listening_since = ++lp->seq;
    pthread_mutex_unlock(&lp->mu);
    mark_all(lp);
    return true;
}

/* Notes that the LISTEN connection is gone; returns false (not listening). */
static bool lost(sp_long_poll *lp) {
    sp_log(SP_LOG_WARN, "long-poll: the LISTEN connection was lost; reconnecting");
    pthread_mutex_lock(&lp->mu);
    lp->listening_since = 0;
    sp_version_cache_clear(lp->versions); /* changes from now on go unheard */
    pthread_mutex_unlock(&lp->mu);
    return false;
}

/* Takes up to READ_BATCH waiters to re-read into batch, clearing their mark. */
static int take_dirty(sp_long_poll *lp, waiter **batch) {
    int n = 0;
    bool more = false;
    pthread_mutex_lock(&lp->mu);
    for (int i = 0; i < TABLE_SIZE && lp->any_dirty; i++)
        for (waiter *w = lp->table[i]; w; w = w->next) {
            if (!w->dirty) continue;
            if (n == READ_BATCH) {
                more = true;
                break;
            }
            w->dirty = false;
            batch[n++] = w;
        }
    lp->any_dirty = more;
    pthread_mutex_unlock(&lp->mu);
    return n;
}

/* Marks w to be read again (its read failed with the connection). */
static void redirty(sp_long_poll *lp, waiter *w) {
    pthread_mutex_lock(&lp->mu);
    w->dirty = lp->any_dirty = true;
    pthread_mutex_unlock(&lp->mu);
}

/* Answers w when view differs from what it waits on, else keeps view. */
static void settle(sp_long_poll *lp, waiter *w, sp_job_view *view) {
    if (strcmp(view->etag, w->baseline) == 0) {
        free(w->view.json);
        w->view = *view;
        return;
    }
    pthread_mutex_lock(&lp->mu);
    unlink_waiter(lp, w);
    pthread_mutex_unlock(&lp->mu);
    answer(lp, w, view, NULL);
    free(view->json);
}

/* Reads the result of batch waiter w's re-read and acts on it; false when
 * the connection failed. */
static bool take_reread(sp_long_poll *lp, sp_db *db, waiter *w, const sp_db_step *step) {
    sp_err err;
    sp_rows *res = NULL;
    sp_job_view view;
    if (sp_db_pipeline_receive(db, step, 1, &res, &err) == 0 &&
        sp_jobs_view_from(res, &view, &err) == 0) {
        settle(lp, w, &view);
        return true;
    }
    if (err.kind == SP_ERR_DB_UNAVAILABLE) {
        redirty(lp, w);
        return false;
    }
    pthread_mutex_lock(&lp->mu); /* gone, or no longer the caller's: say so */
    unlink_waiter(lp, w);
    pthread_mutex_unlock(&lp->mu);
    answer(lp, w, NULL, &err);
    return true;
}

/* Re-reads one batch of marked waiters, each as its caller, in one pipeline.
 * Returns -1 when the connection failed (they stay marked). */
static int reread(sp_long_poll *lp, sp_db *db) {
    waiter *batch[READ_BATCH];
    const char *params[READ_BATCH][1];
    sp_db_step steps[READ_BATCH];
    int n = take_dirty(lp, batch);
    if (n == 0) return 0;
    sp_err err;
    bool ok = sp_db_pipeline_enter(db, &err) == 0;
    for (int i = 0; i < n; i++) {
        params[i][0] = batch[i]->job_id;
        steps[i] = sp_jobs_view_step(params[i]);
        if (ok) ok = sp_db_pipeline_send_as(db, batch[i]->claims_json, &steps[i], 1, &err) == 0;
    }
    for (int i = 0; i < n; i++) {
        if (ok)
            ok = take_reread(lp, db, batch[i], &steps[i]);
        else
            redirty(lp, batch[i]);
    }
    sp_db_pipeline_exit(db);
    if (ok) sp_db_notifications(db, on_notification, lp);
    return ok ? 0 : -1;
}

/* Unlinks the waiters due by now (all of them when everyone is true) and
 * answers each with the view it holds. */
static void answer_due(sp_long_poll *lp, double now, bool everyone) {
    waiter *due = NULL;
    pthread_mutex_lock(&lp->mu);
    for (int i = 0; i < TABLE_SIZE; i++) {
        waiter **p = &lp->table[i];
        while (*p) {
            waiter *w = *p;
            if (everyone || w->deadline <= now) {
                *p = w->next;
                lp->count--;
                count_user(lp, w->user_id, -1);
                w->next = due;
                due = w;
            } else {
                p = &w->next;
            }
        }
    }
    pthread_mutex_unlock(&lp->mu);
    while (due) {
        waiter *next = due->next;
        answer(lp, due, &due->view, NULL);
        due = next;
    }
}

/* Once a second: unlinks the waiters whose client has gone (nginx closed
 * their connection) and finishes them unanswered, so they cost no more
 * re-reads and leave their caller's cap. */
static void reap_gone(sp_long_poll *lp, double now) {
    if (now < lp->next_reap) return;
    lp->next_reap = now + 1;
    waiter *gone = NULL;
    pthread_mutex_lock(&lp->mu);
    for (int i = 0; i < TABLE_SIZE && lp->count; i++) {
        waiter **p = &lp->table[i];
        while (*p) {
            waiter *w = *p;
            if (!sp_dispatcher_peer_gone(w->req.fcgx)) {
                p = &w->next;
                continue;
            }
            *p = w->next;
            lp->count--;
            count_user(lp, w->user_id, -1);
            w->next = gone;
            gone = w;
        }
    }
    pthread_mutex_unlock(&lp->mu);
    while (gone) {
        waiter *next = gone->next;
        gone->req.status = 499; /* nginx's "client closed request" */
        gone->req.fcgx->keepConnection = 0;
        sp_metrics_parked(-1);
        gone->req.parked = false;
        lp->done(lp->done_arg, &gone->req);
        free(gone->view.json);
        free(gone->claims_json);
        free(gone);
        gone = next;
    }
}

/* Milliseconds poll may sleep: until the nearest deadline, the next
 * reconnect (retry_at > 0), or 0 when re-reads are due. */
static int sleep_ms(sp_long_poll *lp, double now, bool listening, double retry_at) {
    double until = now + 3600;
    if (!listening && retry_at < until) until = retry_at;
    pthread_mutex_lock(&lp->mu);
    if (listening && lp->any_dirty) until = now;
    for (int i = 0; i < TABLE_SIZE && lp->count; i++)
        for (waiter *w = lp->table[i]; w; w = w->next)
            if (w->deadline < until) until = w->deadline;
    pthread_mutex_unlock(&lp->mu);
    return until <= now ? 0 : (int)((until - now) * 1000) + 1;
}

/* True once sp_long_poll_stop was called. */
static bool is_stopping(sp_long_poll *lp) {
    pthread_mutex_lock(&lp->mu);
    bool stopping = lp->stopping;
    pthread_mutex_unlock(&lp->mu);
    return stopping;
}

/* Waits for the wake-up eventfd or a notification (or, when not listening,
 * the eventfd alone); returns false when the connection failed. */
static bool wait_events(sp_long_poll *lp, sp_db *db, bool listening, int ms) {
    if (listening)
        return sp_db_wait_notifications(db, lp->wake_fd, ms / 1000.0, on_notification, lp) >= 0;
    struct pollfd pfd = {.fd = lp->wake_fd, .events = POLLIN};
    uint64_t count;
    if (poll(&pfd, 1, ms) > 0 && read(lp->wake_fd, &count, sizeof count) < 0 && errno != EAGAIN)
        sp_log(SP_LOG_ERROR, "long-poll wake-up: %s", strerror(errno));
    return false;
}

/* The waker's database calls' abort check: true when stopping, or when a
 * waiter is overdue by OVERDUE_GRACE, so a stalled database never holds an
 * answer much past its promised wait. */
static bool must_answer(void *arg) {
    sp_long_poll *lp = arg;
    double late = sp_clock_monotonic() - OVERDUE_GRACE;
    pthread_mutex_lock(&lp->mu);
    bool yes = lp->stopping;
    for (int i = 0; i < TABLE_SIZE && lp->count && !yes; i++)
        for (waiter *w = lp->table[i]; w && !yes; w = w->next)
            yes = w->deadline <= late;
    pthread_mutex_unlock(&lp->mu);
    return yes;
}

void *sp_long_poll_main(void *arg) {
    sp_long_poll *lp = arg;
    sp_db *db = sp_db_new(lp->conninfo);
    if (db) sp_db_set_deadline(db, CALL_DEADLINE, must_answer, lp);
    bool listening = false;
    double retry_at = 0;
    while (!is_stopping(lp)) {
        double now = sp_clock_monotonic();
        if (!listening && now >= retry_at && !(listening = listen_again(lp, db)))
            retry_at = now + 1;
        if (listening && reread(lp, db) < 0) listening = lost(lp);
        answer_due(lp, sp_clock_monotonic(), false);
        reap_gone(lp, sp_clock_monotonic());
        int ms = sleep_ms(lp, sp_clock_monotonic(), listening, retry_at);
        if (ms > 1000) ms = 1000; /* the next reap */
        if (!wait_events(lp, db, listening, ms)) listening = lost(lp);
    }
    answer_due(lp, 0, true);
    sp_db_free(db);
    return NULL;
}

void sp_long_poll_stop(sp_long_poll *lp) {
    pthread_mutex_lock(&lp->mu);
    lp->stopping = true;
    pthread_mutex_unlock(&lp->mu);
    wake(lp);
}
