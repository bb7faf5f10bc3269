/* trainsplit.h — which of `nbstage train`'s usable cells train and which validate.
 *
 * Owns: dropping exact duplicate sources after their first appearance; the per-class
 * cap (a seeded uniform sample, at least one cell of each class kept); the count that
 * tells a set of one stage, which train refuses; the validation split by whole
 * notebook (a seeded order of notebooks, at least one taken, never the last).
 */
#ifndef NBSTAGE_TRAINSPLIT_H
#define NBSTAGE_TRAINSPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "labeling/stage.h"
#include "model/trainread.h"

/* Drops exact duplicate sources after their first appearance (in WEAK's order); how
 * many, or (size_t)-1 when out of memory (none dropped). */
size_t trainsplit_dedupe(struct train_cells *cv);

/* At most CAP cells of each class (0: no cap); how many were dropped, -1 when out of
 * memory.  COUNTS gets the class sizes before the cap. */
long trainsplit_cap(struct train_cells *cv, int cap, uint64_t seed, long counts[N_STAGES]);

/* The one stage COUNTS has cells of, or -1 when it has none or several. */
int trainsplit_one_stage(const long counts[N_STAGES]);

/* Sets IS_VAL[i] (zeroed, CV->n of them) for the cells of the validation notebooks,
 * FRACTION of the cells; returns how many, or (size_t)-1 when out of memory. */
size_t trainsplit_by_notebook(const struct train_cells *cv, double fraction, uint64_t seed, unsigned char *is_val);

#endif
