/*
 * list_query: the parameters of the job list (GET /social-post-status without
 * jobId): limit, status and the before cursor, checked before any SQL runs.
 */
#ifndef SP_LIST_QUERY_H
#define SP_LIST_QUERY_H

#include "api/request.h"

#define SP_LIST_DEFAULT 20
#define SP_LIST_MAX 100

typedef struct {
    int limit;        /* 1..SP_LIST_MAX */
    char before[128]; /* a page's "next" cursor, "" for the first page */
    char status[16];  /* a job status to filter on, "" for all */
} sp_list_query;

/* Reads r's query into q. Fails with SP_ERR_BAD_REQUEST naming the parameter. */
int sp_list_query_parse(const sp_request *r, sp_list_query *q, sp_err *err);

#endif
