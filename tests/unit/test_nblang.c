/* test_nblang.c — a notebook's language (nbformat/nblang.c), the one rule tag,
 * summary, ingest and classify leave notebooks that are not Python by: which
 * metadata says it (language_info.name first, kernelspec.language else, empty or
 * not a string as absent), which names are Python (case and white space aside,
 * versions), none taken as Python; the same answer from the tree as from the bytes
 * the two byte scanners (canonscan: tag, cellscan: ingest and summary) find, and from
 * a language given alone (a kernelspec's, install-kernel); the name as messages show
 * it; and the tally the reports print. */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <string.h>

#include "nbformat/canonscan.h"
#include "nbformat/cellscan.h"
#include "nbformat/nblang.h"
#include "nbformat/notebook.h"

/* The notebook with METADATA (a JSON object's text), one code cell, as nb_dumps
 * writes it (so canonscan takes it too); its language by all three ways in, which
 * must agree; *PY whether it is Python, NAME its name. */
static void lang_of(const char *metadata, int *py, char *name)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"cells\": [{\"cell_type\": \"code\", \"execution_count\": null, \"id\": \"a\", "
             "\"metadata\": {}, \"outputs\": [], \"source\": \"x <- 1\"}], \"metadata\": %s, "
             "\"nbformat\": 4, \"nbformat_minor\": 5}",
             metadata);
    nb_error e;
    json_t *nb = nb_read_mem(text, strlen(text), "t.ipynb", 0, &e);
    assert_non_null(nb);
    struct nb_lang tree, canon, cells;
    /* each way in sets both fields: none left as the caller had it */
    memset(&tree, 'x', sizeof tree);
    memset(&canon, 'x', sizeof canon);
    memset(&cells, 'x', sizeof cells);
    nb_lang_of_tree(nb, &tree);
    size_t len;
    char *canonical = nb_dumps(nb, &len);
    json_decref(nb);
    struct canonscan cs = {0};
    assert_int_equal(canonscan_run(&cs, canonical, len), 0);
    nb_lang_of_metadata(canonical + cs.meta_off, cs.meta_end - cs.meta_off, &canon);
    struct cellscan ls = {0};
    assert_int_equal(cellscan_run(&ls, text, strlen(text)), 0);
    nb_lang_of_metadata(text + ls.meta_off, ls.meta_end - ls.meta_off, &cells);
    canonscan_free(&cs);
    cellscan_free(&ls);
    free(canonical);
    assert_int_equal(tree.python, canon.python);
    assert_int_equal(tree.python, cells.python);
    assert_string_equal(tree.name, canon.name);
    assert_string_equal(tree.name, cells.name);
    *py = tree.python;
    strcpy(name, tree.name);
}

static void expect(const char *metadata, int python, const char *name)
{
    int py;
    char got[NB_LANG_NAME];
    lang_of(metadata, &py, got);
    if (py != python || strcmp(got, name))
        fail_msg("%s: python %d name \"%s\", expected %d \"%s\"", metadata, py, got, python, name);
}

