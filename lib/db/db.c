/*
 * db: libpq with reconnects and lazily prepared statements.
 *
 * The idea: a connection is either usable or gone. Any failure that leaves
 * libpq's connection bad drops it; the next call connects afresh and prepares
 * statements again as they are used. A BEGIN that fails on a dropped
 * connection is retried once on a new one, so the first request after a
 * database restart succeeds instead of paying for the broken socket.
 *
 * Every call has a deadline: statements are sent without blocking and their
 * answer awaited with poll(), so a server (or a proxy in front of it) that
 * accepts connections but never answers costs a call its deadline, never a
 * thread forever. A call past its deadline, or stopped by the handle's abort
 * check, drops the connection (the server rolls back what it had).
 *
 * Not here: the SQL of any feature (each module owns its statements).
 */
#include "db/db.h"
#include "db/db_conn.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"

#define SP_DB_MAX_PREPARED 128
#define SP_DB_MAX_STEPS 8   /* statements in one pipelined transaction */
#define SP_DB_MAX_QUEUED 64 /* transactions queued in one pipeline */

/* What one queued transaction expects back, in order: its prepares, the
 * caller's setup, its statements, then the Sync. */
typedef struct {
    const sp_stmt *prep[SP_DB_MAX_STEPS + 1];
    int nprep;
    int nsteps;
} queued_tx;
#define SP_DB_DEFAULT_DEADLINE 30.0 /* seconds a call may wait for its answer */
#define SP_DB_POLL_MS 200           /* how often a waiting call checks its abort */
#define SP_DB_CONNECT_DEADLINE 5.0  /* seconds to connect (the connect_timeout we always had) */

struct sp_db {
    char *conninfo;
    PGconn *conn;
    const sp_stmt *prepared[SP_DB_MAX_PREPARED];
    int nprepared;
    bool last_unique_violation;
    bool in_tx;                        /* a BEGIN is open: never reconnect until it ends */
    queued_tx queue[SP_DB_MAX_QUEUED]; /* pipeline: sent, not yet received */
    int qhead, qlen;
    bool setup_answered; /* the last received setup came back: the link was alive */
    double deadline;     /* seconds per call */
    bool (*abort_fn)(void *arg);
    void *abort_arg;
};

sp_db *sp_db_new(const char *conninfo) {
    sp_db *db = calloc(1, sizeof *db);
    if (!db) return NULL;
    db->deadline = SP_DB_DEFAULT_DEADLINE;
    db->conninfo = strdup(conninfo);
    if (!db->conninfo) {
        free(db);
        return NULL;
    }
    return db;
}

/* Forgets the connection and everything prepared on it. */
static void drop_connection(sp_db *db) {
    if (db->conn) PQfinish(db->conn);
    db->conn = NULL;
    db->nprepared = 0;
}

/* Connection defaults a URL may override: fail fast when the server is
 * unreachable, notice a dead peer instead of waiting on it for minutes, and
 * name the program in pg_stat_activity. */
static const char *const conn_keys[] = {
    "fallback_application_name", "connect_timeout",  "keepalives_idle", "keepalives_interval",
    "keepalives_count",          "tcp_user_timeout", "dbname",          NULL};

void sp_db_free(sp_db *db) {
    if (!db) return;
    drop_connection(db);
    free(db->conninfo);
    free(db);
}

/* Logs a libpq message on one line, without the trailing newline. */
static void log_pq_problem(const char *what, const char *message) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", message ? message : "");
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    for (char *p = buf; *p; p++)
        if (*p == '\n') *p = ' ';
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "detail", buf);
    sp_log_event(SP_LOG_WARN, what, f);
}

/* Waits up to ms for the socket to be ready for what libpq needs. */
static void wait_socket(PGconn *conn, bool writing, int ms) {
    struct pollfd p = {.fd = PQsocket(conn), .events = writing ? POLLOUT : POLLIN};
    if (writing) p.events |= POLLIN;
    if (p.fd >= 0) poll(&p, 1, ms);
}

