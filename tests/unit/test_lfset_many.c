/* test_lfset_many.c — a rule file of more than 4096 rules (lfset.c's votes): a cell
 * gets its rules' votes even when memory is short.  malloc is this binary's own,
 * failing for one size when asked. */
#include "tests/unit/unit.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "labeling/lfset.h"
#include "labeling/pytoken.h"
#include "labeling/rules.h"
#include "labeling/stage.h"

/* malloc, failing for N == malloc_fails_for; otherwise the real one (this binary's
 * definition is the one everything links to). */
static size_t malloc_fails_for;

void *malloc(size_t n)
{
    if (malloc_fails_for && n == malloc_fails_for) {
        errno = ENOMEM;
        return NULL;
    }
    static void *(*real)(size_t);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "malloc");
    return real(n);
}

#define N_RULES 4200

/* Past 4096 rules, which rules fired went into a malloc'd array; when it could not be
 * had, lfset_votes returned 0 and the cell lost every rule vote, unsaid. */
static void a_cell_keeps_its_votes_past_4096_rules(void **state)
{
    (void)state;
    size_t cap = (size_t)N_RULES * 40 + 64, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)snprintf(text + len, cap - len, "rule fit train\n  any \\.fit\\s*\\(\n");
    for (int i = 1; i < N_RULES; i++)
        len += (size_t)snprintf(text + len, cap - len, "rule r%d explore\n  any \\bzz%d\\b\n", i, i);
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    char err[256];
    if (ruleset_load_text(&rs, text, len, "t", err, sizeof err)) fail_msg("%s", err);
    free(text);
    struct lfset set;
    assert_int_equal(lfset_init(&set, &rs), 0);
    assert_int_equal((int)set.rules.n, N_RULES);

    static const char src[] = "model.fit(X)\nzz7\n";
    struct pyview pv;
    assert_int_equal(pyview_make(&pv, src, strlen(src)), 0);
    void *md = rules_match_data();
    assert_non_null(md);
    signed char *votes = calloc((size_t)set.n, 1);
    assert_non_null(votes);
    struct lf_cellinfo info;
    malloc_fails_for = N_RULES; /* the fired-rules array of the code before */
    int n = lfset_votes(&set, &pv, md, votes, &info, NULL, NULL);
    malloc_fails_for = 0;
    /* fit (train) fired, and r7 (explore), which a later stage's job rule silences */
    assert_int_equal(n, 1);
    assert_int_equal(votes[0], STAGE_TRAIN);
    assert_int_equal(votes[7], STAGE_NONE);
    for (int i = 1; i < set.n; i++) assert_int_equal(votes[i], STAGE_NONE);
    assert_int_equal(info.job_votes, 1);
    free(votes);
    rules_match_data_free(md);
    pyview_free(&pv);
    lfset_free(&set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_cell_keeps_its_votes_past_4096_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
