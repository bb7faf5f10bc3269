/* test_ingest.c — `nbstage ingest` and `nbstage fmt` run as commands on a small
 * tree: ids, dropping, v3, bad notebooks, statistics, exit codes, atomic output. */
#include "tests/unit/unit.h"
#include "tests/unit/unit_malloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model/commands.h"
#include "nbformat/ingest.h"

static char dir[64];

static void put(const char *rel, const char *text)
{
    char path[512], cmd[600];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Runs a command with its stderr in *ERR (malloc'd) and stdout silenced. */
static int run(char **err, int argc, char **argv, int (*cmd)(int, char **))
{
    char path[128];
    snprintf(path, sizeof path, "%s/stderr.txt", dir);
    fflush(stderr);
    fflush(stdout);
    int saved_err = dup(2), saved_out = dup(1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null = open("/dev/null", O_WRONLY);
    dup2(fd, 2);
    dup2(null, 1);
    int rc = cmd(argc, argv);
    fflush(stderr);
    fflush(stdout);
    dup2(saved_err, 2);
    dup2(saved_out, 1);
    close(fd);
    close(null);
    close(saved_err);
    close(saved_out);
    char *e = unit_read_file(path, NULL);
    unlink(path);
    if (err) *err = e;
    else free(e);
    return rc;
}

static const char *NB_A =
    "{\"nbformat\": 4, \"nbformat_minor\": 5, \"metadata\": {}, \"cells\": ["
    " {\"cell_type\": \"code\", \"execution_count\": 1, \"metadata\": {}, \"outputs\": [],"
    "  \"source\": \"import os\\n\"},"
    " {\"cell_type\": \"markdown\", \"metadata\": {}, \"source\": \"# Title\"},"
    " {\"cell_type\": \"code\", \"execution_count\": null, \"metadata\": {}, \"outputs\": [],"
    "  \"source\": []},"
    " {\"cell_type\": \"code\", \"execution_count\": null, \"metadata\": {}, \"outputs\": [],"
    "  \"source\": [\"# just a comment\\n\", \"  # another\"]},"
    " {\"cell_type\": \"code\", \"execution_count\": null, \"metadata\": {}, \"outputs\": [],"
    "  \"source\": [\"x = 1  # c\\n\", \"y = '\\u00e9\\\"\\t'\"]},"
    " {\"cell_type\": \"code\", \"execution_count\": 9, \"metadata\": {}, \"outputs\": [],"
    "  \"source\": \"   \\n\\t\"}]}";

static const char *NB_V3 =
    "{\"metadata\": {\"name\": \"old\"}, \"nbformat\": 3, \"nbformat_minor\": 0,"
    " \"worksheets\": [{\"cells\": [{\"cell_type\": \"heading\", \"level\": 1, \"source\": \"T\"},"
    " {\"cell_type\": \"code\", \"input\": \"print(1)\", \"language\": \"python\","
    "  \"prompt_number\": 5, \"outputs\": []}]}]}";

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/nbstage-test-ingest-XXXXXX");
    assert_non_null(mkdtemp(dir));
    put("corpus/g1/a.ipynb", NB_A);
    put("corpus/g1/sub/b.ipynb",
        "{\"nbformat\": 4, \"cells\": [{\"cell_type\": \"code\", \"source\": \"import os\\n\"}]}");
    put("corpus/g2/old.ipynb", NB_V3);
    put("corpus/g2/bad.ipynb", "{\"nbformat\": 4, \"cells\": [{\"cell_type\": ");
    put("corpus/g2/.ipynb_checkpoints/old-checkpoint.ipynb", NB_V3);
    put("corpus/g2/notes.txt", "not a notebook");
    put("corpus/top.ipynb",
        "{\"nbformat\": 4, \"cells\": [{\"cell_type\": \"code\", \"source\": \"df.head()\"}]}");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static void ingests_a_tree(void **state)
{
    (void)state;
    char out[128], corpus[128], *err;
    snprintf(out, sizeof out, "%s/cells.jsonl", dir);
    snprintf(corpus, sizeof corpus, "%s/corpus", dir);
    char *argv[] = {"ingest", "-o", out, corpus, NULL};
    /* g2/bad.ipynb cannot be read: named, skipped, the others' cells written all the
     * same, and exit 2 as tag, summary and fmt exit (it was 0) */
    assert_int_equal(run(&err, 4, argv, cmd_ingest), EXIT_USAGE);
    char *got = unit_read_file(out, NULL);
    assert_non_null(got);
    const char *want =
        "{\"id\": \"g1/a.ipynb#0\", \"notebook\": \"g1/a.ipynb\", \"index\": 0, "
        "\"execution_count\": 1, \"source\": \"import os\\n\"}\n"
        "{\"id\": \"g1/a.ipynb#3\", \"notebook\": \"g1/a.ipynb\", \"index\": 3, "
        "\"execution_count\": null, \"source\": \"x = 1  # c\\ny = '\xc3\xa9\\\"\\t'\"}\n"
        "{\"id\": \"g1/sub/b.ipynb#0\", \"notebook\": \"g1/sub/b.ipynb\", \"index\": 0, "
        "\"execution_count\": null, \"source\": \"import os\\n\"}\n"
        "{\"id\": \"g2/old.ipynb#0\", \"notebook\": \"g2/old.ipynb\", \"index\": 0, "
        "\"execution_count\": 5, \"source\": \"print(1)\"}\n"
        "{\"id\": \"top.ipynb#0\", \"notebook\": \"top.ipynb\", \"index\": 0, "
        "\"execution_count\": null, \"source\": \"df.head()\"}\n";
    assert_string_equal(got, want);
    free(got);
    /* the same lines whatever the number of threads */
    for (int j = 1; j <= 4; j += 3) {
        char jobs[16], *e2;
        snprintf(jobs, sizeof jobs, "%d", j);
        char *argvj[] = {"ingest", "-j", jobs, "-o", out, corpus, NULL};
        assert_int_equal(run(&e2, 6, argvj, cmd_ingest), EXIT_USAGE);
        assert_non_null(strstr(e2, "1 exact-duplicate"));
        free(e2);
        got = unit_read_file(out, NULL);
        assert_string_equal(got, want);
        free(got);
    }
    /* the statistics of the run */
    static const char *lines[] = {
        "4 notebooks in 3 groups", "1 bad", "8 code cells, 5 kept",
        "dropped 2 empty and 1 comment-only", "1 exact-duplicate", "bad.ipynb:1:",
        /* one line split in two literals: parenthesised so that clang's
         * -Wstring-concatenation knows the missing comma is meant */
        ("nbstage ingest: 1 notebook could not be read (named above); the cells of the 4 "
         "notebooks read are written to "),
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (!strstr(err, lines[i])) fail_msg("no \"%s\" in:\n%s", lines[i], err);
    free(err);
}

/* ingest with the Nth allocation from its start failing (FAIL_AT); how many were left
 * in MALLOC_LEFT (above 0: the run made fewer than N, none failed) */
static int fail_at, malloc_left;
static int ingest_failing(int argc, char **argv)
{
    malloc_fails_in = fail_at;
    int rc = cmd_ingest(argc, argv);
    malloc_left = malloc_fails_in;
    malloc_fails_in = 0;
    return rc;
}

static void a_bad_notebook_is_named_whatever_allocation_fails(void **state)
{
    (void)state;
    /* "could not be read (named above)" promises the name: a reason whose copy (its
     * text, or its place in the list said at the end) could not be allocated was
     * lost, and the name with it */
    json_malloc_t jm;
    json_free_t jf;
    json_get_alloc_funcs(&jm, &jf);
    /* jansson's own allocations, never failed here: jansson itself does not survive
     * every one (nbformat/jsonload.h), and this test is about ingest's */
    json_set_alloc_funcs(real_malloc, free);
    char out[128], corpus[128], *err;
    snprintf(out, sizeof out, "%s/cells.jsonl", dir);
    snprintf(corpus, sizeof corpus, "%s/corpus", dir);
    char *argv[] = {"ingest", "-q", "-j", "1", "-o", out, corpus, NULL};
    int runs = 0;
    for (fail_at = 1;; fail_at++, runs++) {
        int rc = run(&err, 7, argv, ingest_failing);
        assert_int_not_equal(rc, EXIT_OK); /* bad.ipynb, or no memory */
        if ((strstr(err, "1 notebook could not") || strstr(err, "1 notebook and")) &&
            !strstr(err, "g2/bad.ipynb"))
            fail_msg("allocation %d failed: the bad notebook is not named in:\n%s", fail_at, err);
        free(err);
        if (malloc_left > 0) break;
    }
    json_set_alloc_funcs(jm, jf);
    assert_true(runs > 10);
}

static void ingests_one_file_and_refuses_bad_usage(void **state)
{
    (void)state;
    char out[128], path[128];
    snprintf(out, sizeof out, "%s/one.jsonl", dir);
    snprintf(path, sizeof path, "%s/corpus/g1/a.ipynb", dir);
    char *argv[] = {"ingest", "-q", "--output", out, path, NULL};
    assert_int_equal(run(NULL, 5, argv, cmd_ingest), EXIT_OK);
    char *got = unit_read_file(out, NULL);
    assert_non_null(strstr(got, "{\"id\": \"a.ipynb#0\", \"notebook\": \"a.ipynb\""));
    free(got);

    /* a missing PATH: exit 2, and no half-written output left behind */
    char missing[128], out2[128];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    snprintf(out2, sizeof out2, "%s/two.jsonl", dir);
    char *argv2[] = {"ingest", "-o", out2, path, missing, NULL};
    char *err;
    assert_int_equal(run(&err, 5, argv2, cmd_ingest), EXIT_USAGE);
    assert_non_null(strstr(err, "nope"));
    free(err);
    assert_int_equal(access(out2, F_OK), -1);

    char *argv3[] = {"ingest", NULL};
    assert_int_equal(run(NULL, 1, argv3, cmd_ingest), EXIT_USAGE);
    char *argv4[] = {"ingest", "--bogus", path, NULL};
    assert_int_equal(run(NULL, 3, argv4, cmd_ingest), EXIT_USAGE);
    char *argv5[] = {"ingest", "--help", NULL};
    assert_int_equal(run(NULL, 2, argv5, cmd_ingest), EXIT_OK);
    char *argv6[] = {"fmt", "--help", NULL};
    assert_int_equal(run(NULL, 2, argv6, cmd_fmt), EXIT_OK);
    char *argv7[] = {"fmt", NULL};
    assert_int_equal(run(NULL, 1, argv7, cmd_fmt), EXIT_USAGE);
}

/* A folder without notebooks (the wrong folder, most often): ingest wrote an empty
 * file and exit 0 without a word under -q, and `label` and `train` went on with no
 * cells.  Still exit 0 with no lines, but said, -q or not. */
static void ingest_says_a_folder_has_no_notebooks(void **state)
{
    (void)state;
    char empty[128], out[128], *err;
    put("scripts/train.py", "import os\n");
    put("scripts/.ipynb_checkpoints/a-checkpoint.ipynb", NB_V3);
    snprintf(empty, sizeof empty, "%s/scripts", dir); /* a script and a checkpoint */
    snprintf(out, sizeof out, "%s/none.jsonl", dir);
    char *argv[] = {"ingest", "-q", "-o", out, empty, NULL};
    assert_int_equal(run(&err, 5, argv, cmd_ingest), EXIT_OK);
    char want[200];
    snprintf(want, sizeof want, "nbstage ingest: %s: no notebooks (.ipynb) found\n", empty);
    assert_string_equal(err, want);
    free(err);
    char *got = unit_read_file(out, NULL);
    assert_string_equal(got, "");
    free(got);
    char corpus[128];
    snprintf(corpus, sizeof corpus, "%s/corpus/g1", dir);
    char *argv2[] = {"ingest", "-q", "-o", out, corpus, NULL};
    assert_int_equal(run(&err, 5, argv2, cmd_ingest), EXIT_OK);
    assert_string_equal(err, "");
    free(err);
}

/* Python's json keeps the last of duplicate keys; ingest, which only reads, does the
 * same (fmt refuses such a file: a rewrite would lose a value). */
static void ingest_takes_duplicate_keys_as_python(void **state)
{
    (void)state;
    put("dup/d.ipynb", "{\"nbformat\": 4, \"metadata\": {\"a\": 1, \"a\": 2}, \"cells\": ["
                       "{\"cell_type\": \"code\", \"source\": \"x = 1\", \"source\": \"y = 2\"}]}");
    char out[128], path[128];
    snprintf(out, sizeof out, "%s/dup.jsonl", dir);
    snprintf(path, sizeof path, "%s/dup/d.ipynb", dir);
    char *argv[] = {"ingest", "-o", out, path, NULL};
    assert_int_equal(run(NULL, 4, argv, cmd_ingest), EXIT_OK);
    char *got = unit_read_file(out, NULL);
    assert_string_equal(got, "{\"id\": \"d.ipynb#0\", \"notebook\": \"d.ipynb\", \"index\": 0, "
                             "\"execution_count\": null, \"source\": \"y = 2\"}\n");
    free(got);
    char *err;
    char *check[] = {"fmt", "--check", path, NULL};
    assert_int_equal(run(&err, 3, check, cmd_fmt), EXIT_USAGE);
    assert_non_null(strstr(err, "duplicate"));
    free(err);
}

/* Ids are relative to each PATH, so two PATHs can give two notebooks one id: a
 * course's submissions as `ingest subs/ann subs/bob ...` (a shell glob), every
 * student's hw1.ipynb "hw1.ipynb#k".
 * Such a run is refused, naming both files (label, train and eval join by id); PATHs
 * whose ids differ are fine. */
static void ingest_refuses_one_id_for_two_notebooks(void **state)
{
    (void)state;
    put("subs/ann/hw1.ipynb", NB_A);
    put("subs/bob/hw1.ipynb", NB_A);
    put("subs/bob/extra.ipynb", NB_A);
    char out[128], ann[128], bob[128];
    snprintf(out, sizeof out, "%s/subs.jsonl", dir);
    snprintf(ann, sizeof ann, "%s/subs/ann", dir);
    snprintf(bob, sizeof bob, "%s/subs/bob", dir);
    char *argv[] = {"ingest", "-q", "-o", out, ann, bob, NULL};
    char *err;
    assert_int_equal(run(&err, 6, argv, cmd_ingest), EXIT_USAGE);
    if (!strstr(err, "subs/ann/hw1.ipynb and ") || !strstr(err, "subs/bob/hw1.ipynb both give the id hw1.ipynb#k"))
        fail_msg("got: %s", err);
    free(err);
    assert_int_equal(access(out, F_OK), -1); /* nothing written */

    char bob_extra[128];
    snprintf(bob_extra, sizeof bob_extra, "%s/subs/bob/extra.ipynb", dir);
    char *argv2[] = {"ingest", "-q", "-o", out, ann, bob_extra, NULL};
    assert_int_equal(run(NULL, 6, argv2, cmd_ingest), EXIT_OK);
    char *got = unit_read_file(out, NULL);
    assert_non_null(strstr(got, "\"id\": \"hw1.ipynb#0\""));
    assert_non_null(strstr(got, "\"id\": \"extra.ipynb#0\""));
    free(got);
}

static void fmt_rewrites_only_what_changes(void **state)
{
    (void)state;
    put("fmt/messy.ipynb",
        "{\"nbformat\": 4, \"nbformat_minor\": 5, \"metadata\": {\"signature\": \"x\"},"
        " \"cells\": [{\"id\": \"c1\", \"cell_type\": \"code\", \"metadata\": {\"trusted\": true},"
        " \"execution_count\": null, \"outputs\": [], \"source\": \"a = 1\\nb = 2\"}]}");
    char messy[128], fmtdir[128];
    snprintf(messy, sizeof messy, "%s/fmt/messy.ipynb", dir);
    snprintf(fmtdir, sizeof fmtdir, "%s/fmt", dir);
    assert_int_equal(chmod(messy, 0600), 0);
    char *before = unit_read_file(messy, NULL);

    char *check[] = {"fmt", "--check", fmtdir, NULL};
    assert_int_equal(run(NULL, 3, check, cmd_fmt), EXIT_FINDINGS);
    char *same = unit_read_file(messy, NULL);
    assert_string_equal(same, before); /* --check changes nothing */
    free(same);

    /* default: json.dumps layout of the notebook as it is (the corpus' layout) */
    char *plain[] = {"fmt", "-q", fmtdir, NULL};
    assert_int_equal(run(NULL, 3, plain, cmd_fmt), EXIT_OK);
    char *dumped = unit_read_file(messy, NULL);
    assert_string_equal(dumped,
                        "{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n"
                        "   \"execution_count\": null,\n   \"id\": \"c1\",\n   \"metadata\": {\n"
                        "    \"trusted\": true\n   },\n   \"outputs\": [],\n"
                        "   \"source\": \"a = 1\\nb = 2\"\n  }\n ],\n \"metadata\": {\n"
                        "  \"signature\": \"x\"\n },\n \"nbformat\": 4,\n"
                        " \"nbformat_minor\": 5\n}\n");
    free(dumped);

    char *doit[] = {"fmt", "-q", "--nbformat", fmtdir, NULL};
    assert_int_equal(run(NULL, 4, doit, cmd_fmt), EXIT_OK);
    char *after = unit_read_file(messy, NULL);
    /* what nbformat.write(nbformat.read(f, NO_CONVERT)) gives, from Python */
    assert_string_equal(after,
                        "{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n"
                        "   \"execution_count\": null,\n   \"id\": \"c1\",\n   \"metadata\": {},\n"
                        "   \"outputs\": [],\n   \"source\": [\n    \"a = 1\\n\",\n    \"b = 2\"\n"
                        "   ]\n  }\n ],\n \"metadata\": {},\n \"nbformat\": 4,\n"
                        " \"nbformat_minor\": 5\n}\n");
    struct stat st1, st2;
    assert_int_equal(stat(messy, &st1), 0);
    assert_int_equal(st1.st_mode & 0777, 0600);

    /* canonical now: --check passes, and a rewrite leaves the very same file */
    assert_int_equal(run(NULL, 3, check, cmd_fmt), EXIT_OK);
    assert_int_equal(run(NULL, 4, doit, cmd_fmt), EXIT_OK);
    assert_int_equal(stat(messy, &st2), 0);
    assert_int_equal(st1.st_ino, st2.st_ino);
    free(before);
    free(after);

    /* a notebook fmt cannot keep exactly, and a broken one: exit 2, untouched */
    const char *big = "{\"nbformat\": 4, \"cells\": [], \"n\": 123456789012345678901234567890}";
    put("fmt/big.ipynb", big);
    char bigp[128];
    snprintf(bigp, sizeof bigp, "%s/fmt/big.ipynb", dir);
    char *err;
    char *one[] = {"fmt", bigp, NULL};
    assert_int_equal(run(&err, 2, one, cmd_fmt), EXIT_USAGE);
    assert_non_null(strstr(err, "beyond 64 bits"));
    free(err);
    char *kept = unit_read_file(bigp, NULL);
    assert_string_equal(kept, big);
    free(kept);
}

/* ---------------------------------------------------------------- ingest_run itself */

struct collected {
    char *text;
    size_t len;
};

static int collect(size_t i, const char *lines, size_t len, const char *error, void *ctx)
{
    struct collected *c = ctx;
    char head[32];
    int hn = snprintf(head, sizeof head, "[%zu]", i);
    size_t el = error ? strlen(error) + 1 : 0;
    char *p = realloc(c->text, c->len + (size_t)hn + len + el + 1);
    assert_non_null(p);
    c->text = p;
    memcpy(c->text + c->len, head, (size_t)hn);
    c->len += (size_t)hn;
    memcpy(c->text + c->len, lines, len);
    c->len += len;
    if (error) {
        memcpy(c->text + c->len, error, el - 1);
        c->text[c->len + el - 1] = '\n';
        c->len += el;
    }
    c->text[c->len] = 0;
    return 0;
}

static int stop_at_first(size_t i, const char *lines, size_t len, const char *error, void *ctx)
{
    (void)i; (void)lines; (void)len; (void)error;
    ++*(int *)ctx;
    return 7;
}

/* The lines as Python's json.dumps(ensure_ascii=False) writes control characters
 * (\uXXXX in lower-case hex, DEL as it is); exact duplicates counted over the run when
 * their hash set grows well past its first 4096 slots (6000 distinct sources, each met
 * twice); a notebook that cannot be opened counted as bad and named; the same output
 * whatever the number of threads. */
static void ingest_run_escapes_counts_and_names(void **state)
{
    (void)state;
    put("run/c.ipynb",
        "{\"nbformat\": 4, \"nbformat_minor\": 5, \"metadata\": {}, \"cells\": ["
        " {\"cell_type\": \"code\", \"execution_count\": 2, \"metadata\": {}, \"outputs\": [],"
        "  \"source\": \"s = '\\u0001\\u001f\\u007f\\b\\f\\r\\u0010'\"}]}");
    char path[512];
    snprintf(path, sizeof path, "%s/run/many.ipynb", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("{\"nbformat\": 4, \"nbformat_minor\": 5, \"metadata\": {}, \"cells\": [", f);
    for (int k = 0; k < 12000; k++)
        fprintf(f, "%s{\"cell_type\": \"code\", \"execution_count\": null, \"metadata\": {},"
                   " \"outputs\": [], \"source\": \"x = %d\\n\"}", k ? ", " : "", k % 6000);
    fputs("]}", f);
    assert_int_equal(fclose(f), 0);
    char p0[512], p1[512], p2[512];
    snprintf(p0, sizeof p0, "%s/run/c.ipynb", dir);
    snprintf(p1, sizeof p1, "%s/run/many.ipynb", dir);
    snprintf(p2, sizeof p2, "%s/run/missing.ipynb", dir);
    put("run/r.ipynb", "{\"nbformat\": 4, \"nbformat_minor\": 5, \"metadata\": {\"kernelspec\": "
                       "{\"name\": \"ir\", \"language\": \"R\", \"display_name\": \"R\"}}, \"cells\": ["
                       "{\"cell_type\": \"code\", \"execution_count\": 1, \"metadata\": {}, "
                       "\"outputs\": [], \"source\": \"x <- 1\"}]}");
    put("run/e.ipynb", "{\"nbformat\": 4, \"nbformat_minor\": 5, \"metadata\": {}, \"cells\": ["
                       "{\"cell_type\": \"markdown\", \"metadata\": {}, \"source\": \"# T\"}, "
                       "{\"cell_type\": \"code\", \"execution_count\": null, \"metadata\": {}, "
                       "\"outputs\": [], \"source\": \"# only\"}]}");
    put("run/f.ipynb", "{\"nbformat\": 4, \"nbformat_minor\": 5, \"metadata\": {}, \"cells\": []}");
    put("run/bad.ipynb", "{");
    put("run/r3.ipynb", "{\"nbformat\": 3, \"nbformat_minor\": 0, \"metadata\": {\"kernelspec\": "
                        "{\"name\": \"ir\", \"language\": \"R\", \"display_name\": \"R\"}}, "
                        "\"worksheets\": [{\"cells\": [{\"cell_type\": \"code\", \"input\": \"x <- 1\", "
                        "\"language\": \"R\", \"outputs\": []}]}]}"); /* the jansson reader's path */
    char p3[512], p4[512], p5[512], p6[512], p7[512];
    snprintf(p3, sizeof p3, "%s/run/r.ipynb", dir);
    snprintf(p4, sizeof p4, "%s/run/e.ipynb", dir);
    snprintf(p5, sizeof p5, "%s/run/f.ipynb", dir);
    snprintf(p6, sizeof p6, "%s/run/bad.ipynb", dir);
    snprintf(p7, sizeof p7, "%s/run/r3.ipynb", dir);
    struct ingest_item items[] = {{p0, "c.ipynb", NULL}, {p2, "missing.ipynb", NULL},
                                  {p1, "many.ipynb", NULL}, {p3, "r.ipynb", NULL},
                                  {p4, "e.ipynb", NULL}, {p5, "f.ipynb", NULL},
                                  {p6, "bad.ipynb", NULL}, {p7, "r3.ipynb", NULL}};
    int fds = unit_open_fds();
    char *first = NULL;
    for (int jobs = 1; jobs <= 3; jobs += 2) {
        struct collected c = {0};
        struct ingest_stats st;
        assert_int_equal(ingest_run(items, 8, jobs, collect, &c, &st), 0);
        assert_int_equal(unit_open_fds(), fds); /* every notebook closed */
        assert_int_equal(st.not_python.total, 2); /* the R notebooks: tallied, no lines */
        assert_int_equal(st.notebooks, 4);
        assert_int_equal(st.bad, 2); /* missing, and bad.ipynb (the jansson reader's) */
        assert_int_equal(st.code_cells, 12002);
        assert_int_equal(st.kept, 12001);
        assert_int_equal(st.dropped_comment, 1);
        assert_int_equal(st.duplicates, 6000);
        assert_int_equal(st.lines, 12001); /* "x = 1\n" is one line */
        assert_int_equal(st.one_cell_notebooks, 1);
        assert_int_equal(st.empty_notebooks, 2);
        const char *want0 = "[0]{\"id\": \"c.ipynb#0\", \"notebook\": \"c.ipynb\", \"index\": 0, "
                            "\"execution_count\": 2, \"source\": \"s = '\\u0001\\u001f\x7f\\b\\f\\r\\u0010'\"}\n"
                            "[1]";
        assert_memory_equal(c.text, want0, strlen(want0));
        char want1[600];
        snprintf(want1, sizeof want1, "[1]%s: %s\n[2]{\"id\": \"many.ipynb#0\"", p2, strerror(ENOENT));
        assert_non_null(strstr(c.text, want1));
        char last[1024];
        snprintf(last, sizeof last, "{\"id\": \"many.ipynb#11999\", \"notebook\": \"many.ipynb\", "
                 "\"index\": 11999, \"execution_count\": null, \"source\": \"x = 5999\\n\"}\n"
                 "[3][4][5][6]%s:1:", p6);
        const char *at = strstr(c.text, last);
        assert_non_null(at);
        /* nothing after but bad.ipynb's reason, one line, and nothing from r3.ipynb */
        assert_true(strchr(at + strlen(last), '\n') == c.text + c.len - 4);
        assert_string_equal(c.text + c.len - 4, "\n[7]");
        if (!first) first = c.text;
        else {
            assert_string_equal(c.text, first);
            free(c.text);
        }
    }
    free(first);
    /* a sink's non-zero stops the run and is what ingest_run returns */
    int calls = 0;
    struct ingest_stats st;
    assert_int_equal(ingest_run(items, 8, 1, stop_at_first, &calls, &st), 7);
    assert_int_equal(calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ingests_a_tree),
        cmocka_unit_test(ingests_one_file_and_refuses_bad_usage),
        cmocka_unit_test(a_bad_notebook_is_named_whatever_allocation_fails),
        cmocka_unit_test(ingest_says_a_folder_has_no_notebooks),
        cmocka_unit_test(ingest_takes_duplicate_keys_as_python),
        cmocka_unit_test(ingest_refuses_one_id_for_two_notebooks),
        cmocka_unit_test(fmt_rewrites_only_what_changes),
        cmocka_unit_test(ingest_run_escapes_counts_and_names),
    };
    return cmocka_run_group_tests_name("ingest", tests, setup, teardown);
}
