/* test_tagbatch.c — the batched classifications of `nbstage tag` (model/tagbatch.h)
 * against model_classify one cell at a time, with the shipped model on real corpus
 * cells: every answer bit-identical (stage and probability), whatever the thread
 * count; duplicates, blank sources and sources the memo already holds in the same
 * queue; the memo's counts (a source classified once, its repeats counted as hits)
 * and its contents afterwards; an empty run; a run through a gate (tagbatch_gate) of
 * one unit, threads taking chunks in turn; the memo's claims, which tagbatch_ask uses. */
#include "tests/unit/unit.h"
#include "tests/unit/unit_corpus.h"

#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model/classcache.h"
#include "model/model.h"
#include "model/tagbatch.h"

static void batch_equals_one_at_a_time(void **state)
{
    (void)state;
    const char *shared = unit_shared_dir();
    nbs_model *m = unit_shipped_model();
    if (!shared || !m) { model_free(m); skip(); return; }
    enum { CAP = 3000, ASKS = CAP + CAP / 2 + 3 };
    struct unit_cells cs = unit_corpus_cells(shared, CAP);
    assert_true(cs.n >= 2000);
    /* the expected answers, one at a time */
    static int want_stage[CAP];
    static float want_prob[CAP];
    for (int i = 0; i < cs.n; i++) {
        float p[N_STAGES];
        want_stage[i] = model_classify(m, cs.src[i], cs.len[i], p);
        want_prob[i] = want_stage[i] >= 0 ? p[want_stage[i]] : 0.0f;
    }
    static const char *extra[3] = {"", "# only a comment\n", "   \n"};
    for (int threads = 1; threads <= 3; threads += 2) {
        struct classcache *cache = classcache_new(m);
        struct tagbatch *b = tagbatch_new(m, cache);
        assert_non_null(cache);
        assert_non_null(b);
        /* the memo knows the first 100 cells already */
        for (int i = 0; i < 100; i++) {
            float p;
            classcache_classify(cache, cs.src[i], cs.len[i], &p);
        }
        long h0, m0;
        classcache_stats(cache, &h0, &m0);
        /* every cell, then every other one again (duplicates in one queue), then blanks */
        static int got_stage[ASKS];
        static float got_prob[ASKS];
        int who[ASKS], n = 0, answered = 0;
        for (int i = 0; i < cs.n; i++) who[n++] = i;
        for (int i = 0; i < cs.n; i += 2) who[n++] = i;
        for (int k = 0; k < 3; k++) who[n++] = -1 - k;
        for (int a = 0; a < n; a++) {
            got_stage[a] = 99;
            const char *s = who[a] >= 0 ? cs.src[who[a]] : extra[-1 - who[a]];
            size_t len = who[a] >= 0 ? cs.len[who[a]] : strlen(s);
            int r = tagbatch_ask(b, s, len, &got_stage[a], &got_prob[a]);
            assert_true(r == 0 || r == 1);
            answered += r;
        }
        assert_true(answered >= 100); /* the memo's, at least */
        tagbatch_run(b, threads);
        for (int a = 0; a < n; a++) {
            if (who[a] < 0) {
                assert_int_equal(got_stage[a], STAGE_NONE);
                assert_true(got_prob[a] == 0.0f);
                continue;
            }
            assert_int_equal(got_stage[a], want_stage[who[a]]);
            assert_memory_equal(&got_prob[a], &want_prob[who[a]], sizeof(float));
        }
        /* counts: every ask is a hit or a miss; the memo answers them all afterwards */
        long h1, m1;
        classcache_stats(cache, &h1, &m1);
        assert_int_equal((h1 - h0) + (m1 - m0), n);
        assert_true(m1 - m0 <= cs.n - 100 + 3);
        for (int i = 0; i < cs.n; i++) {
            float p;
            int s = classcache_lookup(cache, cs.src[i], cs.len[i], &p);
            assert_int_equal(s, want_stage[i]);
            assert_memory_equal(&p, &want_prob[i], sizeof p);
        }
        /* an empty queue is a no-op */
        tagbatch_run(b, threads);
        long h2, m2;
        classcache_stats(cache, &h2, &m2);
        assert_int_equal(h2, h1);
        assert_int_equal(m2, m1);
        tagbatch_free(b);
        classcache_free(cache);
    }
    /* without a memo */
    struct tagbatch *b = tagbatch_new(m, NULL);
    static int got[CAP];
    static float gp[CAP];
    for (int i = 0; i < cs.n; i++) assert_int_equal(tagbatch_ask(b, cs.src[i], cs.len[i], &got[i], &gp[i]), 0);
    tagbatch_run(b, 2);
    for (int i = 0; i < cs.n; i++) {
        assert_int_equal(got[i], want_stage[i]);
        assert_memory_equal(&gp[i], &want_prob[i], sizeof(float));
    }
    tagbatch_free(b);
    /* through a gate of one unit, 3 threads taking the chunks (256 sources each):
     * the same answers, and the gate given back whole */
    sem_t gate;
    sem_init(&gate, 0, 1);
    b = tagbatch_new(m, NULL);
    tagbatch_gate(b, &gate);
    for (int i = 0; i < cs.n; i++) {
        got[i] = 99;
        assert_int_equal(tagbatch_ask(b, cs.src[i], cs.len[i], &got[i], &gp[i]), 0);
    }
    assert_true(cs.n > 2 * 256);
    tagbatch_run(b, 3);
    for (int i = 0; i < cs.n; i++) {
        assert_int_equal(got[i], want_stage[i]);
        assert_memory_equal(&gp[i], &want_prob[i], sizeof(float));
    }
    int units = -1;
    sem_getvalue(&gate, &units);
    assert_int_equal(units, 1);
    tagbatch_free(b);
    sem_destroy(&gate);
    unit_cells_free(&cs);
    model_free(m);
}

