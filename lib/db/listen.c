/*
 * listen: LISTEN, waiting on the connection's socket and a wake fd, and
 * draining notifications; see listen.h.
 *
 * A wait polls the socket and the wake fd together, then lets libpq read
 * whatever came (PQconsumeInput): a failed read is a lost connection, which
 * is left for sp_db_connect to replace on the next call.
 */
#include "db/listen.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "db/db_conn.h"

int sp_db_listen(sp_db *db, const char *channel, sp_err *err) {
    char sql[128];
    int n = snprintf(sql, sizeof sql, "LISTEN %s", channel);
    if (n < 0 || (size_t)n >= sizeof sql)
        return sp_err_set(err, SP_ERR_INTERNAL, "internal_error", "channel name too long");
    return sp_db_simple(db, sql, err);
}

int sp_db_notifications(sp_db *db, sp_db_notify_fn fn, void *arg) {
    PGconn *conn = sp_db_conn(db);
    int count = 0;
    PGnotify *n;
    while (conn && (n = PQnotifies(conn)) != NULL) {
        if (fn) fn(arg, n->relname, n->extra);
        PQfreemem(n);
        count++;
    }
    return count;
}

/* Reads and clears wake_fd's eventfd count. */
static void clear_wake(int wake_fd) {
    uint64_t count;
    if (read(wake_fd, &count, sizeof count) < 0 && errno != EAGAIN)
        sp_log(SP_LOG_ERROR, "reading a wake-up fd: %s", strerror(errno));
}

int sp_db_wait_notifications(sp_db *db, int wake_fd, double seconds, sp_db_notify_fn fn,
                             void *arg) {
    PGconn *conn = sp_db_conn(db);
    if (!conn || PQstatus(conn) != CONNECTION_OK || PQsocket(conn) < 0) return -1;
    int early = sp_db_notifications(db, fn, arg); /* read along with a query's answer */
    if (early > 0) return early;
    int ms = seconds <= 0 ? 0 : seconds > 3600 ? 3600 * 1000 : (int)(seconds * 1000) + 1;
    struct pollfd p[2] = {{.fd = PQsocket(conn), .events = POLLIN},
                          {.fd = wake_fd, .events = POLLIN}};
    if (poll(p, wake_fd >= 0 ? 2 : 1, ms) < 0) return 0; /* a signal: the caller looks again */
    if (wake_fd >= 0 && p[1].revents) clear_wake(wake_fd);
    if (!p[0].revents) return 0;
    if (!PQconsumeInput(conn)) return -1;
    return sp_db_notifications(db, fn, arg);
}