/* True when a call waiting until `until` must give up: past it, or aborted. */
static bool out_of_time(const sp_db *db, double until, int *ms) {
    double left = until - sp_clock_monotonic();
    if (left <= 0 || (db->abort_fn && db->abort_fn(db->abort_arg))) return true;
    *ms = left * 1000 < SP_DB_POLL_MS ? (int)(left * 1000) + 1 : SP_DB_POLL_MS;
    return false;
}

/* Drives a started connection to the end: true when it is ready. Bounded by
 * the connect deadline and the abort check, as every call is. */
static bool finish_connecting(sp_db *db) {
    double until = sp_clock_monotonic() +
                   (db->deadline < SP_DB_CONNECT_DEADLINE ? db->deadline : SP_DB_CONNECT_DEADLINE);
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        int ms;
        if (st == PGRES_POLLING_FAILED || PQstatus(db->conn) == CONNECTION_BAD ||
            out_of_time(db, until, &ms))
            return false;
        struct pollfd p = {.fd = PQsocket(db->conn),
                           .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT};
        if (p.fd < 0 || poll(&p, 1, ms) > 0) st = PQconnectPoll(db->conn);
    }
    return true;
}

int sp_db_connect(sp_db *db, sp_err *err) {
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK) return 0;
    drop_connection(db);
    if (db->in_tx) /* the transaction died with its connection */
        return sp_err_set(err, SP_ERR_DB_UNAVAILABLE, "database_unavailable",
                          "the database connection was lost; try again shortly");
    /* dbname last: with expand_dbname, the URL's own settings win */
    const char *const values[] = {
        program_invocation_short_name, "5", "30", "10", "3", "30000", db->conninfo, NULL};
    db->conn = PQconnectStartParams(conn_keys, values, 1);
    if (!db->conn) return sp_err_set(err, SP_ERR_OOM, "out_of_memory", "out of memory connecting");
    if (!finish_connecting(db) || PQsetnonblocking(db->conn, 1) != 0) {
        log_pq_problem("database connection failed", PQstatus(db->conn) == CONNECTION_BAD
                                                         ? PQerrorMessage(db->conn)
                                                         : "no answer in time");
        drop_connection(db);
        return sp_err_set(err, SP_ERR_DB_UNAVAILABLE, "database_unavailable",
                          "the database is unavailable; try again shortly");
    }
    return 0;
}

void sp_db_set_deadline(sp_db *db, double seconds, bool (*abort_fn)(void *arg), void *abort_arg) {
    db->deadline = seconds > 0 ? seconds : SP_DB_DEFAULT_DEADLINE;
    db->abort_fn = abort_fn;
    db->abort_arg = abort_arg;
}

/* Waits, until the deadline, for the next result to be readable without
 * blocking (flushing what is still unsent meanwhile): 0 ready, -1 the
 * connection broke, 1 the deadline passed or the abort check fired. */
static int await_ready(sp_db *db) {
    double until = sp_clock_monotonic() + db->deadline;
    /* A result already read (a pipeline's next one) costs no system call,
     * and right after a send the answer is not there yet: poll first rather
     * than try a read that would find nothing. */
    bool waited = false;
    for (;;) {
        int flushed = PQflush(db->conn);
        if (flushed < 0) return -1;
        if (flushed == 0) {
            if (!PQisBusy(db->conn)) return 0;
            if (waited && !PQconsumeInput(db->conn)) return -1;
            if (!PQisBusy(db->conn)) return 0;
        }
        int ms;
        if (out_of_time(db, until, &ms)) return 1;
        wait_socket(db->conn, flushed == 1, ms);
        waited = true;
    }
}

/* Awaits the answer of a statement just sent, until the deadline: the last
 * result (caller PQclears), or NULL with *timed_out set when the deadline
 * passed or the abort check fired, or NULL when the connection broke. */
static PGresult *await_result(sp_db *db, bool *timed_out) {
    int ready = await_ready(db);
    *timed_out = ready == 1;
    if (ready != 0) return NULL;
    PGresult *last = NULL, *res;
    while ((res = PQgetResult(db->conn)) != NULL) {
        PQclear(last);
        last = res;
    }
    return last;
}

