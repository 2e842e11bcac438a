/*
 * receivers: who a worker's webhook senders are calling, so that one slow
 * receiver only ever holds a few of them.
 *
 * A receiver is a callbackUrl's origin (scheme, host and port), lowercased:
 * the events of one app's endpoint share it whatever their paths. Each
 * sender notes the receiver it calls (or "" while idle) in its row of a
 * table the caller owns and locks; sp_receivers_busy lists the receivers
 * with limit or more calls in flight, as a JSON array of strings, which the
 * outbox's claim passes over (queue/outbox.c computes the same origin in
 * SQL).
 *
 * Not here: locking (the caller's), the database, or sending.
 */
#ifndef SP_RECEIVERS_H
#define SP_RECEIVERS_H

/* An origin of at most 8 + 253 + 6 characters, and room to spare. */
#define SP_RECEIVER_MAX 300

/* Writes url's receiver into out: its origin, lowercased (cut to fit). */
void sp_receiver_of(const char *url, char out[SP_RECEIVER_MAX]);

/* The receivers named limit or more times among calling[0..n) ("" rows are
 * idle), each once, as a JSON array of strings; "[]" when none. Caller
 * frees; NULL when out of memory. */
char *sp_receivers_busy(const char (*calling)[SP_RECEIVER_MAX], int n, int limit);

#endif
