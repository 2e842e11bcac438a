/*
 * long_poll: a bounded loop of re-reads; see long_poll.h.
 */
#include "api/long_poll.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAIT_POLL_MS 250

/* Long-polls in progress in this process. */
static atomic_int waiting;

int sp_long_poll(sp_ctx *ctx, const char *claims_json, const char *job_id, int wait,
                 const char *baseline, sp_job_view *view, sp_err *err) {
    struct timespec tick = {.tv_nsec = WAIT_POLL_MS * 1000000L};
    int rc = 0;
    if (atomic_fetch_add(&waiting, 1) >= ctx->threads - 2) wait = 0;
    for (int waited = 0; waited < wait * 1000; waited += WAIT_POLL_MS) {
        if (view->final || strcmp(view->etag, baseline) != 0 || sp_server_stopping()) break;
        nanosleep(&tick, NULL);
        free(view->json);
        if ((rc = sp_jobs_view_as(ctx->db, claims_json, job_id, view, err)) < 0) break;
    }
    atomic_fetch_sub(&waiting, 1);
    return rc;
}
