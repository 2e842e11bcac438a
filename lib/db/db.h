/*
 * db: one libpq connection, reconnected after a failure, with named prepared
 * statements.
 *
 * Each thread of a program owns one sp_db. A statement is a static sp_stmt in
 * the module that owns its SQL; sp_db_exec prepares it on first use on each
 * connection (and again after a reconnect), so callers never think about
 * PREPARE. Requests of the HTTP programs run in one transaction as the caller
 * (sp_db_begin_as), so Postgres's row-level security decides what they see.
 *
 * Failures are classified here, once: a lost or refused connection is
 * SP_ERR_DB_UNAVAILABLE (the HTTP layer answers 503 + Retry-After, the worker
 * backs off); SQL errors become SP_ERR_INTERNAL unless the caller's stmt maps
 * them. Raw server messages are logged, never returned to clients.
 */
#ifndef SP_DB_H
#define SP_DB_H

#include <stdbool.h>

#include "core/err.h"

typedef struct sp_db sp_db;

/* A statement's answer: rows of text fields, read with sp_rows_* below and
 * freed with sp_rows_free. It is libpq's result (the same struct), but only
 * lib/db knows that: no libpq header or call is needed to read one. */
typedef struct pg_result sp_rows;

/* Rows in r (0 for a command that returns none). */
int sp_rows_count(const sp_rows *r);

/* Field col of row as text ("" for NULL; never NULL itself). Valid until
 * sp_rows_free(r). */
const char *sp_rows_value(const sp_rows *r, int row, int col);

/* True when field col of row is SQL NULL. */
bool sp_rows_is_null(const sp_rows *r, int row, int col);

/* Rows an INSERT, UPDATE or DELETE touched (0 when it says none). */
long sp_rows_affected(const sp_rows *r);

/* Frees r; NULL is allowed. */
void sp_rows_free(sp_rows *r);

/* A named statement; define each one `static const` next to the code using it. */
typedef struct {
    const char *name; /* unique across the program, e.g. "jobs_insert" */
    const char *sql;  /* with $1..$n parameters, never built with sprintf */
    int nparams;
} sp_stmt;

/* Makes an unconnected handle for conninfo (a libpq string or URI, copied).
 * Connecting happens on first use. Caller frees with sp_db_free. */
sp_db *sp_db_new(const char *conninfo);

void sp_db_free(sp_db *db);

/* Sets how long each call may wait for its answer (default 30 s; <= 0 keeps
 * the default; connecting takes at most 5 s, or this when shorter) and an
 * optional check, polled while waiting or connecting, that abandons the call
 * when it returns true (a worker's hard stop). An abandoned call fails with
 * SP_ERR_DB_UNAVAILABLE and drops the connection. */
void sp_db_set_deadline(sp_db *db, double seconds, bool (*abort_fn)(void *arg), void *abort_arg);

/* Connects when not connected (or the last connection broke). Fails with
 * SP_ERR_DB_UNAVAILABLE when the server cannot be reached. */
int sp_db_connect(sp_db *db, sp_err *err);

/* BEGIN, then become the caller for the rest of the transaction: role
 * authenticated and request.jwt.claims = claims_json, as PostgREST does. */
int sp_db_begin_as(sp_db *db, const char *claims_json, sp_err *err);

/* BEGIN with the connection's own role (the worker's service role). */
int sp_db_begin(sp_db *db, sp_err *err);

int sp_db_commit(sp_db *db, sp_err *err);

/* Rolls back any open transaction; safe to call when none is open. */
void sp_db_rollback(sp_db *db);

/* Runs stmt with params (NULL entries are SQL NULL). Returns rows the
 * caller frees (sp_rows_free), or NULL with err set. */
sp_rows *sp_db_exec(sp_db *db, const sp_stmt *stmt, const char *const *params, sp_err *err);

/* Runs a statement without parameters that is not worth preparing (LISTEN,
 * SET). Returns 0 or -1 with err set. */
int sp_db_simple(sp_db *db, const char *sql, sp_err *err);

/* True when the last failure was a unique-key violation (SQLSTATE 23505). */
bool sp_db_last_was_unique_violation(const sp_db *db);

/* Answers whether the database responds (SELECT 1). */
int sp_db_ping(sp_db *db, sp_err *err);

/* One statement of a transaction sent in a pipeline: stmt with params (NULL
 * entries are SQL NULL; params may be NULL when stmt has none). */
typedef struct {
    const sp_stmt *stmt;
    const char *const *params;
} sp_db_step;

/* Runs steps[0..n) in one transaction as the caller (role authenticated,
 * request.jwt.claims = claims_json) in one round trip: libpq's pipeline mode
 * sends the caller's setup, the statements (prepared on first use, in the
 * same pipeline) and a Sync, which ends the implicit transaction. On success
 * results[i] holds each statement's result (caller frees each with sp_rows_free). On failure
 * every results[i] is NULL and err says why; when the connection turned out
 * dead before the setup ran, it is tried once more on a new connection. */
int sp_db_exec_as(sp_db *db, const char *claims_json, const sp_db_step *steps, int n,
                  sp_rows **results, sp_err *err);

/* One statement as the caller, one round trip: the result (caller
 * frees it), or NULL with err set. */
sp_rows *sp_db_exec1_as(sp_db *db, const char *claims_json, const sp_stmt *stmt,
                         const char *const *params, sp_err *err);

/* Batches of transactions in one pipeline (the long-poll waker re-reads
 * many jobs, each as its own caller, in one round trip):
 * sp_db_pipeline_enter, then sp_db_pipeline_send_as for each transaction,
 * then sp_db_pipeline_receive for each in the same order, then
 * sp_db_pipeline_exit. A failed send leaves the connection dropped: receive
 * then fails for every queued transaction. */
int sp_db_pipeline_enter(sp_db *db, sp_err *err);
int sp_db_pipeline_send_as(sp_db *db, const char *claims_json, const sp_db_step *steps, int n,
                           sp_err *err);
int sp_db_pipeline_receive(sp_db *db, const sp_db_step *steps, int n, sp_rows **results,
                           sp_err *err);
void sp_db_pipeline_exit(sp_db *db);

#endif
