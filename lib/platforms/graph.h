/*
 * graph: calls to Meta's Graph API and the reading of its errors, shared by
 * the Facebook and Instagram adapters.
 *
 * Every Graph error has one shape, {"error": {message, type, code,
 * error_subcode, is_transient, fbtrace_id}}; sp_graph_classify applies the
 * rules common to both platforms (DESIGN.md §5): network, 5xx, is_transient
 * and the throttling codes are transient, 190 is a dead token, the rest is
 * permanent. Each adapter handles its own special codes before asking.
 */
#ifndef SP_GRAPH_H
#define SP_GRAPH_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/http_client.h"

typedef struct {
    long status;       /* HTTP status; 0 when no answer came */
    cJSON *body;       /* the parsed JSON answer, or NULL */
    bool failed;       /* transport failure, non-2xx, or an error object */
    int code, subcode; /* error.code / error.error_subcode, 0 when absent */
    bool is_transient;
    char message[320]; /* error.message, or what went wrong */
    long retry_after;  /* seconds, -1 when absent */
} sp_graph_resp;

typedef enum { SP_GRAPH_TRANSIENT, SP_GRAPH_AUTH, SP_GRAPH_PERMANENT } sp_graph_class;

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

/* Reads an answer (status, body text or NULL, Retry-After) into out: the
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

#endif
