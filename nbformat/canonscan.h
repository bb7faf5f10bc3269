/* canonscan.h — a notebook in the canonical layout, read straight from its bytes:
 * the fast path of `nbstage tag` (model/tagfast.h).
 *
 * Owns: one pass over a buffer that accepts it only when
 *   (1) nb_read_mem(buf, len, name, 0) would accept it (nbformat 4, the structure
 *       validate_v4 checks, no duplicate keys, strict UTF-8, 64-bit integers), and
 *   (2) nb_dumps of that tree gives the buffer back byte for byte: indent 1, keys
 *       sorted, ", " and ": " separators, Python's escapes (ensure_ascii=False) and
 *       float reprs, one "\n" at the end.
 * Then a caller may replace a code cell's metadata object by another one written in
 * the same layout at the same indentation, and the result is exactly what nb_dumps
 * would write for the changed tree.  For each code cell it gives the joined source
 * and where its metadata object, that object's members, the members of
 * metadata.workflow_stage and the elements of metadata.tags sit in the buffer.
 * Anything else returns -1 and the caller takes the jansson path, which is exact and
 * gives the real reason for a refusal: another layout, escaped keys, escapes Python
 * would not write (\/, \u0041), numbers jansson could not keep or would print
 * differently (-0, 1E5, 20 digits), very deep nesting.
 * tests/unit/test_tagfast.c checks the two paths against each other.
 */
#ifndef NBSTAGE_CANONSCAN_H
#define NBSTAGE_CANONSCAN_H

#include <stddef.h>

#include "nbformat/bytebuf.h"

enum canon_kind { CANON_OBJECT, CANON_ARRAY, CANON_STRING, CANON_INT, CANON_REAL, CANON_TRUE,
                  CANON_FALSE, CANON_NULL };

/* A member of an object (key set) or an element of an array (key_len 0). */
struct canon_item {
    size_t key_off, key_len; /* the key's bytes, quotes excluded (keys are never escaped) */
    size_t val_off, val_end; /* the value's bytes: buf[val_off .. val_end) */
    int kind;                /* enum canon_kind */
    int esc;                 /* a string value holding a backslash escape */
};

struct canon_cell {
    size_t src_off, src_len; /* the joined source: text.p[src_off ..), NUL after it */
    int has_meta;            /* the cell has a "metadata" member (an object) */
    int meta_level;          /* its indent level: its members are at meta_level + 1 */
    size_t meta_off, meta_end;           /* the metadata object's bytes */
    size_t meta_first, meta_n;           /* its members: s->items[meta_first ..] */
    size_t ws_first, ws_n;               /* metadata.workflow_stage's members (an object) */
    size_t tags_first, tags_n;           /* metadata.tags' elements (a list) */
};

/* Reusable across notebooks: buffers grow once and stay. */
struct canonscan {
    struct bytebuf text; /* every code cell's source, back to back, each followed by a NUL */
    struct canon_cell *cells; /* code cells only, in order */
    size_t n, cap;
    struct canon_item *items; /* metadata members of code cells */
    size_t nitems, items_cap;
    struct canon_item *subs;  /* workflow_stage members and tags elements */
    size_t nsubs, subs_cap;
    size_t meta_off, meta_end; /* the notebook's own "metadata" object's bytes (both 0
                                * when absent): its language, nbformat/nblang.h */
    int noncode_stage; /* a markdown or raw cell's metadata may hold a stage (its bytes
                        * name "workflow_stage" or "stage:"): tag removes it, not here */
};

/* 0: BUF is a canonical v4 notebook and s->cells are its code cells; -1: take the
 * jansson path (not canonical, not valid, or out of memory). */
int canonscan_run(struct canonscan *s, const char *buf, size_t len);
void canonscan_free(struct canonscan *s);

#endif
