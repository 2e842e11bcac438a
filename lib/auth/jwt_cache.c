/*
 * jwt_cache: a direct-mapped table of SP_JWT_CACHE_SLOTS accepted tokens
 * (jwt_cache.h), each slot owning a copy of its token and of the claims'
 * JSON, behind one mutex: a hit holds it for one comparison and one copy.
 */
#include "auth/jwt_cache.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rand.h"

typedef struct {
    char *token; /* NULL: empty slot */
    size_t len;
    unsigned long gen;
    char sub[37];
    char *claims_json;
    sp_jwt_times times;
} slot;

struct sp_jwt_cache {
    pthread_mutex_t lock;
    uint64_t seed; /* so nobody can choose tokens that share a slot */
    unsigned long hits;
    slot slots[SP_JWT_CACHE_SLOTS];
};

sp_jwt_cache *sp_jwt_cache_new(void) {
    sp_jwt_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    pthread_mutex_init(&c->lock, NULL);
    c->seed = sp_rand_u64();
    return c;
}

static void empty(slot *s) {
    if (s->token) OPENSSL_cleanse(s->token, s->len); /* a bearer credential */
    free(s->token);
    free(s->claims_json);
    memset(s, 0, sizeof *s);
}

void sp_jwt_cache_free(sp_jwt_cache *c) {
    if (!c) return;
    for (int i = 0; i < SP_JWT_CACHE_SLOTS; i++)
        empty(&c->slots[i]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* FNV-1a over the token, from the seed: time depends on the length only. */
static slot *slot_of(sp_jwt_cache *c, const char *token, size_t len) {
    uint64_t h = 14695981039346656037ULL ^ c->seed;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)token[i];
        h *= 1099511628211ULL;
    }
    return &c->slots[(h ^ (h >> 32)) % SP_JWT_CACHE_SLOTS];
}

bool sp_jwt_cache_get(sp_jwt_cache *c, const char *token, size_t len, unsigned long gen,
                      sp_jwt_claims *out, sp_jwt_times *times) {
    if (!c) return false;
    slot *s = slot_of(c, token, len);
    bool found = false;
    pthread_mutex_lock(&c->lock);
    if (s->token && s->len == len && s->gen == gen && CRYPTO_memcmp(s->token, token, len) == 0 &&
        (out->claims_json = strdup(s->claims_json)) != NULL) {
        memcpy(out->sub, s->sub, sizeof out->sub);
        *times = s->times;
        c->hits++;
        found = true;
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

void sp_jwt_cache_put(sp_jwt_cache *c, const char *token, size_t len, unsigned long gen,
                      const sp_jwt_claims *claims, const sp_jwt_times *times) {
    if (!c) return;
    slot fresh = {.token = malloc(len), .len = len, .gen = gen,
                  .claims_json = strdup(claims->claims_json), .times = *times};
    if (!fresh.token || !fresh.claims_json) {
        free(fresh.token);
        free(fresh.claims_json);
        return;
    }
    memcpy(fresh.token, token, len);
    memcpy(fresh.sub, claims->sub, sizeof fresh.sub);
    slot *s = slot_of(c, token, len);
    pthread_mutex_lock(&c->lock);
    slot old = *s;
    *s = fresh;
    pthread_mutex_unlock(&c->lock);
    empty(&old);
}

unsigned long sp_jwt_cache_hits(sp_jwt_cache *c) {
    if (!c) return 0;
    pthread_mutex_lock(&c->lock);
    unsigned long n = c->hits;
    pthread_mutex_unlock(&c->lock);
    return n;
}