static void test_the_metadata_that_names_the_language(void **state)
{
    (void)state;
    /* none given: Python (a notebook written by a script) */
    expect("{}", 1, "");
    expect("{\"kernelspec\": {\"name\": \"ir\"}}", 1, "");
    /* IRkernel, IJulia, as Jupyter and VS Code save them */
    expect("{\"kernelspec\": {\"display_name\": \"R\", \"language\": \"R\", \"name\": \"ir\"}, "
           "\"language_info\": {\"codemirror_mode\": \"r\", \"name\": \"R\", \"version\": \"4.3.1\"}}",
           0, "r");
    expect("{\"kernelspec\": {\"language\": \"julia\", \"name\": \"julia-1.9\"}, "
           "\"language_info\": {\"name\": \"julia\", \"version\": \"1.9.3\"}}", 0, "julia");
    /* language_info.name first, kernelspec.language else */
    expect("{\"language_info\": {\"name\": \"scala\"}}", 0, "scala");
    expect("{\"kernelspec\": {\"language\": \"sql\"}}", 0, "sql");
    expect("{\"kernelspec\": {\"language\": \"R\"}, \"language_info\": {\"name\": \"python\"}}", 1,
           "python");
    expect("{\"kernelspec\": {\"language\": \"python\"}, \"language_info\": {\"name\": \"R\"}}", 0,
           "r");
    /* empty, blank or not a string: as absent (one corpus notebook has name "") */
    expect("{\"kernelspec\": {\"language\": \"python\"}, \"language_info\": {\"name\": \"\"}}", 1,
           "python");
    expect("{\"kernelspec\": {\"language\": \"R\"}, \"language_info\": {\"name\": \"  \"}}", 0, "r");
    expect("{\"kernelspec\": {\"language\": \"R\"}, \"language_info\": {\"name\": 3}}", 0, "r");
    expect("{\"kernelspec\": \"R\", \"language_info\": null}", 1, "");
    /* a "language" elsewhere in the metadata is not the notebook's */
    expect("{\"widgets\": {\"language\": \"R\"}, \"colab\": {\"language_info\": {\"name\": \"R\"}}}",
           1, "");
}

static void test_pythons_spelled_every_way(void **state)
{
    (void)state;
    const char *py[] = {"python", "Python", "PYTHON", "python2", "python3", "Python 3",
                        " python3 ", "python3.11", "python3.10", "python3.9", "ipython",
                        "IPython", "pyspark", "PySpark"};
    for (size_t i = 0; i < sizeof py / sizeof *py; i++) {
        char md[128];
        snprintf(md, sizeof md, "{\"kernelspec\": {\"language\": \"%s\"}}", py[i]);
        int got;
        char name[NB_LANG_NAME];
        lang_of(md, &got, name);
        if (!got) fail_msg("\"%s\" is Python", py[i]);
    }
    const char *not_py[] = {"pythonic", "cpython", "python3x", "python.3", "py", "r", "julia",
                            "javascript", "xpython", "pytho3"};
    for (size_t i = 0; i < sizeof not_py / sizeof *not_py; i++) {
        char md[128];
        snprintf(md, sizeof md, "{\"language_info\": {\"name\": \"%s\"}}", not_py[i]);
        int got;
        char name[NB_LANG_NAME];
        lang_of(md, &got, name);
        if (got) fail_msg("\"%s\" is not Python", not_py[i]);
    }
    /* the answer is 1, as nblang.h says, for each way of naming Python */
    expect("{\"language_info\": {\"name\": \"PySpark\"}}", 1, "pyspark");
    expect("{\"language_info\": {\"name\": \"IPython\"}}", 1, "ipython");
    expect("{\"language_info\": {\"name\": \"Python 3.11\"}}", 1, "python 3.11");
    /* a version as long as the name buffer holds (NB_LANG_NAME - 1 characters, spaces
     * not counted) is still read; one more character and it is not Python (and nothing
     * is written past the buffer) */
    char v[NB_LANG_NAME + 2], md[128];
    memset(v, '1', sizeof v);
    memcpy(v, "python3.", 8);
    v[NB_LANG_NAME - 1] = 0;
    snprintf(md, sizeof md, "{\"language_info\": {\"name\": \" %s \"}}", v);
    int got;
    char name[NB_LANG_NAME];
    lang_of(md, &got, name);
    assert_int_equal(got, 1);
    v[NB_LANG_NAME - 1] = '1';
    v[NB_LANG_NAME] = 0;
    snprintf(md, sizeof md, "{\"language_info\": {\"name\": \"%s\"}}", v);
    lang_of(md, &got, name);
    assert_int_equal(got, 0);
}

