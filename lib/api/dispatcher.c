/*
 * dispatcher: one poll loop over the listening socket and the idle kept
 * connections, feeding a queue that the worker threads take from; see
 * dispatcher.h.
 *
 * A connection lives in exactly one place: the ready queue (a worker will
 * read its request), a worker or a parked long-poll (being served), the
 * returned list (served, connection kept, on its way back) or the idle set
 * (polled by the dispatcher thread alone). At most one fresh accept is
 * handed out at a time, so the dispatcher does not hand every worker the
 * same readable listening socket.
 */
#include "api/dispatcher.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/metrics.h"
#include "core/log.h"

/* What is read from a finished request's body before its connection is kept:
 * nginx sends the whole body; a handler may not have read it. */
#define DRAIN_LIMIT (1024 * 1024)

typedef struct conn {
    FCGX_Request fcgx; /* first: a request pointer is its conn */
    struct conn *next;
} conn;

struct sp_dispatcher {
    int listen_fd;
    int wake_fd; /* eventfd: returned connections, accept done, stop */
    pthread_mutex_t mu;
    pthread_cond_t ready_cv;
    conn *ready_head, *ready_tail; /* for workers, in order */
    conn *returned;                /* kept connections coming back */
    bool accept_pending;           /* a worker was given the listening socket */
    bool accepting;                /* ... and is in FCGX_Accept_r now */
    pthread_t accepting_thread;
    bool stopping;
    conn **idle; /* dispatcher thread only */
    int nidle, idle_cap;
};

sp_dispatcher *sp_dispatcher_new(int listen_fd) {
    sp_dispatcher *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->listen_fd = listen_fd;
    d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (d->wake_fd < 0) {
        free(d);
        return NULL;
    }
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->ready_cv, NULL);
    return d;
}

/* Closes a connection and frees its request. Without libfcgi's lingering
 * close (up to 2 s waiting for the peer to close first, on the calling
 * thread): the request's body has been read, so nothing is left unread
 * that could turn the close into a reset. */
static void close_conn(conn *c) {
    c->fcgx.detached = 1;
    FCGX_Free(&c->fcgx, 1);
    free(c);
}

/* Closes every connection of a list. */
static void close_list(conn *c) {
    while (c) {
        conn *next = c->next;
        close_conn(c);
        c = next;
    }
}

void sp_dispatcher_free(sp_dispatcher *d) {
    if (!d) return;
    close_list(d->ready_head);
    close_list(d->returned);
    for (int i = 0; i < d->nidle; i++)
        close_conn(d->idle[i]);
    free(d->idle);
    close(d->wake_fd);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->ready_cv);
    free(d);
}

