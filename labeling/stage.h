/* stage.h — the six workflow stages, in the labeling guide's order.
 *
 * Owns: stage ids, keys, display names, and how per-stage counts are shown as shares
 * that total exactly (stage_shares).  ../shared/labeling-guide.md is the one
 * definition; the ids are the column order of the study's end model, keep them.
 */
#ifndef NBSTAGE_STAGE_H
#define NBSTAGE_STAGE_H

enum stage {
    STAGE_LOAD = 0,
    STAGE_PREP = 1,
    STAGE_TRAIN = 2,
    STAGE_EVALUATE = 3,
    STAGE_EXPLORE = 4,
    STAGE_IMPORTS = 5,
    N_STAGES = 6
};

#define STAGE_NONE (-1) /* abstain / unlabeled / hand label "none" */

extern const char *const stage_key[N_STAGES];  /* "load", "prep", ... */
extern const char *const stage_name[N_STAGES]; /* "Load Data", ... */

/* The id of a key ("train"), STAGE_NONE for "none", -2 when unknown. */
int stage_from_key(const char *key);

/* Each stage's share of COUNT's total in UNIT-ths (100: whole percents, 1000: tenths)
 * by largest remainder: each stage gets its quota rounded down, and the units still to
 * give go one each to the stages whose quotas lost the most (ties to the one earlier
 * in the table), so that the shares total UNIT exactly.  Each rounded on its own, three
 * stages of equal counts showed 33.3% each, 99.9% in all.  A stage with a count of 0
 * gets no unit.  All 0 when the total is 0: there is nothing to share. */
void stage_shares(const long count[N_STAGES], long unit, long out[N_STAGES]);

#endif
