/* test_gold.c — labeling/gold.c, the hand-label files, read directly: a cell listed
 * twice (same label: once; different: the error names the first row and both stages,
 * `load` included), a missing file's reason, UTF-16 named even when its first line is
 * the byte-order mark alone, a UTF-8 byte-order mark, header and CRLF skipped, lookups,
 * the mismatch hint quoting the file's first id, and a confidence other than h, m or l
 * refused. */
#include "unit.h"

#include "labeling/gold.h"
#include "labeling/stage.h"

static char *write_tmp(const char *bytes, size_t len)
{
    static char path[64];
    strcpy(path, "/tmp/nbstage-test-gold-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    close(fd);
    return path;
}

static int load(struct gold *g, const char *bytes, size_t len, char *err, size_t errlen)
{
    char *path = write_tmp(bytes, len);
    int rc = gold_load(g, path, err, errlen);
    unlink(path);
    return rc;
}

static void a_cell_twice(void **state)
{
    (void)state;
    struct gold g;
    char err[512];
    const char same[] = "c#1\tprep\n"
                        "c#0\tload\n"
                        "c#1\tprep\t\tm\n"
                        "c#1\tprep\n";
    assert_int_equal(load(&g, same, sizeof same - 1, err, sizeof err), 0);
    assert_int_equal(g.n, 2);
    const struct gold_row *r = gold_find(&g, "c#1");
    assert_non_null(r);
    assert_int_equal(r->line, 1); /* the first row kept */
    assert_int_equal(r->label, stage_from_key("prep"));
    assert_int_equal(gold_find(&g, "c#0")->label, 0);
    assert_null(gold_find(&g, "c#2"));
    gold_free(&g);

    const char differ[] = "c#0\tload\n"
                          "c#0\tload\n"
                          "c#0\ttrain\n";
    assert_int_equal(load(&g, differ, sizeof differ - 1, err, sizeof err), -1);
    assert_non_null(strstr(err, ":3: c#0 is labeled load on line 1, train here"));
    assert_int_equal(g.n, 0);
    const char two[] = "b#0\tprep\nb#0\tnone\n";
    assert_int_equal(load(&g, two, sizeof two - 1, err, sizeof err), -1);
    assert_non_null(strstr(err, ":2: b#0 is labeled prep on line 1, none here"));
}

static void refusals_say_why(void **state)
{
    (void)state;
    struct gold g;
    char err[512];
    assert_int_equal(gold_load(&g, "/nonexistent/gold.tsv", err, sizeof err), -1);
    assert_string_equal(err, "/nonexistent/gold.tsv: No such file or directory");
    /* UTF-16 whose first line is the byte-order mark alone */
    const char utf16[] = "\xff\xfe\n\0c\0";
    assert_int_equal(load(&g, utf16, sizeof utf16 - 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "UTF-16"));
    const char unknown[] = "c#0\tload\nc#1\tprep\tfit\n";
    assert_int_equal(load(&g, unknown, sizeof unknown - 1, err, sizeof err), -1);
    assert_non_null(strstr(err, ":2: unknown stage 'fit'"));
    const char one[] = "c#0\n";
    assert_int_equal(load(&g, one, sizeof one - 1, err, sizeof err), -1);
    assert_non_null(strstr(err, ":1: expected at least 2"));
    /* a confidence that is not the guide's h, m or l dropped the cell from the lines by
     * the labels' doubt, unsaid; empty is none */
    const char bad_conf[] = "c#0\tload\t\th\nc#1\tprep\t\t\tnote\nc#2\tprep\t\tH\n";
    assert_int_equal(load(&g, bad_conf, sizeof bad_conf - 1, err, sizeof err), -1);
    assert_non_null(strstr(err, ":3: confidence 'H': expected h, m or l"));
    const char long_conf[] = "c#0\tload\t\thigh\n";
    assert_int_equal(load(&g, long_conf, sizeof long_conf - 1, err, sizeof err), -1);
    assert_non_null(strstr(err, ":1: confidence 'high'"));
    const char good[] = "c#0\tload\t\th\nc#1\tprep\t\t\tnote\nc#2\tprep\t\tl\n";
    assert_int_equal(load(&g, good, sizeof good - 1, err, sizeof err), 0);
    assert_int_equal(g.rows[0].confidence, 'h');
    assert_int_equal(g.rows[1].confidence, 0);
    gold_free(&g);
}

static void spreadsheet_export_and_hint(void **state)
{
    (void)state;
    struct gold g;
    char err[512];
    const char text[] = "\xef\xbb\xbf" "cell_id\tlabel\tsecondary\tconfidence\tnote\r\n"
                        "z#1\texplore\tprep\th\ta note\twith a tab\r\n"
                        "\r\n"
                        "a#0\timports\r\n";
    assert_int_equal(load(&g, text, sizeof text - 1, err, sizeof err), 0);
    assert_int_equal(g.n, 2);
    const struct gold_row *r = gold_find(&g, "z#1");
    assert_non_null(r);
    assert_int_equal(r->label, stage_from_key("explore"));
    assert_int_equal(r->secondary, stage_from_key("prep"));
    assert_int_equal(r->confidence, 'h');
    assert_int_equal(r->line, 2);
    assert_int_equal(gold_find(&g, "a#0")->secondary, STAGE_NONE);
    char *buf = NULL;
    size_t len = 0;
    FILE *to = open_memstream(&buf, &len);
    gold_mismatch_hint(to, "nbstage eval", &g, "x.ipynb#0");
    fclose(to);
    /* the file's first id, though not the first in sorted order */
    assert_non_null(strstr(buf, "nbstage eval: the hand labels' ids look like 'z#1', the cells' like 'x.ipynb#0'"));
    free(buf);
    gold_free(&g);
    /* a byte-order mark alone on the first line, three fields, no confidence */
    const char bare[] = "\xef\xbb\xbf\nq#0\ttrain\tevaluate\n";
    assert_int_equal(load(&g, bare, sizeof bare - 1, err, sizeof err), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.rows[0].secondary, stage_from_key("evaluate"));
    assert_int_equal(g.rows[0].confidence, 0);
    gold_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_cell_twice),
        cmocka_unit_test(refusals_say_why),
        cmocka_unit_test(spreadsheet_export_and_hint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
