/*
 * spool: a job's video, read from its URL once and kept on local disk while
 * the job's deliveries upload it.
 *
 * The file is <spool dir>/<job id>.video. It is downloaded to <job id>.part
 * (kept across an interrupted download, which then continues with a Range
 * request, or is renamed with none when it is whole already) and renamed when complete, under an flock on <job id>.lock, so concurrent
 * slots of one worker (or workers sharing a disk) fetch it once and never see
 * half a file. Downloads stream to disk: memory stays flat whatever the size.
 * Every open says which version of the video the file holds (its validator,
 * see below): whether a platform may go on with it is the caller's to judge
 * against what it recorded (platforms/step.c, in the delivery's checkpoint);
 * this host's files are only a cache.
 *
 * Errors say whether trying later could help: SP_ERR_TRANSIENT (network,
 * 5xx, 429) or SP_ERR_UNPROCESSABLE (404, not a video, too large).
 */
#ifndef SP_SPOOL_H
#define SP_SPOOL_H

#include <stdbool.h>
#include <stdio.h>

#include "core/err.h"
#include "core/http_client.h"

/* Room for a validator: what names one version of a video's bytes, its
 * server's strong ETag, else its Last-Modified, else (a server that names no
 * version) "content:" and a hash of the whole file. */
#define SP_SPOOL_VALIDATOR_MAX 160

/* Makes sure dir exists (mode 0700). */
int sp_spool_init(const char *dir, sp_err *err);

/* Opens the job's spooled video for reading, fetching url first when it is not
 * on disk yet (continuing an interrupted download). public_only refuses URLs
 * that lead to private network addresses. *out is the open file (caller
 * fcloses), *size its length. */
int sp_spool_open(const char *dir, const char *job_id, const char *url, long long max_bytes,
                  bool public_only, FILE **out, long long *size, sp_err *err);

/* Who watches a download as it writes the file (spool/spool_stream.c). */
typedef struct {
    /* Given the file the download is about to write (its .part, opened
     * read-only; the callee's to close), before the download starts. */
    void (*on_part)(void *arg, int fd);
    sp_http_download_observer observe; /* told as the file grows (http_client.h) */
    /* Polled while another process holds the job's lock (its download):
     * true gives up waiting (SP_ERR_TRANSIENT "interrupted"). NULL: wait. */
    bool (*stop)(void *arg);
    void *arg;
} sp_spool_watch;

/* sp_spool_open, telling watch (when not NULL and the video is not on disk
 * yet) the file the download writes and how it grows, and copying the
 * validator of the file's bytes to validator (when not NULL; room for
 * SP_SPOOL_VALIDATOR_MAX). The same download either way: same lock, checks,
 * resume, fsync and rename. */
int sp_spool_fetch(const char *dir, const char *job_id, const char *url, long long max_bytes,
                   bool public_only, const sp_spool_watch *watch, FILE **out, long long *size,
                   char *validator, sp_err *err);

/* Removes the job's spool files (when no delivery of the
 * job needs them); a partial file whose lock a slot holds stays for the sweep. */
void sp_spool_remove(const char *dir, const char *job_id);

/* Removes spool files untouched for max_age seconds: left by a worker that
 * died, or by jobs another machine finished. Returns how many went. */
int sp_spool_sweep(const char *dir, double max_age);

#endif
