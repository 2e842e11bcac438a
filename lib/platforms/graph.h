/*
 * graph: calls to Meta's Graph API and the reading of its errors, shared by
 * the Facebook and Instagram adapters.
 *
 * Every Graph error has one shape, {"error": {message, type, code,
 * error_subcode, is_transient, fbtrace_id}}; sp_graph_classify applies the
 * rules common to both platforms (DESIGN.md §5): Meta's throttling codes are
 * a quota to wait out (as long as its usage headers estimate, see
 * graph_usage.c), network, 5xx and is_transient are transient, 190 is a dead
 * token, the rest is permanent. Each adapter handles its own special codes
 * before asking.
 */
#ifndef SP_GRAPH_H
#define SP_GRAPH_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/http_client.h"
#include "platforms/step.h"

typedef struct {
    long status;       /* HTTP status; 0 when no answer came */
    cJSON *body;       /* the parsed JSON answer, or NULL */
    bool failed;       /* transport failure, non-2xx, or an error object */
    int code, subcode; /* error.code / error.error_subcode, 0 when absent */
    bool is_transient;
    char message[320]; /* error.message, or what went wrong */
    long retry_after;  /* seconds, -1 when absent */
    /* From Meta's usage headers (sp_graph_read_usage): the longest
     * estimated_time_to_regain_access of any entry, in seconds, and the
     * highest call_count / total_cputime / total_time percentage; -1 when no
     * header said. */
    long regain_after;
    int usage_percent;
} sp_graph_resp;

typedef enum {
    SP_GRAPH_TRANSIENT,
    SP_GRAPH_QUOTA, /* throttled: wait (sp_graph_quota_outcome), count no attempt */
    SP_GRAPH_AUTH,
    SP_GRAPH_PERMANENT
} sp_graph_class;

/* A Graph call: method, base URL + "/" + path, and either query parameters
 * (GET; values escaped here) or a multipart form (POST), optionally with a
 * file range as the part file_field. The access token travels as the
 * access_token parameter. A raw call (rupload.facebook.com) instead sends
 * the file range itself as the body with the given header lines, which
 * carry the token; its params are ignored. Always fills out (free with
 * sp_graph_resp_free). */
typedef struct {
    const char *method;
    const char *base;
    const char *path;
    const sp_http_field *params;
    int nparams;
    const char *access_token;
    FILE *file;
    off_t file_offset, file_length;
    const char *file_field;
    bool raw;               /* the file range is the whole body */
    const char *headers[5]; /* raw: "Name: value" lines, NULL-terminated */
} sp_graph_call;

void sp_graph_request(const sp_graph_call *call, sp_graph_resp *out);

/* Reads an answer (status, body text or NULL, Retry-After) into out (no
 * usage known yet: sp_graph_read_usage adds it): the
 * parsed body and its error object ({"error": {...}}, or rupload's
 * {"debug_info": {"retriable", "type", "message"}} on a failed status).
 * Every Graph answer goes through here; exposed for tests and the fuzzer.
 * Free with sp_graph_resp_free. */
void sp_graph_parse(long status, const char *body, long retry_after, sp_graph_resp *out);

/* Reads the start_offset and end_offset of a resumable-upload answer from
 * obj: decimal strings (the answers to start and transfer) or JSON numbers
 * (error_data of a transfer at the wrong offset, code 6001 subcode
 * 1363037); whole numbers with start <= end and start <= size, the file's
 * size; an end past the file reads as size (any number of digits: no
 * overflow). false for anything else, so no offset from outside is used
 * unchecked. */
bool sp_graph_parse_offsets(const cJSON *obj, long long size, long long *start, long long *end);

void sp_graph_resp_free(sp_graph_resp *r);

/* The string member name of the answer (borrowed), or NULL. */
const char *sp_graph_string(const sp_graph_resp *r, const char *name);

/* The error_data object of a failed answer (borrowed), or NULL. */
const cJSON *sp_graph_error_data(const sp_graph_resp *r);

/* The common classification of a failed answer. */
sp_graph_class sp_graph_classify(const sp_graph_resp *r);

/* True when the answer's error code is one of Meta's throttling codes
 * (the call was refused for a rate limit: SP_GRAPH_QUOTA). */
bool sp_graph_throttled(const sp_graph_resp *r);

/* Reads one of Meta's rate-limit usage headers into r, the value as sent
 * (JSON text, NULL or "" when absent): X-App-Usage {"call_count",
 * "total_cputime", "total_time"} (percentages) or X-Business-Use-Case-Usage
 * {"<id>": [{"type", "call_count", "total_cputime", "total_time",
 * "estimated_time_to_regain_access" (minutes)}, ...], ...}. Raises
 * r->usage_percent and r->regain_after to what the header says when that is
 * more; anything else in it (not JSON, wrong types, negative numbers,
 * percentages past 10000) is ignored, so a bad header never shortens a
 * wait, and an estimate past a day reads as a day (Instagram's window). */
void sp_graph_read_usage(sp_graph_resp *r, const char *header);

/* How long a throttled call (SP_GRAPH_QUOTA) waits, in seconds: Meta's
 * estimate when its usage header gave one, else -1 (none: the worker's
 * backoff decides, see graph_usage.c). */
double sp_graph_quota_wait(const sp_graph_resp *r);

/* Fills out as the quota WAIT of a throttled answer, telling the user on
 * which platform, while doing what, Meta's words and the usage it reported:
 * sp_step_quota for sp_graph_quota_wait seconds when Meta estimated, else
 * sp_step_quota_backoff with the answer's Retry-After as the floor. */
void sp_graph_quota_outcome(const sp_graph_resp *r, const char *platform, const char *doing,
                            sp_step_outcome *out);

#endif
