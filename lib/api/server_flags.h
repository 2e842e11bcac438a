/*
 * server_flags: the command line of the FastCGI programs (--listen,
 * --threads, --help, --version).
 */
#ifndef SP_SERVER_FLAGS_H
#define SP_SERVER_FLAGS_H

#include "api/server.h"

#define SP_MAX_THREADS 256

typedef struct {
    const char *listen; /* NULL: accept on fd 0 */
    int threads;
} sp_server_flags;

/* Parses argv into flags; returns 0 to run, 1 to exit 0 (--help, --version:
 * printed), -1 on a usage error (explained on stderr). */
int sp_server_flags_parse(int argc, char **argv, const sp_server_spec *spec, sp_server_flags *o);

#endif
