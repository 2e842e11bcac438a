/*
 * etag: reading an If-None-Match list; see etag.h. Grammar (RFC 9110,
 * sections 8.8.3 and 13.1.2):
 *   If-None-Match = "*" / #entity-tag
 *   entity-tag    = [ "W/" ] DQUOTE *etagc DQUOTE
 *   etagc         = %x21 / %x23-7E / obs-text
 */
#include "api/etag.h"

#include <string.h>

/* Skips optional whitespace and list commas. */
static const char *skip_separators(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    return p;
}

/* The opaque tag of an entity tag (its quoted part, quotes included) at p:
 * sets *len and returns its start, or NULL when p is no entity tag. */
static const char *opaque_tag(const char *p, size_t *len) {
    if (p[0] == 'W' && p[1] == '/') p += 2;
    if (*p != '"') return NULL;
    const char *q = p + 1;
    while (*q && *q != '"' && (unsigned char)*q >= 0x21 && *q != 0x7F)
        q++;
    if (*q != '"') return NULL;
    *len = (size_t)(q + 1 - p);
    return p;
}

bool sp_etag_none_match_names(const char *if_none_match, const char *etag) {
    size_t want_len;
    const char *want = opaque_tag(etag, &want_len);
    if (!if_none_match || !want) return false;
    const char *p = skip_separators(if_none_match);
    if (*p == '*' && *skip_separators(p + 1) == '\0') return true;
    while (*p) {
        size_t len;
        const char *tag = opaque_tag(p, &len);
        if (!tag) return false;
        if (len == want_len && memcmp(tag, want, len) == 0) return true;
        p = skip_separators(tag + len);
    }
    return false;
}