static void test_a_language_given_alone(void **state)
{
    (void)state;
    /* as a notebook's kernelspec.language gives it: the same answer, the same name */
    const char *langs[] = {"python", "Python 3", " python3.11 ", "IPython", "PySpark", "R",
                           "julia", " Scala ", "cpython", "python3x", "q\x1b[31m"};
    for (size_t i = 0; i < sizeof langs / sizeof *langs; i++) {
        char md[128];
        json_t *s = json_string(langs[i]);
        char *q = json_dumps(s, JSON_ENCODE_ANY);
        snprintf(md, sizeof md, "{\"kernelspec\": {\"language\": %s}}", q);
        free(q);
        json_decref(s);
        int py;
        char name[NB_LANG_NAME];
        lang_of(md, &py, name);
        struct nb_lang l;
        nb_lang_of_name(langs[i], strlen(langs[i]), &l);
        if (l.python != py || strcmp(l.name, name))
            fail_msg("\"%s\": python %d \"%s\" alone, %d \"%s\" in a notebook", langs[i], l.python,
                     l.name, py, name);
    }
    /* none given, or blank: Python, no name */
    struct nb_lang l = {0, "x"};
    nb_lang_of_name(NULL, 0, &l);
    assert_int_equal(l.python, 1);
    assert_string_equal(l.name, "");
    l.python = 0;
    nb_lang_of_name(" \t", 2, &l);
    assert_int_equal(l.python, 1);
    assert_string_equal(l.name, "");
    /* only its N bytes are read: blank there, whatever follows */
    l.python = 0;
    nb_lang_of_name("   R", 2, &l);
    assert_int_equal(l.python, 1);
    assert_string_equal(l.name, "");
}

static void test_the_name_as_messages_show_it(void **state)
{
    (void)state;
    /* trimmed, lower case, control characters and beyond ASCII as '?', cut to fit;
     * escapes decoded (the jansson path and the scanners alike) */
    expect("{\"language_info\": {\"name\": \" Scala \"}}", 0, "scala");
    expect("{\"language_info\": {\"name\": \"q\\u001b[31m\"}}", 0, "q?[31m");
    expect("{\"language_info\": {\"name\": \"\\u00e9l\"}}", 0, "??l");
    expect("{\"language_info\": {\"name\": \"abcdefghijklmnopqrstuvwxyz0123456789\"}}", 0,
           "abcdefghijklmnopqrstuvwxyz01234");
    /* every capital lowered, 'Z' too; the characters beside the capitals and the ends of
     * printable ASCII kept, a space inside the name too (space and '~' are the bounds) */
    expect("{\"language_info\": {\"name\": \"AZ @[`{ ~\"}}", 0, "az @[`{ ~");
    expect("{\"language_info\": {\"name\": \"a\\u007fb\"}}", 0, "a?b");
}

/* nb_lang_of_metadata walks the bytes rather than parsing them (a notebook's metadata
 * may carry megabytes of widget state): on METADATA's bytes, the answer of jansson's
 * tree of them (a repeated key: the last wins, as the reading commands read notebooks:
 * NB_DUP_KEYS), which must be PYTHON and NAME. */
static void walk(const char *metadata, int python, const char *name)
{
    json_t *m = json_loadb(metadata, strlen(metadata), JSON_ALLOW_NUL, NULL);
    assert_non_null(m);
    json_t *nb = json_pack("{sO}", "metadata", m);
    struct nb_lang tree, bytes;
    memset(&bytes, 'x', sizeof bytes);
    nb_lang_of_tree(nb, &tree);
    nb_lang_of_metadata(metadata, strlen(metadata), &bytes);
    json_decref(nb);
    json_decref(m);
    if (tree.python != python || strcmp(tree.name, name) || bytes.python != python ||
        strcmp(bytes.name, name))
        fail_msg("%s: tree %d \"%s\", bytes %d \"%s\", expected %d \"%s\"", metadata, tree.python,
                 tree.name, bytes.python, bytes.name, python, name);
}

