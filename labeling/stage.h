/* stage.h — the six workflow stages, in the labeling guide's order.
 *
 * Owns: stage ids, keys, display names.  ../shared/labeling-guide.md is the one
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

#endif
