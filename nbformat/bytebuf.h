/* bytebuf.h — the growable byte buffer the writers build their output in: ingest's
 * cell lines, nb_dumps, tag's spliced notebooks, classify's answers, the stage
 * kernel's tag output; and the cell sources the byte scanners (cellscan, canonscan)
 * and summary's entries gather.
 *
 * Owns: appending bytes, and growing by realloc, the capacity doubling from a first
 * one the caller gives (64 KiB for a worker's buffer that grows once and stays, a few
 * hundred bytes for one answer line), and what an allocation failure leaves: oom set,
 * after which every append fails and adds nothing, so a writer may check once at the
 * end (its output is then discarded whole, never used cut short).  A buffer starts
 * zeroed ({0}); its owner frees p.  Header-only: an append runs per JSON token in
 * tag's and ingest's hot loops.  One definition, where eight copies were.
 */
#ifndef NBSTAGE_BYTEBUF_H
#define NBSTAGE_BYTEBUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct bytebuf {
    char *p;
    size_t n, cap; /* bytes held, bytes allocated */
    int oom;       /* an allocation failed: sticky, until the owner clears it */
};

/* The slow half of bytebuf_room: a capacity of at least n + NEED.  -1, oom set, when
 * realloc fails or the size would not fit a size_t (doubling on, it would wrap to 0
 * and never end). */
static inline int bytebuf_grow(struct bytebuf *b, size_t need, size_t first)
{
    if (need > SIZE_MAX - b->n) { b->oom = 1; return -1; }
    size_t want = b->n + need, cap = b->cap ? b->cap : first;
    while (cap < want) {
        if (cap > SIZE_MAX / 2) { b->oom = 1; return -1; }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) { b->oom = 1; return -1; }
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Room for NEED more bytes at p + n, which the caller writes and then adds to n; the
 * first capacity is FIRST.  NULL when out of memory (or oom already set). */
static inline char *bytebuf_room(struct bytebuf *b, size_t need, size_t first)
{
    if (b->oom) return NULL;
    if (need > b->cap - b->n && bytebuf_grow(b, need, first)) return NULL;
    return b->p + b->n;
}

/* Appends the N bytes at S.  0, or -1 when out of memory (nothing added).  N = 0
 * allocates nothing (S may then be NULL). */
static inline int bytebuf_put(struct bytebuf *b, const void *s, size_t n, size_t first)
{
    if (n == 0) return b->oom ? -1 : 0;
    char *d = bytebuf_room(b, n, first);
    if (!d) return -1;
    memcpy(d, s, n);
    b->n += n;
    return 0;
}

/* bytebuf_put for a buffer read as a C string: room is kept for a NUL after the
 * bytes, and it is written, so p is always terminated once anything (even N = 0) was
 * appended.  N = 0 allows S = NULL. */
static inline int bytebuf_putz(struct bytebuf *b, const void *s, size_t n, size_t first)
{
    if (b->oom) return -1;
    if (n >= b->cap - b->n && bytebuf_grow(b, n + 1, first)) return -1;
    if (n) memcpy(b->p + b->n, s, n); /* S may be NULL when N is 0, as for bytebuf_put */
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

#endif
