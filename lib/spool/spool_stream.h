/*
 * spool_stream: a job's video read while it is still being downloaded, so an
 * upload starts on the bytes already on disk instead of after the whole file.
 *
 * The download of a job runs in a thread of its own (one per job in this
 * process, whatever number of deliveries read it), through sp_spool_fetch:
 * the same lock, .part file, resume with Range, validations and rename as a
 * plain sp_spool_open. Readers get a FILE whose reads block until the bytes
 * they ask for are on disk and never return bytes past them; its size is the
 * size the download's answer announced (Content-Length), so an upload can
 * declare it up front. A download that announces no size is waited for whole
 * (the sequential path). The last byte of the video is held back until the
 * download has been judged complete and good, so a platform never receives a
 * whole file made of a failed download; a download that fails makes reads
 * fail (EIO) and sp_spool_wait return the download's error.
 *
 * Across processes nothing is shared but the spool's lock: a second process
 * waits for the first one's download to end, as before. A download stops
 * when every reader has left it (unless every byte is in: it finishes, and
 * the file is whole); a reader that comes later starts another, never
 * inheriting the error of one stopped for others.
 */
#ifndef SP_SPOOL_STREAM_H
#define SP_SPOOL_STREAM_H

#include <stdbool.h>
#include <stdio.h>

#include "core/err.h"
#include "core/http_client.h"

/* Opens the job's video like sp_spool_open, but returns as soon as its size
 * is known: *out (caller fcloses) reads bytes as they arrive; validator
 * (room for SP_SPOOL_VALIDATOR_MAX) gets what names its bytes (spool.h).
 * abort_fn (may be NULL) is this reader's: polled a few times a second while
 * the open, a read or sp_spool_wait waits for bytes, and when it returns true
 * the wait ends (SP_ERR_TRANSIENT "interrupted"; a read fails with EIO). The
 * download itself stops once all its readers have closed their files,
 * unless every byte is in. */
int sp_spool_open_stream(const char *dir, const char *job_id, const char *url, long long max_bytes,
                         bool public_only, sp_http_abort_fn abort_fn, void *abort_arg, FILE **out,
                         long long *size, char *validator, sp_err *err);

/* Waits until the first end bytes of f (from sp_spool_open_stream; any
 * other FILE is whole already) can be read. -1 with the download's error
 * when it failed first, or "interrupted" when f's abort said stop. */
int sp_spool_wait(FILE *f, long long end, sp_err *err);

/* Waits until no download thread of this process is running (at exit). */
void sp_spool_stream_drain(void);

#endif
