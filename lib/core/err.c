/*
 * err: filling sp_err. Codes and messages are truncated, never overflowed.
 */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int sp_err_set(sp_err *err, sp_err_kind kind, const char *code, const char *fmt, ...) {
    if (!err) return -1;
    err->kind = kind;
    snprintf(err->code, sizeof err->code, "%s", code ? code : "error");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

void sp_err_clear(sp_err *err) {
    if (!err) return;
    err->kind = SP_OK;
    err->code[0] = '\0';
    err->msg[0] = '\0';
}

const char *sp_strerror(int errnum, char *buf, size_t len) {
    return strerror_r(errnum, buf, len); /* the GNU form: thread-safe, returns the text */
}
