/*
 * fcgi_head: whether the bytes waiting on a FastCGI connection hold a whole
 * request head (its records up to the empty FCGI_PARAMS record that ends
 * the parameters).
 *
 * The dispatcher peeks at a connection's bytes with this before it lets
 * libfcgi read a request, so libfcgi's blocking reads of the head always
 * find their bytes: a peer that sends nothing, or half a record, costs no
 * thread. Not here: reading the request (libfcgi) or its body.
 */
#ifndef SP_FCGI_HEAD_H
#define SP_FCGI_HEAD_H

#include <stddef.h>

typedef enum {
    SP_FCGI_HEAD_PARTIAL, /* more bytes are needed */
    SP_FCGI_HEAD_WHOLE,   /* the parameters are complete */
    SP_FCGI_HEAD_BAD,     /* not FastCGI (a record of another version) */
} sp_fcgi_head;

/* Looks at the first len bytes of a connection's input. */
sp_fcgi_head sp_fcgi_head_scan(const unsigned char *buf, size_t len);

#endif
