/* wire.h — the Jupyter wire protocol, as the stage kernel's proxy sees it.
 *
 * Owns: splitting a multipart message into identities, signature, the four JSON frames
 * and buffers; HMAC-SHA256 and HMAC-SHA512 signing and checking (libsodium, any key
 * length: the schemes of jupyter_client's Session that libsodium has); building
 * a new signed message from JSON text; message ids and dates.  Reading the JSON frames
 * in place is wire_json.h's.  No socket code here: frames are (data, len) views, so the
 * proxy can forward the untouched zmq frames byte for byte and the unit tests can feed
 * anything at all.
 *
 *   [identities..., "<IDS|MSG>", signature, header, parent_header, metadata, content,
 *    buffers...]
 */
#ifndef NBSTAGE_WIRE_H
#define NBSTAGE_WIRE_H

#include <stddef.h>

#define WIRE_DELIM "<IDS|MSG>"
/* The bytes a message id is kept in wherever the proxy compares ids (mpart.h's
 * frame_id: longer ones by a digest), the classify worker's answers included. */
#define MSG_ID_CAP 128
#define WIRE_SIG_HEX 64      /* hex digits of an HMAC-SHA256 */
#define WIRE_SIG_HEX_MAX 128 /* of an HMAC-SHA512, the longest */

struct wire_frame {
    const unsigned char *data;
    size_t len;
};

/* Where the parts of one message are, as indexes into its frame array. */
struct wire_parts {
    size_t n_ids;     /* frames before the delimiter (the delimiter's index) */
    size_t sig;       /* index of the signature frame */
    size_t header;    /* header, parent_header, metadata, content follow at +1.. +3 */
    size_t n_buffers; /* frames after content */
};

/* 0 and fills P when FRAMES has a delimiter followed by at least five frames; when
 * the message is malformed, WIRE_NO_DELIM or WIRE_TOO_FEW (frames after it). */
enum { WIRE_NO_DELIM = -1, WIRE_TOO_FEW = -2 };
int wire_split(const struct wire_frame *frames, size_t n, struct wire_parts *p);

/* A signing key.  An empty key means "no signing" (Jupyter's convention): signatures
 * are then empty and not checked. */
struct wire_key {
    unsigned char *bytes;
    size_t len;
    void *ready; /* wire_key_prepare's HMAC state after the key, and the scheme; NULL:
                    hmac-sha256 computed from the key each time */
};

/* Computes the part of every signature that depends on the key alone (two hash
 * blocks), so that signing and checking start from it; without it (or when out of
 * memory: -1) they compute it each time.  Same signatures either way.  The scheme is
 * hmac-sha256 (Jupyter's default) for wire_key_prepare, hmac-sha512 too (SHA512 not 0)
 * for wire_key_prepare_scheme, which an hmac-sha512 key needs: -1 then means it cannot
 * sign. */
int wire_key_prepare(struct wire_key *key);
int wire_key_prepare_scheme(struct wire_key *key, int sha512);

/* Wipes and frees what wire_key_prepare made. */
void wire_key_release(struct wire_key *key);

/* Lower-case hex HMAC of the four JSON frames into HEX (WIRE_SIG_HEX_MAX + 1 bytes;
 * WIRE_SIG_HEX + 1 do for an HMAC-SHA256 key); the empty string for an empty key. */
void wire_sign(const struct wire_key *key, const struct wire_frame json4[4], char *hex);

/* 1 when the signature frame of a split message is right for its four JSON frames
 * (always 1 for an empty key); 0 otherwise.  Length is checked before a constant-time
 * comparison. */
int wire_verify(const struct wire_key *key, const struct wire_frame *frames,
                const struct wire_parts *p);

/* A new message without identities: delimiter, signature, and the four JSON texts
 * given (NUL-terminated).  Fills OUT[0..6) with views into static delimiter, SIG
 * (caller storage, sized as wire_sign's HEX) and the texts; returns the frame count (6). */
size_t wire_build(const struct wire_key *key, const char *header, const char *parent,
                  const char *metadata, const char *content, char *sig,
                  struct wire_frame out[6]);

/* A fresh message id: 32 lower-case hex digits from libsodium's CSPRNG, NUL-terminated
 * (33 bytes).  PREFIX, when not NULL, is copied in front (caller sizes OUT). */
void wire_new_id(char *out, size_t outlen, const char *prefix);

/* The current time as Jupyter writes it, "2026-01-02T03:04:05.123456Z". */
void wire_now_iso(char out[32]);

#endif
