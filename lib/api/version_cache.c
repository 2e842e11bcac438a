/*
 * version_cache: a direct-mapped table of (job, reader, version); see
 * version_cache.h. A slot is empty when its job id is "".
 */
#include "api/version_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char job_id[37];
    char user_id[37];
    char etag[40];
} entry;

struct sp_version_cache {
    entry slots[SP_VERSION_CACHE_SLOTS];
    int count;
};

sp_version_cache *sp_version_cache_new(void) {
    return calloc(1, sizeof(sp_version_cache));
}

void sp_version_cache_free(sp_version_cache *c) {
    free(c);
}

void sp_version_cache_put(sp_version_cache *c, uint32_t hash, const char *job_id,
                          const char *user_id, const char *etag) {
    entry *e = &c->slots[hash % SP_VERSION_CACHE_SLOTS];
    if (strlen(job_id) >= sizeof e->job_id || strlen(user_id) >= sizeof e->user_id ||
        strlen(etag) >= sizeof e->etag)
        return; /* never a truncated key */
    if (!e->job_id[0]) c->count++;
    snprintf(e->job_id, sizeof e->job_id, "%s", job_id);
    snprintf(e->user_id, sizeof e->user_id, "%s", user_id);
    snprintf(e->etag, sizeof e->etag, "%s", etag);
}

bool sp_version_cache_get(const sp_version_cache *c, uint32_t hash, const char *job_id,
                          const char *user_id, char etag[40]) {
    const entry *e = &c->slots[hash % SP_VERSION_CACHE_SLOTS];
    if (!e->job_id[0] || strcmp(e->job_id, job_id) != 0 || strcmp(e->user_id, user_id) != 0)
        return false;
    memcpy(etag, e->etag, sizeof e->etag);
    return true;
}

void sp_version_cache_drop(sp_version_cache *c, uint32_t hash, const char *job_id) {
    entry *e = &c->slots[hash % SP_VERSION_CACHE_SLOTS];
    if (e->job_id[0] && strcmp(e->job_id, job_id) == 0) {
        e->job_id[0] = '\0';
        c->count--;
    }
}

void sp_version_cache_clear(sp_version_cache *c) {
    if (c->count == 0) return;
    memset(c->slots, 0, sizeof c->slots);
    c->count = 0;
}

int sp_version_cache_count(const sp_version_cache *c) {
    return c->count;
}
