/* test_bytebuf.c — the growable byte buffer (nbformat/bytebuf.h): appends keep every
 * byte in order, the capacity starts at the caller's first and doubles, putz keeps the
 * bytes NUL-terminated (an empty append included), room hands out the end for the
 * caller to fill, and a failed realloc or a size past SIZE_MAX sets oom, after which
 * every append fails, adds nothing and leaves the bytes held so far as they were. */
#include "tests/unit/unit.h"

#include <dlfcn.h>
#include <errno.h>

#include "nbformat/bytebuf.h"

static int realloc_fails; /* 1: the next realloc fails (ENOMEM), then none */

/* This binary's realloc: the seam for the failure tests (bytebuf.h calls realloc from
 * the test's own code, so it binds here), the others passed to the next one. */
void *realloc(void *p, size_t n)
{
    static void *(*real)(void *, size_t);
    if (realloc_fails) {
        realloc_fails = 0;
        errno = ENOMEM;
        return NULL;
    }
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "realloc");
    return real(p, n);
}

static void appends_keep_every_byte_in_order(void **state)
{
    (void)state;
    struct bytebuf b = {0};
    char want[10000];
    for (size_t i = 0; i < sizeof want; i++) want[i] = (char)('a' + i % 26);
    for (size_t at = 0; at < sizeof want; at += 7) {
        size_t n = sizeof want - at < 7 ? sizeof want - at : 7;
        assert_int_equal(bytebuf_put(&b, want + at, n, 16), 0);
    }
    assert_int_equal(b.n, sizeof want);
    assert_memory_equal(b.p, want, sizeof want);
    assert_int_equal(b.oom, 0);
    free(b.p);
}

static void the_capacity_starts_at_first_and_doubles(void **state)
{
    (void)state;
    struct bytebuf b = {0};
    assert_int_equal(bytebuf_put(&b, "x", 1, 100), 0);
    assert_int_equal(b.cap, 100);
    char big[150] = {0};
    assert_int_equal(bytebuf_put(&b, big, sizeof big, 100), 0); /* 151 bytes: 200 */
    assert_int_equal(b.cap, 200);
    char huge[1000] = {0};
    assert_int_equal(bytebuf_put(&b, huge, sizeof huge, 100), 0); /* 1151: 1600 */
    assert_int_equal(b.cap, 1600);
    assert_int_equal(b.n, 1151);
    free(b.p);
}

static void putz_keeps_the_bytes_terminated(void **state)
{
    (void)state;
    struct bytebuf b = {0};
    assert_int_equal(bytebuf_putz(&b, "", 0, 4), 0); /* empty: still a string */
    assert_non_null(b.p);
    assert_string_equal(b.p, "");
    assert_int_equal(bytebuf_putz(&b, "abcd", 4, 4), 0); /* 4 bytes and a NUL: 8 */
    assert_string_equal(b.p, "abcd");
    assert_int_equal(b.cap, 8);
    assert_int_equal(bytebuf_putz(&b, "efg", 3, 4), 0); /* 7 and a NUL fit 8 exactly */
    assert_int_equal(b.cap, 8);
    assert_int_equal(bytebuf_putz(&b, "h", 1, 4), 0);
    assert_string_equal(b.p, "abcdefgh");
    assert_int_equal(b.n, 8);
    assert_int_equal(bytebuf_putz(&b, NULL, 0, 4), 0); /* nothing, from no pointer (UBSan: memcpy's NULL) */
    assert_string_equal(b.p, "abcdefgh");
    free(b.p);
}

static void room_hands_out_the_end_to_fill(void **state)
{
    (void)state;
    struct bytebuf b = {0};
    assert_int_equal(bytebuf_put(&b, "ab", 2, 8), 0);
    char *d = bytebuf_room(&b, 20, 8);
    assert_non_null(d);
    assert_ptr_equal(d, b.p + 2);
    assert_true(b.cap - b.n >= 20);
    memcpy(d, "cd", 2);
    b.n += 2;
    assert_memory_equal(b.p, "abcd", 4);
    assert_int_equal(bytebuf_put(&b, NULL, 0, 8), 0); /* nothing to add, nothing read */
    free(b.p);
}

static void a_failed_realloc_sets_oom_and_keeps_what_was_held(void **state)
{
    (void)state;
    struct bytebuf b = {0};
    assert_int_equal(bytebuf_put(&b, "abcdefgh", 8, 8), 0);
    realloc_fails = 1;
    assert_int_equal(bytebuf_put(&b, "i", 1, 8), -1); /* 9 > 8: must grow, fails */
    assert_int_equal(b.oom, 1);
    assert_int_equal(b.n, 8);
    assert_int_equal(b.cap, 8);
    assert_memory_equal(b.p, "abcdefgh", 8);
    /* sticky: later appends fail too, though realloc would now succeed */
    assert_int_equal(bytebuf_put(&b, "j", 1, 8), -1);
    assert_int_equal(bytebuf_putz(&b, "", 0, 8), -1);
    assert_null(bytebuf_room(&b, 1, 8));
    assert_int_equal(bytebuf_put(&b, NULL, 0, 8), -1);
    assert_int_equal(b.n, 8);
    /* the owner clears it to start over (tagfast does, notebook by notebook) */
    b.oom = 0;
    b.n = 0;
    assert_int_equal(bytebuf_putz(&b, "k", 1, 8), 0);
    assert_string_equal(b.p, "k");
    free(b.p);
}

static void a_size_past_size_max_is_oom_not_a_wrap(void **state)
{
    (void)state;
    struct bytebuf b = {0};
    assert_int_equal(bytebuf_put(&b, "ab", 2, 8), 0);
    assert_null(bytebuf_room(&b, SIZE_MAX - 1, 8)); /* n + need would wrap */
    assert_int_equal(b.oom, 1);
    b.oom = 0;
    assert_null(bytebuf_room(&b, SIZE_MAX / 2 + 2, 8)); /* doubling would wrap */
    assert_int_equal(b.oom, 1);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.cap, 8);
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appends_keep_every_byte_in_order),
        cmocka_unit_test(the_capacity_starts_at_first_and_doubles),
        cmocka_unit_test(putz_keeps_the_bytes_terminated),
        cmocka_unit_test(room_hands_out_the_end_to_fill),
        cmocka_unit_test(a_failed_realloc_sets_oom_and_keeps_what_was_held),
        cmocka_unit_test(a_size_past_size_max_is_oom_not_a_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
