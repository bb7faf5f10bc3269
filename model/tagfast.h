/* tagfast.h — `nbstage tag` without a JSON tree, for notebooks in the canonical layout.
 *
 * Owns: the byte-level twin of tag_notebook + nb_dumps.  For a notebook whose bytes
 * are exactly what nb_dumps would write (nbformat/canonscan.h checks that, and the
 * validity nb_read_mem checks, in one pass), it classifies the code cells from the
 * bytes and builds the output by copying the input and replacing only the metadata
 * object of each code cell whose tag changes, written in the same layout.  The rules
 * are tagging.c's (tag_current, tag_compare, tag_apply), applied to the members
 * canonscan found, so the bytes and the tag_result equal the jansson path's;
 * tests/unit/test_tagfast.c runs both over the shared notebooks and edge cases.
 * Left to the jansson path (return 1): --from-outputs and --strip-tag-outputs (they
 * read and change outputs), a notebook canonscan refuses, a code cell without
 * metadata that needs a tag, escaped strings in tags or workflow_stage, a model name
 * that would need escaping, a markdown or raw cell whose metadata may hold a stage.
 * The caller handles the --nbformat layout (not here).
 */
#ifndef NBSTAGE_TAGFAST_H
#define NBSTAGE_TAGFAST_H

#include <stddef.h>

#include "model/tagging.h"
#include "nbformat/bytebuf.h"
#include "nbformat/canonscan.h"

/* A notebook's classifications, one per code cell, in arrays that grow and stay. */
struct tag_answers {
    int *stage;
    float *prob;
    size_t cap;
};
/* Room for N answers in A.  -1 when out of memory (A keeps what it had). */
int tag_answers_room(struct tag_answers *a, size_t n);
void tag_answers_free(struct tag_answers *a);

/* One per thread, reused across notebooks: buffers grow once and stay. */
struct tagfast {
    struct canonscan scan;
    struct bytebuf out; /* the new bytes (p, n), when tagfast_notebook says they changed */
    struct tag_answers ans; /* tagfast_notebook's classifications */
};

/* Tags BUF[0..LEN) as tag_notebook would tag its tree.  0: done, RES filled, and
 * *CHANGED says whether any cell's tag changes; then, when WANT_BYTES, tf->out.p holds
 * the new file (what nb_dumps would give).  1: not for this path (RES empty), take
 * the jansson path.  -1: out of memory.  Free RES with tag_result_free. */
int tagfast_notebook(struct tagfast *tf, const char *buf, size_t len,
                     const struct tag_options *opt, int want_bytes, struct tag_result *res,
                     int *changed);
void tagfast_free(struct tagfast *tf);

/* tagfast_notebook in two steps, so that the classifications of many notebooks can be
 * made together in between (model/tagbatch.h).  tagfast_scan: 0 when BUF is for this
 * path (S then holds its code cells, s->cells[i] is cell i), 1 when not.
 * tagfast_splice: the rest, given each code cell's stage (or STAGE_NONE) and its
 * probability as classcache_classify gives them; returns as tagfast_notebook (-1 also
 * when a stage is MODEL_NO_MEMORY: no answer, the notebook fails untouched). */
int tagfast_scan(struct canonscan *s, const char *buf, size_t len, const struct tag_options *opt);
/* The rest of tagfast_notebook once tagfast_scan(&tf->scan, BUF...) has said 0: each
 * code cell classified, then spliced (so that a caller may look at the scan first:
 * the notebook's language, and classify nothing it would skip). */
int tagfast_classify(struct tagfast *tf, const char *buf, size_t len, const struct tag_options *opt,
                     int want_bytes, struct tag_result *res, int *changed);
int tagfast_splice(struct tagfast *tf, const struct canonscan *s, const char *buf, size_t len,
                   const struct tag_options *opt, const int *stage, const float *prob,
                   int want_bytes, struct tag_result *res, int *changed);

#endif
