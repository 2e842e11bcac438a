/* Unit tests of iso8601.c: exactly the documented forms, nothing looser. */
#include <math.h>

#include "check.h"
#include "core/iso8601.h"

static bool parses_to(const char *text, double want) {
    double t = -1;
    return sp_iso8601_parse(text, &t) && fabs(t - want) < 1e-6;
}

static bool refused(const char *text) {
    double t;
    return !sp_iso8601_parse(text, &t);
}

/* 2026-01-23T10:00:00Z */
#define T0 1769162400.0

static void documented_forms_are_read(void) {
    CHECK(parses_to("2026-01-23T10:00:00Z", T0));
    CHECK(parses_to("2026-01-23T10:00:00.000Z", T0));
    CHECK(parses_to("2026-01-23T10:00:00.5Z", T0 + 0.5));
    CHECK(parses_to("2026-01-23T10:00:00.123456Z", T0 + 0.123456));
    CHECK(parses_to("2026-01-23T10:00:00.123456789Z", T0 + 0.123456789));
    CHECK(parses_to("2026-01-23T15:30:00+05:30", T0));
    CHECK(parses_to("2026-01-23T04:30:00-05:30", T0));
    CHECK(parses_to("2026-01-23T10:00:00+0000", T0)); /* as the Graph API writes */
    CHECK(parses_to("2026-01-23T11:00:00+0100", T0));
    CHECK(parses_to("2024-02-29T00:00:00Z", 1709164800.0));
}

static void padded_signed_or_spaced_fields_are_refused(void) {
    CHECK(refused("2026-01-23T10:00:00+05:3x")); /* was read as +05:03 */
    CHECK(refused("2026-01-23T10:00:00+05:-3"));
    CHECK(refused("2026-01-23T10:-1:00Z"));
    CHECK(refused("2026-01-23T+9:00:00Z"));
    CHECK(refused("2026-01-23T 9:00:00Z"));
    CHECK(refused("2026-01-23T10: 0:00Z"));
    CHECK(refused("2026-01-23T10:00:00+5:30"));
    CHECK(refused("2026-01-23T10:00:00+05:300"));
    CHECK(refused(" 2026-01-23T10:00:00Z"));
    CHECK(refused("+2026-01-23T10:00:00Z"));
    CHECK(refused("-026-01-23T10:00:00Z"));
    CHECK(refused("2026-1-23T10:00:00Z"));
    CHECK(refused("2026-01-+3T10:00:00Z"));
    CHECK(refused("20260123T100000Z"));
}

static void trailing_junk_and_missing_parts_are_refused(void) {
    CHECK(refused("2026-01-23T10:00:00Zjunk"));
    CHECK(refused("2026-01-23T10:00:00Z "));
    CHECK(refused("2026-01-23T10:00:00+05:30x"));
    CHECK(refused("2026-01-23T10:00:00"));  /* no zone */
    CHECK(refused("2026-01-23T10:00:00.")); /* a dot without digits */
    CHECK(refused("2026-01-23T10:00:00.Z"));
    CHECK(refused("2026-01-23T10:00:00.1234567890Z")); /* more than nanoseconds */
    CHECK(refused("2026-01-23 10:00:00Z"));
    CHECK(refused("2026-01-23t10:00:00z"));
    CHECK(refused("2026-01-23"));
    CHECK(refused(""));
}

static void impossible_dates_and_times_are_refused(void) {
    CHECK(refused("2026-02-30T00:00:00Z"));
    CHECK(refused("2025-02-29T00:00:00Z"));
    CHECK(refused("2026-13-01T00:00:00Z"));
    CHECK(refused("2026-00-01T00:00:00Z"));
    CHECK(refused("2026-01-00T00:00:00Z"));
    CHECK(refused("2026-01-23T24:00:00Z"));
    CHECK(refused("2026-01-23T10:60:00Z"));
    CHECK(refused("2026-01-23T10:00:60Z"));
    CHECK(refused("2026-01-23T10:00:00+24:00"));
    CHECK(refused("2026-01-23T10:00:00+00:60"));
}

int main(void) {
    documented_forms_are_read();
    padded_signed_or_spaced_fields_are_refused();
    trailing_junk_and_missing_parts_are_refused();
    impossible_dates_and_times_are_refused();
    return check_done("test_iso8601");
}
