/*
 * long_poll: holding a status request until its job changes (wait=N).
 *
 * A waiting request re-reads the job as its caller (RLS) every 250 ms and
 * answers as soon as the job's ETag differs from the caller's, the job is
 * final, the wait is over, or the program stops. At most threads - 2 requests
 * wait at once, so waiting clients never take every thread from status reads
 * and /health; beyond that a long-poll is answered at once.
 */
#ifndef SP_LONG_POLL_H
#define SP_LONG_POLL_H

#include "api/jobs.h"
#include "api/server.h"

#define SP_LONG_POLL_MAX_SECONDS 60

/* Waits up to wait seconds for job_id's ETag to differ from baseline; view
 * (already read once) is updated in place. Returns 0, or -1 with err set
 * when a re-read failed (view->json is then NULL). */
int sp_long_poll(sp_ctx *ctx, const char *claims_json, const char *job_id, int wait,
                 const char *baseline, sp_job_view *view, sp_err *err);

#endif
