/*
 * iso8601: a reader of exactly the documented forms, field by field (fixed
 * widths, ASCII digits only: no signs, spaces or padding that sscanf would
 * let through), then timegm for the instant and a round trip through it to
 * refuse dates that do not exist (February 30).
 */
#include "core/iso8601.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

/* Reads exactly width ASCII digits at *p into *out and moves *p past them. */
static bool digits(const char **p, int width, int *out) {
    int v = 0;
    for (int i = 0; i < width; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    *p += width;
    *out = v;
    return true;
}

/* Reads the expected character c at *p. */
static bool literal(const char **p, char c) {
    if (**p != c) return false;
    (*p)++;
    return true;
}

/* Reads ".d..." (1 to 9 digits) when present, into *fraction. */
static bool fraction_part(const char **p, double *fraction) {
    *fraction = 0;
    if (**p != '.') return true;
    (*p)++;
    double scale = 0.1;
    int n = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++, n++, scale /= 10)
        *fraction += (**p - '0') * scale;
    return n >= 1 && n <= 9;
}

/* Reads the zone: Z, +HH:MM, -HH:MM, +HHMM or -HHMM, into seconds east. */
static bool zone(const char **p, int *offset) {
    int hh = 0, mm = 0;
    *offset = 0;
    if (literal(p, 'Z')) return true;
    char sign = **p;
    if (sign != '+' && sign != '-') return false;
    (*p)++;
    if (!digits(p, 2, &hh)) return false;
    if (**p == ':') (*p)++;
    if (!digits(p, 2, &mm) || hh > 23 || mm > 59) return false;
    *offset = (sign == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    return true;
}

bool sp_iso8601_parse(const char *text, double *out) {
    struct tm tm = {0};
    const char *p = text;
    double fraction;
    int offset;
    if (!digits(&p, 4, &tm.tm_year) || !literal(&p, '-') || !digits(&p, 2, &tm.tm_mon) ||
        !literal(&p, '-') || !digits(&p, 2, &tm.tm_mday) || !literal(&p, 'T') ||
        !digits(&p, 2, &tm.tm_hour) || !literal(&p, ':') || !digits(&p, 2, &tm.tm_min) ||
        !literal(&p, ':') || !digits(&p, 2, &tm.tm_sec) || !fraction_part(&p, &fraction) ||
        !zone(&p, &offset) || *p != '\0')
        return false;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 59)
        return false;
    int day = tm.tm_mday, month = tm.tm_mon;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (tm.tm_mday != day || tm.tm_mon != month - 1) return false; /* e.g. February 30 */
    *out = (double)t + fraction - offset;
    return true;
}
