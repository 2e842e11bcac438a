/*
 * iso8601: sscanf for the fields, timegm for the instant, and a round trip
 * through timegm to refuse dates that do not exist (February 30).
 */
#include "core/iso8601.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

bool sp_iso8601_parse(const char *text, double *out) {
    struct tm tm = {0};
    int n = 0;
    if (sscanf(text, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 19)
        return false;
    const char *p = text + n;
    double fraction = 0, scale = 0.1;
    if (*p == '.') {
        if (!(*++p >= '0' && *p <= '9')) return false;
        for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
            fraction += (*p - '0') * scale;
    }
    int offset = 0, oh = 0, om = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strlen(p) >= 6 && p[3] == ':' &&
               sscanf(p + 1, "%2d:%2d", &oh, &om) == 2) {
        offset = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        p += 6;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 5 &&
               sscanf(p + 1, "%2d%2d", &oh, &om) == 2) {
        offset = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60); /* +0000, as Graph writes */
        p += 5;
    } else {
        return false;
    }
    if (*p || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || oh > 23 || om > 59)
        return false;
    int day = tm.tm_mday, month = tm.tm_mon;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (tm.tm_mday != day || tm.tm_mon != month - 1) return false; /* e.g. February 30 */
    *out = (double)t + fraction - offset;
    return true;
}
