/* lfvote.c — the LF set's votes on every cell, on worker threads (lfvote.h). */
#include "labeling/lfvote.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "labeling/pytoken.h"
#include "labeling/rules.h"
#include "nbformat/notebook.h"

int lfvote_gave_up_init(struct lfvote_gave_up *g, int m)
{
    g->n = calloc((size_t)m, sizeof *g->n);
    g->cell = calloc((size_t)m, sizeof *g->cell);
    g->code = calloc((size_t)m, sizeof *g->code);
    g->setup = 0;
    return g->n && g->cell && g->code ? 0 : -1;
}

void lfvote_gave_up_free(struct lfvote_gave_up *g)
{
    free(g->n);
    free(g->cell);
    free(g->code);
}

struct vote_job {
    const struct lfset *lfs;
    const struct label_cell *cells;
    signed char *votes;
    struct lf_cellinfo *info;
    size_t lo, hi;
    int failed;
    struct lfvote_gave_up gu;
    uint64_t *ns; /* [m] this thread's LF times, or NULL (not timed) */
};

static void *vote_range(void *arg)
{
    struct vote_job *j = arg;
    int m = j->lfs->n, imp = (int)j->lfs->rules.n + LF_BUILTIN_IMPORTS_ONLY;
    void *md = rules_match_data();
    int *code = malloc((size_t)m * sizeof *code);
    if (!md || !code || lfvote_gave_up_init(&j->gu, m) < 0) { j->failed = 1; goto out; }
    struct lf_gave_up g = { code, 0, 0 };
    for (size_t i = j->lo; i < j->hi; i++) {
        struct pyview v;
        if (pyview_make(&v, j->cells[i].src, j->cells[i].src_len) < 0) { j->failed = 1; break; }
        lfset_votes(j->lfs, &v, md, j->votes + i * (size_t)m, &j->info[i], &g, j->ns);
        pyview_free(&v);
        for (int k = 0; g.n && k < m; k++) {
            if (!code[k] || j->gu.n[k]++) continue;
            j->gu.cell[k] = i;
            j->gu.code[k] = code[k];
            if (k == imp) j->gu.setup = g.setup;
        }
    }
out:
    free(code);
    rules_match_data_free(md);
    return NULL;
}

int lfvote_all(const struct lfset *lfs, const struct label_cell *cells, size_t n, int jobs,
               signed char *votes, struct lf_cellinfo *info, struct lfvote_gave_up *gu, uint64_t *ns)
{
    struct vote_job jb[8];
    pthread_t th[8];
    int started[8] = {0};
    if (jobs < 1) jobs = 1;
    if (jobs > 8) jobs = 8;
    /* one contiguous block of ceil(n / jobs) cells per thread: split by cells, not by
     * notebooks, so a notebook of very many cells is shared out like any other; blocks
     * in cell order, which the merge of the gave-up cells below relies on */
    size_t per = (n + (size_t)jobs - 1) / (size_t)jobs;
    for (int t = 0; t < jobs; t++) {
        jb[t] = (struct vote_job){ lfs, cells, votes, info, 0, 0, 0, {NULL, NULL, NULL, 0}, NULL };
        if (ns && !(jb[t].ns = calloc((size_t)lfs->n, sizeof *jb[t].ns))) jb[t].failed = 1;
        jb[t].lo = per * (size_t)t < n ? per * (size_t)t : n;
        jb[t].hi = jb[t].lo + per < n ? jb[t].lo + per : n;
        if (t == 0 || jb[t].failed) continue;
        if (pthread_create(&th[t], NULL, vote_range, &jb[t]) == 0) started[t] = 1;
        else vote_range(&jb[t]);
    }
    if (!jb[0].failed) vote_range(&jb[0]);
    int failed = jb[0].failed;
    for (int t = 1; t < jobs; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        failed |= jb[t].failed;
    }
    int imp = (int)lfs->rules.n + LF_BUILTIN_IMPORTS_ONLY;
    for (int t = 0; !failed && t < jobs; t++) /* blocks in cell order: the first is the first */
        for (int k = 0; k < lfs->n; k++) {
            if (!jb[t].gu.n[k]) continue;
            if (!gu->n[k]) {
                gu->cell[k] = jb[t].gu.cell[k];
                gu->code[k] = jb[t].gu.code[k];
                if (k == imp) gu->setup = jb[t].gu.setup;
            }
            gu->n[k] += jb[t].gu.n[k];
        }
    for (int t = 0; t < jobs; t++) {
        for (int k = 0; ns && jb[t].ns && k < lfs->n; k++) ns[k] += jb[t].ns[k];
        free(jb[t].ns);
        lfvote_gave_up_free(&jb[t].gu);
    }
    return failed ? -1 : 0;
}

int lfvote_say_gave_up(const struct lfset *lfs, const struct lfvote_gave_up *gu,
                       const struct label_cell *cells, size_t total)
{
    int said = 0, imp = (int)lfs->rules.n + LF_BUILTIN_IMPORTS_ONLY;
    const struct ruleset *rs = &lfs->rules;
    for (int k = 0; k < lfs->n; k++) {
        if (!gu->n[k]) continue;
        char why[256];
        rules_error_message(gu->code[k], why, sizeof why);
        int file = k == imp ? rs->setup_at[gu->setup].file : rs->rules[k].file;
        int line = k == imp ? rs->setup_at[gu->setup].line : rs->rules[k].line;
        nb_say(stderr, "nbstage label: warning: %s:%d: %s%s: PCRE2 gave up (%s) on %lu of %zu cells, "
                       "the first %s; it abstains on them%s",
               rs->paths[file - 1], line, k == imp ? "setup pattern of LF " : "rule ", lfs->name[k], why,
               gu->n[k], total, cells[gu->cell[k]].id,
               rules_error_is_limit(gu->code[k])
                    ? " (a pattern that backtracks catastrophically: nested quantifiers such as "
                      "(a+)+ or (\\w+\\s?)*; possessive a++ or atomic (?>...) groups avoid it)"
                    : "");
        said++;
    }
    return said;
}