static void wake(sp_dispatcher *d) {
    uint64_t one = 1;
    if (write(d->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        sp_log(SP_LOG_ERROR, "cannot wake the dispatcher: %s", strerror(errno));
}

/* Queues c for a worker (caller holds mu). */
static void push_ready(sp_dispatcher *d, conn *c) {
    c->next = NULL;
    if (d->ready_tail)
        d->ready_tail->next = c;
    else
        d->ready_head = c;
    d->ready_tail = c;
    pthread_cond_signal(&d->ready_cv);
}

/* Adds c to the idle set; closes it when there is no room. */
static void add_idle(sp_dispatcher *d, conn *c) {
    if (d->nidle == d->idle_cap) {
        int cap = d->idle_cap ? d->idle_cap * 2 : 64;
        conn **grown = realloc(d->idle, (size_t)cap * sizeof *grown);
        if (!grown) {
            close_conn(c);
            return;
        }
        d->idle = grown;
        d->idle_cap = cap;
    }
    d->idle[d->nidle++] = c;
}

/* What a readable idle connection holds: 1 a request, 0 nothing yet,
 * -1 closed by nginx (or broken). */
static int peek(const conn *c) {
    char b;
    ssize_t n = recv(c->fcgx.ipcFd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return 1;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
}

/* Takes the returned connections into the idle set, and offers the
 * listening socket again once the last accept is done. */
static void collect(sp_dispatcher *d, bool *listen_ok) {
    uint64_t n;
    if (read(d->wake_fd, &n, sizeof n) < 0 && errno != EAGAIN)
        sp_log(SP_LOG_ERROR, "dispatcher wake-up: %s", strerror(errno));
    pthread_mutex_lock(&d->mu);
    conn *list = d->returned;
    d->returned = NULL;
    *listen_ok = !d->accept_pending && !d->stopping;
    pthread_mutex_unlock(&d->mu);
    while (list) {
        conn *next = list->next;
        add_idle(d, list);
        list = next;
    }
}

/* Hands the listening socket to a worker as a fresh request. */
static void offer_accept(sp_dispatcher *d) {
    conn *c = calloc(1, sizeof *c);
    if (!c || FCGX_InitRequest(&c->fcgx, d->listen_fd, 0) != 0) {
        free(c);
        return;
    }
    pthread_mutex_lock(&d->mu);
    d->accept_pending = true;
    push_ready(d, c);
    pthread_mutex_unlock(&d->mu);
}

/* Looks at the idle connections poll marked: requests go to the workers,
 * closed ones are closed. pfd[i] belongs to idle[i]. */
static void serve_idle(sp_dispatcher *d, const struct pollfd *pfd, int n) {
    int kept = 0;
    for (int i = 0; i < n; i++) {
        conn *c = d->idle[i];
        int state = pfd[i].revents ? peek(c) : 0;
        if (state < 0) {
            close_conn(c);
        } else if (state > 0) {
            pthread_mutex_lock(&d->mu);
            push_ready(d, c);
            pthread_mutex_unlock(&d->mu);
        } else {
            d->idle[kept++] = c;
        }
    }
    for (int i = n; i < d->nidle; i++) /* none arrive meanwhile; kept for safety */
        d->idle[kept++] = d->idle[i];
    d->nidle = kept;
}

void *sp_dispatcher_main(void *arg) {
    sp_dispatcher *d = arg;
    struct pollfd *pfd = NULL;
    int pfd_cap = 0;
    bool listen_ok = true;
    for (;;) {
        pthread_mutex_lock(&d->mu);
        bool stop = d->stopping;
        pthread_mutex_unlock(&d->mu);
        if (stop) break;
        if (pfd_cap < d->nidle + 2) {
            struct pollfd *grown = realloc(pfd, (size_t)(d->nidle + 64) * sizeof *pfd);
            if (!grown) {
                sleep(1);
                continue;
            }
            pfd = grown;
            pfd_cap = d->nidle + 64;
        }
        int n = d->nidle;
        for (int i = 0; i < n; i++)
            pfd[i] = (struct pollfd){.fd = d->idle[i]->fcgx.ipcFd, .events = POLLIN};
        pfd[n] = (struct pollfd){.fd = d->wake_fd, .events = POLLIN};
        pfd[n + 1] = (struct pollfd){.fd = listen_ok ? d->listen_fd : -1, .events = POLLIN};
        if (poll(pfd, (nfds_t)n + 2, -1) < 0) {
            if (errno != EINTR) sp_log(SP_LOG_ERROR, "dispatcher poll: %s", strerror(errno));
            continue;
        }
        serve_idle(d, pfd, n);
        if (listen_ok && pfd[n + 1].revents) {
            offer_accept(d);
            listen_ok = false;
        }
        if (pfd[n].revents) collect(d, &listen_ok);
    }
    free(pfd);
    for (int i = 0; i < d->nidle; i++)
        close_conn(d->idle[i]);
    d->nidle = 0;
    return NULL;
}

/* Takes the next connection for a worker; NULL once stopping and empty.
 * While stopping, fresh accepts still queued are dropped. */
static conn *take(sp_dispatcher *d) {
    pthread_mutex_lock(&d->mu);
    conn *c = NULL;
    for (;;) {
        while (!d->ready_head && !d->stopping)
            pthread_cond_wait(&d->ready_cv, &d->mu);
        c = d->ready_head;
        if (!c) break;
        d->ready_head = c->next;
        if (!d->ready_head) d->ready_tail = NULL;
        if (c->fcgx.ipcFd >= 0 || !d->stopping) break;
        d->accept_pending = false;
        free(c);
    }
    if (c && c->fcgx.ipcFd < 0) {
        d->accepting = true;
        d->accepting_thread = pthread_self();
    }
    pthread_mutex_unlock(&d->mu);
    return c;
}

/* Reads c's next request: accepts first when c is fresh. A kept connection
 * that turns out closed must not fall back to accept(): its listening socket
 * is hidden from libfcgi for the call. */
static int accept_on(sp_dispatcher *d, conn *c) {
    bool fresh = c->fcgx.ipcFd < 0;
    if (!fresh) c->fcgx.listen_sock = -1;
    int rc = FCGX_Accept_r(&c->fcgx);
    c->fcgx.listen_sock = d->listen_fd;
    if (fresh) {
        pthread_mutex_lock(&d->mu);
        d->accept_pending = d->accepting = false;
        bool stopping = d->stopping;
        pthread_mutex_unlock(&d->mu);
        wake(d);
        if (rc == 0) sp_metrics_count_connection();
        if (rc < 0 && !stopping) {
            sp_log(SP_LOG_ERROR, "accept failed (%d); trying again in a second", rc);
            sleep(1);
        }
    }
    return rc;
}

int sp_dispatcher_next(sp_dispatcher *d, FCGX_Request **out) {
    for (;;) {
        conn *c = take(d);
        if (!c) return -1;
        if (accept_on(d, c) == 0) {
            *out = &c->fcgx;
            return 0;
        }
        close_conn(c);
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
    req->detached = 1; /* no lingering close (see close_conn) */
    FCGX_Finish_r(req);
    req->detached = 0;
    pthread_mutex_lock(&d->mu);
    bool keep = req->ipcFd >= 0 && !d->stopping;
    if (keep) {
        c->next = d->returned;
        d->returned = c;
    }
    pthread_mutex_unlock(&d->mu);
    if (keep)
        wake(d);
    else
        close_conn(c);
}

void sp_dispatcher_stop(sp_dispatcher *d) {
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    pthread_cond_broadcast(&d->ready_cv);
    pthread_mutex_unlock(&d->mu);
    wake(d);
}

bool sp_dispatcher_interrupt_accept(sp_dispatcher *d, int sig) {
    pthread_mutex_lock(&d->mu);
    bool accepting = d->accepting;
    if (accepting) pthread_kill(d->accepting_thread, sig);
    pthread_mutex_unlock(&d->mu);
    return !accepting;
}
