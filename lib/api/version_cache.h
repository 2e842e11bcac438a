/*
 * version_cache: the versions (ETags) of the jobs a status process has
 * served, and who read them, so that a page polling an unchanged job is
 * answered 304 without a database round trip.
 *
 * A fixed table of SP_VERSION_CACHE_SLOTS entries, each job in the slot its
 * id hashes to: a newer job in the same slot evicts the older one, so the
 * memory is bounded (about 120 bytes a slot) whatever the traffic. An entry
 * says "user U read job J at version E"; it is only as good as whoever
 * keeps it current: the long-poll lot (long_poll.h) drops a job's entry on
 * its change notification and every entry when its LISTEN connection is
 * lost, and stores one only when no notification can have been missed.
 *
 * Not thread-safe: the caller holds its own lock around every call.
 * Not here: deciding when an entry may be stored (long_poll.c).
 */
#ifndef SP_VERSION_CACHE_H
#define SP_VERSION_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#define SP_VERSION_CACHE_SLOTS 16384

typedef struct sp_version_cache sp_version_cache;

/* An empty cache, or NULL when out of memory. */
sp_version_cache *sp_version_cache_new(void);

void sp_version_cache_free(sp_version_cache *c);

/* Notes that user_id read job_id at etag (a quoted entity tag), evicting
 * whatever held the slot. hash is the job id's hash. */
void sp_version_cache_put(sp_version_cache *c, uint32_t hash, const char *job_id,
                          const char *user_id, const char *etag);

/* Copies into etag (40 bytes) the version user_id last read of job_id;
 * false when the cache holds none for that user. */
bool sp_version_cache_get(const sp_version_cache *c, uint32_t hash, const char *job_id,
                          const char *user_id, char etag[40]);

/* Forgets job_id (it changed). */
void sp_version_cache_drop(sp_version_cache *c, uint32_t hash, const char *job_id);

/* Forgets every job (notifications may have been missed). */
void sp_version_cache_clear(sp_version_cache *c);

/* How many jobs it holds. */
int sp_version_cache_count(const sp_version_cache *c);

#endif