/* The memo's claims (classcache_claim), which tagbatch_ask is made of: a new source is
 * claimed by its first asker, the same batch asking again is told whose ticket to
 * follow, another batch is told to classify it itself, others see it as absent (and
 * classcache_classify does not overwrite the claim) until the owner answers. */
static void memo_claims(void **state)
{
    (void)state;
    nbs_model *m = unit_shipped_model();
    if (!m) { skip(); return; }
    struct classcache *c = classcache_new(m);
    assert_non_null(c);
    int batch_a, batch_b;
    const char *src = "df = pd.read_csv('x.csv')";
    size_t len = strlen(src);
    float p = -1, want_p[N_STAGES];
    uint32_t rec = 0, rec2 = 0, who = 0;
    assert_int_equal(classcache_claim(c, &batch_a, 7, src, len, &p, &rec, &who), CLASSCACHE_ABSENT);
    assert_true(rec != CLASSCACHE_NO_REC);
    assert_int_equal(classcache_claim(c, &batch_a, 8, src, len, &p, &rec2, &who), CLASSCACHE_PENDING);
    assert_int_equal(who, 7);
    assert_int_equal(classcache_claim(c, &batch_b, 1, src, len, &p, &rec2, &who), CLASSCACHE_ABSENT);
    assert_int_equal(rec2, CLASSCACHE_NO_REC);
    assert_int_equal(classcache_lookup(c, src, len, &p), CLASSCACHE_ABSENT);
    int want = model_classify(m, src, len, want_p);
    assert_int_equal(classcache_classify(c, src, len, &p), want);
    assert_memory_equal(&p, &want_p[want], sizeof p);
    assert_int_equal(classcache_lookup(c, src, len, &p), CLASSCACHE_ABSENT); /* still claimed */
    int stage = 3;
    float prob = 0.5f;
    classcache_answer(c, &rec, &stage, &prob, 1); /* the owner's answer is what is kept */
    assert_int_equal(classcache_lookup(c, src, len, &p), 3);
    assert_true(p == 0.5f);
    assert_int_equal(classcache_claim(c, &batch_b, 2, src, len, &p, &rec2, &who), 3);
    classcache_free(c);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_equals_one_at_a_time),
        cmocka_unit_test(memo_claims),
    };
    return cmocka_run_group_tests_name("tagbatch", tests, NULL, NULL);
}
