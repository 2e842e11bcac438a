/*
 * dispatcher: which connection a worker thread reads its next request from.
 *
 * libfcgi's own model gives a thread a connection: FCGX_Accept_r accepts,
 * and when nginx keeps the connection (FCGI_KEEP_CONN, `fastcgi_keep_conn
 * on`), the same thread then blocks reading the next request on it. Idle
 * kept connections would each pin a thread, and new connections would starve.
 * Here the worker threads wait together on one epoll set that holds the
 * listening socket and every idle connection, each registered one-shot.
 * Connections are accepted here, not by libfcgi: the thread woken for the
 * listening socket accepts one and puts it in the set. The one thread woken
 * for a connection looks at its bytes without reading them (fcgi_head.h)
 * and only when a whole request head is there lets libfcgi read it
 * (FCGX_Accept_r on that connection, which then never blocks) and serves
 * it, so a request costs no hand-off between threads, and a peer that sends
 * nothing or half a record holds no thread: its head must be whole within
 * ten seconds or it is closed. After the answer a kept connection is armed
 * again; one that nginx closed wakes a thread that finds the end of file and
 * closes it. Reads and writes of a body or answer give up after 30 s.
 *
 * A request served is an FCGX_Request of its own, so a handler may keep it
 * past its thread's turn (a parked long-poll) and finish it from another
 * thread later with sp_dispatcher_finish.
 *
 * Stopping answers every request that reached the program: the connections
 * in the backlog are still accepted, and requests arriving on open
 * connections are served until none has come for a second.
 *
 * Not here: what a request means (router, handlers); the listening socket is
 * never made non-blocking (other processes may share it): accept() is
 * bounded by a one-second receive timeout instead.
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

/* For a worker thread: waits for a connection with a whole request head,
 * reads the request (FCGX_Accept_r) and returns it in *out. Returns -1 once
 * the dispatcher stopped, nothing is being served, and no request has come
 * for a second. */
int sp_dispatcher_next(sp_dispatcher *d, FCGX_Request **out);

/* Ends a request served (from any thread): reads what is left of its body,
 * finishes it, and keeps its connection for the next request when nginx
 * asked to, or closes it. */
void sp_dispatcher_finish(sp_dispatcher *d, FCGX_Request *req);

/* True when the peer of req's connection (nginx) has closed it: the client
 * went away and nginx gave the request up, so nothing will read its answer. */
bool sp_dispatcher_peer_gone(const FCGX_Request *req);

/* Accepts the connections waiting in the backlog, then no more, and wakes
 * a worker. Workers serve the requests of open connections until none has
 * come for a second (twenty at most), then return. */
void sp_dispatcher_stop(sp_dispatcher *d);

#endif
