/*
 * dispatcher: worker threads waiting on one epoll set of one-shot events;
 * see dispatcher.h.
 *
 * A connection lives in exactly one place: armed in the epoll set (idle,
 * waiting for its next request), with one thread (being served, or a parked
 * long-poll), or in the list only, waiting for the rest of a head that came
 * in part (the sweep arms those again every tenth of a second: their bytes
 * are still unread, so arming them at once would wake a thread at once).
 * Every event is one-shot, so exactly one thread is woken for a connection,
 * and for the listening socket (armed again as soon as its accept returned).
 *
 * A connection whose head is not whole by its deadline is shut down by the
 * sweep, never closed by it: the shutdown wakes the one thread that owns it
 * next, which finds the end of the input and closes it. So the sweep, which
 * any worker runs when it is due, frees nothing and races no one.
 *
 * The lock guards the list of open connections, their deadlines, the count
 * of connections in hand and the stop's clock.
 */
#include "api/dispatcher.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/fcgi_head.h"
#include "api/metrics.h"
#include "core/clock.h"
#include "core/log.h"

/* What is read from a finished request's body before its connection is kept:
 * nginx sends the whole body; a handler may not have read it. */
#define DRAIN_LIMIT (1024 * 1024)
#define FIRST_REQUEST_SECONDS 10 /* a head must be whole this long after it began */
#define IO_TIMEOUT_SECONDS 30    /* a blocking read or write of a request's body or answer */
#define ACCEPT_TIMEOUT_SECONDS 1 /* accept() when another process took the connection */
#define PEEK_SMALL 16384         /* a head fits here nearly always */
#define HEAD_LIMIT (256 * 1024)  /* a head larger than this is refused */
#define STOP_QUIET 1.0           /* stopping: seconds without a request before the end */
#define STOP_LIMIT 20.0          /* stopping: the end even if requests keep coming */
#define BACKLOG_AT_STOP 1024     /* connections the stop still accepts, at most */

typedef struct conn {
    FCGX_Request fcgx;        /* first: a request pointer is its conn */
    struct conn *prev, *next; /* the open connections */
    int fd;
    bool in_epoll;     /* added to the epoll set once */
    double deadline;   /* (mu) monotonic: its head must be whole by then; 0: none */
    bool waiting_more; /* (mu) part of a head came: the sweep arms it again */
} conn;

struct sp_dispatcher {
    int listen_fd;
    int epoll_fd;
    int stop_fd; /* eventfd, written once to wake a thread at the stop */
    atomic_bool stopping;
    pthread_mutex_t mu;
    conn *conns;         /* every open connection */
    int in_hand;         /* connections with a thread, or parked */
    int waiting_more;    /* connections waiting for the rest of their head */
    double next_sweep;   /* when the sweep is due */
    double stop_at;      /* when the stop began */
    double last_request; /* when the last head was taken */
};

typedef enum { HEAD_WHOLE, HEAD_PARTIAL, HEAD_GONE } head_state;

/* Arms fd (one-shot, readable) with tag; op is EPOLL_CTL_ADD or _MOD. */
static int arm(sp_dispatcher *d, int op, int fd, void *tag) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = tag};
    return epoll_ctl(d->epoll_fd, op, fd, &ev);
}

