/*
 * server_flags: getopt_long over the FastCGI programs' few options.
 */
#include "api/server_flags.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static void usage(const sp_server_spec *spec, FILE *out) {
    fprintf(out,
            "Usage: %s [--listen PATH|:PORT|HOST:PORT] [--threads N]\n"
            "%s\n\n"
            "  --listen ADDR   open this socket instead of accepting on fd 0 (the socket\n"
            "                  spawn-fcgi or a systemd socket unit passes)\n"
            "  --threads N     requests served at once, each with its own database\n"
            "                  connection (default %d)\n"
            "  --version       print the version and exit\n"
            "  --help          show this help\n\n"
            "Configuration comes from the environment (DATABASE_URL, SUPABASE_JWT_SECRET,\n"
            "SUPABASE_JWKS_FILE, SUPABASE_URL, JWT_AUDIENCE, CORS_ALLOWED_ORIGINS); see README.\n",
            spec->program, spec->summary, spec->default_threads);
}

int sp_server_flags_parse(int argc, char **argv, const sp_server_spec *spec, sp_server_flags *o) {
    static const struct option longopts[] = {{"listen", required_argument, NULL, 'l'},
                                             {"threads", required_argument, NULL, 't'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    o->listen = NULL;
    o->threads = spec->default_threads;
    int c;
    while ((c = getopt_long(argc, argv, "l:t:h", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'l':
            o->listen = optarg;
            break;
        case 't':
            o->threads = (int)strtol(optarg, &end, 10);
            if (!end || *end || o->threads < 1 || o->threads > SP_MAX_THREADS) {
                fprintf(stderr, "%s: --threads must be 1..%d\n", spec->program, SP_MAX_THREADS);
                return -1;
            }
            break;
        case 'h':
            usage(spec, stdout);
            return 1;
        case 'V':
            printf("%s %s\n", spec->program, SP_VERSION);
            return 1;
        default:
            usage(spec, stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument %s\n", spec->program, argv[optind]);
        return -1;
    }
    return 0;
}
