/* lfset.h — the labeling functions as one set: rules from files plus built-ins.
 *
 * Owns: the list of LFs (name, stage, level; the built-ins' names no rule may take),
 * and a cell's vote vector.  Votes are resolved in two steps so that the labeling
 * guide's "furthest stage reached" rule is expressed by the LFs themselves, not
 * guessed by the label model:
 *   1. every rule is matched on the cell's code view;
 *   2. a `job` rule votes only if no job rule of a later stage fired (the order is
 *      imports-rules < load < explore < prep < train < evaluate); a `show` rule votes
 *      only if no job rule of another stage fired (showing a result never decides);
 *      a `hint` rule votes only if no job or show rule fired.
 * Built-ins, for what patterns cannot say:
 *   imports_only  every statement is an import, a magic, a pip line or environment
 *                 set-up (the rule file's `setup` patterns); decisive: when it fires
 *                 the rules abstain, since such a cell has no other job.
 *   prev_cell     the previous cell's stage (its majority vote) in the same
 *                 notebook, on cells no rule and no next_cell voted on: cells often
 *                 continue their neighbour's work.
 *   next_cell     the next cell's stage (the majority of its rule votes).
 *   after_model   when the previous cell reached train or evaluate, a cell that only
 *                 shows, prints or plots something is read as evaluate.
 *   model_output  a cell that reads a name holding a model's results (flow.h:
 *                 `preds`, `scores`, `history`, assigned cells earlier), and that no
 *                 rule gave a stage other than explore or evaluate, is evaluate
 *                 (guide rules 2 and 4: showing or plotting a model's outputs); it
 *                 acts as an evaluate job rule, so the explore votes of its plot or
 *                 print yield to it.  So is a cell that reads what a train cell made
 *                 (`tree` after `tree = DecisionTreeRegressor().fit(X, y)`), where a
 *                 rule saw it show.
 *   unkept_change a cell that draws, and whose change a prep rule saw is never read
 *                 again (it assigns only names no later cell reads, flow.h), is
 *                 explore (guide rule 2: a change made only to look at it); it acts
 *                 as an explore job rule that outranks prep: the prep votes yield.
 *   feeds_model   a cell no job rule voted on, that does not draw, whose rules saw at
 *                 most explore showing (or nothing, its neighbours' stage being
 *                 explore), and that assigns a name a later prep, train or evaluate
 *                 cell reads (flow.h), is prep (the guide's prep "derives new data
 *                 for modelling": `review = data[['text', 'label']]` read by a
 *                 split); the explore votes of its print or bare expression yield.
 *   helper_call   a cell that only calls helpers an earlier cell defined, where that
 *                 cell is explore or evaluate (a plotting helper: `graph_by("agent",
 *                 cols)`), and no rule voted, takes the helper's stage (guide rule 3:
 *                 a helper is labeled by what it is for; running it does that job);
 *                 before the neighbours, which then do not vote.
 *   evaluate_call a cell whose rules saw work short of evaluate (a fit, a split) and
 *                 that also calls, at top level, an evaluate helper an earlier cell
 *                 defined (`clf.fit(X, y)` then `print_results(clf, X_val, y_val)`)
 *                 reaches evaluate (guide rule 2: fit + score); it acts as an
 *                 evaluate job rule, so the other votes yield.
 * prev_cell and next_cell fill gaps (cells no rule voted on); after_model votes
 * beside show rules.  They are weaker evidence, and the label model learns how much
 * weaker from the data.  A rule (or imports_only, through a `setup` pattern) whose
 * answer on a cell hangs on a match PCRE2 gave up on (rules.h's limits) abstains
 * there, and lfset_votes says which, for `nbstage label` to name them.
 */
#ifndef NBSTAGE_LFSET_H
#define NBSTAGE_LFSET_H

#include <stdint.h>

#include "labeling/pytoken.h"
#include "labeling/rules.h"

enum { LF_BUILTIN_IMPORTS_ONLY, LF_BUILTIN_PREV_CELL, LF_BUILTIN_NEXT_CELL, LF_BUILTIN_AFTER_MODEL,
       LF_BUILTIN_MODEL_OUTPUT, LF_BUILTIN_UNKEPT_CHANGE, LF_BUILTIN_FEEDS_MODEL, LF_BUILTIN_HELPER_CALL,
       LF_BUILTIN_EVALUATE_CALL, N_LF_BUILTINS };

