/*
 * rows: reading a statement's answer (sp_rows is libpq's result) so that
 * the modules owning SQL never call libpq themselves.
 */
#include <libpq-fe.h>
#include <stdlib.h>

#include "db/db.h"

int sp_rows_count(const sp_rows *r) {
    return r ? PQntuples(r) : 0;
}

const char *sp_rows_value(const sp_rows *r, int row, int col) {
    return PQgetvalue(r, row, col);
}

bool sp_rows_is_null(const sp_rows *r, int row, int col) {
    return PQgetisnull(r, row, col) != 0;
}

long sp_rows_affected(const sp_rows *r) {
    const char *n = PQcmdTuples((sp_rows *)r);
    return n && *n ? strtol(n, NULL, 10) : 0;
}

void sp_rows_free(sp_rows *r) {
    PQclear(r);
}
