/* unit_corpus.h — real code cells from ../shared/corpus, for the tests that check the
 * shipped model's fast paths against model_classify on real sources. */
#ifndef NBSTAGE_UNIT_CORPUS_H
#define NBSTAGE_UNIT_CORPUS_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"
#include "nbformat/notebook.h"

struct unit_cells { char **src; size_t *len; int n, cap; };

static inline int unit_collect_cells(const char *path, const char *rel, void *ctx)
{
    (void)rel;
    struct unit_cells *cs = ctx;
    nb_error err;
    json_t *nb = nb_read_file(path, NB_ALLOW_V3 | NB_DUP_KEYS, &err);
    if (!nb) return 0;
    for (size_t i = 0; i < nb_cell_count(nb) && cs->n < cs->cap; i++) {
        json_t *cell = nb_cell(nb, i);
        const char *type = nb_cell_type(cell);
        if (!type || strcmp(type, "code") != 0) continue;
        size_t len;
        char *s = nb_cell_source(cell, &len);
        if (!s) continue;
        cs->src[cs->n] = s;
        cs->len[cs->n++] = len;
    }
    json_decref(nb);
    return cs->n >= cs->cap; /* enough: stop the walk */
}

/* The sources of the first CAP code cells (empty ones included) of SHARED/corpus in
 * walk order; free with unit_cells_free. */
static inline struct unit_cells unit_corpus_cells(const char *shared, int cap)
{
    struct unit_cells cs = {malloc((size_t)cap * sizeof(char *)), malloc((size_t)cap * sizeof(size_t)), 0, cap};
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/corpus", shared);
    if (cs.src && cs.len) nb_walk(dir, unit_collect_cells, NULL, &cs);
    return cs;
}

static inline void unit_cells_free(struct unit_cells *cs)
{
    for (int i = 0; i < cs->n; i++) free(cs->src[i]);
    free(cs->src);
    free(cs->len);
}

/* The shipped model, or NULL when it is absent (the caller skips then); one that is
 * there but does not load fails the test. */
static inline nbs_model *unit_shipped_model(void)
{
    char err[512];
    if (access("share/default.nbsm", R_OK) != 0) return NULL;
    nbs_model *m = model_load("share/default.nbsm", err, sizeof err);
    /* there but unreadable is the shipped model broken, not a reason to skip */
    if (!m) fail_msg("the shipped model does not load: %s", err);
    return m;
}

#endif
