/*
 * list_query: checks the list's parameters so that only well-formed values
 * reach the list statement (jobs.c).
 */
#include "api/list_query.h"

#include <string.h>

#include "core/iso8601.h"
#include "core/uuid.h"

/* Checks a list cursor: "<ISO 8601 time>,<job id>", as a page's "next" gives. */
static bool cursor_valid(const char *cursor) {
    const char *comma = strrchr(cursor, ',');
    char when[48];
    double t;
    if (!comma || (size_t)(comma - cursor) >= sizeof when) return false;
    memcpy(when, cursor, (size_t)(comma - cursor));
    when[comma - cursor] = '\0';
    return sp_iso8601_parse(when, &t) && sp_uuid_valid(comma + 1);
}

/* True for the statuses a job can have. */
static bool known_status(const char *status) {
    static const char *const statuses[] = {"pending", "processing", "completed", "failed"};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (strcmp(status, statuses[i]) == 0) return true;
    return false;
}

int sp_list_query_parse(const sp_request *r, sp_list_query *q, sp_err *err) {
    if (sp_request_int_query(r, "limit", SP_LIST_DEFAULT, 1, SP_LIST_MAX, &q->limit, err) < 0)
        return -1;
    int has_before = sp_request_query(r, "before", q->before, sizeof q->before, err);
    if (has_before < 0) return -1;
    if (has_before == 0)
        q->before[0] = '\0';
    else if (!cursor_valid(q->before))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_query",
                          "before must be the next value of an earlier page");
    int has_status = sp_request_query(r, "status", q->status, sizeof q->status, err);
    if (has_status < 0) return -1;
    if (has_status == 0)
        q->status[0] = '\0';
    else if (!known_status(q->status))
        return sp_err_set(err, SP_ERR_BAD_REQUEST, "invalid_query",
                          "status must be pending, processing, completed or failed");
    return 0;
}
