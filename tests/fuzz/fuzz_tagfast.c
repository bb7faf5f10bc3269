/* fuzz_tagfast.c — libFuzzer target: `nbstage tag`'s fast path (model/tagfast.c) against
 * the jansson path it stands in for (nb_read_mem + tag_notebook + nb_dumps).
 *
 * Owns: the differential property on any bytes.  Whenever the fast path takes a
 * notebook, jansson reads it, nb_dumps gives its bytes back, and the new bytes and the
 * tag_result (counts, --dry-run's changes, --check's findings) are the jansson path's;
 * whatever jansson refuses, the fast path refuses too.  The comparison is the unit
 * test's (tests/unit/unit_tagdiff.h, cmocka's assertions made to abort), as are the
 * two small random models (tests/unit/unit_model.h, written to /tmp and loaded once):
 * the input is tagged by one (--dry-run records, lines counted), what that gives is
 * re-tagged by the other through a memo (stale and refreshed tags), and that again
 * (nothing changes).  No file is needed.
 */
#include <stdint.h>

#include "model/classcache.h"
#include "tests/unit/unit_model.h"
#include "tests/unit/unit_tagdiff.h"

static struct tagfast tf;
static nbs_model *first, *second;

static void cleanup(void)
{
    tagfast_free(&tf);
    model_free(first);
    model_free(second);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("CMOCKA_TEST_ABORT", "1", 1); /* a failed assertion aborts: a crash input */
    first = unit_small_model(11, "fuzz_tagfast");
    second = unit_small_model(12, "fuzz_tagfast_2");
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct tag_options one = {.model = first, .record = 1, .count_lines = 1};
    char *out = NULL, *again = NULL;
    size_t outlen, againlen;
    if (!unit_tag_differential(&tf, buf, size, &one, &out, &outlen)) {
        /* left to jansson: nothing to compare (a refusal by jansson is then one too) */
        return 0;
    }
    struct classcache *cache = classcache_new(second);
    if (!cache) abort();
    struct tag_options two = {.model = second, .cache = cache, .record = 1};
    /* tagged by the other model: the fast path takes what the jansson path wrote */
    assert_int_equal(unit_tag_differential(&tf, out, outlen, &two, &again, &againlen), 1);
    assert_int_equal(unit_tag_differential(&tf, again, againlen, &two, NULL, NULL), 1);
    classcache_free(cache);
    free(again);
    free(out);
    return 0;
}
