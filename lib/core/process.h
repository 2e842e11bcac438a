/*
 * process: the start every social-post program shares: JSON logging under
 * its name, SIGPIPE ignored (a closed peer is an error return, not a death),
 * and SIGTERM/SIGINT blocked in every thread so that one thread can wait for
 * them with sigwait and stop the program in order.
 */
#ifndef SP_PROCESS_H
#define SP_PROCESS_H

#include <signal.h>

/* Sets up the process for program; fills stop_signals with the blocked set. */
void sp_process_init(const char *program, sigset_t *stop_signals);

#endif
