/* test_classcache.c — the memo itself (model/classcache.c), without a model: what is
 * stored is found again, byte for byte, however many sources (the table and the
 * records grow several times past their first sizes) and whatever their lengths (the
 * hash's 8-byte steps and tail); nothing stored is overwritten; a claimed source is
 * absent to others until its batch answers; the bound on stored bytes is exact; the
 * counts add up.  (test_tagfast and test_tagbatch use it through a model, with few
 * sources: none of this was pinned there.) */
#include "tests/unit/unit.h"

#include "model/classcache.h"

enum { MANY = 20000 }; /* > 4096 records and > 2048 slots: both grow, more than once */

/* Source I, one for each I: 0 to 39 'a's and then I in decimal, so that sources
 * differ in their last bytes, in their middle ones and in length (the hash's 8-byte
 * steps and its tail). */
static size_t source(int i, char *buf)
{
    size_t pad = (size_t)(i % 40);
    memset(buf, 'a', pad);
    return pad + (size_t)sprintf(buf + pad, "%d", i);
}

static void test_what_is_stored_is_found(void **state)
{
    (void)state;
    struct classcache *c = classcache_new(NULL);
    assert_non_null(c);
    char buf[64], key[64];
    float p;
    for (int i = 0; i < MANY; i++) {
        size_t len = source(i, buf);
        assert_int_equal(classcache_lookup(c, buf, len, &p), CLASSCACHE_ABSENT);
        classcache_store(c, buf, len, i % 5, (float)i);
    }
    classcache_store(c, "", 0, 4, 0.75f);
    /* all of them, after all the growing; a second store keeps the first numbers */
    for (int i = 0; i < MANY; i++) {
        size_t len = source(i, buf);
        classcache_store(c, buf, len, 4 - i % 5, -1.0f);
        p = -2.0f;
        int stage = classcache_lookup(c, buf, len, &p);
        if (stage != i % 5 || p != (float)i)
            fail_msg("source %d (%zu bytes): stage %d prob %g, stored %d %d", i, len, stage,
                     (double)p, i % 5, i);
    }
    assert_int_equal(classcache_lookup(c, "", 0, &p), 4);
    assert_true(p == 0.75f);
    /* a source not stored: absent, whatever it shares with the stored ones */
    size_t len = source(MANY + 1, key); /* "a20001", and "a2000" */
    assert_int_equal(classcache_lookup(c, key, len, &p), CLASSCACHE_ABSENT);
    assert_int_equal(classcache_lookup(c, key, len - 1, &p), CLASSCACHE_ABSENT);
    long hits, misses;
    classcache_stats(c, &hits, &misses);
    assert_int_equal(hits, 0); /* lookup and store count nothing */
    assert_int_equal(misses, 0);
    classcache_count(c, 3, 4);
    classcache_count(c, 10, 20);
    classcache_stats(c, &hits, &misses);
    assert_int_equal(hits, 13);
    assert_int_equal(misses, 24);
    classcache_free(c);
    classcache_stats(NULL, &hits, &misses);
    assert_int_equal(hits, 0);
    assert_int_equal(misses, 0);
}

static void test_a_claim_until_its_answer(void **state)
{
    (void)state;
    struct classcache *c = classcache_new(NULL);
    assert_non_null(c);
    int a, b; /* two batches */
    float p = -1.0f;
    uint32_t rec = 7, claimer = 7, rec2 = 7;
    assert_int_equal(classcache_claim(c, &a, 11, "x = 1", 5, &p, &rec, &claimer),
                     CLASSCACHE_ABSENT);
    assert_int_not_equal(rec, CLASSCACHE_NO_REC);
    /* claimed, not answered: absent to a lookup and to a store (which keeps nothing) */
    assert_int_equal(classcache_lookup(c, "x = 1", 5, &p), CLASSCACHE_ABSENT);
    classcache_store(c, "x = 1", 5, 3, 0.3f);
    assert_int_equal(classcache_lookup(c, "x = 1", 5, &p), CLASSCACHE_ABSENT);
    /* the same batch again: pending, under its first ticket */
    assert_int_equal(classcache_claim(c, &a, 12, "x = 1", 5, &p, &rec2, &claimer),
                     CLASSCACHE_PENDING);
    assert_int_equal(claimer, 11);
    /* another batch: not its to wait for, nothing to answer */
    rec2 = 7;
    assert_int_equal(classcache_claim(c, &b, 1, "x = 1", 5, &p, &rec2, &claimer),
                     CLASSCACHE_ABSENT);
    assert_int_equal(rec2, CLASSCACHE_NO_REC);
    /* a second claim of A's, answered with the first; NO_REC entries are skipped */
    uint32_t rec3 = 7;
    assert_int_equal(classcache_claim(c, &a, 13, "y", 1, &p, &rec3, &claimer), CLASSCACHE_ABSENT);
    assert_int_not_equal(rec3, rec);
    uint32_t recs[3] = {rec, CLASSCACHE_NO_REC, rec3};
    int stages[3] = {2, 4, 1};
    float probs[3] = {0.5f, 0.9f, 0.25f};
    classcache_answer(c, recs, stages, probs, 3);
    assert_int_equal(classcache_lookup(c, "x = 1", 5, &p), 2);
    assert_true(p == 0.5f);
    assert_int_equal(classcache_lookup(c, "y", 1, &p), 1);
    assert_true(p == 0.25f);
    /* answered: any batch gets the numbers */
    p = -1.0f;
    assert_int_equal(classcache_claim(c, &b, 2, "x = 1", 5, &p, &rec2, &claimer), 2);
    assert_true(p == 0.5f);
    classcache_free(c);
}

static void test_the_bound_on_stored_bytes(void **state)
{
    (void)state;
    struct classcache *c = classcache_new(NULL);
    assert_non_null(c);
    char *big = malloc(CLASSCACHE_MAX_BYTES);
    assert_non_null(big);
    memset(big, 'q', CLASSCACHE_MAX_BYTES);
    float p;
    /* one byte short of the bound, then one byte: exactly full, both kept */
    classcache_store(c, big, CLASSCACHE_MAX_BYTES - 1, 1, 0.5f);
    assert_int_equal(classcache_lookup(c, big, CLASSCACHE_MAX_BYTES - 1, &p), 1);
    classcache_store(c, "a", 1, 2, 0.5f);
    assert_int_equal(classcache_lookup(c, "a", 1, &p), 2);
    /* a byte more: not kept (the empty source takes no bytes: still kept) */
    classcache_store(c, "b", 1, 3, 0.5f);
    assert_int_equal(classcache_lookup(c, "b", 1, &p), CLASSCACHE_ABSENT);
    uint32_t rec = 0, claimer;
    assert_int_equal(classcache_claim(c, &p, 1, "b", 1, &p, &rec, &claimer), CLASSCACHE_ABSENT);
    assert_int_equal(rec, CLASSCACHE_NO_REC);
    classcache_store(c, "", 0, 4, 0.5f);
    assert_int_equal(classcache_lookup(c, "", 0, &p), 4);
    free(big);
    classcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_what_is_stored_is_found),
        cmocka_unit_test(test_a_claim_until_its_answer),
        cmocka_unit_test(test_the_bound_on_stored_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
