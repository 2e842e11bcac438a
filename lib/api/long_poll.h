/*
 * long_poll: holding status requests (wait=N) until their job changes, at
 * almost no cost while they wait.
 *
 * A waiting request holds no thread and no database connection: the handler
 * parks its FastCGI request in a lot (a hash table keyed by job id) and its
 * thread goes on with other requests. One waker thread per process holds one
 * database connection that LISTENs on social_post_job_changed (a trigger of
 * migration 0008 sends the job id on every change, whoever makes it). On a
 * notification the waker re-reads the job once for each of its waiters, as
 * that waiter (RLS), all in one pipeline, and answers those whose ETag
 * changed; at a waiter's deadline it answers with the view it holds (304, or
 * 200 to a caller without If-None-Match) without reading; at shutdown it
 * answers everyone.
 *
 * The race between a handler's first read and its parking (a change
 * notified in between) is closed by a mark: the handler takes
 * sp_long_poll_mark before its read, and a waiter whose job (or the LISTEN
 * connection) was notified (reconnected) after its mark is re-read at once.
 * When the LISTEN connection is lost the waker reconnects and re-reads every
 * waiter once.
 *
 * The waker's own database calls have a deadline, and are abandoned as soon
 * as a waiter is half a second overdue or the program stops: a stalled
 * database never holds an answer more than a second past its wait. One
 * caller parks at most SP_LONG_POLL_MAX_PER_USER requests per process; the
 * next ones are answered at once with the current state. A waiter whose
 * client has gone (nginx closed its connection) is dropped within a second,
 * so an abandoned long-poll neither costs re-reads nor counts toward the cap.
 *
 * The same notifications keep the versions of the jobs this process has
 * served (api/version_cache.h): a handler that read a job notes the version
 * and its reader (sp_long_poll_remember, only when no notification of that
 * job came since its mark and LISTEN ran all along); a notification drops
 * the job's entry; a lost LISTEN connection drops them all. A conditional
 * GET for a version known current (sp_long_poll_known) is answered 304
 * without the database: a change is hidden no longer than its notification
 * takes to arrive.
 *
 * Not here: parsing the request (the status program's handler) and
 * finishing the FastCGI request (the server's done callback).
 */
#ifndef SP_LONG_POLL_H
#define SP_LONG_POLL_H

#include <stdbool.h>
#include <stdint.h>

#include "api/jobs.h"
#include "api/request.h"

#define SP_LONG_POLL_MAX_SECONDS 60
#define SP_LONG_POLL_MAX_PER_USER 32 /* parked per caller per process; beyond, answered at once */

typedef struct sp_long_poll sp_long_poll;

/* Called (on the waker thread) for a parked request once its answer is
 * sent: counts it, logs it, finishes the FastCGI request. */
typedef void (*sp_long_poll_done)(void *arg, sp_request *r);

/* A lot whose waker connects with conninfo (copied). */
sp_long_poll *sp_long_poll_new(const char *conninfo, sp_long_poll_done done, void *done_arg);

/* The waker thread (arg: the lot); returns after sp_long_poll_stop, once
 * every parked request is answered. */
void *sp_long_poll_main(void *arg);

/* Answers every parked request and ends the waker; parking fails from now. */
void sp_long_poll_stop(sp_long_poll *lp);

/* Frees the lot (after its thread has ended). */
void sp_long_poll_free(sp_long_poll *lp);

/* The mark to take before the first read of a request that may park. */
uint64_t sp_long_poll_mark(sp_long_poll *lp);

/* Notes that user_id read job_id at etag, in a read that began at mark;
 * kept only when no notification can have been missed since. */
void sp_long_poll_remember(sp_long_poll *lp, const char *job_id, const char *user_id,
                           const char *etag, uint64_t mark);

/* Copies into etag the version of job_id that user_id last read, when it is
 * known to be current; false otherwise (read the database). */
bool sp_long_poll_known(sp_long_poll *lp, const char *job_id, const char *user_id, char etag[40]);

/* Parks r until job_id's ETag differs from baseline, for at most wait
 * seconds. Takes r (r->parked is set; the handler must not answer it) and
 * view->json (set to NULL). Copies claims_json. Returns 0, or -1 when
 * stopping, out of memory, or r->user_id has SP_LONG_POLL_MAX_PER_USER
 * parked already: then nothing was taken and the handler answers now. */
int sp_long_poll_park(sp_long_poll *lp, sp_request *r, const char *claims_json, const char *job_id,
                      int wait, const char *baseline, sp_job_view *view, uint64_t mark);

#endif
