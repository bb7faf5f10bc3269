/* lfset.c — the LF set and a cell's votes (see lfset.h). */
#include "labeling/lfset.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labeling/flow.h"
#include "labeling/stage.h"

/* Position in the furthest-stage order; rules of stage imports come first, since a
 * cell that imports and works is labeled by the work. */
static const int stage_rank[N_STAGES] = {
    [STAGE_IMPORTS] = 0, [STAGE_LOAD] = 1, [STAGE_EXPLORE] = 2,
    [STAGE_PREP] = 3, [STAGE_TRAIN] = 4, [STAGE_EVALUATE] = 5,
};

/* The built-in LFs, after the rules: name, stage (STAGE_NONE: any) and level. */
static const char *const builtin_name[N_LF_BUILTINS + 1] = {
    [LF_BUILTIN_IMPORTS_ONLY] = "imports_only", [LF_BUILTIN_PREV_CELL] = "prev_cell",
    [LF_BUILTIN_NEXT_CELL] = "next_cell", [LF_BUILTIN_AFTER_MODEL] = "after_model",
    [LF_BUILTIN_MODEL_OUTPUT] = "model_output", [LF_BUILTIN_UNKEPT_CHANGE] = "unkept_change",
    [LF_BUILTIN_FEEDS_MODEL] = "feeds_model", [LF_BUILTIN_HELPER_CALL] = "helper_call",
    [LF_BUILTIN_EVALUATE_CALL] = "evaluate_call", [N_LF_BUILTINS] = NULL,
};
/* silent: model_output can fire only where a notebook's earlier cells made
 * predictions, so its abstains say nothing against evaluate (labeling/labelmodel.h);
 * feeds_model only where a later cell models, so its abstains say nothing against
 * prep (counted as evidence, they turned 2,600 corpus prep cells explore);
 * evaluate_call only where a notebook defined an evaluate helper (and, voting alone as
 * a several-stage LF, EM spread its cells over every stage) */
static const struct { int stage, level, silent; } builtin[N_LF_BUILTINS] = {
    [LF_BUILTIN_IMPORTS_ONLY] = {STAGE_IMPORTS, LF_JOB, 0},
    [LF_BUILTIN_PREV_CELL] = {STAGE_NONE, LF_CONTEXT, 0},
    [LF_BUILTIN_NEXT_CELL] = {STAGE_NONE, LF_CONTEXT, 0},
    [LF_BUILTIN_AFTER_MODEL] = {STAGE_EVALUATE, LF_CONTEXT, 0},
    [LF_BUILTIN_MODEL_OUTPUT] = {STAGE_EVALUATE, LF_CONTEXT, 1},
    [LF_BUILTIN_UNKEPT_CHANGE] = {STAGE_EXPLORE, LF_CONTEXT, 0},
    [LF_BUILTIN_FEEDS_MODEL] = {STAGE_PREP, LF_CONTEXT, 1},
    [LF_BUILTIN_HELPER_CALL] = {STAGE_NONE, LF_CONTEXT, 0},
    [LF_BUILTIN_EVALUATE_CALL] = {STAGE_EVALUATE, LF_CONTEXT, 1},
};

const char *const *lfset_builtin_names(void)
{
    return builtin_name;
}

int lfset_init(struct lfset *s, struct ruleset *rules)
{
    memset(s, 0, sizeof *s);
    s->rules = *rules;
    memset(rules, 0, sizeof *rules);
    s->n = (int)s->rules.n + N_LF_BUILTINS;
    s->name = calloc((size_t)s->n, sizeof *s->name);
    s->stage = calloc((size_t)s->n, sizeof *s->stage);
    s->level = calloc((size_t)s->n, sizeof *s->level);
    s->silent = calloc((size_t)s->n, sizeof *s->silent);
    if (!s->name || !s->stage || !s->level || !s->silent) { lfset_free(s); return -1; }
    for (size_t i = 0; i < s->rules.n; i++) {
        s->name[i] = s->rules.rules[i].name;
        s->stage[i] = s->rules.rules[i].stage;
        s->level[i] = s->rules.rules[i].level;
        s->silent[i] = (unsigned char)s->rules.rules[i].silent;
    }
    int b = (int)s->rules.n;
    for (int i = 0; i < N_LF_BUILTINS; i++) {
        s->name[b + i] = builtin_name[i];
        s->stage[b + i] = builtin[i].stage;
        s->level[b + i] = builtin[i].level;
        s->silent[b + i] = (unsigned char)builtin[i].silent;
    }
    return 0;
}

