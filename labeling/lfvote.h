/* lfvote.h — the LF set's votes on every cell, on worker threads.
 *
 * Owns: splitting the cells among up to 8 threads (one contiguous block each, in cell
 * order), each with its own PCRE2 match data, and what PCRE2 gave up on (rules.h's
 * limits): per LF, how many cells, the first one (in input order) and its error, said
 * once per LF on stderr, even with -q, with the rule's file:line (or, for
 * imports_only, its `setup` pattern's).  The context LFs, which need the cells in
 * notebook order, are the caller's (lfset_context).
 */
#ifndef NBSTAGE_LFVOTE_H
#define NBSTAGE_LFVOTE_H

#include <stddef.h>
#include <stdint.h>

#include "labeling/cellread.h"
#include "labeling/lfset.h"

/* Per LF, the cells PCRE2 gave up on (a limit of rules.h, or another match error):
 * how many, the first one (its cell and error), and for imports_only the `setup`
 * pattern of that first one.  The LF abstains on them. */
struct lfvote_gave_up {
    unsigned long *n;       /* [m] */
    size_t *cell;           /* [m] */
    int *code;              /* [m] */
    size_t setup;
};

/* For M LFs, zeroed.  -1 when out of memory (lfvote_gave_up_free frees it all the same). */
int lfvote_gave_up_init(struct lfvote_gave_up *g, int m);
void lfvote_gave_up_free(struct lfvote_gave_up *g);

/* Votes on the N CELLS with LFS in JOBS threads (1..8): VOTES[i * lfs->n ...] and
 * INFO[i] per cell, as lfset_votes fills them; GU (from lfvote_gave_up_init) gets, per
 * LF, the cells PCRE2 gave up on (summed over the threads, the first in input order);
 * NS (NULL: not timed) gets added, per LF, the nanoseconds its matching took, summed
 * over the threads.  -1 when out of memory. */
int lfvote_all(const struct lfset *lfs, const struct label_cell *cells, size_t n, int jobs,
               signed char *votes, struct lf_cellinfo *info, struct lfvote_gave_up *gu, uint64_t *ns);

/* Said once per LF PCRE2 gave up on, even with -q (its votes are missing from those
 * cells, and the exit code is 1): where the rule (or imports_only's `setup` pattern)
 * is, on how many of the TOTAL cells, the first, and PCRE2's reason.  Returns how
 * many LFs were named. */
int lfvote_say_gave_up(const struct lfset *lfs, const struct lfvote_gave_up *gu,
                       const struct label_cell *cells, size_t total);

#endif
