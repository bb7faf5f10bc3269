/* test_sharefile.c — share/NAME is found beside the program, wherever the build put it.
 *
 * This test binary is itself a program in a build tree (build/tests/, build/san/tests/,
 * or a parallel tree's build/<x>/tests/ and build/<x>/san/tests/), so it must find the
 * repository's share/ from each of those. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nbformat/sharefile.h"

static void finds_the_repositorys_share_folder(void **state)
{
    (void)state;
    char found[PATH_MAX], exe[PATH_MAX], expect[PATH_MAX + 32];
    assert_int_equal(share_file_find("rules.txt", found, sizeof found), 0);
    /* the repository root is above the program's folder: walk up from it */
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = 0;
    char *slash;
    int ok = 0;
    while (!ok && (slash = strrchr(exe, '/')) && slash != exe) {
        *slash = 0;
        snprintf(expect, sizeof expect, "%s/share/rules.txt", exe);
        ok = access(expect, R_OK) == 0;
    }
    assert_true(ok);
    char resolved[PATH_MAX];
    assert_non_null(realpath(expect, resolved));
    assert_string_equal(found, resolved);
    /* the shipped model too, when it has been built (make model, or the checkout's) */
    snprintf(expect, sizeof expect, "%s/share/default.nbsm", exe);
    if (realpath(expect, resolved)) {
        assert_int_equal(share_file_find("default.nbsm", found, sizeof found), 0);
        assert_string_equal(found, resolved);
    }
}

static void a_missing_file_is_not_found(void **state)
{
    (void)state;
    char found[PATH_MAX] = "stale";
    assert_int_equal(share_file_find("no-such-file.nbsm", found, sizeof found), -1);
    assert_string_equal(found, "");
}

/* In a build tree the advice for a missing shipped file is the checkout's (git, make
 * model), never "reinstall nbstage"; the caller's other ways follow it. */
static void a_missing_file_in_a_source_tree_is_said_with_the_checkouts_remedy(void **state)
{
    (void)state;
    char where[PATH_MAX], msg[PATH_MAX + 256], want[PATH_MAX + 256];
    share_file_expected("gone.txt", where, sizeof where);
    snprintf(want, sizeof want, "%s is missing (`git checkout share/gone.txt` in the source tree, or else)", where);
    assert_string_equal(share_file_missing("gone.txt", "or else", msg, sizeof msg), want);
    share_file_expected("default.nbsm", where, sizeof where);
    snprintf(want, sizeof want, "%s is missing (`git checkout share/default.nbsm` or `make model` in the source "
             "tree, or else)", where);
    share_file_missing("default.nbsm", "or else", msg, sizeof msg); /* (the words, whether it is there or not) */
    assert_string_equal(msg, want);
}

static void a_path_too_long_for_the_buffer_is_refused(void **state)
{
    (void)state;
    char small[4] = "abc";
    assert_int_equal(share_file_find("rules.txt", small, sizeof small), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_the_repositorys_share_folder),
        cmocka_unit_test(a_missing_file_is_not_found),
        cmocka_unit_test(a_missing_file_in_a_source_tree_is_said_with_the_checkouts_remedy),
        cmocka_unit_test(a_path_too_long_for_the_buffer_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
