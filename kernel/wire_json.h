/* wire_json.h — reading a Jupyter message's JSON frames in place, without a tree.
 *
 * Owns: finding a top-level member of a JSON frame (what the proxy reads of every
 * relayed message: msg_type, msg_id, execution_state), whether a stream message's text
 * ends a line, and whether a frame is JSON that Python reads (most of what ipykernel
 * drops as "Invalid Message").  Frames are wire.h's (data, len) views; nothing here
 * allocates, so a message read this way can still be forwarded byte for byte.  Where
 * these scanners cannot be sure (an escape in a key, a value with escapes), they say
 * so and the caller uses jansson.
 */
#ifndef NBSTAGE_WIRE_JSON_H
#define NBSTAGE_WIRE_JSON_H

#include <stddef.h>

#include "kernel/wire.h"

/* Where the value of the top-level member KEY of the JSON object in F is, without
 * building a tree: 1 and its raw text at F->data[*OFF .. *OFF + *LEN) (a string with its
 * quotes and escapes as they are); 0: F is an object without KEY; -1: not understood
 * here (malformed, or not an object).  The value itself is only skipped, not checked.
 * A key given twice: the last one, as jansson and Python's json read it; a top-level
 * key with an escape in it: -1 (it may spell KEY). */
int wire_json_member(const struct wire_frame *f, const char *key, size_t *off, size_t *len);

/* Looks up the string member KEY of the JSON object in F without building a tree (the
 * proxy reads msg_type, msg_id and execution_state from every relayed message).
 * 1: found, its value copied into OUT (NUL-terminated, cut at CAP - 1 bytes);
 * 0: F is an object without such a string member (OUT empty);
 * -1: not understood here (malformed, or the value has escapes): use a JSON parser. */
int wire_json_string(const struct wire_frame *f, const char *key, char *out, size_t cap);

/* Whether the string member "text" of the JSON object in F (a stream message's
 * content) ends a line, read in place from its end: 1 when its last line is ended (a
 * final "\n") or has a carriage return (a progress bar rewrites that line), 0 when it
 * ends inside a line, -1 when it says nothing (no such string, empty, or a \u escape
 * in its last line). */
int wire_text_ends_line(const struct wire_frame *f);

/* Whether F is one JSON text that Python's json.loads reads, as jupyter_client's
 * Session reads each part of a message (after decoding UTF-8, bad bytes replaced):
 * NaN, Infinity and -Infinity are numbers, a control character inside a string is an
 * error, and nesting deeper than WIRE_JSON_DEPTH is refused (Debian's Python 3.11
 * refuses it somewhere below 1,000, by its recursion limit; later Pythons read deeper,
 * and such a request then only goes untagged).  A message with a part it cannot read, ipykernel
 * drops as "Invalid Message": never run, never answered.  Checked in place, no tree. */
#define WIRE_JSON_DEPTH 900
int wire_json_valid(const struct wire_frame *f);

#endif
