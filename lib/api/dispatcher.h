/*
 * dispatcher: which connection a worker thread reads its next request from.
 *
 * libfcgi's own model gives a thread a connection: FCGX_Accept_r accepts,
 * and when nginx keeps the connection (FCGI_KEEP_CONN, `fastcgi_keep_conn
 * on`), the same thread then blocks reading the next request on it. Idle
 * kept connections would each pin a thread, and new connections would starve.
 * Here the worker threads wait together on one epoll set that holds the
 * listening socket and every idle kept connection, each registered one-shot:
 * the one thread woken for a connection with a request waiting (or for the
 * listening socket) reads the request itself (FCGX_Accept_r) and serves it,
 * so a request costs no hand-off between threads. After the answer a kept
 * connection is armed again; one that nginx closed wakes a thread that
 * finds the end of file and closes it.
 *
 * A request served is an FCGX_Request of its own, so a handler may keep it
 * past its thread's turn (a parked long-poll) and finish it from another
 * thread later with sp_dispatcher_finish.
 *
 * Not here: what a request means (router, handlers); the listening socket is
 * never made non-blocking (other processes may share it).
 */
#ifndef SP_DISPATCHER_H
#define SP_DISPATCHER_H

#include <fcgiapp.h>
#include <stdbool.h>

typedef struct sp_dispatcher sp_dispatcher;

/* Makes a dispatcher for listen_fd; NULL when out of memory or file
 * descriptors. */
sp_dispatcher *sp_dispatcher_new(int listen_fd);

/* Frees what is left (call after the threads have ended). */
void sp_dispatcher_free(sp_dispatcher *d);

/* For a worker thread: waits for a connection with a request, reads the
 * request (FCGX_Accept_r) and returns it in *out. Returns -1 once the
 * dispatcher stops and no kept connection has a request ready. */
int sp_dispatcher_next(sp_dispatcher *d, FCGX_Request **out);

/* Ends a request served (from any thread): reads what is left of its body,
 * finishes it, and keeps its connection for the next request when nginx
 * asked to, or closes it. */
void sp_dispatcher_finish(sp_dispatcher *d, FCGX_Request *req);

/* Stops accepting new connections and wakes the idle workers. Workers still
 * serve requests already waiting on kept connections, then return. */
void sp_dispatcher_stop(sp_dispatcher *d);

/* Interrupts a worker blocked in accept() (call repeatedly while stopping,
 * after FCGX_ShutdownPending) with signal sig; true when none is left. */
bool sp_dispatcher_interrupt_accept(sp_dispatcher *d, int sig);

#endif
