/*
 * dispatcher: worker threads waiting on one epoll set of one-shot events;
 * see dispatcher.h.
 *
 * A connection lives in exactly one place: armed in the epoll set (idle,
 * waiting for its next request), or with one thread (being served, or a
 * parked long-poll), which arms it again when its answer is written. Every
 * event is one-shot, so exactly one thread is woken for a connection, and
 * for the listening socket (re-armed as soon as its accept returned: one
 * thread at a time blocks in accept). The stop eventfd is one-shot too:
 * each thread that sees it arms it again for the next one.
 *
 * The lock guards only the list of open connections (so the idle ones are
 * closed at the end) and who is in accept(); a request on a kept
 * connection takes no lock and makes no thread switch: epoll_wait, read,
 * the answer, and one epoll_ctl to re-arm.
 */
#include "api/dispatcher.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "api/metrics.h"
#include "core/log.h"

/* What is read from a finished request's body before its connection is kept:
 * nginx sends the whole body; a handler may not have read it. */
#define DRAIN_LIMIT (1024 * 1024)

typedef struct conn {
    FCGX_Request fcgx;        /* first: a request pointer is its conn */
    struct conn *prev, *next; /* the open connections */
    bool in_epoll;            /* added to the epoll set once */
} conn;

struct sp_dispatcher {
    int listen_fd;
    int epoll_fd;
    int stop_fd; /* eventfd, readable once stopping */
    atomic_bool stopping;
    pthread_mutex_t mu;
    conn *conns;    /* every open connection (guarded by mu) */
    bool accepting; /* a worker is in FCGX_Accept_r on the listening socket */
    pthread_t accepting_thread;
};

/* Arms fd (one-shot, readable) with tag; op is EPOLL_CTL_ADD or _MOD. */
static int arm(sp_dispatcher *d, int op, int fd, void *tag) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = tag};
    return epoll_ctl(d->epoll_fd, op, fd, &ev);
}

sp_dispatcher *sp_dispatcher_new(int listen_fd) {
    sp_dispatcher *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->listen_fd = listen_fd;
    d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    d->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->epoll_fd < 0 || d->stop_fd < 0 || arm(d, EPOLL_CTL_ADD, listen_fd, &d->listen_fd) < 0 ||
        arm(d, EPOLL_CTL_ADD, d->stop_fd, &d->stop_fd) < 0) {
        if (d->epoll_fd >= 0) close(d->epoll_fd);
        if (d->stop_fd >= 0) close(d->stop_fd);
        free(d);
        return NULL;
    }
    atomic_init(&d->stopping, false);
    pthread_mutex_init(&d->mu, NULL);
    return d;
}

/* Adds c to the open connections. */
static void link_conn(sp_dispatcher *d, conn *c) {
    pthread_mutex_lock(&d->mu);
    c->prev = NULL;
    c->next = d->conns;
    if (d->conns) d->conns->prev = c;
    d->conns = c;
    pthread_mutex_unlock(&d->mu);
}

/* Removes c from the open connections. */
static void unlink_conn(sp_dispatcher *d, conn *c) {
    pthread_mutex_lock(&d->mu);
    if (c->prev)
        c->prev->next = c->next;
    else if (d->conns == c)
        d->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    pthread_mutex_unlock(&d->mu);
}

/* Frees c's request and closes its connection (which leaves the epoll set
 * with it). Without libfcgi's lingering close (up to 2 s waiting for the
 * peer to close first, on the calling thread): the request's body has been
 * read, so nothing is left unread that could turn the close into a reset. */
static void free_conn(conn *c) {
    c->fcgx.detached = 1;
    FCGX_Free(&c->fcgx, 1);
    free(c);
}

static void close_conn(sp_dispatcher *d, conn *c) {
    unlink_conn(d, c);
    free_conn(c);
}