/* Sets a socket's receive and send timeouts to seconds. */
static void set_timeouts(int fd, int seconds) {
    struct timeval tv = {.tv_sec = seconds};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
        sp_log(SP_LOG_WARN, "cannot set socket timeouts: %s", strerror(errno));
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
    /* accept() returns within a second even when a process sharing the
     * socket took the connection epoll announced (the socket stays blocking) */
    struct timeval tv = {.tv_sec = ACCEPT_TIMEOUT_SECONDS};
    if (setsockopt(listen_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
        sp_log(SP_LOG_WARN, "cannot bound accept(): %s", strerror(errno));
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

/* Removes c from the open connections; one in hand no longer counts. */
static void unlink_conn(sp_dispatcher *d, conn *c, bool in_hand) {
    pthread_mutex_lock(&d->mu);
    if (c->prev)
        c->prev->next = c->next;
    else if (d->conns == c)
        d->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    if (in_hand) d->in_hand--;
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

/* Closes a connection a thread holds. */
static void close_taken(sp_dispatcher *d, conn *c) {
    unlink_conn(d, c, true);
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

/* Accepts one connection and arms it, its head due within
 * FIRST_REQUEST_SECONDS. Returns 0, or an errno value. */
static int accept_one(sp_dispatcher *d) {
    int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) return errno;
    set_timeouts(fd, IO_TIMEOUT_SECONDS);
    /* an answer is written in several records; without this, Nagle holds the
     * last one until nginx ACKs the first, which it delays 40 ms (a list of
     * 20 jobs took 44 ms); a Unix socket has no such option */
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 && errno != EOPNOTSUPP)
        sp_log(SP_LOG_WARN, "cannot set TCP_NODELAY: %s", strerror(errno));
    conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return ENOMEM;
    }
    /* libfcgi reads from ipcFd; it must never accept (no listening socket)
     * nor close the connection before reading (keepConnection) */
    FCGX_InitRequest(&c->fcgx, -1, 0);
    c->fcgx.ipcFd = c->fd = fd;
    c->fcgx.keepConnection = 1;
    c->fcgx.detached = 1; /* every close of ours is without lingering */
    c->deadline = sp_clock_monotonic() + FIRST_REQUEST_SECONDS;
    c->in_epoll = true;
    link_conn(d, c);
    sp_metrics_count_connection();
    if (arm(d, EPOLL_CTL_ADD, fd, c) < 0) {
        int e = errno;
        unlink_conn(d, c, false);
        free_conn(c);
        return e;
    }
    return 0;
}

/* The listening socket is readable: accepts, then waits on it again. */
static void on_listen(sp_dispatcher *d) {
    if (atomic_load(&d->stopping)) return; /* no new connections; not armed again */
    int e = accept_one(d);
    if (arm(d, EPOLL_CTL_MOD, d->listen_fd, &d->listen_fd) < 0)
        sp_log(SP_LOG_ERROR, "cannot wait on the listening socket: %s", strerror(errno));
    if (e && e != EAGAIN && e != EWOULDBLOCK && e != EINTR && e != ECONNABORTED) {
        sp_log(SP_LOG_ERROR, "accept failed: %s; trying again in a second", strerror(e));
        sleep(1);
    }
}

/* Looks at the bytes waiting on fd without reading them. */
static head_state peek_head(int fd) {
    unsigned char small[PEEK_SMALL];
    ssize_t n = recv(fd, small, sizeof small, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return HEAD_PARTIAL;
    if (n <= 0) return HEAD_GONE;
    sp_fcgi_head h = sp_fcgi_head_scan(small, (size_t)n);
    if (h == SP_FCGI_HEAD_PARTIAL && n == (ssize_t)sizeof small) {
        unsigned char *big = malloc(HEAD_LIMIT);
        n = big ? recv(fd, big, HEAD_LIMIT, MSG_PEEK | MSG_DONTWAIT) : -1;
        h = n > 0 ? sp_fcgi_head_scan(big, (size_t)n) : SP_FCGI_HEAD_BAD;
        if (h == SP_FCGI_HEAD_PARTIAL && n == HEAD_LIMIT) h = SP_FCGI_HEAD_BAD;
        free(big);
    }
    if (h == SP_FCGI_HEAD_BAD) sp_log(SP_LOG_WARN, "closing a connection: not a FastCGI head");
    return h == SP_FCGI_HEAD_WHOLE ? HEAD_WHOLE : h == SP_FCGI_HEAD_BAD ? HEAD_GONE : HEAD_PARTIAL;
}

/* A thread was woken for c: returns c with its request read when its head
 * is whole; else puts it aside for the sweep, or closes it, and returns NULL. */
static conn *take(sp_dispatcher *d, conn *c) {
    pthread_mutex_lock(&d->mu);
    d->in_hand++;
    pthread_mutex_unlock(&d->mu);
    head_state h = peek_head(c->fd);
    double now = sp_clock_monotonic();
    pthread_mutex_lock(&d->mu);
    if (h == HEAD_WHOLE) {
        c->deadline = 0;
        d->last_request = now;
    } else if (h == HEAD_PARTIAL) {
        if (!c->deadline) c->deadline = now + FIRST_REQUEST_SECONDS;
        c->waiting_more = true;
        d->waiting_more++;
        d->in_hand--;
    }
    pthread_mutex_unlock(&d->mu);
    if (h == HEAD_PARTIAL) return NULL;
    c->fcgx.listen_sock = -1;
    c->fcgx.keepConnection = 1;
    if (h == HEAD_WHOLE && FCGX_Accept_r(&c->fcgx) == 0) return c;
    close_taken(d, c);
    return NULL;
}

/* When due, arms again the connections waiting for the rest of their head
 * and shuts down those past their deadline (their owner then closes them). */
static void sweep(sp_dispatcher *d, double now) {
    pthread_mutex_lock(&d->mu);
    if (now >= d->next_sweep) {
        d->next_sweep = now + (d->waiting_more ? 0.1 : 0.5);
        for (conn *c = d->conns; c; c = c->next) {
            bool late = c->deadline && c->deadline <= now;
            if (late) {
                shutdown(c->fd, SHUT_RDWR);
                c->deadline = 0;
            }
            if (!c->waiting_more) continue;
            c->waiting_more = false;
            d->waiting_more--;
            if (arm(d, EPOLL_CTL_MOD, c->fd, c) < 0) shutdown(c->fd, SHUT_RDWR);
        }
    }
    pthread_mutex_unlock(&d->mu);
}

/* How long a thread may wait for an event: until the next sweep at most. */
static int wait_ms(sp_dispatcher *d, double now) {
    pthread_mutex_lock(&d->mu);
    double left = d->next_sweep - now;
    pthread_mutex_unlock(&d->mu);
    return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

/* True when a stopping dispatcher is done: nothing in hand, and no request
 * for STOP_QUIET seconds (or STOP_LIMIT since the stop). */
static bool stop_done(sp_dispatcher *d, double now) {
    pthread_mutex_lock(&d->mu);
    double since = d->last_request > d->stop_at ? d->last_request : d->stop_at;
    bool done = d->in_hand == 0 && (now - since >= STOP_QUIET || now - d->stop_at >= STOP_LIMIT);
    pthread_mutex_unlock(&d->mu);
    return done;
}

int sp_dispatcher_next(sp_dispatcher *d, FCGX_Request **out) {
    for (;;) {
        double now = sp_clock_monotonic();
        sweep(d, now);
        bool stopping = atomic_load(&d->stopping);
        if (stopping && stop_done(d, now)) return -1;
        struct epoll_event ev;
        int ms = wait_ms(d, now);
        int n = epoll_wait(d->epoll_fd, &ev, 1, stopping && ms > 100 ? 100 : ms);
        if (n < 0 && errno != EINTR) {
            sp_log(SP_LOG_ERROR, "dispatcher epoll_wait: %s", strerror(errno));
            sleep(1);
        }
        if (n <= 0 || ev.data.ptr == &d->stop_fd) continue; /* the stop: not armed again */
        if (ev.data.ptr == &d->listen_fd) {
            on_listen(d);
            continue;
        }
        conn *c = take(d, ev.data.ptr);
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
    if (req->ipcFd < 0) {
        close_taken(d, c);
        return;
    }
    /* once armed, another thread may take c at once: nothing touches it after */
    int op = c->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    c->in_epoll = true;
    if (arm(d, op, c->fd, c) < 0) {
        sp_log(SP_LOG_ERROR, "cannot keep a FastCGI connection: %s", strerror(errno));
        close_taken(d, c);
        return;
    }
    pthread_mutex_lock(&d->mu);
    d->in_hand--;
    pthread_mutex_unlock(&d->mu);
}

bool sp_dispatcher_peer_gone(const FCGX_Request *req) {
    struct pollfd p = {.fd = req->ipcFd, .events = POLLRDHUP};
    return req->ipcFd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

void sp_dispatcher_stop(sp_dispatcher *d) {
    pthread_mutex_lock(&d->mu);
    d->stop_at = sp_clock_monotonic();
    pthread_mutex_unlock(&d->mu);
    /* the connections already waiting in the backlog reached the program:
     * take them, then accept no more */
    struct pollfd p = {.fd = d->listen_fd, .events = POLLIN};
    for (int i = 0; i < BACKLOG_AT_STOP && poll(&p, 1, 0) == 1 && (p.revents & POLLIN); i++)
        if (accept_one(d) != 0) break;
    atomic_store(&d->stopping, true);
    uint64_t one = 1;
    if (write(d->stop_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        sp_log(SP_LOG_ERROR, "cannot wake the workers: %s", strerror(errno));
}
