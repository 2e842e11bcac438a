/*
 * fuzz: what the fuzz targets share. Each tests/fuzz/fuzz_<name>.c defines
 * LLVMFuzzerTestOneInput (and may define LLVMFuzzerInitialize); built with
 * SP_FUZZ=ON it links libFuzzer, otherwise replay.c's main feeds it the
 * files of tests/fuzz/corpus/<name>/ and tests/fuzz/regressions/<name>/, so
 * every crash once found stays a test in the plain and sanitizer builds.
 */
#ifndef SP_FUZZ_H
#define SP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A NUL-terminated copy of the input (caller frees); NULL on no memory. */
static inline char *fuzz_text(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return NULL;
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Takes the next byte of the input as a small number (0 when none left). */
static inline unsigned fuzz_byte(const uint8_t **data, size_t *size) {
    if (*size == 0) return 0;
    unsigned b = **data;
    (*data)++;
    (*size)--;
    return b;
}

#endif
