/*
 * err: the one way a social-post function fails.
 *
 * A failing function fills an sp_err with a stable code and a human message and
 * returns -1. Callers either handle the code or pass the error up unchanged; the
 * HTTP layer maps codes to status lines in one table (api/response.c), so the code is
 * all a caller needs to decide. Messages are safe to show to the user: never put
 * a secret or a raw SQL error in them.
 */
#ifndef SP_ERR_H
#define SP_ERR_H

#include <stddef.h>

typedef enum {
    SP_OK = 0,
    SP_ERR_INTERNAL,       /* a bug or an unexpected library failure */
    SP_ERR_OOM,            /* out of memory */
    SP_ERR_BAD_REQUEST,    /* malformed input: 400 */
    SP_ERR_UNAUTHORIZED,   /* missing or invalid token: 401 */
    SP_ERR_NOT_FOUND,      /* unknown, or someone else's: 404 */
    SP_ERR_METHOD,         /* wrong method: 405 */
    SP_ERR_CONFLICT,       /* state does not allow it: 409 */
    SP_ERR_TOO_LARGE,      /* body too large: 413 */
    SP_ERR_MEDIA_TYPE,     /* not JSON: 415 */
    SP_ERR_UNPROCESSABLE,  /* well-formed but not acceptable: 422 */
    SP_ERR_DB_UNAVAILABLE, /* database down or unreachable: 503 */
    SP_ERR_TRANSIENT       /* worth trying again later (network, 5xx): 503 */
} sp_err_kind;

/* A failure: its kind, a stable snake_case code for clients, and a message. */
typedef struct {
    sp_err_kind kind;
    char code[48];
    char msg[256];
} sp_err;

/* Records a failure; fmt is printf-style. Always returns -1 so callers can
 * `return sp_err_set(...)`. err may be NULL. */
int sp_err_set(sp_err *err, sp_err_kind kind, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Resets err to "no error". */
void sp_err_clear(sp_err *err);

/* The text of errno value errnum, safe in any thread (strerror is not): it
 * may be written into buf (len bytes) or be a static string. */
const char *sp_strerror(int errnum, char *buf, size_t len);

#endif
