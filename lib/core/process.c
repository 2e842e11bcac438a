/*
 * process: one-time setup of a program's process (see process.h).
 */
#include "core/process.h"

#include <pthread.h>

#include "core/log.h"

void sp_process_init(const char *program, sigset_t *stop_signals) {
    sp_log_init(program, SP_LOG_INFO);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(stop_signals);
    sigaddset(stop_signals, SIGTERM);
    sigaddset(stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, stop_signals, NULL);
}
