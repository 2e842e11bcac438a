/*
 * fuzz_callback_url: any bytes as a submit's callbackUrl. The check must
 * never crash or read past the input, and whatever it accepts must keep the
 * promises of callback_url.h: at most 2048 printable ASCII characters,
 * http(s), no credentials in the authority, no fragment; the origin of an
 * accepted URL is a prefix of it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "webhooks/callback_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* an exact-size copy, so a read past the end is caught by ASan */
    char *url = calloc(size ? size : 1, 1);
    if (!url) return 0;
    if (size) memcpy(url, data, size);
    sp_err err;
    if (sp_callback_url_check(url, size, &err) == 0) {
        bool https = size >= 8 && strncasecmp(url, "https://", 8) == 0;
        bool http = size >= 7 && strncasecmp(url, "http://", 7) == 0;
        size_t start = https ? 8 : 7, end = start;
        while (end < size && url[end] != '/' && url[end] != '?')
            end++;
        if (size > SP_CALLBACK_URL_MAX || !(http || https) || memchr(url, '#', size) ||
            memchr(url + start, '@', end - start) || end == start)
            abort();
        for (size_t i = 0; i < size; i++)
            if (url[i] <= 0x20 || url[i] >= 0x7f) abort();
        char *text = malloc(size + 1), origin[SP_CALLBACK_URL_MAX + 1];
        if (!text) abort();
        memcpy(text, url, size);
        text[size] = '\0';
        sp_callback_url_origin(text, origin, sizeof origin);
        if (strncmp(origin, text, strlen(origin)) != 0 || strlen(origin) != end) abort();
        free(text);
    } else if (strcmp(err.code, "invalid_callback_url") != 0) {
        abort();
    }
    free(url);
    return 0;
}
