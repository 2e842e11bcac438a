/* Unit tests of the worker's connection pool (worker/db_pool.c): lending
 * without connecting, waiting bounded by the deadline and the abort check,
 * and the lease keeper's turn ahead of the slots. */
#include <pthread.h>
#include <unistd.h>

#include "../../worker/db_pool.c"
#include "check.h"

static bool aborted;

/* The abort check the pool polls while a borrower waits. */
static bool is_aborted(void *arg) {
    (void)arg;
    return aborted;
}

typedef struct {
    sp_db_pool *p;
    bool first;
    double got_at; /* monotonic time the handle came, 0: none */
} borrower;

/* Borrows (first or not), notes when, and gives it back a moment later. */
static void *borrow(void *arg) {
    borrower *b = arg;
    sp_err err;
    sp_db *db = b->first ? sp_db_pool_take_first(b->p, &err) : sp_db_pool_take(b->p, false, &err);
    if (db) b->got_at = sp_clock_monotonic();
    usleep(50000);
    sp_db_pool_give(b->p, db);
    return NULL;
}

int main(void) {
    sp_err err;
    /* nothing listens there, and nothing connects before a call */
    sp_db_pool *p = sp_db_pool_new("host=127.0.0.1 port=1", 2, 0.3, is_aborted, NULL);
    CHECK(p != NULL);
    CHECK(sp_db_pool_size(p) == 2);
    sp_db *a = sp_db_pool_take(p, false, &err);
    sp_db *b = sp_db_pool_take(p, false, &err);
    CHECK(a && b && a != b);

    /* all lent: a third waits for the deadline, then fails as "unavailable" */
    double t = sp_clock_monotonic();
    CHECK(sp_db_pool_take(p, false, &err) == NULL);
    CHECK(err.kind == SP_ERR_DB_UNAVAILABLE);
    CHECK(sp_clock_monotonic() - t >= 0.25);

    /* the abort check ends the wait at once, unless the borrower goes past it */
    aborted = true;
    t = sp_clock_monotonic();
    CHECK(sp_db_pool_take(p, false, &err) == NULL);
    CHECK(sp_clock_monotonic() - t < 0.2);
    t = sp_clock_monotonic();
    CHECK(sp_db_pool_take(p, true, &err) == NULL);
    CHECK(sp_clock_monotonic() - t >= 0.25);
    aborted = false;

    /* a handle given back is lent again */
    sp_db_pool_give(p, a);
    sp_db *c = sp_db_pool_take(p, false, &err);
    CHECK(c == a);

    /* a slot waiting since before still comes after the lease keeper */
    borrower slot = {.p = p}, keeper = {.p = p, .first = true};
    pthread_t ts, tk;
    pthread_create(&ts, NULL, borrow, &slot);
    usleep(20000);
    pthread_create(&tk, NULL, borrow, &keeper);
    usleep(20000);
    sp_db_pool_give(p, c);
    pthread_join(tk, NULL);
    pthread_join(ts, NULL);
    CHECK(keeper.got_at > 0 && slot.got_at > 0);
    CHECK(keeper.got_at < slot.got_at);
    sp_db_pool_give(p, b);
    sp_db_pool_free(p);
    return check_done("test_db_pool");
}