/* Logs a call abandoned at its deadline and drops the connection (the server
 * rolls back what it had). */
static void abandon_call(sp_db *db, const char *what) {
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "statement", what);
    cJSON_AddNumberToObject(f, "deadline", db->deadline);
    sp_log_event(SP_LOG_WARN, "database call abandoned: no answer in time", f);
    drop_connection(db);
}

/* In a pipeline: the next result once it is readable, or NULL when the
 * connection broke or the deadline passed (the connection is then dropped). */
static PGresult *next_result(sp_db *db, const char *what) {
    if (!db->conn) return NULL;
    int ready = await_ready(db);
    if (ready == 1) abandon_call(db, what);
    return ready == 0 ? PQgetResult(db->conn) : NULL;
}

/* After a send: its result, or NULL with err set (a lapsed deadline drops
 * the connection). */
static PGresult *answer(sp_db *db, bool sent, const char *what, sp_err *err) {
    bool timed_out = false;
    PGresult *res = sent ? await_result(db, &timed_out) : NULL;
    if (res || !timed_out) return res;
    abandon_call(db, what);
    sp_err_set(err, SP_ERR_DB_UNAVAILABLE, "database_unavailable",
               "the database did not answer in time; try again shortly");
    return NULL;
}

PGconn *sp_db_conn(sp_db *db) {
    return db->conn;
}

/* Maps a failed result to an sp_err, dropping the connection when it broke. */
static int fail_from_result(sp_db *db, const char *what, PGresult *res, sp_err *err) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    /* the primary message only: DETAIL lines may quote row values (tokens) */
    const char *primary_msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *msg = primary_msg ? primary_msg : db->conn ? PQerrorMessage(db->conn) : "";
    if (!state) state = "";
    db->last_unique_violation = strcmp(state, "23505") == 0;
    char label[160];
    snprintf(label, sizeof label, "database error in %s (%s)", what, *state ? state : "no state");
    if (strncmp(state, "SP", 2) != 0) log_pq_problem(label, msg); /* SP: expected */
    if (!db->conn || PQstatus(db->conn) != CONNECTION_OK || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57P", 3) == 0) {
        drop_connection(db);
        return sp_err_set(err, SP_ERR_DB_UNAVAILABLE, "database_unavailable",
                          "the database is unavailable; try again shortly");
    }
    /* our functions' own errors (migrations 0005): the message is for the user */
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!strcmp(state, "SP404"))
        return sp_err_set(err, SP_ERR_NOT_FOUND, "job_not_found", "%s",
                          primary ? primary : "not found");
    if (!strcmp(state, "SP409"))
        return sp_err_set(err, SP_ERR_CONFLICT, "conflict", "%s", primary ? primary : "conflict");
    if (!strcmp(state, "57014") || !strcmp(state, "40001") || !strcmp(state, "40P01"))
        return sp_err_set(err, SP_ERR_DB_UNAVAILABLE, "database_busy",
                          "the database is busy; try again shortly");
    if (db->last_unique_violation)
        return sp_err_set(err, SP_ERR_CONFLICT, "conflict", "that already exists");
    /* a rule of the database on a value (migration 0015): its message names the field */
    if (!strcmp(state, "23514"))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_field", "%s",
                          primary ? primary : "a value was not acceptable to the database");
    if (!strcmp(state, "23503"))
        return sp_err_set(err, SP_ERR_NOT_FOUND, "not_found", "a referenced row does not exist");
    if (!strncmp(state, "22", 2))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_value",
                          "a value was not acceptable to the database");
    return sp_err_set(err, SP_ERR_INTERNAL, "internal_error", "internal error");
}

