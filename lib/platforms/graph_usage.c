/*
 * graph_usage: Meta's rate limits, as a quota to wait out.
 *
 * Meta documents its throttling on one page (Graph API, "Rate Limits",
 * developers.facebook.com/docs/graph-api/overview/rate-limiting): once an
 * app, a user or a Page has used up its calls, every call fails with a
 * throttling code until enough time has passed, and every call made
 * meanwhile counts too and makes the wait longer. So a throttled delivery
 * is not retried on a backoff that counts attempts: it waits, holding
 * nothing, until Meta says access is back, and makes no call before.
 *
 * How long: the X-Business-Use-Case-Usage header (Page and Instagram calls)
 * carries estimated_time_to_regain_access in minutes for each entry; the
 * longest of them is the wait. X-App-Usage carries only percentages (it is
 * read for the message). Without an estimate (code 4 with X-App-Usage, or
 * no header at all) Meta says nothing of when, and the wait is the worker's
 * backoff (queue/delivery.c: growing with such waits in a row, never past
 * its cap, at least the answer's Retry-After), still without an attempt or a
 * call meanwhile: a limit that lifts soon is found soon, and one that does
 * not costs at most a call per cap. Not here: the error object (graph.c).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "platforms/graph.h"

/* The longest estimate believed: Instagram's window, a rolling 24 hours. */
#define GRAPH_REGAIN_MAX_MINUTES (24 * 60)
/* Usage percentages above this are not read (they say "over" already). */
#define GRAPH_USAGE_MAX_PERCENT 10000

/* Meta's throttling codes: 4 (app), 17 (user), 32 (Pages, user token), 613
 * (a custom rate limit), from the Rate Limits page's Platform table; 80000
 * to 80014 from its Business Use Case table (80001: Pages with a Page
 * token, 80002: Instagram); 341 ("Application limit reached"), which
 * php-graph-sdk's FacebookResponseException throws as a throttle. */
static const int throttle_codes[] = {4,     17,    32,    341,   613,   80000, 80001, 80002,
                                     80003, 80004, 80005, 80006, 80008, 80009, 80014};

bool sp_graph_throttled(const sp_graph_resp *r) {
    for (size_t i = 0; i < sizeof throttle_codes / sizeof throttle_codes[0]; i++)
        if (r->code == throttle_codes[i]) return true;
    return false;
}

/* The number at name in obj when it lies in [0, max], else -1. */
static double bounded(const cJSON *obj, const char *name, double max) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0)) return -1; /* NaN too */
    return v->valuedouble <= max ? v->valuedouble : -1;
}

/* Reads one usage entry ({"call_count", ..., "estimated_time_to_regain_access"}). */
static void read_entry(sp_graph_resp *r, const cJSON *entry) {
    static const char *const percents[] = {"call_count", "total_cputime", "total_time"};
    if (!cJSON_IsObject(entry)) return;
    for (size_t i = 0; i < sizeof percents / sizeof percents[0]; i++) {
        double p = bounded(entry, percents[i], GRAPH_USAGE_MAX_PERCENT);
        if (p > r->usage_percent) r->usage_percent = (int)ceil(p);
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(entry, "estimated_time_to_regain_access");
    if (!cJSON_IsNumber(m) || !(m->valuedouble >= 0)) return;
    double minutes = fmin(m->valuedouble, GRAPH_REGAIN_MAX_MINUTES); /* bounds an absurd one */
    long seconds = (long)ceil(minutes * 60);
    if (seconds > r->regain_after) r->regain_after = seconds;
}

void sp_graph_read_usage(sp_graph_resp *r, const char *header) {
    cJSON *usage = header && *header ? cJSON_Parse(header) : NULL;
    if (!cJSON_IsObject(usage)) goto done;
    if (cJSON_GetObjectItemCaseSensitive(usage, "call_count")) { /* X-App-Usage: one entry */
        read_entry(r, usage);
        goto done;
    }
    const cJSON *entries;
    cJSON_ArrayForEach(entries, usage) { /* X-Business-Use-Case-Usage: id -> entries */
        const cJSON *entry;
        if (!cJSON_IsArray(entries)) continue;
        cJSON_ArrayForEach(entry, entries) read_entry(r, entry);
    }
done:
    cJSON_Delete(usage);
}

double sp_graph_quota_wait(const sp_graph_resp *r) {
    return r->regain_after > 0 ? (double)r->regain_after : -1;
}

void sp_graph_quota_outcome(const sp_graph_resp *r, const char *platform, const char *doing,
                            sp_step_outcome *out) {
    char usage[48] = "";
    if (r->usage_percent >= 0)
        snprintf(usage, sizeof usage, ", %d%% of the limit used", r->usage_percent);
    double wait = sp_graph_quota_wait(r);
    if (wait > 0) {
        sp_step_quota(out, wait,
                      "%s's rate limit is reached while %s (%s%s); waiting %.0f minutes, as "
                      "Meta estimates, then trying again",
                      platform, doing, r->message, usage, ceil(wait / 60));
        return;
    }
    sp_step_quota_backoff(out, r->retry_after >= 0 ? (double)r->retry_after : -1,
                          "%s's rate limit is reached while %s (%s%s); Meta did not say for how "
                          "long: trying again at retryAt",
                          platform, doing, r->message, usage);
}
