/* unit_tagdiff.h — the fast path of `nbstage tag` against the jansson path, on one
 * notebook: the comparison tests/unit/test_tagfast.c runs over its cases and
 * tests/fuzz/fuzz_tagfast.c over libFuzzer's inputs (there with CMOCKA_TEST_ABORT=1,
 * so that a failed assertion aborts and libFuzzer keeps the input). */
#ifndef NBSTAGE_UNIT_TAGDIFF_H
#define NBSTAGE_UNIT_TAGDIFF_H

#include <stdlib.h>
#include <string.h>

#include "model/tagfast.h"
#include "model/tagging.h"
#include "nbformat/notebook.h"
#include "tests/unit/unit.h"

static inline void unit_same_tag_result(const struct tag_result *a, const struct tag_result *b)
{
    assert_int_equal(a->code_cells, b->code_cells);
    assert_int_equal(a->tagged, b->tagged);
    assert_int_equal(a->blank, b->blank);
    assert_int_equal(a->kept, b->kept);
    assert_int_equal(a->missing, b->missing);
    assert_int_equal(a->stale, b->stale);
    assert_int_equal(a->removed, b->removed);
    assert_int_equal(a->refreshed, b->refreshed);
    assert_int_equal(a->outputs_stripped, b->outputs_stripped);
    for (int s = 0; s < N_STAGES; s++) {
        assert_int_equal(a->per_stage[s], b->per_stage[s]);
        assert_int_equal(a->lines[s], b->lines[s]);
    }
    assert_int_equal(a->n_changes, b->n_changes);
    for (size_t i = 0; i < a->n_changes; i++) {
        const struct tag_cell_change *x = &a->changes[i], *y = &b->changes[i];
        assert_int_equal(x->cell, y->cell);
        assert_int_equal(x->kind, y->kind);
        assert_int_equal(x->old_stage, y->old_stage);
        assert_int_equal(x->new_stage, y->new_stage);
        assert_true(x->old_conf == y->old_conf);
        assert_true(x->new_conf == y->new_conf);
    }
}

/* Both paths over BUF, the fast one with TF.  1 when the fast path took it (and
 * agreed), 0 when it left it to jansson.  The new bytes go to *OUT (malloc'd) when OUT
 * is not NULL. */
static inline int unit_tag_differential(struct tagfast *tf, const char *buf, size_t len,
                                        const struct tag_options *opt, char **out, size_t *outlen)
{
    struct tag_result fr, jr;
    int changed;
    int rc = tagfast_notebook(tf, buf, len, opt, 1, &fr, &changed);
    assert_true(rc == 0 || rc == 1);
    if (rc == 1) {
        assert_int_equal(fr.code_cells + fr.n_changes, 0); /* "RES empty" */
        tag_result_free(&fr);
        return 0;
    }
    nb_error e;
    json_t *nb = nb_read_mem(buf, len, "diff", 0, &e);
    if (!nb) fail_msg("fast path took what jansson refuses: %s", e.msg);
    size_t dlen;
    char *before = nb_dumps(nb, &dlen);
    if (dlen != len || memcmp(before, buf, len))
        fail_msg("fast path took a notebook that is not canonical");
    free(before);
    assert_int_equal(tag_notebook(nb, opt, &jr), 0);
    char *want = nb_dumps(nb, &dlen);
    unit_same_tag_result(&fr, &jr);
    if (!changed) {
        assert_int_equal(dlen, len);
        assert_memory_equal(want, buf, len);
    } else {
        if (tf->out.n != dlen || memcmp(tf->out.p, want, dlen)) {
            size_t k = 0;
            while (k < dlen && k < tf->out.n && tf->out.p[k] == want[k]) k++;
            fail_msg("bytes differ at %zu:\n fast: %.80s\n json: %.80s", k, tf->out.p + k, want + k);
        }
    }
    /* --check: the same findings without the bytes */
    struct tag_result cr;
    int cchanged;
    assert_int_equal(tagfast_notebook(tf, buf, len, opt, 0, &cr, &cchanged), 0);
    assert_int_equal(cchanged, changed);
    unit_same_tag_result(&cr, &jr);
    tag_result_free(&cr);
    if (out) {
        *out = want;
        *outlen = dlen;
    } else {
        free(want);
    }
    tag_result_free(&fr);
    tag_result_free(&jr);
    json_decref(nb);
    return 1;
}

#endif
