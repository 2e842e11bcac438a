/*
 * db_conn: what lib/db's own files share about a handle: its libpq
 * connection. Not for use outside lib/db (the layout check says so).
 */
#ifndef SP_DB_CONN_H
#define SP_DB_CONN_H

#include <libpq-fe.h>

#include "db/db.h"

/* The underlying connection (borrowed; NULL when not connected). */
PGconn *sp_db_conn(sp_db *db);

#endif
