/* labelmodel.h — the generative label model: how good is each LF, per class?
 *
 * Owns: the sufficient statistics of a label matrix, the model fit, and the
 * probability of each stage for a vote vector.
 *
 * Method: a naive-Bayes generative model in the family of Dawid & Skene (1979),
 * fitted by EM.  Each item has a hidden true class y with prior pi[y].  Given y, the
 * LFs vote independently; LF j gives outcome o (abstain, or class 0..K-1) with
 * probability mu[j][y][o].  Two kinds of LF, found from the data:
 *   - one-stage LFs (they only ever vote their stage s, like nearly every rule):
 *     mu is P(fires | y = s) = a_j and P(fires | y != s) = b_j, so abstaining is
 *     evidence too (an LF that fires on 60% of its class and 1% of the rest is worth
 *     much more than one firing on 5% and 4%); a_j >= b_j is kept;
 *   - several-stage LFs (context LFs): a confusion row P(votes c | y, fires) per class;
 *     their abstains carry no evidence.
 *   A one-stage LF may be declared silent (lm_options.no_abstain_evidence): fitted as
 *   one-stage, but its abstains weigh nothing (P(abstain | y) taken as 1: a likelihood
 *   ratio, no longer a distribution).  For model_output (lfset.h), which fires only
 *   where a notebook's earlier cells made predictions: on most evaluate cells it has
 *   nothing to see, and its abstains read as evidence had pulled the evaluate cells
 *   only next_cell voted on from 0.86 to 0.43.  Fitted as a several-stage LF instead,
 *   EM read its votes as mostly wrong (0.19 estimated, 0.98 measured on 118 cells).
 * The E step computes each item's posterior over y; the M step re-estimates pi and mu
 * with small pseudo-counts (Beta/Dirichlet priors, see m_step).  A class that no LF
 * votes anywhere in the data has prior 0: nothing could speak for it or against it (when
 * no LF votes at all, no class is set apart: the prior is uniform).  An item predicted
 * with a model fitted on other items (`label --statements`: statements by the cells'
 * model) may be voted only such classes: it is left unlabeled (lm_predict), not put
 * with certainty in a class none of its votes names.  Items no LF votes on are fitted
 * too: abstains being evidence, they say how often each LF stays silent on its own
 * stage.  EM starts from the majority vote's soft labels, so no random start is
 * needed: the fit is deterministic (and the same for any thread count up to float
 * rounding).
 *
 * An LF that votes one stage on every item is fitted a = b (it fires whatever the
 * class): its vote weighs nothing, as in Snorkel's LabelModel (there P(vote | y) is 1
 * for every y, so the posterior is the class balance).  But it makes every item voted:
 * an item only it votes on gets the posterior of an item with no vote, the prior and
 * the other LFs' abstains, and a label, where lm_predict leaves an item with no vote
 * unlabeled.  The LF analysis notes such an LF (lfreport.h).
 *
 * Sufficient statistics: the likelihood depends on the data only through the distinct
 * vote vectors and how often each occurs.  `lm_stats` is that histogram; stats of two
 * shards of a corpus merge by adding counts (lm_stats_merge), so a corpus too big for
 * one machine is counted in pieces and fitted once.  EM then costs O(distinct patterns
 * x votes per pattern x K) per iteration, not O(items).
 */
#ifndef NBSTAGE_LABELMODEL_H
#define NBSTAGE_LABELMODEL_H

#include <stddef.h>

#define LM_K 6 /* classes: the stages */

struct lm_stats {
    int m;                  /* LFs */
    size_t n;               /* distinct patterns */
    size_t cap;             /* hash slots (power of two) */
    signed char *pat;       /* [n][m] votes, -1 = abstain */
    double *count;          /* [n] how many items have the pattern */
    unsigned long long *hash; /* [n] */
    long *slot;             /* [cap] pattern index or -1 */
    size_t pcap;            /* allocated patterns */
};

struct lm_options {
    int max_iter;           /* default 100 */
    double tol;             /* stop when the mean log-likelihood moves less; default 1e-5 */
    int threads;            /* E/M step threads; default 1 */
    /* [m] or NULL: 1 for a silent one-stage LF, whose abstains carry no evidence
     * (above).  Default NULL. */
    const unsigned char *no_abstain_evidence;
};

struct label_model {
    int m;
    double log_prior[LM_K];
    double *log_mu;         /* [m][LM_K][LM_K + 1]: outcome 0 = abstain, 1 + c = class c */
    int iterations;
    double loglik;          /* mean log-likelihood per item at the end */
    /* 1 when EM stopped because the mean log-likelihood moved less than lm_options.tol;
     * 0 when it stopped at max_iter still moving (a slow climb: a 2-LF matrix of 84
     * rows needs 237 iterations), which the caller should say. */
    int converged;
    double last_change;     /* how much the last iteration moved it (inf for the first) */
    int *lf_stage;          /* [m] the one stage LF j votes, or -1 for several */
    /* For prediction in O(votes): base[y] = log pi[y] + sum_j log mu[j][y][abstain],
     * delta[(j * K + c) * K + y] = log mu[j][y][c] - log mu[j][y][abstain]. */
    double base[LM_K];
    double *delta;
};

void lm_options_default(struct lm_options *o);

int lm_stats_init(struct lm_stats *s, int m);
void lm_stats_free(struct lm_stats *s);
/* Counts VOTES[0..m) COUNT times; returns the pattern's index, or -1 when out of
 * memory.  A vote outside -1..LM_K-1 is treated as an abstain. */
long lm_stats_add(struct lm_stats *s, const signed char *votes, double count);
/* Adds every pattern of FROM into INTO (same m).  -1 when out of memory or m differs. */
int lm_stats_merge(struct lm_stats *into, const struct lm_stats *from);

/* Fits M to S.  -1 when out of memory or S has no LF. */
int lm_fit(struct label_model *model, const struct lm_stats *s, const struct lm_options *o);
void lm_free(struct label_model *model);

/* Posterior over classes for VOTES[0..m) into PROBA[LM_K]; returns the argmax, or -1
 * (and all-zero PROBA) when no LF voted: unlabeled, never guessed.  Also -1 when every
 * class VOTES name has prior 0 in MODEL (an item the fit did not see: no item of the
 * fit was voted any of those classes): the posterior would put all its weight on
 * classes no vote names. */
int lm_predict(const struct label_model *model, const signed char *votes, double *proba);

/* The estimated P(vote = class c | true class y) and P(abstain | y) for LF J. */
double lm_prob_vote(const struct label_model *model, int j, int y, int c);
/* The model's estimate of LF J's accuracy when it votes: P(vote = y | it votes). */
double lm_lf_accuracy(const struct label_model *model, int j);
/* Majority vote with ties left unlabeled (Snorkel's MajorityLabelVoter default):
 * the baseline the label model is measured against.  -1 when no vote or a tie. */
int lm_majority_vote(const signed char *votes, int m);

#endif