/* Prepares stmt on this connection unless it already is. */
static int ensure_prepared(sp_db *db, const sp_stmt *stmt, sp_err *err) {
    for (int i = 0; i < db->nprepared; i++)
        if (db->prepared[i] == stmt) return 0;
    if (db->nprepared == SP_DB_MAX_PREPARED)
        return sp_err_set(err, SP_ERR_INTERNAL, "internal_error", "too many statements");
    bool sent = PQsendPrepare(db->conn, stmt->name, stmt->sql, stmt->nparams, NULL) == 1;
    sp_err_clear(err);
    PGresult *res = answer(db, sent, stmt->name, err);
    int rc = 0;
    if (err && err->kind != SP_OK)
        rc = -1;
    else if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = fail_from_result(db, stmt->name, res, err);
    else
        db->prepared[db->nprepared++] = stmt;
    PQclear(res);
    return rc;
}

PGresult *sp_db_exec(sp_db *db, const sp_stmt *stmt, const char *const *params, sp_err *err) {
    db->last_unique_violation = false;
    if (sp_db_connect(db, err) < 0) return NULL;
    if (ensure_prepared(db, stmt, err) < 0) return NULL;
    bool sent =
        PQsendQueryPrepared(db->conn, stmt->name, stmt->nparams, params, NULL, NULL, 0) == 1;
    sp_err_clear(err);
    PGresult *res = answer(db, sent, stmt->name, err);
    if (err && err->kind != SP_OK) return NULL;
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return res;
    fail_from_result(db, stmt->name, res, err);
    PQclear(res);
    return NULL;
}

/* Runs sql (no parameters) on the open connection; the result, or NULL with
 * err set when it timed out. */
static PGresult *exec_text(sp_db *db, const char *sql, sp_err *err) {
    sp_err_clear(err);
    return answer(db, PQsendQuery(db->conn, sql) == 1, sql, err);
}

int sp_db_simple(sp_db *db, const char *sql, sp_err *err) {
    db->last_unique_violation = false;
    if (sp_db_connect(db, err) < 0) return -1;
    PGresult *res = exec_text(db, sql, err);
    if (err && err->kind != SP_OK) return -1;
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) rc = fail_from_result(db, sql, res, err);
    PQclear(res);
    return rc;
}

/* BEGIN, once more on a fresh connection if the old one turned out dead. */
static int begin_with_retry(sp_db *db, sp_err *err) {
    db->in_tx = false;
    if (sp_db_simple(db, "BEGIN", err) < 0 &&
        ((err && err->kind != SP_ERR_DB_UNAVAILABLE) || sp_db_simple(db, "BEGIN", err) < 0))
        return -1;
    db->in_tx = true;
    return 0;
}

int sp_db_begin(sp_db *db, sp_err *err) {
    return begin_with_retry(db, err);
}

static const sp_stmt become_caller = {
    "db_become_caller",
    "SELECT set_config('role', 'authenticated', true),"
    " set_config('request.jwt.claims', $1, true),"
    " set_config('request.jwt.claim.sub', coalesce($1::jsonb ->> 'sub', ''), true),"
    " set_config('request.jwt.claim.role', 'authenticated', true),"
    " set_config('statement_timeout', '15s', true)",
    1};

int sp_db_begin_as(sp_db *db, const char *claims_json, sp_err *err) {
    if (begin_with_retry(db, err) < 0) return -1;
    const char *params[] = {claims_json};
    PGresult *res = sp_db_exec(db, &become_caller, params, err);
    if (!res) {
        sp_db_rollback(db);
        return -1;
    }
    PQclear(res);
    return 0;
}

int sp_db_commit(sp_db *db, sp_err *err) {
    int rc = -1;
    if (!db->conn) {
        sp_err_set(err, SP_ERR_DB_UNAVAILABLE, "database_unavailable",
                   "the database connection was lost; try again shortly");
    } else {
        PGresult *res = exec_text(db, "COMMIT", err);
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (err && err->kind != SP_OK)
            ; /* timed out: the connection is gone, and the transaction with it */
        else if (st != PGRES_COMMAND_OK)
            fail_from_result(db, "COMMIT", res, err);
        else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) /* an aborted one answers ROLLBACK */
            sp_err_set(err, SP_ERR_INTERNAL, "internal_error", "the transaction was rolled back");
        else
            rc = 0;
        PQclear(res);
    }
    db->in_tx = false;
    return rc;
}

