/*
 * server: the common main of the FastCGI programs.
 *
 * A fixed pool of worker threads, each with its own database connection,
 * serves the requests of one listening socket (fd 0 as spawn-fcgi or a
 * systemd socket unit pass it, or the socket --listen opens) and of the
 * FastCGI connections nginx keeps open, whichever has a request ready
 * (dispatcher.h). Long-polls park instead of holding a thread
 * (long_poll.h). SIGTERM/SIGINT stop accepting, answer what is in flight
 * (parked long-polls included), and exit 0.
 *
 * Routing is a table of exact paths per program (sp_route, router.c); the
 * command line is server_flags.c. Not here: what a request means (the
 * handlers of each program).
 */
#ifndef SP_SERVER_H
#define SP_SERVER_H

#include <stdbool.h>

#include "api/request.h"
#include "api/response.h"
#include "auth/jwt.h"
#include "core/config.h"
#include "db/db.h"

struct sp_long_poll;

/* What a handler gets: shared settings and this thread's connection. */
typedef struct {
    int threads;                    /* requests the process serves at once */
    const sp_config *cfg;           /* shared, read-only */
    sp_jwt_verifier *jwt;           /* shared, thread-safe */
    sp_db *db;                      /* this thread's own */
    struct sp_long_poll *long_poll; /* the lot to park long-polls in, or NULL */
    double answer_by;               /* monotonic seconds: a handler that promised an answer
                                       by then (a long-poll's wait) sets it; a database call
                                       still waiting then is abandoned. 0: none */
} sp_ctx;

/* Serves one request: must send exactly one response on r. */
typedef void (*sp_handler)(sp_ctx *ctx, sp_request *r);

/* One endpoint: its PATH_INFO ("" for the program's bare path, which "/"
 * also reaches; a "*" segment matches any one segment, as in "/<*>/retry"),
 * its method, and its handler. The server answers OPTIONS,
 * 404 for unknown paths and 405 (with Allow) for other methods itself. */
typedef struct {
    const char *path;
    const char *method;
    sp_handler handle;
} sp_route;

typedef struct {
    const char *program; /* name on logs and in --help */
    const char *summary; /* one line for --help */
    int default_threads;
    bool long_polls;        /* run a long-poll waker (ctx->long_poll) */
    const sp_route *routes; /* ends with an entry whose path is NULL */
} sp_server_spec;

/* True once the program is stopping: a handler that waits (a long-poll)
 * answers now instead of holding up the stop. */
bool sp_server_stopping(void);

/* Parses argv (--listen, --threads, --help), loads the configuration and
 * serves until a stop signal. Returns the process exit status. */
int sp_server_main(int argc, char **argv, const sp_server_spec *spec);

#endif
