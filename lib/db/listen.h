/*
 * listen: LISTEN and waiting for notifications, the one way every thread
 * that hears of changes does it (the worker's wake-up listener, for new jobs
 * and new webhook events; the status program's long-poll waker).
 *
 * A listener is an sp_db like any other: sp_db_listen connects when needed
 * and LISTENs on a channel; sp_db_wait_notifications sleeps until a
 * notification arrives, a wake fd (an eventfd another thread writes to stop
 * or hurry the sleeper) becomes readable, or a deadline passes, and hands each
 * notification to a callback. A lost connection is reported (-1), never
 * hidden: changes made while it was down were not notified, so the caller
 * must treat everything it learned from notifications as stale, LISTEN again
 * (which reconnects) and look at the database once.
 *
 * Notifications that arrive while the connection runs queries are kept by
 * libpq; sp_db_notifications hands them over without waiting.
 *
 * Not here: what a notification means (each caller's concern).
 */
#ifndef SP_DB_LISTEN_H
#define SP_DB_LISTEN_H

#include "db/db.h"

/* Called once per notification; channel and payload live for the call only. */
typedef void (*sp_db_notify_fn)(void *arg, const char *channel, const char *payload);

/* LISTENs on channel (a fixed identifier, never outside input) on db's
 * connection, connecting when needed. Returns 0, or -1 with err set. */
int sp_db_listen(sp_db *db, const char *channel, sp_err *err);

/* Hands every notification libpq has already read to fn (NULL: dropped);
 * returns how many there were. */
int sp_db_notifications(sp_db *db, sp_db_notify_fn fn, void *arg);

/* Waits up to seconds for a notification or for wake_fd (-1: none; its
 * eventfd count is read and cleared) and hands what arrived to fn. Returns
 * the number of notifications (0 on a wake-up or the deadline), or -1 when
 * the connection is lost or was never made (call sp_db_listen again). */
int sp_db_wait_notifications(sp_db *db, int wake_fd, double seconds, sp_db_notify_fn fn, void *arg);

#endif