void lfset_free(struct lfset *s)
{
    ruleset_free(&s->rules);
    free(s->name);
    free(s->stage);
    free(s->level);
    free(s->silent);
    memset(s, 0, sizeof *s);
}

static int starts_with_word(const char *s, size_t len, const char *w)
{
    size_t n = strlen(w);
    return len >= n && memcmp(s, w, n) == 0 && (len == n || !(isalnum((unsigned char)s[n]) || s[n] == '_'));
}

/* A statement that neither does nor sets up anything: block keywords of a guarded
 * import (`try:`, `except ImportError:`), `pass`, a cell magic header such as %%time. */
static int neutral_statement(const char *s, size_t len)
{
    if (starts_with_word(s, len, "pass")) return 1;
    if (starts_with_word(s, len, "try") || starts_with_word(s, len, "except") ||
        starts_with_word(s, len, "finally") || starts_with_word(s, len, "else"))
        return s[len - 1] == ':';
    return len >= 2 && s[0] == '%' && s[1] == '%';
}

/* imports_only: at least one import or set-up statement and nothing else; a negative
 * PCRE2 code when that hangs on a `setup` match PCRE2 gave up on (*WHICH: the pattern)
 * and no other statement rules it out. */
static int imports_only(const struct lfset *set, const struct pyview *v, void *md, size_t *which)
{
    int setup = 0, unknown = 0;
    for (size_t i = 0; i < v->n_stmts; i++) {
        const char *s = v->code + v->stmts[i].start;
        size_t len = v->stmts[i].end - v->stmts[i].start;
        if (starts_with_word(s, len, "import") || starts_with_word(s, len, "from")) {
            if (s[0] == 'f' && !strstr(s, " import")) return 0; /* not a from-import */
            setup++;
        } else if (neutral_statement(s, len)) {
            continue;
        } else {
            size_t k = 0;
            int h = ruleset_is_setup(&set->rules, s, len, md, &k);
            if (h == 0) return 0;
            if (h > 0) setup++;
            else if (!unknown) { unknown = h; *which = k; }
        }
    }
    return unknown ? unknown : setup > 0;
}

/* A statement that shows something: print/display, a plotting call, a figure set-up
 * (`fig, ax = plt.subplots(...)`), or a bare expression such as `score` or
 * `results.summary()`. */
static int shows_statement(const char *s, size_t len)
{
    static const char *const show_prefix[] = {
        "print", "display", "plt.", "sns.", "ax.", "axes", "axs", "fig.", "px.", "go.", "fig,", "fig =",
    };
    for (size_t k = 0; k < sizeof show_prefix / sizeof show_prefix[0]; k++) {
        size_t n = strlen(show_prefix[k]);
        if (len >= n && memcmp(s, show_prefix[k], n) == 0) return 1;
    }
    if (starts_with_word(s, len, "for") || starts_with_word(s, len, "def") ||
        starts_with_word(s, len, "if") || starts_with_word(s, len, "class") ||
        starts_with_word(s, len, "with") || starts_with_word(s, len, "import") ||
        starts_with_word(s, len, "from"))
        return 0;
    for (size_t k = 0; k + 5 < len; k++) /* df.plot(...), s.hist(...) */
        if (s[k] == '.' && (memcmp(s + k, ".plot", 5) == 0 || memcmp(s + k, ".hist", 5) == 0)) return 1;
    for (size_t k = 0; k < len; k++) /* an assignment is not a bare expression */
        if (s[k] == '=' && (k + 1 >= len || s[k + 1] != '=') && (k == 0 || !strchr("=!<>", s[k - 1])))
            return 0;
    return 1;
}

