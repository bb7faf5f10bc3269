/* weaklabel.h — what a weak label is written as.
 *
 * Owns: the bytes of one cell's line of `nbstage label` ({"id", "notebook", "index",
 * a statement's "source", "stage", "probabilities", "votes"}; a NUL in a string
 * written as \u0000), a probability as "%.4f" prints it (the cells' lines and
 * --votes' rows; a NaN never printed as a number), what a posterior fit to be written
 * is, and when a label is withheld: too unsure, or a tie, as Snorkel's is.
 */
#ifndef NBSTAGE_WEAKLABEL_H
#define NBSTAGE_WEAKLABEL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "labeling/cellread.h"
#include "labeling/lfset.h"

/* P in [0, 1] with 4 decimals, at OUT (6 bytes, no NUL), as "%.4f" prints it but for
 * values within a rounding error of a half in the 4th decimal (0.00035 is 0.0004
 * here, 0.0003 by printf, which rounds the binary value exactly), without printf's
 * cost (a quarter of the time of `--votes` on a million rows went to printf; inline
 * for that loop).  Returns 6.  A NaN is written "NaN" (returns 3), never as a number:
 * written 0.0000 it hid the label model's NaN posteriors (fbbea5b).  Callers check
 * first (weak_is_distribution), so none should ever get here. */
static inline int weak_fmt4(char *out, double p)
{
    if (isnan(p)) { memcpy(out, "NaN", 3); return 3; }
    if (!(p > 0)) p = 0;
    long k = (long)(p * 10000.0 + 0.5);
    if (k > 10000) k = 10000;
    out[0] = (char)('0' + k / 10000);
    out[1] = '.';
    out[2] = (char)('0' + k / 1000 % 10);
    out[3] = (char)('0' + k / 100 % 10);
    out[4] = (char)('0' + k / 10 % 10);
    out[5] = (char)('0' + k % 10);
    return 6;
}

/* Whether P[LM_K] is a distribution: each finite in [0, 1], their sum 1 within 1e-6.
 * lm_predict's posteriors always are when it labels; one that is not is a bug of
 * ours, for the caller to report as an internal error before writing a line (it was
 * once NaN, written as 0.0000 for every stage). */
int weak_is_distribution(const double *p);

/* Whether another stage has BEST's probability in P[LM_K], within 1e-5 as Snorkel's
 * probs_to_preds takes it (its tol; EM's sums leave a symmetric tie a few ulps apart):
 * a tie is no label, as Snorkel's LabelModel.predict abstains on one by default.  The
 * lowest stage id won it, so 'load' was written for a cell whose posterior was 0.5
 * load, 0.5 prep. */
int weak_top_tied(const double *p, int best);

/* The label written for a posterior P[LM_K] whose best stage is BEST (-1: no vote):
 * BEST, or -1 (withheld) when P[BEST] is under MIN_CONF or another stage ties it.  The
 * one rule for cells, statements, --votes' rows and the report's figures, so that the
 * report scores the labels written (its "no --min-confidence" line is MIN_CONF 0; it
 * took the model's argmax, and so counted the tied cells the labels withhold). */
int weak_label(const double *p, int best, double min_conf);

/* The digest of a cell's source that its weak label carries ("source_digest", 16 hex
 * digits of FNV-1a 64 over the bytes nb_cell_source gives): train joins the label to
 * the source --cells has by id, which is a position, and a notebook edited and ingested
 * again since label ran would give the label another cell's source without it.  Not a
 * guard against anyone, only against a stale file. */
uint64_t weak_source_digest(const char *src, size_t len);

/* Cell C's line to F, VOTES[lfs->n] its LFs' votes; a cell's own line (not a
 * statement's, which carries its source) has its source_digest.  STAGE is the label or -1; VOTED
 * says whether any LF voted (then the probabilities PROBA[N_STAGES] are written even
 * when the label is withheld as too unsure). */
void weak_write_cell(FILE *f, const struct label_cell *c, const struct lfset *lfs,
                     const signed char *votes, int stage, int voted, const double *proba);

#endif
