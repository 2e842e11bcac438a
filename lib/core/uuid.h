/*
 * uuid: recognising the canonical 8-4-4-4-12 hex form that Postgres prints.
 */
#ifndef SP_UUID_H
#define SP_UUID_H

#include <stdbool.h>

/* True when s is a canonical UUID (either case) and nothing else. */
bool sp_uuid_valid(const char *s);

/* Copies a valid UUID into out (37 bytes) in lower case; false when invalid. */
bool sp_uuid_normalize(const char *s, char out[37]);

#endif
