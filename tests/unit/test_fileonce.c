/* test_fileonce.c — one file once (nbformat/fileonce.c), the rule tag, fmt, summary
 * and ingest share, and tag's list of notebooks over it (model/tagfind.c): a file
 * met again under another spelling, through a symlink (to a file or to a folder named
 * like a notebook) is met; a hard link is another file; a path that cannot be stat'd
 * is never met, however often it is named; a path replaced by a new file is noted
 * again (fmt's rename), so that a symlink to it later is still the same file; tag's
 * list keeps the name met first, in the order of the walk, "-" as it is, and counts
 * the PATHs that could not be walked; thousands of hard links to one file, under one
 * name in as many folders or under as many names in one, each met once, at a few
 * stats each (stat is this binary's own, counting). */
#include "tests/unit/unit.h"

#include <dlfcn.h>
#include <stdio.h>

#include "model/tagfind.h"
#include "nbformat/fileonce.h"

static char *dir; /* the scratch folder, and the current one while a test runs */

static long stats; /* stat calls, fileonce.c's among them */

/* glibc's, after counting (this binary's definition is the one fileonce.c links to). */
int stat(const char *restrict path, struct stat *restrict st)
{
    static int (*real)(const char *restrict, struct stat *restrict);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "stat");
    stats++;
    return real(path, st);
}

static int setup(void **state)
{
    (void)state;
    dir = unit_make_tmpdir("fileonce");
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(mkdir("d", 0777), 0);
    assert_int_equal(mkdir("d/sub", 0777), 0);
    unit_write_file("d/a.ipynb", "{}");
    unit_write_file("d/b.ipynb", "{}");
    unit_write_file("d/sub/c.ipynb", "{}");
    assert_int_equal(symlink("a.ipynb", "d/link.ipynb"), 0);
    assert_int_equal(symlink("nowhere.ipynb", "d/dangling.ipynb"), 0);
    assert_int_equal(link("d/b.ipynb", "hard.ipynb"), 0);
    assert_int_equal(mkdir("x.ipynb", 0777), 0);
    assert_int_equal(symlink("x.ipynb", "y.ipynb"), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(chdir("/"), 0);
    unit_rm_rf(dir);
    free(dir);
    return 0;
}

static void test_the_same_file_under_other_names(void **state)
{
    (void)state;
    struct fileonce o = {0};
    assert_int_equal(fileonce_met(&o, "d/a.ipynb"), 0);
    assert_int_equal(fileonce_met(&o, "d/a.ipynb"), 1);       /* named twice */
    assert_int_equal(fileonce_met(&o, "./d//a.ipynb"), 1);    /* spelled otherwise */
    assert_int_equal(fileonce_met(&o, "d/sub/../a.ipynb"), 1);
    assert_int_equal(fileonce_met(&o, "d/link.ipynb"), 1);    /* a symlink to it */
    char abs[4096];
    snprintf(abs, sizeof abs, "%s/d/link.ipynb", dir);
    assert_int_equal(fileonce_met(&o, abs), 1);
    /* a hard link: one inode, another file to a rename */
    assert_int_equal(fileonce_met(&o, "d/b.ipynb"), 0);
    assert_int_equal(fileonce_met(&o, "hard.ipynb"), 0);
    assert_int_equal(fileonce_met(&o, "./hard.ipynb"), 1);
    /* a folder named like a notebook, and a symlink to it */
    assert_int_equal(fileonce_met(&o, "x.ipynb"), 0);
    assert_int_equal(fileonce_met(&o, "y.ipynb"), 1);
    assert_int_equal(fileonce_met(&o, "x.ipynb/"), 1);
    fileonce_free(&o);
    assert_int_equal(fileonce_met(&o, "d/a.ipynb"), 0); /* freed: {0} again */
    fileonce_free(&o);
}

static void test_a_path_that_cannot_be_stated_is_never_met(void **state)
{
    (void)state;
    struct fileonce o = {0};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(fileonce_met(&o, "missing.ipynb"), 0);
        assert_int_equal(fileonce_met(&o, "d/dangling.ipynb"), 0);
        assert_int_equal(fileonce_met(&o, "d/nowhere.ipynb"), 0);
    }
    /* ... until it is a file: then met as any other */
    unit_write_file("d/nowhere.ipynb", "{}");
    assert_int_equal(fileonce_met(&o, "d/dangling.ipynb"), 0);
    assert_int_equal(fileonce_met(&o, "d/nowhere.ipynb"), 1);
    assert_int_equal(unlink("d/nowhere.ipynb"), 0);
    fileonce_free(&o);
}

static void test_a_file_replaced_is_noted_again(void **state)
{
    (void)state;
    struct fileonce o = {0};
    unit_write_file("r.ipynb", "{}");
    assert_int_equal(symlink("r.ipynb", "r-link.ipynb"), 0);
    assert_int_equal(fileonce_met(&o, "r.ipynb"), 0);
    unit_write_file("r.tmp", "{ }"); /* fmt's save: a new file renamed over the old */
    assert_int_equal(rename("r.tmp", "r.ipynb"), 0);
    assert_int_equal(fileonce_met(&o, "r.ipynb"), 0); /* a new inode: noted */
    assert_int_equal(fileonce_met(&o, "r-link.ipynb"), 1);
    assert_int_equal(unlink("r-link.ipynb"), 0);
    assert_int_equal(unlink("r.ipynb"), 0);
    fileonce_free(&o);
}