void sp_db_rollback(sp_db *db) {
    db->in_tx = false;
    if (!db->conn || PQtransactionStatus(db->conn) == PQTRANS_IDLE) return;
    sp_err err;
    PGresult *res = exec_text(db, "ROLLBACK", &err);
    if (db->conn && (!res || PQresultStatus(res) != PGRES_COMMAND_OK)) drop_connection(db);
    PQclear(res);
}

bool sp_db_last_was_unique_violation(const sp_db *db) {
    return db->last_unique_violation;
}

int sp_db_ping(sp_db *db, sp_err *err) {
    if (sp_db_simple(db, "SELECT 1", err) == 0) return 0;
    if (err && err->kind != SP_ERR_DB_UNAVAILABLE) return -1;
    return sp_db_simple(db, "SELECT 1", err);
}

/* ------------------------------------------------------------ pipeline */

/* True when stmt is prepared on this connection (or its prepare is queued). */
static bool is_prepared(const sp_db *db, const sp_stmt *stmt) {
    for (int i = 0; i < db->nprepared; i++)
        if (db->prepared[i] == stmt) return true;
    return false;
}

/* Forgets that stmt is prepared (its queued prepare failed). */
static void forget_prepared(sp_db *db, const sp_stmt *stmt) {
    for (int i = 0; i < db->nprepared; i++)
        if (db->prepared[i] == stmt) db->prepared[i] = db->prepared[--db->nprepared];
}

int sp_db_pipeline_enter(sp_db *db, sp_err *err) {
    db->qhead = db->qlen = 0;
    if (db->in_tx) return sp_err_set(err, SP_ERR_INTERNAL, "internal_error", "pipeline in a tx");
    if (sp_db_connect(db, err) < 0) return -1;
    if (!PQenterPipelineMode(db->conn)) {
        drop_connection(db);
        return sp_err_set(err, SP_ERR_DB_UNAVAILABLE, "database_unavailable",
                          "the database is unavailable; try again shortly");
    }
    return 0;
}

void sp_db_pipeline_exit(sp_db *db) {
    if (db->conn && PQpipelineStatus(db->conn) != PQ_PIPELINE_OFF && !PQexitPipelineMode(db->conn))
        drop_connection(db); /* results left unread: the connection is not reusable */
    db->qhead = db->qlen = 0;
}

/* Queues stmt's prepare unless done already; remembers it in tx. */
static int send_prepare(sp_db *db, queued_tx *tx, const sp_stmt *stmt) {
    if (is_prepared(db, stmt)) return 0;
    if (db->nprepared == SP_DB_MAX_PREPARED) return -1;
    if (!PQsendPrepare(db->conn, stmt->name, stmt->sql, stmt->nparams, NULL)) return -1;
    db->prepared[db->nprepared++] = stmt;
    tx->prep[tx->nprep++] = stmt;
    return 0;
}

int sp_db_pipeline_send_as(sp_db *db, const char *claims_json, const sp_db_step *steps, int n,
                           sp_err *err) {
    if (!db->conn || n > SP_DB_MAX_STEPS || db->qlen == SP_DB_MAX_QUEUED)
        return sp_err_set(err, SP_ERR_DB_UNAVAILABLE, "database_unavailable",
                          "the database is unavailable; try again shortly");
    queued_tx *tx = &db->queue[(db->qhead + db->qlen) % SP_DB_MAX_QUEUED];
    tx->nprep = 0;
    tx->nsteps = n;
    const char *caller[] = {claims_json};
    bool ok = send_prepare(db, tx, &become_caller) == 0;
    for (int i = 0; ok && i < n; i++)
        ok = send_prepare(db, tx, steps[i].stmt) == 0;
    ok = ok && PQsendQueryPrepared(db->conn, become_caller.name, 1, caller, NULL, NULL, 0);
    for (int i = 0; ok && i < n; i++)
        ok = PQsendQueryPrepared(db->conn, steps[i].stmt->name, steps[i].stmt->nparams,
                                 steps[i].params, NULL, NULL, 0);
    ok = ok && PQpipelineSync(db->conn);
    if (!ok) {
        log_pq_problem("database pipeline send failed", PQerrorMessage(db->conn));
        drop_connection(db);
        return sp_err_set(err, SP_ERR_DB_UNAVAILABLE, "database_unavailable",
                          "the database is unavailable; try again shortly");
    }
    db->qlen++;
    return 0;
}

