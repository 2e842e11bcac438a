/*
 * etag: If-None-Match against a representation's ETag, as RFC 9110 says
 * (section 13.1.2): "*" matches any, otherwise a list of entity tags any of
 * which matches by the weak comparison (section 8.8.3.2: the opaque tags are
 * equal, whether either is marked W/ or not). nginx turns a strong ETag weak
 * whenever it compresses an answer, so a byte-for-byte comparison never
 * matched behind gzip and a page re-asked in a tight loop.
 *
 * Not here: making ETags (the jobs' view derives them from the body).
 */
#ifndef SP_ETAG_H
#define SP_ETAG_H

#include <stdbool.h>

/* True when the If-None-Match field value names etag (a quoted entity tag,
 * W/ or not). A malformed list matches only in the tags before the fault. */
bool sp_etag_none_match_names(const char *if_none_match, const char *etag);

#endif
