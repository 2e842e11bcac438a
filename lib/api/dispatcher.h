/*
 * dispatcher: which connection a worker thread reads its next request from.
 *
 * libfcgi's own model gives a thread a connection: FCGX_Accept_r accepts,
 * and when nginx keeps the connection (FCGI_KEEP_CONN, `fastcgi_keep_conn
 * on`), the same thread then blocks reading the next request on it. Idle
 * kept connections would each pin a thread, and new connections would starve.
 * Here one dispatcher thread polls the listening socket and every idle kept
 * connection; only a connection with a request waiting (or a connection
 * waiting to be accepted) is handed to a worker thread, which calls
 * FCGX_Accept_r on it. Finished requests on kept connections come back to
 * the dispatcher; a kept connection that nginx closed is closed here.
 *
 * A request handed to a worker is an FCGX_Request of its own, so a handler
 * may keep it past its thread's turn (a parked long-poll) and finish it from
 * another thread later with sp_dispatcher_finish.
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
 * descriptors. Start its thread with sp_dispatcher_main. */
sp_dispatcher *sp_dispatcher_new(int listen_fd);

/* Frees what is left (call after the threads have ended). */
void sp_dispatcher_free(sp_dispatcher *d);

/* The dispatcher thread: polls until sp_dispatcher_stop, then closes the
 * idle kept connections. arg is the sp_dispatcher. */
void *sp_dispatcher_main(void *arg);

/* For a worker thread: waits for a connection with a request, reads the
 * request (FCGX_Accept_r) and returns it in *out. Returns -1 once the
 * dispatcher stops and nothing is left to serve. */
int sp_dispatcher_next(sp_dispatcher *d, FCGX_Request **out);

/* Ends a request served (from any thread): reads what is left of its body,
 * finishes it, and keeps its connection for the next request when nginx
 * asked to, or closes it. */
void sp_dispatcher_finish(sp_dispatcher *d, FCGX_Request *req);

/* Stops handing out new connections; wakes the dispatcher and idle workers.
 * Workers still serve requests already waiting on kept connections. */
void sp_dispatcher_stop(sp_dispatcher *d);

/* Interrupts a worker blocked in accept() (call repeatedly while stopping,
 * after FCGX_ShutdownPending) with signal sig; true when none is left. */
bool sp_dispatcher_interrupt_accept(sp_dispatcher *d, int sig);

#endif
