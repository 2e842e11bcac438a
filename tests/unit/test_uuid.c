/* Unit tests of uuid.c. */
#include "check.h"
#include "core/uuid.h"

int main(void) {
    char out[37];
    CHECK(sp_uuid_valid("3f2504e0-4f89-11d3-9a0c-0305e82c3301"));
    CHECK(sp_uuid_normalize("3F2504E0-4F89-11D3-9A0C-0305E82C3301", out));
    CHECK_STR(out, "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
    CHECK(!sp_uuid_valid(""));
    CHECK(!sp_uuid_valid(NULL));
    CHECK(!sp_uuid_valid("3f2504e0-4f89-11d3-9a0c-0305e82c330"));
    CHECK(!sp_uuid_valid("3f2504e0-4f89-11d3-9a0c-0305e82c33011"));
    CHECK(!sp_uuid_valid("3f2504e04f89-11d3-9a0c-0305e82c3301-"));
    CHECK(!sp_uuid_valid("3f2504e0-4f89-11d3-9a0c-0305e82c330g"));
    CHECK(!sp_uuid_normalize("'; select 1; --", out));
    return check_done("test_uuid");
}