void sp_dispatcher_free(sp_dispatcher *d) {
    if (!d) return;
    conn *c = d->conns;
    while (c) {
        conn *next = c->next;
        free_conn(c);
        c = next;
    }
    close(d->epoll_fd);
    close(d->stop_fd);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

/* Accepts a fresh connection and reads its first request; NULL when that
 * failed or the dispatcher is stopping. */
static conn *accept_fresh(sp_dispatcher *d) {
    conn *c = calloc(1, sizeof *c);
    int rc = -1;
    if (c && FCGX_InitRequest(&c->fcgx, d->listen_fd, 0) == 0) {
        pthread_mutex_lock(&d->mu);
        bool stopping = atomic_load(&d->stopping);
        if (!stopping) {
            d->accepting = true;
            d->accepting_thread = pthread_self();
        }
        pthread_mutex_unlock(&d->mu);
        if (!stopping) rc = FCGX_Accept_r(&c->fcgx);
        pthread_mutex_lock(&d->mu);
        d->accepting = false;
        pthread_mutex_unlock(&d->mu);
    }
    bool stopping = atomic_load(&d->stopping);
    if (!stopping && arm(d, EPOLL_CTL_MOD, d->listen_fd, &d->listen_fd) < 0)
        sp_log(SP_LOG_ERROR, "cannot wait on the listening socket: %s", strerror(errno));
    if (rc == 0) {
        sp_metrics_count_connection();
        c->fcgx.detached = 1; /* every close of ours is without lingering */
        link_conn(d, c);
        return c;
    }
    if (c) free_conn(c);
    if (!stopping) {
        sp_log(SP_LOG_ERROR, "accept failed (%d); trying again in a second", rc);
        sleep(1);
    }
    return NULL;
}

/* Reads the next request of kept connection c; NULL (c closed) when nginx
 * closed it. It must not fall back to accept(): its listening socket is
 * hidden from libfcgi for the call. */
static conn *read_kept(sp_dispatcher *d, conn *c) {
    c->fcgx.listen_sock = -1;
    int rc = FCGX_Accept_r(&c->fcgx);
    c->fcgx.listen_sock = d->listen_fd;
    if (rc == 0) return c;
    close_conn(d, c);
    return NULL;
}

int sp_dispatcher_next(sp_dispatcher *d, FCGX_Request **out) {
    for (;;) {
        bool stopping = atomic_load(&d->stopping);
        struct epoll_event ev;
        int n = epoll_wait(d->epoll_fd, &ev, 1, stopping ? 0 : -1);
        if (n < 0 && errno != EINTR) {
            sp_log(SP_LOG_ERROR, "dispatcher epoll_wait: %s", strerror(errno));
            if (stopping) return -1;
            sleep(1);
        }
        if (n == 0 && stopping) return -1;
        if (n <= 0) continue;
        conn *c = NULL;
        if (ev.data.ptr == &d->stop_fd) {
            /* the next idle thread sees it too */
            if (arm(d, EPOLL_CTL_MOD, d->stop_fd, &d->stop_fd) < 0)
                sp_log(SP_LOG_ERROR, "dispatcher stop: %s", strerror(errno));
            return -1;
        } else if (ev.data.ptr == &d->listen_fd) {
            if (stopping) continue; /* no new connections; not armed again */
            c = accept_fresh(d);
        } else {
            c = read_kept(d, ev.data.ptr);
        }
        if (c) {
            *out = &c->fcgx;
            return 0;
        }
    }
}

void sp_dispatcher_finish(sp_dispatcher *d, FCGX_Request *req) {
    conn *c = (conn *)req;
    if (req->in) {
        char buf[4096];
        int n, total = 0;
        while (total <= DRAIN_LIMIT && (n = FCGX_GetStr(buf, sizeof buf, req->in)) > 0)
            total += n;
        if (total > DRAIN_LIMIT || FCGX_GetError(req->in)) req->keepConnection = 0;
    }
    req->detached = 1; /* no lingering close (see free_conn) */
    FCGX_Finish_r(req);
    if (req->ipcFd < 0 || atomic_load(&d->stopping)) {
        close_conn(d, c);
        return;
    }
    /* once armed, another thread may take c at once: nothing touches it after */
    int op = c->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    c->in_epoll = true;
    if (arm(d, op, req->ipcFd, c) < 0) {
        sp_log(SP_LOG_ERROR, "cannot keep a FastCGI connection: %s", strerror(errno));
        close_conn(d, c);
    }
}

void sp_dispatcher_stop(sp_dispatcher *d) {
    atomic_store(&d->stopping, true);
    uint64_t one = 1;
    if (write(d->stop_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        sp_log(SP_LOG_ERROR, "cannot wake the workers: %s", strerror(errno));
}

bool sp_dispatcher_interrupt_accept(sp_dispatcher *d, int sig) {
    pthread_mutex_lock(&d->mu);
    bool accepting = d->accepting;
    if (accepting) pthread_kill(d->accepting_thread, sig);
    pthread_mutex_unlock(&d->mu);
    return !accepting;
}