static void test_many_files_grow_the_table(void **state)
{
    (void)state;
    assert_int_equal(mkdir("many", 0777), 0);
    struct fileonce o = {0};
    char p[64], q[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(p, sizeof p, "many/%04d.ipynb", i);
        unit_write_file(p, "{}");
        assert_int_equal(fileonce_met(&o, p), 0);
    }
    for (int i = 0; i < 3000; i++) {
        snprintf(q, sizeof q, "./many/%04d.ipynb", i);
        assert_int_equal(fileonce_met(&o, q), 1);
    }
    fileonce_free(&o);
    unit_rm_rf("many");
}

/* Each path compared with every other of its inode: 2,000 links named a.ipynb in as
 * many folders took 4,000,000 stats (two a pair: are their folders one?); 20,000 of
 * them, minutes.  Each is one entry, met once, and met again under another spelling. */
static void test_many_hard_links_to_one_file(void **state)
{
    (void)state;
    enum { N = 2000 };
    assert_int_equal(mkdir("hl", 0777), 0);
    assert_int_equal(mkdir("hl/one", 0777), 0);
    unit_write_file("hl/one/a.ipynb", "{}");
    char p[64];
    for (int i = 0; i < N; i++) {
        snprintf(p, sizeof p, "hl/f%04d", i);
        assert_int_equal(mkdir(p, 0777), 0);
        snprintf(p, sizeof p, "hl/f%04d/a.ipynb", i); /* one name, N folders */
        assert_int_equal(link("hl/one/a.ipynb", p), 0);
        snprintf(p, sizeof p, "hl/one/%04d.ipynb", i); /* N names, one folder */
        assert_int_equal(link("hl/one/a.ipynb", p), 0);
    }
    struct fileonce o = {0};
    stats = 0;
    long calls = 0;
    for (int again = 0; again < 2; again++) {
        const char *pre = again ? "./" : "";
        for (int i = 0; i < N; i++) {
            snprintf(p, sizeof p, "%shl/f%04d/a.ipynb", pre, i);
            assert_int_equal(fileonce_met(&o, p), again);
            snprintf(p, sizeof p, "%shl/one/%04d.ipynb", pre, i);
            assert_int_equal(fileonce_met(&o, p), again);
            calls += 2;
        }
    }
    assert_int_equal(fileonce_met(&o, "hl/one/./a.ipynb"), 0);
    assert_int_equal(fileonce_met(&o, "hl/one/a.ipynb"), 1);
    calls += 2;
    assert_true(stats <= 3 * calls);
    fileonce_free(&o);
    unit_rm_rf("hl");
}

/* F's paths, space-separated. */
static const char *listed(const struct tagfind *f)
{
    static char s[4096];
    s[0] = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (i) strcat(s, " ");
        strcat(s, f->path[i]);
    }
    return s;
}

static void test_tag_lists_each_file_once_under_the_name_met_first(void **state)
{
    (void)state;
    struct tagfind f = {0};
    const char *args[] = {"d", "d/a.ipynb", "d/./b.ipynb", "hard.ipynb", "d/sub"};
    for (size_t i = 0; i < sizeof args / sizeof *args; i++)
        assert_int_equal(tagfind_add(&f, args[i]), 0);
    /* the walk: sorted, the symlink after its target passed over, the dangling one
     * reported (failed); then a.ipynb and b.ipynb again, c.ipynb again */
    assert_string_equal(listed(&f), "d/a.ipynb d/b.ipynb d/sub/c.ipynb hard.ipynb");
    assert_int_equal(f.failed, 1);
    tagfind_free(&f);
    f = (struct tagfind){0};

    /* the symlink named first: listed under its name, the target passed over */
    assert_int_equal(tagfind_add(&f, "d/link.ipynb"), 0);
    assert_int_equal(tagfind_add(&f, "d/a.ipynb"), 0);
    assert_string_equal(listed(&f), "d/link.ipynb");
    tagfind_free(&f);

    /* a folder named like a notebook: listed (its read says the mistake), once */
    assert_int_equal(tagfind_add(&f, "x.ipynb"), 0);
    assert_int_equal(tagfind_add(&f, "x.ipynb"), 0);
    assert_int_equal(tagfind_add(&f, "y.ipynb"), 0);
    assert_string_equal(listed(&f), "x.ipynb");
    assert_int_equal(f.failed, 0);
    tagfind_free(&f);

    /* a PATH that does not exist: reported by the walk, each time, not listed */
    assert_int_equal(tagfind_add(&f, "missing.ipynb"), 0);
    assert_int_equal(tagfind_add(&f, "missing.ipynb"), 0);
    assert_int_equal(f.n, 0);
    assert_int_equal(f.failed, 2);
    tagfind_free(&f);

    /* standard input, as it is */
    assert_int_equal(tagfind_add(&f, "-"), 0);
    assert_string_equal(listed(&f), "-");
    tagfind_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_same_file_under_other_names),
        cmocka_unit_test(test_a_path_that_cannot_be_stated_is_never_met),
        cmocka_unit_test(test_a_file_replaced_is_noted_again),
        cmocka_unit_test(test_many_files_grow_the_table),
        cmocka_unit_test(test_many_hard_links_to_one_file),
        cmocka_unit_test(test_tag_lists_each_file_once_under_the_name_met_first),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
