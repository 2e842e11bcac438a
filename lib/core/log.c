/*
 * log: JSON lines on stderr. The line is built in memory with cJSON and written
 * with one write(2) call, which keeps concurrent threads' lines whole.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *log_program = "social-post";
static sp_log_level log_min_level = SP_LOG_INFO;

static const char *level_name(sp_log_level level) {
    switch (level) {
    case SP_LOG_DEBUG:
        return "debug";
    case SP_LOG_INFO:
        return "info";
    case SP_LOG_WARN:
        return "warn";
    default:
        return "error";
    }
}

void sp_log_init(const char *program, sp_log_level min_level) {
    log_program = program;
    log_min_level = min_level;
}

/* Formats now as 2026-01-23T10:00:00.123Z. */
static void now_iso(char *buf, size_t len) {
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
}

/* Writes all of buf, retrying short writes; logging never fails loudly. */
static void write_line(const char *buf, size_t len) {
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, buf, len);
        if (w <= 0) return;
        buf += w;
        len -= (size_t)w;
    }
}

void sp_log_event(sp_log_level level, const char *msg, cJSON *fields) {
    if (level < log_min_level) {
        cJSON_Delete(fields);
        return;
    }
    char ts[40];
    now_iso(ts, sizeof ts);
    cJSON *line = cJSON_CreateObject();
    if (!line) {
        cJSON_Delete(fields);
        return;
    }
    cJSON_AddStringToObject(line, "ts", ts);
    cJSON_AddStringToObject(line, "level", level_name(level));
    cJSON_AddStringToObject(line, "program", log_program);
    cJSON_AddStringToObject(line, "msg", msg ? msg : "");
    if (fields) {
        cJSON *item = fields->child;
        while (item) {
            cJSON *next = item->next;
            cJSON_DetachItemViaPointer(fields, item);
            cJSON_AddItemToObject(line, item->string, item);
            item = next;
        }
        cJSON_Delete(fields);
    }
    char *text = cJSON_PrintUnformatted(line);
    cJSON_Delete(line);
    if (!text) return;
    size_t n = strlen(text);
    char *withnl = realloc(text, n + 2);
    if (!withnl) {
        free(text);
        return;
    }
    withnl[n] = '\n';
    withnl[n + 1] = '\0';
    write_line(withnl, n + 1);
    free(withnl);
}

void sp_log(sp_log_level level, const char *fmt, ...) {
    if (level < log_min_level) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sp_log_event(level, msg, NULL);
}