/* Whether the code view draws: a call on a plotting module or a figure's axes
 * (`plt.`, `sns.`, `px.`, `ax.`, `axes.`, `fig.`), or a frame's `.plot`, `.hist`,
 * `.imshow`. */
static int draws(const struct pyview *v)
{
    static const char *const before[] = { "plt", "sns", "px", "ax", "axes", "fig", NULL };
    static const char *const after[] = { "plot", "hist", "imshow", NULL };
    const char *s = v->code;
    size_t n = v->code_len;
    for (size_t k = 1; k + 1 < n; k++) {
        if (s[k] != '.') continue;
        size_t a = k; /* the name before the dot */
        while (a > 0 && (isalnum((unsigned char)s[a - 1]) || s[a - 1] == '_')) a--;
        size_t e = k + 1; /* the name after it, then the call */
        while (e < n && (isalnum((unsigned char)s[e]) || s[e] == '_')) e++;
        size_t q = e;
        while (q < n && s[q] == ' ') q++;
        int call = q < n && (s[q] == '(' || s[q] == '.');
        if (!call || e == k + 1) continue;
        for (const char *const *w = before; *w; w++)
            if (strlen(*w) == k - a && memcmp(s + a, *w, k - a) == 0 &&
                (a == 0 || s[a - 1] != '.')) return 1;
        for (const char *const *w = after; *w; w++)
            if (strlen(*w) == e - k - 1 && memcmp(s + k + 1, *w, e - k - 1) == 0) return 1;
    }
    return 0;
}

/* A cell that only shows things; used to read "what follows a model" as its
 * evaluation. */
