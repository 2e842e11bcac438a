/*
 * log: one JSON object per line on stderr.
 *
 * Each line has "ts" (ISO 8601 UTC, milliseconds), "level", "msg" and the
 * caller's fields. A line is written with a single write(2), so lines from
 * concurrent threads never interleave. Callers must not put secrets (tokens,
 * passwords, connection strings) into fields.
 */
#ifndef SP_LOG_H
#define SP_LOG_H

#include <cjson/cJSON.h>

typedef enum { SP_LOG_DEBUG, SP_LOG_INFO, SP_LOG_WARN, SP_LOG_ERROR } sp_log_level;

/* Sets the least level written (default INFO); the program name goes on every line. */
void sp_log_init(const char *program, sp_log_level min_level);

/* Writes msg with the members of fields (an object, or NULL); takes ownership of fields. */
void sp_log_event(sp_log_level level, const char *msg, cJSON *fields);

/* A field of a line written by sp_log_fields: a string, or (str NULL) a number. */
typedef struct {
    const char *key;
    const char *str;
    double num;
} sp_log_field;

/* Writes msg with n fields, formatted directly (no cJSON, no allocation for
 * a line of up to a few KiB): for a line per request. */
void sp_log_fields(sp_log_level level, const char *msg, const sp_log_field *fields, int n);

/* Writes a printf-formatted message without extra fields. */
void sp_log(sp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
