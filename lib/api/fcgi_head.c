/*
 * fcgi_head: walking FastCGI record headers until the parameters end; see
 * fcgi_head.h. A record is an 8-byte header (version 1, type, request id,
 * content length, padding length, reserved) and its content and padding
 * (the FastCGI 1.0 specification, section 3.3).
 */
#include "api/fcgi_head.h"

#define RECORD_HEADER 8
#define FCGI_VERSION_1 1
#define FCGI_PARAMS 4

sp_fcgi_head sp_fcgi_head_scan(const unsigned char *buf, size_t len) {
    size_t at = 0;
    while (len - at >= RECORD_HEADER) {
        const unsigned char *h = buf + at;
        if (h[0] != FCGI_VERSION_1) return SP_FCGI_HEAD_BAD;
        size_t content = (size_t)h[4] << 8 | h[5];
        if (h[1] == FCGI_PARAMS && content == 0) return SP_FCGI_HEAD_WHOLE;
        size_t record = RECORD_HEADER + content + h[6];
        if (len - at < record) return SP_FCGI_HEAD_PARTIAL;
        at += record;
    }
    return SP_FCGI_HEAD_PARTIAL;
}