static int shows_something(const struct pyview *v)
{
    if (v->n_stmts == 0) return 0;
    for (size_t i = 0; i < v->n_stmts; i++)
        if (!shows_statement(v->code + v->stmts[i].start, v->stmts[i].end - v->stmts[i].start)) return 0;
    return 1;
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

int lfset_votes(const struct lfset *s, const struct pyview *v, void *md, signed char *votes,
                struct lf_cellinfo *info, struct lf_gave_up *gave_up, uint64_t *ns)
{
    int nr = (int)s->rules.n, b = nr;
    for (int i = 0; i < s->n; i++) votes[i] = STAGE_NONE;
    if (gave_up) {
        gave_up->n = 0;
        for (int i = 0; i < s->n; i++) gave_up->code[i] = 0;
    }
    info->shows = shows_something(v);
    info->empty = v->n_stmts == 0;
    info->n_votes = info->job_votes = info->drew_then_prep = info->draws = 0;
    size_t which = 0;
    uint64_t t = ns ? now_ns() : 0, u;
    int io = imports_only(s, v, md, &which);
    if (ns) {
        u = now_ns();
        ns[b + LF_BUILTIN_IMPORTS_ONLY] += u - t;
        t = u;
    }
    if (io < 0 && gave_up) { /* abstains; the rules vote as on any other cell */
        gave_up->code[b + LF_BUILTIN_IMPORTS_ONLY] = io;
        gave_up->setup = which;
        gave_up->n++;
    }
    if (io > 0) {
        votes[b + LF_BUILTIN_IMPORTS_ONLY] = STAGE_IMPORTS;
        info->job_votes = 1;
        return info->n_votes = 1;
    }
    info->draws = draws(v); /* not for an imports cell: no context LF reads it there */
    /* step 1: which rules match, marked in VOTES itself (a rule's stage, kept in step 2
     * only if it may vote): no array to allocate, whatever the number of rules */
    int top_job = -1;                 /* highest rank among fired job rules */
    int job_stages = 0;               /* bit per stage with a fired job rule */
    int any_show = 0;
    rules_match_begin(md, v); /* a pattern several rules share is matched once */
    for (int i = 0; i < nr; i++) {
        const struct rule *r = &s->rules.rules[i];
        int h = rule_matches(r, v, md);
        if (ns) {
            u = now_ns();
            ns[i] += u - t;
            t = u;
        }
        if (h < 0 && gave_up) { gave_up->code[i] = h; gave_up->n++; }
        if (h <= 0) continue; /* a rule PCRE2 gave up on abstains */
        votes[i] = (signed char)r->stage;
        if (r->level == LF_JOB) {
            job_stages |= 1 << r->stage;
            if (stage_rank[r->stage] > top_job) top_job = stage_rank[r->stage];
        } else if (r->level == LF_SHOW) {
            any_show = 1;
        }
    }
    rules_match_begin(md, NULL); /* V is the caller's: nothing of it is kept past here */
    /* step 2: who may vote */
    info->drew_then_prep = top_job == stage_rank[STAGE_PREP] && (job_stages & 1 << STAGE_EXPLORE) && info->draws;
    int n = 0;
    for (int i = 0; i < nr; i++) {
        if (votes[i] == STAGE_NONE) continue; /* did not fire */
        const struct rule *r = &s->rules.rules[i];
        int ok = r->level == LF_JOB ? stage_rank[r->stage] == top_job
               : r->level == LF_SHOW ? (job_stages & ~(1 << r->stage)) == 0
               : job_stages == 0 && !any_show;
        if (ok) {
            n++;
            info->job_votes += r->level == LF_JOB;
        } else {
            votes[i] = STAGE_NONE;
        }
    }
    return info->n_votes = n;
}

/* A cell being given its context votes (lfset_context): the rules' count B (the
 * built-in LFs' votes follow theirs in VOTES), the previous cell's stage P and the
 * next cell's majority rule vote Q (STAGE_NONE without CTX), and N, the context votes
 * added so far. */
struct ctx_cell {
    const struct lf_cellinfo *info;
    const struct lf_context *ctx; /* NULL: nothing known of the notebook */
    signed char *votes;
    int b, p, q, n;
};

/* unkept_change: a cell that draws what it derived and keeps none of it is
 * explore (guide rule 2), as if an explore job rule outranked the prep ones. */
static void unkept_change(struct ctx_cell *c)
{
    if (!(c->ctx && c->ctx->unkept && c->info->drew_then_prep)) return;
    for (int i = 0; i < c->b; i++)
        if (c->votes[i] == STAGE_PREP) c->votes[i] = STAGE_NONE;
    c->votes[c->b + LF_BUILTIN_UNKEPT_CHANGE] = STAGE_EXPLORE;
    c->n++;
}

/* model_output: reading a model's results, the cell's plot or print of them is
 * evaluate (guide rule 4), as if an evaluate job rule had fired: the explore votes
 * yield.  Not where a rule saw other work (out-of-fold predictions stacked into
 * features are prep, rule 6). */
static void model_output(struct ctx_cell *c)
{
    const struct lf_context *ctx = c->ctx;
    signed char *votes = c->votes;
    int b = c->b;
    /* A cell that reads only what a train cell made (flow.h's FLOW_TRAINED) must be
     * one the rules saw showing: with no rule vote, its stage is the neighbours'. */
    int reads = ctx ? ctx->reads_results : 0;
    if (reads == FLOW_TRAINED && c->info->n_votes == 0) reads = 0;
    if (!reads) return;
    /* prep work on a model's results as a whole (flow.h's FLOW_WHOLE: predictions
     * put into a frame, written out) that no later model reads is evaluate too;
     * read by a model, it is prep (stacking).  Not a frame that merely holds a
     * column of them (cluster labels kept as a feature), whose later prep is prep. */
    int prep_ok = (reads & FLOW_WHOLE) && !(ctx && ctx->feeds_model && !ctx->feeds_evaluate_only);
    int other = 0;
    for (int i = 0; i < b; i++)
        other |= votes[i] >= 0 && votes[i] != STAGE_EXPLORE && votes[i] != STAGE_EVALUATE &&
                 !(prep_ok && votes[i] == STAGE_PREP);
    if (other) return;
    for (int i = 0; i < b; i++)
        if (votes[i] == STAGE_EXPLORE || votes[i] == STAGE_PREP) votes[i] = STAGE_NONE;
    votes[b + LF_BUILTIN_MODEL_OUTPUT] = STAGE_EVALUATE;
    c->n++;
}

/* feeds_model: a cell that keeps what it derives for a later modelling cell
 * prepares data (the guide's prep).  Beside prep rules it is one more prep vote
 * (which is how the label model learns what its vote is worth); where the rules
 * saw only showing, the explore show votes yield to it, and where they saw
 * nothing, it speaks only where the neighbours' stage, which next_cell or prev_cell
 * would give the cell, is explore.  1 when that decides the cell: no other context
 * LF speaks. */
static int feeds_model(struct ctx_cell *c)
{
    const struct lf_cellinfo *info = c->info;
    signed char *votes = c->votes;
    int b = c->b, p = c->p, q = c->q;
    if (!(c->ctx && c->ctx->feeds_model && !info->draws && votes[b + LF_BUILTIN_MODEL_OUTPUT] < 0)) return 0;
    int prep = 0, other = 0;
    for (int i = 0; i < b; i++)
        if (votes[i] >= 0) {
            prep |= votes[i] == STAGE_PREP;
            other |= votes[i] != STAGE_PREP && votes[i] != STAGE_EXPLORE;
        }
    int fill = q >= 0 && q != STAGE_IMPORTS ? q : p != STAGE_IMPORTS ? p : STAGE_NONE;
    int after_model = (p == STAGE_TRAIN || p == STAGE_EVALUATE) && info->shows;
    if (!other && info->job_votes > 0 && prep) {
        votes[b + LF_BUILTIN_FEEDS_MODEL] = STAGE_PREP;
        c->n++;
    } else if (!other && info->job_votes == 0 &&
               (info->n_votes > 0 || (fill == STAGE_EXPLORE && !after_model))) {
        for (int i = 0; i < b; i++)
            if (votes[i] == STAGE_EXPLORE) votes[i] = STAGE_NONE;
        votes[b + LF_BUILTIN_FEEDS_MODEL] = STAGE_PREP;
        c->n++;
        return 1;
    }
    return 0;
}

/* evaluate_call: a cell that fits or prepares and then runs one's own evaluate
 * helper (`clf.fit(X, y)` then `print_results(clf, X_val, y_val)`) reaches
 * evaluate (guide rule 2), as if an evaluate job rule had fired.  Not where
 * helper_call speaks (a cell of helper runs alone, no rule vote) nor where another
 * context LF already did.  1 when it speaks: its vote is the cell's only one. */
static int evaluate_call(struct ctx_cell *c)
{
    const struct lf_context *ctx = c->ctx;
    signed char *votes = c->votes;
    int b = c->b;
    int helper_speaks = ctx && ctx->helper_stage >= 0 && c->info->n_votes == 0;
    if (!(ctx && ctx->calls_evaluate && !helper_speaks && c->n == 0)) return 0;
    int evaluates = 0;
    for (int i = 0; i < b; i++) evaluates |= votes[i] == STAGE_EVALUATE;
    if (evaluates) return 0;
    for (int i = 0; i < b; i++) votes[i] = STAGE_NONE;
    votes[b + LF_BUILTIN_EVALUATE_CALL] = STAGE_EVALUATE;
    c->n = 1;
    return 1;
}

/* helper_call: a cell that only runs one's own plotting helper does its job.  1 when
 * it speaks, alone. */
static int helper_call(struct ctx_cell *c)
{
    if (!(c->ctx && c->ctx->helper_stage >= 0 && c->info->n_votes == 0 && c->n == 0)) return 0;
    c->votes[c->b + LF_BUILTIN_HELPER_CALL] = (signed char)c->ctx->helper_stage;
    c->n = 1;
    return 1;
}

/* next_cell: a cell without a rule vote takes the next cell's stage (fills gaps only). */
static void next_cell(struct ctx_cell *c)
{
    if (c->q >= 0 && c->q != STAGE_IMPORTS && c->info->n_votes == 0) {
        c->votes[c->b + LF_BUILTIN_NEXT_CELL] = (signed char)c->q;
        c->n++;
    }
}

/* after_model: a cell that shows, after a train or evaluate cell, is evaluate. */
static void after_model(struct ctx_cell *c)
{
    if ((c->p == STAGE_TRAIN || c->p == STAGE_EVALUATE) && c->info->shows) {
        c->votes[c->b + LF_BUILTIN_AFTER_MODEL] = STAGE_EVALUATE;
        c->n++;
    }
}

/* prev_cell fills gaps only, and only those next_cell leaves: beside a show or
 * hint rule it was right on 49 of 121 hand-labeled cells (a cell that prints after
 * a prep cell is mostly explore); beside next_cell it was the weaker of the two
 * (the next cell's stage comes from its own rules, the previous one's may be a
 * context guess itself), and their disagreements were settled by small shifts in
 * the fitted weights.  On dev (labels right / all cells) gaps only: 0.845 -> 0.847;
 * then not beside next_cell: 0.866 -> 0.870, both halves up. */
static void prev_cell(struct ctx_cell *c)
{
    if (c->p != STAGE_IMPORTS && c->info->n_votes == 0 && c->votes[c->b + LF_BUILTIN_NEXT_CELL] < 0) {
        c->votes[c->b + LF_BUILTIN_PREV_CELL] = (signed char)c->p;
        c->n++;
    }
}

/* The context LFs in their order of precedence: the ones that act as a job rule
 * would (unkept_change, model_output, feeds_model, evaluate_call), then, for a cell
 * no job rule recognised, the ones that fill gaps from its neighbours. */
int lfset_context(const struct lfset *s, const struct lf_cellinfo *info,
                  const struct lf_context *ctx, signed char *votes)
{
    int b = (int)s->rules.n;
    /* an imports-only cell is decided; the cell after the imports starts the work */
    if (info->empty || votes[b + LF_BUILTIN_IMPORTS_ONLY] >= 0) return 0;
    struct ctx_cell c = {.info = info, .ctx = ctx, .votes = votes, .b = b,
                         .p = ctx ? ctx->prev_stage : STAGE_NONE, .q = ctx ? ctx->next_stage : STAGE_NONE};
    unkept_change(&c);
    model_output(&c);
    if (feeds_model(&c) || evaluate_call(&c)) return c.n;
    /* A cell whose work a job rule recognised is decided by the rules; context
     * weighs in where only showing, hints or nothing was seen. */
    if (info->job_votes > 0) return c.n;
    if (helper_call(&c)) return c.n;
    next_cell(&c);
    if (c.p < 0) return c.n; /* the first cell: nothing before it */
    after_model(&c);
    prev_cell(&c);
    return c.n;
}

int lfset_rule_majority(const struct lfset *s, const signed char *votes)
{
    return lf_majority(votes, (int)s->rules.n + LF_BUILTIN_IMPORTS_ONLY + 1);
}

int lf_majority(const signed char *votes, int n)
{
    int count[N_STAGES] = {0}, best = STAGE_NONE;
    for (int i = 0; i < n; i++)
        if (votes[i] >= 0 && votes[i] < N_STAGES) count[(int)votes[i]]++;
    for (int k = 0; k < N_STAGES; k++) {
        if (!count[k]) continue;
        if (best < 0 || count[k] > count[best] ||
            (count[k] == count[best] && stage_rank[k] > stage_rank[best]))
            best = k;
    }
    return best;
}