/* The next command's result, and the NULL that ends it; NULL when the
 * connection gave nothing. */
static PGresult *command_result(sp_db *db, const char *what) {
    PGresult *res = next_result(db, what);
    if (!res || PQresultStatus(res) == PGRES_PIPELINE_SYNC) return res;
    PGresult *extra;
    for (int i = 0; i < 4 && (extra = PQgetResult(db->conn)) != NULL; i++)
        PQclear(extra);
    return res;
}

/* Reads one expected result: OK (kept in *out when out), or the first
 * failure mapped into err (*failed set). */
static void take_result(sp_db *db, const char *what, bool want_ok, PGresult **out, bool *failed,
                        sp_err *err) {
    PGresult *res = command_result(db, what);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
    if (want_ok && !ok && !*failed && st != PGRES_PIPELINE_ABORTED) {
        *failed = true;
        fail_from_result(db, what, res, err);
    } else if (want_ok && !ok && !*failed) {
        *failed = true;
        sp_err_set(err, SP_ERR_INTERNAL, "internal_error", "internal error");
    }
    if (out && ok && !*failed)
        *out = res;
    else
        PQclear(res);
}

int sp_db_pipeline_receive(sp_db *db, const sp_db_step *steps, int n, PGresult **results,
                           sp_err *err) {
    for (int i = 0; i < n; i++)
        results[i] = NULL;
    if (db->qlen == 0 || !db->conn)
        return sp_err_set(err, SP_ERR_DB_UNAVAILABLE, "database_unavailable",
                          "the database is unavailable; try again shortly");
    queued_tx *tx = &db->queue[db->qhead];
    db->qhead = (db->qhead + 1) % SP_DB_MAX_QUEUED;
    db->qlen--;
    bool failed = false;
    for (int i = 0; i < tx->nprep && db->conn; i++) {
        bool before = failed;
        take_result(db, tx->prep[i]->name, true, NULL, &failed, err);
        if (failed && !before) forget_prepared(db, tx->prep[i]);
    }
    if (db->conn) take_result(db, become_caller.name, true, NULL, &failed, err);
    db->setup_answered = !failed;
    for (int i = 0; i < n && i < tx->nsteps && db->conn; i++)
        take_result(db, steps[i].stmt->name, true, &results[i], &failed, err);
    PGresult *sync = next_result(db, "pipeline sync");
    if (!sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC) {
        if (!failed) fail_from_result(db, "pipeline sync", sync, err);
        failed = true;
        drop_connection(db);
    }
    PQclear(sync);
    if (!failed) return 0;
    for (int i = 0; i < n; i++) {
        PQclear(results[i]);
        results[i] = NULL;
    }
    return -1;
}

int sp_db_exec_as(sp_db *db, const char *claims_json, const sp_db_step *steps, int n,
                  PGresult **results, sp_err *err) {
    for (int attempt = 0;; attempt++) {
        db->setup_answered = false;
        db->last_unique_violation = false;
        int rc = sp_db_pipeline_enter(db, err);
        if (rc == 0) rc = sp_db_pipeline_send_as(db, claims_json, steps, n, err);
        if (rc == 0) rc = sp_db_pipeline_receive(db, steps, n, results, err);
        sp_db_pipeline_exit(db);
        if (rc == 0) return 0;
        /* a connection found dead before it ran anything: once more, afresh */
        if (attempt > 0 || err->kind != SP_ERR_DB_UNAVAILABLE || db->setup_answered) return -1;
    }
}

PGresult *sp_db_exec1_as(sp_db *db, const char *claims_json, const sp_stmt *stmt,
                         const char *const *params, sp_err *err) {
    sp_db_step step = {stmt, params};
    PGresult *res = NULL;
    return sp_db_exec_as(db, claims_json, &step, 1, &res, err) == 0 ? res : NULL;
}
