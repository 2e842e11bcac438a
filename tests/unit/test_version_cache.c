/* Unit tests of version_cache.c: per reader, dropped on change, bounded. */
#include <stdio.h>
#include <string.h>

#include "api/version_cache.h"
#include "check.h"

int main(void) {
    const char *job = "6f1c2a9e-1111-4c4c-8d8d-000000000001";
    const char *owner = "0a0a0a0a-2222-4b4b-9c9c-000000000001";
    const char *other = "0a0a0a0a-2222-4b4b-9c9c-000000000002";
    char etag[40];
    sp_version_cache *c = sp_version_cache_new();
    CHECK(c != NULL);
    CHECK(!sp_version_cache_get(c, 7, job, owner, etag));
    sp_version_cache_put(c, 7, job, owner, "\"v1\"");
    CHECK(sp_version_cache_get(c, 7, job, owner, etag) && strcmp(etag, "\"v1\"") == 0);
    CHECK(!sp_version_cache_get(c, 7, job, other, etag)); /* another reader: ask the database */
    sp_version_cache_drop(c, 7, job);
    CHECK(!sp_version_cache_get(c, 7, job, owner, etag));
    CHECK(sp_version_cache_count(c) == 0);
    /* a job hashing to the same slot evicts the one before: memory stays bounded */
    sp_version_cache_put(c, 7, job, owner, "\"v1\"");
    sp_version_cache_put(c, 7 + SP_VERSION_CACHE_SLOTS, "other-job", owner, "\"v9\"");
    CHECK(!sp_version_cache_get(c, 7, job, owner, etag));
    CHECK(sp_version_cache_count(c) == 1);
    sp_version_cache_drop(c, 7, job); /* not there: the other job stays */
    CHECK(sp_version_cache_count(c) == 1);
    char id[37];
    for (unsigned i = 0; i < 3 * SP_VERSION_CACHE_SLOTS; i++) {
        snprintf(id, sizeof id, "job-%u", i);
        sp_version_cache_put(c, i, id, owner, "\"v\"");
    }
    CHECK(sp_version_cache_count(c) == SP_VERSION_CACHE_SLOTS);
    sp_version_cache_clear(c); /* the LISTEN connection was lost */
    CHECK(sp_version_cache_count(c) == 0);
    CHECK(!sp_version_cache_get(c, 5, "job-5", owner, etag));
    sp_version_cache_put(c, 1, "a-job-id-much-longer-than-any-uuid-can-ever-be", owner, "\"v\"");
    CHECK(sp_version_cache_count(c) == 0); /* never a truncated key */
    sp_version_cache_free(c);
    return check_done("test_version_cache");
}
