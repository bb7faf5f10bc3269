/* fuzz_context.h — the neighbours' contexts the rule-voting targets (fuzz_cellsource.c,
 * fuzz_rules.c) try each cell's votes under: one for each previous stage, none
 * included, with the flow's evidence set in turn from the same number. */
#ifndef NBSTAGE_FUZZ_CONTEXT_H
#define NBSTAGE_FUZZ_CONTEXT_H

#include "labeling/lfset.h"
#include "labeling/stage.h"

static inline struct lf_context fuzz_context(int prev)
{
    return (struct lf_context){.prev_stage = prev, .next_stage = prev < 0 ? 0 : N_STAGES - 1 - prev,
                               .reads_results = prev & 1, .unkept = (prev & 2) != 0,
                               .feeds_model = (prev & 4) != 0,
                               .helper_stage = prev < 0 ? STAGE_NONE : (prev + 2) % N_STAGES,
                               .calls_evaluate = (prev & 1) != 0,
                               .feeds_evaluate_only = (prev & 5) == 5};
}

#endif