struct lfset {
    struct ruleset rules;   /* owned */
    int n;                  /* rules.n + N_LF_BUILTINS */
    const char **name;      /* [n] */
    int *stage;             /* [n]; STAGE_NONE for an LF that may vote any stage */
    int *level;             /* [n] */
    unsigned char *silent;  /* [n]: 1 when its abstains are no evidence against its
                               stage (model_output; lm_options.no_abstain_evidence) */
};

/* What the context LFs know about the neighbouring cells of the same notebook. */
struct lf_context {
    int prev_stage;         /* the previous cell's stage, or STAGE_NONE (first cell) */
    int next_stage;         /* the next cell's majority rule vote, or STAGE_NONE */
    int reads_results;      /* what it reads of names holding a model's results or what
                               a train cell made: FLOW_RESULTS (with FLOW_WHOLE),
                               FLOW_TRAINED (flow.h) */
    int unkept;             /* no later cell reads a name the cell assigns (flow.h) */
    int feeds_model;        /* a later modelling cell reads a name it assigns (flow.h) */
    int helper_stage;       /* the stage of the helpers it only calls, or STAGE_NONE (flow.h) */
    int calls_evaluate;     /* one of its top-level statements calls an evaluate helper (flow.h) */
    int feeds_evaluate_only; /* feeds_model, but no later prep or train cell reads what it
                               assigns: only evaluate cells do (a submission written) */
};

/* The built-in LFs' names, NULL-terminated: no rule may take one (struct ruleset's
 * reserved), or two LFs would share a name in the votes and the LF analysis. */
const char *const *lfset_builtin_names(void);

/* Takes ownership of RULES.  -1 when out of memory. */
int lfset_init(struct lfset *s, struct ruleset *rules);
void lfset_free(struct lfset *s);

/* What the context LFs need to know of a cell, found while its rules are matched. */
struct lf_cellinfo {
    int n_votes;            /* votes from rules and imports_only */
    int job_votes;          /* of which from job-level rules (or imports_only) */
    int shows;              /* the cell only prints, displays, plots or shows values */
    int empty;              /* no code at all (comments, disabled code): no stage */
    int draws;              /* it draws: a plotting call, `.plot(`, `.hist(`, `.imshow(` */
    int drew_then_prep;     /* it draws, and an explore job rule yielded to a prep one */
};

/* The LFs of one cell whose answer hung on a match PCRE2 gave up on (a limit in
 * rules.h: a pattern that backtracks catastrophically): they abstain on it. */
struct lf_gave_up {
    int *code;              /* [n], the caller's: 0, or the PCRE2 error code of LF j */
    int n;                  /* how many are nonzero */
    size_t setup;           /* with imports_only's code: the `setup` pattern (rules.setup) */
};

/* Fills VOTES[0..s->n) with a stage id or STAGE_NONE per LF, from the rules and
 * imports_only (context LFs abstain here).  MD from rules_match_data().  Independent
 * of other cells, so cells may be voted on in parallel.  GAVE_UP (may be NULL) gets the
 * LFs that abstain because PCRE2 gave up.  NS (may be NULL: not timed) gets, added per
 * LF, the nanoseconds its matching took (`label --profile`; imports_only's include its
 * `setup` patterns; the clock is read once between two LFs).  Returns INFO->n_votes. */
int lfset_votes(const struct lfset *s, const struct pyview *v, void *md, signed char *votes,
                struct lf_cellinfo *info, struct lf_gave_up *gave_up, uint64_t *ns);
/* The context LFs (prev_cell, next_cell, after_model, model_output, unkept_change,
 * feeds_model, helper_call, evaluate_call), added to VOTES of a cell whose INFO came
 * from lfset_votes, given what is known of the previous cell.  Cells must be taken
 * in notebook order.  Returns the number of votes added. */
int lfset_context(const struct lfset *s, const struct lf_cellinfo *info,
                  const struct lf_context *ctx, signed char *votes);

/* The majority stage of the rules and imports_only in VOTES (context LFs left out). */
int lfset_rule_majority(const struct lfset *s, const signed char *votes);

/* The majority stage among VOTES[0..n) (ties: the later stage in the furthest-stage
 * order, then the lower id), or STAGE_NONE when no LF voted. */
int lf_majority(const signed char *votes, int n);

#endif
