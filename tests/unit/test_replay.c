/* test_replay.c — kernel/replay.h: a signature is seen once, remembered for at least a
 * generation, forgotten after two, and junk is never remembered. */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "kernel/replay.h"

/* A signature-like hex string for N (distinct N, distinct first 16 bytes). */
static void sig_for(unsigned long n, char out[65])
{
    unsigned long long x = n * 0x9E3779B97F4A7C15ull + 1, y = (n ^ 0xABCDEFull) * 0xC2B2AE3D27D4EB4Full;
    snprintf(out, 65, "%016llx%016llx%032x", x, y, 0);
}

static int seen(struct replay_set *r, unsigned long n)
{
    char s[65];
    sig_for(n, s);
    return replay_seen(r, (const unsigned char *)s, 64);
}

static void second_time_is_a_replay(void **state)
{
    (void)state;
    struct replay_set *r = replay_new();
    assert_non_null(r);
    for (unsigned long n = 0; n < 1000; n++) assert_int_equal(seen(r, n), 0);
    for (unsigned long n = 0; n < 1000; n++) assert_int_equal(seen(r, n), 1);
    /* upper-case hex is the same signature */
    char s[65];
    sig_for(7, s);
    for (char *p = s; *p; p++)
        if (*p >= 'a' && *p <= 'f') *p = (char)(*p - 'a' + 'A');
    assert_int_equal(replay_seen(r, (const unsigned char *)s, 64), 1);
    replay_free(r);
}

static void bounded_memory_recent_ones_kept(void **state)
{
    (void)state;
    struct replay_set *r = replay_new();
    assert_non_null(r);
    unsigned long total = 5 * REPLAY_GENERATION + 123;
    for (unsigned long n = 0; n < total; n++) assert_int_equal(seen(r, n), 0);
    /* the last generation's worth is always remembered */
    for (unsigned long n = total - REPLAY_GENERATION; n < total; n++) assert_int_equal(seen(r, n), 1);
    /* and the oldest are forgotten (seen again as new: 0), so memory stays bounded */
    assert_int_equal(seen(r, 0), 0);
    assert_int_equal(seen(r, 1), 0);
    replay_free(r);
}

static void junk_is_never_remembered(void **state)
{
    (void)state;
    struct replay_set *r = replay_new();
    assert_non_null(r);
    const char *junk[] = {"", "00", "not hex at all, but long enough to be a signature.....",
                          "0123456789abcdef0123456789abcdeZ"};
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof junk / sizeof *junk; i++)
            assert_int_equal(replay_seen(r, (const unsigned char *)junk[i], strlen(junk[i])), 0);
    replay_free(r);
    replay_free(NULL);
}

/* The edges of what is kept: 32 hex digits (the 16 bytes kept) are enough to be
 * remembered, every one of those bytes counts, the first included, and every hex
 * digit in either case. */
static void every_kept_byte_and_digit_counts(void **state)
{
    (void)state;
    struct replay_set *r = replay_new();
    assert_non_null(r);
    const char *s32 = "00112233445566778899aabbccddeeff";
    assert_int_equal(replay_seen(r, (const unsigned char *)s32, 32), 0);
    assert_int_equal(replay_seen(r, (const unsigned char *)s32, 32), 1);
    /* the same 16 bytes followed by more digits: the same signature (only 16 kept) */
    const char *s64 = "00112233445566778899aabbccddeeff0123456789abcdef0123456789abcdef";
    assert_int_equal(replay_seen(r, (const unsigned char *)s64, 64), 1);
    /* one digit different, first or last of the 32: a different signature */
    const char *first = "10112233445566778899aabbccddeeff", *last = "00112233445566778899aabbccddeefe";
    assert_int_equal(replay_seen(r, (const unsigned char *)first, 32), 0);
    assert_int_equal(replay_seen(r, (const unsigned char *)last, 32), 0);
    assert_int_equal(replay_seen(r, (const unsigned char *)first, 32), 1);
    /* upper case, every letter: the same signature as in lower case */
    assert_int_equal(replay_seen(r, (const unsigned char *)"00112233445566778899AABBCCDDEEFF", 32), 1);
    assert_int_equal(replay_seen(r, (const unsigned char *)"ABCDEFabcdef0123456789ABCDEFabcd", 32), 0);
    assert_int_equal(replay_seen(r, (const unsigned char *)"abcdefABCDEF0123456789abcdefABCD", 32), 1);
    replay_free(r);
}

/* Two whole generations are kept: after 2 * REPLAY_GENERATION signatures all of them
 * are still known; the next one recycles the older generation, the oldest
 * REPLAY_GENERATION are forgotten and the newer REPLAY_GENERATION + 1 kept. */
static void two_generations_exactly(void **state)
{
    (void)state;
    struct replay_set *r = replay_new();
    assert_non_null(r);
    const unsigned long g = REPLAY_GENERATION;
    for (unsigned long n = 0; n < 2 * g; n++) assert_int_equal(seen(r, n), 0);
    for (unsigned long n = 0; n < 2 * g; n++) assert_int_equal(seen(r, n), 1);
    assert_int_equal(seen(r, 2 * g), 0);
    for (unsigned long n = g; n <= 2 * g; n++) assert_int_equal(seen(r, n), 1);
    assert_int_equal(seen(r, g - 1), 0); /* forgotten: remembered again as new */
    replay_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(second_time_is_a_replay),
        cmocka_unit_test(bounded_memory_recent_ones_kept),
        cmocka_unit_test(junk_is_never_remembered),
        cmocka_unit_test(every_kept_byte_and_digit_counts),
        cmocka_unit_test(two_generations_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
