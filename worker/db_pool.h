/*
 * db_pool: the worker's few database connections, lent to its slots, its
 * lease keeper and its webhook senders one call at a time (only the
 * listener, which LISTENs, has a connection of its own).
 *
 * A slot spends nearly all of an upload talking to a platform, so holding a
 * connection for it would make a worker's connections grow with its
 * concurrency (100 uploads, 100 idle connections). Instead a slot borrows a
 * handle for one database call (a claim, a checkpoint, a progress report,
 * the record of a step) and gives it back at once; the handles connect on
 * first use, so an idle worker holds only what it has needed. Every call a
 * borrower makes is one statement or one complete transaction: a handle is
 * never given back inside a transaction. The lease keeper borrows first
 * (sp_db_pool_take_first): a renewal never waits behind the slots' progress
 * reports.
 */
#ifndef SP_WORKER_DB_POOL_H
#define SP_WORKER_DB_POOL_H

#include <stdbool.h>

#include "core/err.h"
#include "db/db.h"

#define SP_DB_POOL_MAX 64

typedef struct sp_db_pool sp_db_pool;

/* Makes size unconnected handles for conninfo, each with the deadline and
 * abort check of sp_db_set_deadline. NULL when out of memory. */
sp_db_pool *sp_db_pool_new(const char *conninfo, int size, double deadline,
                           bool (*abort_fn)(void *arg), void *abort_arg);

/* Frees the pool and closes its connections; every handle must be back. */
void sp_db_pool_free(sp_db_pool *p);

/* Borrows a handle, waiting for one to be given back: at most the pool's
 * deadline, and, unless past_abort, not past the abort check. NULL with
 * SP_ERR_DB_UNAVAILABLE when none came. */
sp_db *sp_db_pool_take(sp_db_pool *p, bool past_abort, sp_err *err);

/* Borrows ahead of every sp_db_pool_take waiting (the lease keeper). */
sp_db *sp_db_pool_take_first(sp_db_pool *p, sp_err *err);

/* Gives a borrowed handle back (NULL: nothing); its deadline and abort check
 * are reset to the pool's. */
void sp_db_pool_give(sp_db_pool *p, sp_db *db);

/* How many handles the pool lends (its most connections). */
int sp_db_pool_size(const sp_db_pool *p);

#endif