static void test_the_walk_over_the_bytes_answers_as_jansson(void **state)
{
    (void)state;
    /* a repeated key: the last one, whatever it holds */
    walk("{\"language_info\": {\"name\": \"R\"}, \"language_info\": {\"name\": \"julia\"}}", 0,
         "julia");
    walk("{\"language_info\": {\"name\": \"R\", \"name\": \"python\"}}", 1, "python");
    walk("{\"language_info\": {\"name\": \"R\"}, \"language_info\": 3, "
         "\"kernelspec\": {\"language\": \"scala\"}}", 0, "scala");
    walk("{\"kernelspec\": {\"language\": \"R\"}, \"kernelspec\": [\"python\"]}", 1, "");
    /* keys and brackets inside other values, strings with quotes and brackets in them */
    const char *nested[] = {
        "{\"widgets\": {\"state\": {\"a\": [1, {\"language_info\": \"x\"}, \"]}\\\"{\", "
        "{\"kernelspec\": {\"language\": \"sql\"}}]}}, \"language_info\": {\"name\": \"julia\"}}",
        "{\"a\": \"}\\\"{\\\\\", \"b\": [[], {}], \"kernelspec\": {\"x\": {\"language\": \"sql\"}, "
        "\"language\": \"R\"}}",
        /* literals beside them, white space wherever JSON allows it */
        "{ \"a\" : true ,\"b\":-1.5e3, \"c\" :null,\n\t\"language_info\" :{ \"x\": false,"
        "\r\n \"name\" : \"R\" } }",
    };
    const char *nested_name[] = {"julia", "r", "r"};
    for (size_t i = 0; i < sizeof nested / sizeof *nested; i++) {
        walk(nested[i], 0, nested_name[i]);
        expect(nested[i], 0, nested_name[i]); /* and through both scanners */
    }
    walk("{\"language_info\": {}}", 1, "");
    walk("{\"language_info\": {\"name\": \"\\u00e9\\u0000\"}, \"x\": \"\\u00e9\"}", 0, "???");
    /* an escaped name is decoded (jansson decodes the token) */
    walk("{\"language_info\": {\"name\": \"\\u0052\"}}", 0, "r");
    expect("{\"language_info\": {\"name\": \"pyth\\u006fn3\"}}", 1, "python3");
    /* the scanners take no escaped key; given one, the walk hands the bytes to jansson */
    walk("{\"language_info\": {\"n\\u0061me\": \"R\"}}", 0, "r");
    walk("{\"\\u006canguage_info\": {\"name\": \"R\"}, \"kernelspec\": {\"language\": \"sql\"}}", 0,
         "r");
}

static void test_the_tally_the_reports_print(void **state)
{
    (void)state;
    struct nb_lang_tally t = {0};
    const char *met[] = {"julia", "r", "r", "scala", "r", "julia", "sql"};
    for (size_t i = 0; i < sizeof met / sizeof *met; i++) {
        struct nb_lang l = {0};
        strcpy(l.name, met[i]);
        nb_lang_tally_add(&t, &l);
    }
    char buf[256] = "";
    FILE *f = fmemopen(buf, sizeof buf, "w");
    nb_lang_tally_print(f, &t);
    fclose(f);
    assert_string_equal(buf, "r 3, julia 2, scala 1, sql 1"); /* most first, then as met */
    assert_int_equal(t.total, 7);
    /* beyond NB_LANG_KINDS languages: "other" */
    struct nb_lang_tally many = {0};
    for (int i = 0; i < NB_LANG_KINDS + 3; i++) {
        struct nb_lang l = {0};
        snprintf(l.name, sizeof l.name, "l%d", i);
        nb_lang_tally_add(&many, &l);
    }
    memset(buf, 0, sizeof buf);
    f = fmemopen(buf, sizeof buf, "w");
    nb_lang_tally_print(f, &many);
    fclose(f);
    assert_non_null(strstr(buf, "l7 1, other 3"));
    assert_int_equal(many.total, NB_LANG_KINDS + 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_metadata_that_names_the_language),
        cmocka_unit_test(test_pythons_spelled_every_way),
        cmocka_unit_test(test_a_language_given_alone),
        cmocka_unit_test(test_the_name_as_messages_show_it),
        cmocka_unit_test(test_the_walk_over_the_bytes_answers_as_jansson),
        cmocka_unit_test(test_the_tally_the_reports_print),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
