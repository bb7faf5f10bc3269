/* mpart.h — one Jupyter message as the stage kernel's relay holds it.
 *
 * Owns: a multipart message as the zmq frames it was received in (so that what is
 * forwarded is what was received, byte for byte), views of those frames for
 * kernel/wire.h and wire_json.h, reading a string member of a JSON frame (what the relay reads of
 * every message: the light scanner first, jansson only for what it leaves), and a
 * message id as the relay compares ids (frame_id: whole, or by a digest).  Shared
 * by the relay loop (kernel/proxy.c) and the tag's place in iopub (kernel/tagorder.c).
 */
#ifndef NBSTAGE_MPART_H
#define NBSTAGE_MPART_H

#include <jansson.h>
#include <stdint.h>
#include <stddef.h>
#include <zmq.h>

#include "kernel/wire.h"

/* One multipart message, frames owned.  {0} is an empty one. */
struct mpart {
    zmq_msg_t *f;
    size_t n, cap;
};

/* Closes M's frames (M is then empty, its array kept). */
void mpart_close(struct mpart *m);

/* Closes M's frames and frees its array. */
void mpart_free(struct mpart *m);

/* 1: a whole message received from SOCK into M (emptied first; M empty when there was
 * no memory for its frames: the message is read and dropped); 0: none waiting;
 * -1: error. */
int mpart_recv(void *sock, struct mpart *m);

/* Sends every frame of M on SOCK (zmq takes them); M is empty afterwards.  0 or -1. */
int mpart_send(void *sock, struct mpart *m);

/* Views of M's frames in *VIEWS (grown as needed, *CAP entries: the caller's, freed
 * with free); -1 when out of memory. */
int mpart_views(struct mpart *m, struct wire_frame **views, size_t *cap);

/* The JSON text of F parsed by jansson (NULL when it is not JSON). */
json_t *frame_json(const struct wire_frame *f);

/* A string member KEY of the JSON object in F, copied into OUT (CAP bytes, cut at
 * CAP - 1; empty when absent). */
void frame_string(const struct wire_frame *f, const char *key, char *out, size_t cap);

/* A message id (the string member KEY of F) as the proxy compares ids, in OUT: the id
 * itself when it is shorter than MSG_ID_CAP bytes, else "#" and a digest of the whole
 * of it with its length (the protocol sets no length, and two ids cut at the same
 * length, session and all, named one request); empty when absent.  MSG_ID_CAP: wire.h. */
void frame_id(const struct wire_frame *f, const char *key, char out[MSG_ID_CAP]);

/* FNV-1a of N bytes at P: the digest the proxy keys what it cannot keep whole by (a
 * long msg_id here, a frontend's cellId in proxy.c). */
static inline uint64_t frame_fnv1a(const void *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
    return h;
}

#endif
