/*
 * log: JSON lines on stderr. The line is built in memory (with cJSON for
 * sp_log_event, directly into a buffer for sp_log_fields and sp_log) and
 * written with one write(2) call, which keeps concurrent threads' lines whole.
 * Strings are escaped as cJSON escapes them, and a line is always valid
 * UTF-8: bytes that are not (from a request) are written as \ufffd.
 */
#include "core/log.h"

#include "core/json.h"

#include <stdarg.h>
#include <stdbool.h>
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
    char *text = sp_json_print(line);
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

/* Appends s to p as a JSON string (quotes included), a byte that is not
 * part of well-formed UTF-8 (request bytes >= 0x80) as \ufffd; p has room
 * for 6 * strlen(s) + 2 bytes. Returns the new end. */
static char *put_string(char *p, const char *s) {
    static const char hex[] = "0123456789abcdef";
    static const char short_escape[128] = {['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r',
                                           ['\t'] = 't', ['"'] = '"',  ['\\'] = '\\'};
    const char *end = s + strlen(s);
    *p++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c < sizeof short_escape && short_escape[*c]) {
            *p++ = '\\';
            *p++ = short_escape[*c];
        } else if (*c < 0x20) {
            memcpy(p, "\\u00", 4);
            p[4] = hex[*c >> 4];
            p[5] = hex[*c & 15];
            p += 6;
        } else if (*c < 0x80) {
            *p++ = (char)*c;
        } else {
            size_t n = sp_utf8_next((const char *)c, end);
            if (n) {
                memcpy(p, c, n);
                p += n;
                c += n - 1;
            } else {
                memcpy(p, "\\ufffd", 6);
                p += 6;
            }
        }
    }
    *p++ = '"';
    return p;
}

/* Appends a number: whole numbers as integers, others with up to 3
 * decimals (durations in ms); what JSON has no form for becomes null. */
static char *put_number(char *p, double v) {
    if (!(v == v) || v > 9e15 || v < -9e15) {
        memcpy(p, "null", 4);
        return p + 4;
    }
    bool neg = v < 0;
    if (neg) v = -v;
    unsigned long long milli = (unsigned long long)(v * 1000 + 0.5);
    unsigned long long whole = milli / 1000;
    unsigned frac = (unsigned)(milli % 1000);
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole);
    if (neg && (n > 1 || digits[0] != '0' || frac)) *p++ = '-';
    while (n > 0)
        *p++ = digits[--n];
    if (frac) {
        *p++ = '.';
        *p++ = (char)('0' + frac / 100);
        if (frac % 100) *p++ = (char)('0' + frac / 10 % 10);
        if (frac % 10) *p++ = (char)('0' + frac % 10);
    }
    return p;
}

/* Appends ,"key":value for one field. */
static char *put_field(char *p, const char *key, const char *str, double num) {
    *p++ = ',';
    p = put_string(p, key);
    *p++ = ':';
    return str ? put_string(p, str) : put_number(p, num);
}

/* This thread's "2026-01-23T10:00:00" for the current second, formatted once
 * a second; the milliseconds are added per line. */
static const char *second_iso(time_t sec) {
    static _Thread_local time_t cached = -1;
    static _Thread_local char text[32];
    if (sec != cached) {
        struct tm tm;
        gmtime_r(&sec, &tm);
        strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
        cached = sec;
    }
    return text;
}

void sp_log_fields(sp_log_level level, const char *msg, const sp_log_field *fields, int n) {
    if (level < log_min_level) return;
    if (!msg) msg = "";
    size_t need = 160 + 6 * strlen(log_program) + 6 * strlen(msg);
    for (int i = 0; i < n; i++)
        need += 48 + 6 * strlen(fields[i].key) + (fields[i].str ? 6 * strlen(fields[i].str) : 0);
    char stack[4096];
    char *buf = need <= sizeof stack ? stack : malloc(need);
    if (!buf) return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char ts[40];
    const char *sec = second_iso(now.tv_sec);
    size_t sl = strlen(sec);
    long ms = now.tv_nsec / 1000000;
    memcpy(ts, sec, sl);
    ts[sl] = '.';
    ts[sl + 1] = (char)('0' + ms / 100);
    ts[sl + 2] = (char)('0' + ms / 10 % 10);
    ts[sl + 3] = (char)('0' + ms % 10);
    ts[sl + 4] = 'Z';
    ts[sl + 5] = '\0';
    char *p = buf;
    *p++ = '{';
    p = put_string(p, "ts");
    *p++ = ':';
    p = put_string(p, ts);
    p = put_field(p, "level", level_name(level), 0);
    p = put_field(p, "program", log_program, 0);
    p = put_field(p, "msg", msg, 0);
    for (int i = 0; i < n; i++)
        p = put_field(p, fields[i].key, fields[i].str, fields[i].num);
    *p++ = '}';
    *p++ = '\n';
    write_line(buf, (size_t)(p - buf));
    if (buf != stack) free(buf);
}

void sp_log(sp_log_level level, const char *fmt, ...) {
    if (level < log_min_level) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sp_log_fields(level, msg, NULL, 0);
}
