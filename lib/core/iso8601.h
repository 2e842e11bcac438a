/*
 * iso8601: reading the times clients and platforms write, such as
 * JavaScript's toISOString() ("2026-01-23T10:00:00.000Z") and the Graph API
 * ("2026-01-23T10:00:00+0000"). A zone is required: a time without one means
 * different instants to different machines.
 */
#ifndef SP_ISO8601_H
#define SP_ISO8601_H

#include <stdbool.h>

/* Parses text into unix seconds (with the fraction); false when malformed
 * or not a real date. Exactly YYYY-MM-DDTHH:MM:SS, an optional fraction of
 * 1 to 9 digits, and a zone: Z, +HH:MM or +HHMM (or -). Every field has its
 * fixed number of ASCII digits: no sign, space or other padding, nothing
 * after the zone. */
bool sp_iso8601_parse(const char *text, double *out);

#endif
