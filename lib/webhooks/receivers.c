/*
 * receivers: the receiver of a callbackUrl and the list of busy ones. The
 * table is a handful of rows (one per sender), so counting is a double loop
 * and nothing is allocated but the answer; cJSON writes the strings, so a
 * receiver with quotes or backslashes (a URL written with plain SQL) is
 * still one whole element.
 */
#include "webhooks/receivers.h"

#include <ctype.h>
#include <string.h>

#include "core/json.h"
#include "webhooks/callback_url.h"

void sp_receiver_of(const char *url, char out[SP_RECEIVER_MAX]) {
    sp_callback_url_origin(url, out, SP_RECEIVER_MAX);
    for (char *c = out; *c; c++)
        *c = (char)tolower((unsigned char)*c);
}

/* How many rows of calling name calling[i], and whether i is the first. */
static int calls_of(const char (*calling)[SP_RECEIVER_MAX], int n, int i, int *first) {
    int calls = 0;
    *first = i;
    for (int j = 0; j < n; j++) {
        if (strcmp(calling[j], calling[i]) != 0) continue;
        if (calls++ == 0) *first = j;
    }
    return calls;
}

char *sp_receivers_busy(const char (*calling)[SP_RECEIVER_MAX], int n, int limit) {
    cJSON *busy = cJSON_CreateArray();
    for (int i = 0; busy && i < n; i++) {
        int first;
        if (!calling[i][0] || calls_of(calling, n, i, &first) < limit || first != i) continue;
        cJSON *name = cJSON_CreateString(calling[i]);
        if (!name || !cJSON_AddItemToArray(busy, name)) {
            cJSON_Delete(name);
            cJSON_Delete(busy);
            busy = NULL;
        }
    }
    char *text = busy ? sp_json_print(busy) : NULL;
    cJSON_Delete(busy);
    return text;
}
