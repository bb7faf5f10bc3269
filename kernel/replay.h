/* replay.h — the signatures of the client messages the proxy has let through, so that
 * a message sent a second time (a replay) is dropped, as the wrapped kernel drops it.
 *
 * Owns: a bounded set of signatures.  ipykernel's Session refuses a message whose
 * signature it has seen before ("Duplicate Signature": jupyter_client's digest
 * history, 2^16 entries).  The proxy must refuse it too: otherwise it acts on a request
 * the kernel never runs (classifies the cell, and keeps its pending entry for an idle
 * that never comes).  With an empty key nothing is signed and nothing is checked, on
 * either side.
 *
 * Two generations of REPLAY_GENERATION signatures each: a lookup checks both, an insert
 * goes to the newer, and when the newer is full the older is dropped.  So at least the
 * last REPLAY_GENERATION and at most twice as many are remembered, the same order as
 * ipykernel's 65,536.  A signature is an HMAC-SHA256 (or -SHA512), uniformly random without the
 * key: its first 16 bytes are kept (a chance collision among 2^16 of them is ~2^-97)
 * and its first 8 are the hash.
 */
#ifndef NBSTAGE_REPLAY_H
#define NBSTAGE_REPLAY_H

#include <stddef.h>

#define REPLAY_GENERATION 32768

struct replay_set;

/* An empty set; NULL when out of memory.  About 1.1 MB per generation once filled. */
struct replay_set *replay_new(void);
void replay_free(struct replay_set *r);

/* 1 when the signature SIG[0..LEN) (hex, as on the wire) was given before; otherwise
 * remembers it and returns 0.  A signature shorter than 32 hex digits, or not hex, is
 * never remembered (0): wire_verify has refused it already. */
int replay_seen(struct replay_set *r, const unsigned char *sig, size_t len);

#endif
