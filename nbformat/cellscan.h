/* cellscan.h — the fast path of `nbstage ingest` and `nbstage summary`: a notebook's
 * code cells straight from its bytes, without building a JSON tree.
 *
 * Owns: one pass over the bytes that checks JSON as strictly as the jansson reader
 * (nb_read_mem) does and pulls out each code cell's source and execution_count.  It
 * is an optimisation only: it accepts a notebook exactly when it is sure nb_read_mem
 * would accept it and give the same cells; for anything else (an error, nbformat 3,
 * escaped keys, numbers near the limits) it says "fall back", and the caller reads
 * the file with nb_read_mem, which gives the real reason.  tests/unit/
 * test_cellscan.c and the fuzz target check the two paths against each other.
 */
#ifndef NBSTAGE_CELLSCAN_H
#define NBSTAGE_CELLSCAN_H

#include <stddef.h>

#include "nbformat/bytebuf.h"

struct cellscan_cell {
    size_t off, len;      /* the joined source: text.p[off .. off+len) */
    long long count;      /* execution_count when has_count */
    int has_count;        /* execution_count is an integer (else it is null or absent) */
};

/* Reusable across notebooks: buffers grow once and stay. */
struct cellscan {
    struct bytebuf text;            /* every code cell's source, back to back */
    struct cellscan_cell *cells;    /* code cells only, in order */
    size_t n, cap;
    struct { const char *p; size_t n; } *keys; /* keys of the open objects (duplicates) */
    size_t nkeys, keys_cap;
    size_t meta_off, meta_end; /* the notebook's own "metadata" object's bytes (both 0
                                * when absent): its language, nbformat/nblang.h */
};

/* 0: scanned, s->cells are the code cells; -1: fall back to nb_read_mem. */
int cellscan_run(struct cellscan *s, const char *buf, size_t len);
void cellscan_free(struct cellscan *s);

#endif
