/* Unit tests of etag.c: If-None-Match by RFC 9110's weak comparison. */
#include "api/etag.h"
#include "check.h"

int main(void) {
    const char *etag = "\"1a2b\"";
    CHECK(sp_etag_none_match_names("\"1a2b\"", etag));
    CHECK(sp_etag_none_match_names("W/\"1a2b\"", etag)); /* what nginx's gzip makes */
    CHECK(sp_etag_none_match_names("\"1a2b\"", "W/\"1a2b\""));
    CHECK(sp_etag_none_match_names("\"x\", W/\"1a2b\"", etag));
    CHECK(sp_etag_none_match_names(" \"x\" ,\t\"1a2b\" ", etag));
    CHECK(sp_etag_none_match_names("*", etag));
    CHECK(sp_etag_none_match_names(" * ", etag));
    CHECK(!sp_etag_none_match_names("\"1a2c\"", etag));
    CHECK(!sp_etag_none_match_names("\"1a2b", etag));
    CHECK(!sp_etag_none_match_names("1a2b", etag));
    CHECK(!sp_etag_none_match_names("w/\"1a2b\"", etag)); /* W is upper case */
    CHECK(!sp_etag_none_match_names("\"1a2\"", etag));
    CHECK(!sp_etag_none_match_names("\"x\" junk, \"1a2b\"", etag));
    CHECK(!sp_etag_none_match_names("*, \"x\"", etag));
    CHECK(!sp_etag_none_match_names("", etag));
    CHECK(!sp_etag_none_match_names(NULL, etag));
    CHECK(!sp_etag_none_match_names("\"1a2b\"", "1a2b"));
    return check_done("test_etag");
}
