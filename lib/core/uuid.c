/*
 * uuid: syntax only. Whether a UUID names a row is the database's business.
 */
#include "core/uuid.h"

#include <ctype.h>
#include <string.h>

bool sp_uuid_valid(const char *s) {
    if (!s || strlen(s) != 36) return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

bool sp_uuid_normalize(const char *s, char out[37]) {
    if (!sp_uuid_valid(s)) return false;
    for (int i = 0; i < 36; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[36] = '\0';
    return true;
}
