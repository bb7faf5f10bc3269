/* test_stagemap.c — the stage map (model/stagemap.c): run compression, the plain and
 * coloured text (its header, rows, sequence and table fitted to a narrow terminal), JSON
 * and SVG renderings (long sequences wrapped within the picture), counts and shares (by
 * largest remainder: they total 100.0%). */
#include "tests/unit/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/stagemap.h"

/* imports, load, explore x4 (a blank cell inside the run), prep x3, train, evaluate */
static void fill_example(struct stagemap *m)
{
    int stages[] = {STAGE_IMPORTS, STAGE_LOAD,  STAGE_EXPLORE, STAGE_EXPLORE,
                    STAGEMAP_BLANK, STAGE_EXPLORE, STAGE_EXPLORE, STAGE_PREP,
                    STAGE_PREP,    STAGE_PREP,  STAGE_TRAIN,   STAGE_EVALUATE};
    long lines[] = {4, 2, 1, 1, 0, 1, 1, 3, 3, 4, 5, 5};
    assert_int_equal(stagemap_init(m, "nb <&\">.ipynb", "nbstage-lstm-test"), 0);
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(stagemap_add(m, stages[i], stages[i] >= 0 ? 0.5 : -1,
                                      lines[i]),
                         0);
}

static char *render_fit(const struct stagemap *m, int color, int columns)
{
    /* on the heap: GCC's -Wdangling-pointer misreads a stack buffer handed to
     * open_memstream once this is inlined */
    struct { char *buf; size_t len; } *mem = calloc(1, sizeof *mem);
    FILE *f = open_memstream(&mem->buf, &mem->len);
    stagemap_print_text(f, m, color, columns);
    fclose(f);
    char *text = mem->buf;
    free(mem);
    return text;
}

static char *render(const struct stagemap *m, int color) { return render_fit(m, color, 0); }

static void test_sequence(void **state)
{
    (void)state;
    struct stagemap m;
    fill_example(&m);
    char *seq = stagemap_sequence(&m);
    assert_string_equal(seq, "imports > load > explore x4 > prep x3 > train > evaluate");
    free(seq);
    assert_int_equal(m.counts[STAGE_EXPLORE], 4);
    assert_int_equal(m.blank, 1);
    assert_int_equal(m.staged_lines, 30);
    assert_int_equal(m.code_lines, 30);
    stagemap_free(&m);

    assert_int_equal(stagemap_init(&m, "empty", "x"), 0);
    seq = stagemap_sequence(&m);
    assert_string_equal(seq, "");
    free(seq);
    assert_int_equal(stagemap_add(&m, STAGEMAP_BLANK, -1, 0), 0);
    assert_int_equal(stagemap_add(&m, STAGEMAP_UNTAGGED, -1, 2), 0);
    assert_int_equal(stagemap_add(&m, STAGEMAP_UNTAGGED, -1, 2), 0);
    assert_int_equal(stagemap_add(&m, STAGE_LOAD, 0.9, 1), 0);
    assert_int_equal(stagemap_add(&m, 99, 0.9, 1), 0); /* out of range: untagged */
    seq = stagemap_sequence(&m);
    assert_string_equal(seq, "untagged x2 > load > untagged");
    free(seq);
    assert_int_equal(m.untagged, 3);
    stagemap_free(&m);
}

static void test_plain_text(void **state)
{
    (void)state;
    struct stagemap m;
    fill_example(&m);
    char *text = render(&m, 0);
    const char *want =
        "nb <&\">.ipynb: 12 code cells (1 blank), 30 lines of code; stages from "
        "nbstage-lstm-test\n"
        "  ILXX.XXPPPTE\n"
        "  imports > load > explore x4 > prep x3 > train > evaluate\n"
        "     stage       cells  lines  share\n"
        "  L  load            1      2   6.7%\n"
        "  P  prep            3     10  33.3%\n"
        "  T  train           1      5  16.7%\n"
        "  E  evaluate        1      5  16.7%\n"
        "  X  explore         4      4  13.3%\n"
        "  I  imports         1      4  13.3%\n";
    assert_string_equal(text, want);
    assert_null(strchr(text, '\033'));
    free(text);
    text = render(&m, 1);
    assert_non_null(strstr(text, "\033[1;38;5;231;48;5;33mL\033[0m")); /* load, blue */
    assert_non_null(strstr(text, "\033[2m.\033[0m"));                   /* blank, dim */
    free(text);
    stagemap_free(&m);
}

/* One parenthesis for the blank and the untagged cells (summary --saved): it read
 * "9 code cells (1 blank) (8 untagged)". */
static void test_header_blank_and_untagged(void **state)
{
    (void)state;
    struct stagemap m;
    assert_int_equal(stagemap_init(&m, "a.ipynb", "saved tags"), 0);
    assert_int_equal(stagemap_add(&m, STAGEMAP_UNTAGGED, -1, 2), 0);
    char *text = render(&m, 0);
    const char *want = "a.ipynb: 1 code cell (1 untagged), 2 lines of code;";
    assert_true(!strncmp(text, want, strlen(want)));
    free(text);
    stagemap_free(&m);
    /* one line: "1 line of code", as "1 code cell" (it said "1 lines of code") */
    assert_int_equal(stagemap_init(&m, "a.ipynb", "saved tags"), 0);
    assert_int_equal(stagemap_add(&m, STAGE_IMPORTS, 0.9, 1), 0);
    text = render(&m, 0);
    want = "a.ipynb: 1 code cell, 1 line of code;";
    assert_true(!strncmp(text, want, strlen(want)));
    free(text);
    stagemap_free(&m);
    assert_int_equal(stagemap_init(&m, "a.ipynb", "saved tags"), 0);
    assert_int_equal(stagemap_add(&m, STAGEMAP_UNTAGGED, -1, 2), 0);
    assert_int_equal(stagemap_add(&m, STAGEMAP_BLANK, -1, 0), 0);
    assert_int_equal(stagemap_add(&m, STAGE_LOAD, 0.9, 1), 0);
    text = render(&m, 0);
    want = "a.ipynb: 3 code cells (1 blank, 1 untagged), 3 lines of code;";
    assert_true(!strncmp(text, want, strlen(want)));
    free(text);
    stagemap_free(&m);
}

static void test_wraps_long_maps(void **state)
{
    (void)state;
    struct stagemap m;
    assert_int_equal(stagemap_init(&m, "long", "x"), 0);
    for (size_t i = 0; i < 130; i++) assert_int_equal(stagemap_add(&m, (int)(i % 6), 0.5, 1), 0);
    char *text = render(&m, 0);
    /* 60 blocks a row: rows of 60, 60 and 10 */
    const char *row = strchr(text, '\n') + 1;
    for (int r = 0; r < 3; r++) {
        const char *end = strchr(row, '\n');
        assert_int_equal(end - row, 2 + (r < 2 ? 60 : 10));
        row = end + 1;
    }
    free(text);
    stagemap_free(&m);
}

/* On a terminal narrower than a row of 60 (a split pane, a phone's ssh), the rows
 * wrapped at its edge: fewer blocks a row (a multiple of 10) and the sequence broken
 * before a " > ", each line within the width; the same map and sequence otherwise. */
static void test_fits_narrow_terminals(void **state)
{
    (void)state;
    struct stagemap m;
    assert_int_equal(stagemap_init(&m, "long", "x"), 0);
    for (size_t i = 0; i < 130; i++) assert_int_equal(stagemap_add(&m, (int)(i % 6), 0.5, 1), 0);
    char *seq = stagemap_sequence(&m);
    const int widths[] = {40, 61, 62, 200, 12, 1};
    const size_t per_row[] = {30, 50, 60, 60, 10, 10};
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        char *text = render_fit(&m, 0, widths[w]);
        /* after the header (one line or more): rows of blocks, then the sequence's
         * lines, then the table */
        const char *line = strchr(text, '\n') + 1;
        while (strspn(line + 2, "LPTEXI.?") != (size_t)(strchr(line, '\n') - line) - 2) line = strchr(line, '\n') + 1;
        size_t blocks = 0;
        char joined[4096] = "";
        for (;;) {
            const char *end = strchr(line, '\n');
            size_t len = (size_t)(end - line);
            if (strspn(line + 2, "LPTEXI.?") == len - 2) { /* a row of blocks */
                size_t want = 130 - blocks < per_row[w] ? 130 - blocks : per_row[w];
                assert_int_equal(len - 2, want);
                blocks += len - 2;
            } else if (!strncmp(line + strspn(line, " "), "stage ", 6)) {
                break;
            } else { /* the sequence: "  first > ..." then "  > next > ..." */
                if (widths[w] >= 22) assert_true(len <= (size_t)widths[w]);
                strncat(joined, line + (joined[0] ? 1 : 2), len - (joined[0] ? 1 : 2));
            }
            line = end + 1;
        }
        assert_int_equal(blocks, 130);
        assert_string_equal(joined, seq);
        free(text);
    }
    free(seq);
    stagemap_free(&m);
}

/* TEXT's lines, each a string in LINES[0..*N) (TEXT cut in place). */
static size_t split_lines(char *text, char **lines, size_t max)
{
    size_t n = 0;
    for (char *p = text; *p && n < max;) {
        char *end = strchr(p, '\n');
        *end = 0;
        lines[n++] = p;
        p = end + 1;
    }
    return n;
}

/* The header and the table fitted as the blocks and the sequence are: below some 80
 * columns the header ran past the edge (a path, the model's name), below 36 the
 * table.  The header is broken after a clause (", " or "; ") and reads back as the
 * line it was; the table closes up, then drops its lines, then its cells column, its
 * blocks, keys and shares kept; into a pipe (0) and from 36 up it is as it was. */
static void test_header_and_table_fit_narrow_terminals(void **state)
{
    (void)state;
    struct stagemap m;
    assert_int_equal(stagemap_init(&m, "notebooks/analysis.ipynb", "lstm-test"), 0);
    int stages[] = {STAGE_IMPORTS, STAGE_LOAD, STAGEMAP_BLANK, STAGE_EXPLORE, STAGEMAP_UNTAGGED, STAGE_PREP,
                    STAGE_TRAIN, STAGE_EVALUATE, STAGEMAP_UNTAGGED};
    long lines_of[] = {3, 2, 0, 12345, 1, 4, 5, 6, 1};
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++)
        assert_int_equal(stagemap_add(&m, stages[i], 0.5, lines_of[i]), 0);
    char *wide = render_fit(&m, 0, 0), *wl[32];
    size_t nw = split_lines(wide, wl, 32);
    assert_string_equal(wl[0], "notebooks/analysis.ipynb: 9 code cells (1 blank, 2 untagged), 12367 lines of code; "
                               "stages from lstm-test");
    assert_int_equal(nw, 3 + 7);
    const int widths[] = {80, 40, 36, 35, 30, 25, 20};
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        int width = widths[w];
        char *text = render_fit(&m, 0, width), *l[32];
        size_t n = split_lines(text, l, 32);
        /* the header: its lines joined read as the one line */
        size_t h = 1;
        char joined[512];
        strcpy(joined, l[0]);
        while (strspn(l[h] + 2, "LPTEXI.?") != strlen(l[h]) - 2) {
            assert_true(!strncmp(l[h], "  ", 2) && l[h][2] != ' ');
            strcat(joined, " ");
            strcat(joined, l[h] + 2);
            h++;
        }
        assert_string_equal(joined, wl[0]);
        assert_true(width >= 80 || h > 1);
        /* then the blocks, the sequence and the table, each line within the width */
        for (size_t i = 0; i < n; i++) /* but the name, kept whole on a line of its own */
            if (strlen(l[i]) > (size_t)width && !(i == 0 && !strcmp(l[0], "notebooks/analysis.ipynb:")))
                fail_msg("width %d: line %zu '%s' is wider", width, i, l[i]);
        size_t t = h + 2; /* after the row of blocks and the sequence's lines */
        while (t < n && strncmp(l[t] + strspn(l[t], " "), "stage ", 6)) t++;
        assert_int_equal(n, t + 7);
        char **table = l + t, **wide_table = wl + 3;
        for (size_t i = 0; i < 7; i++) {
            if (width >= 36) {
                assert_string_equal(table[i], wide_table[i]);
                continue;
            }
            const char *want_cols = width >= 31 ? "stage cells lines share" : width >= 25 ? "stage cells share"
                                  : "stage share";
            char got[128] = "", word[64];
            int k = 0, used;
            /* the header's words, or a row's: block, key, [cells], [lines], share */
            for (const char *p = table[i]; sscanf(p, "%63s%n", word, &used) == 1; p += used, k++) {
                if (i == 0) { strcat(got, k ? " " : ""); strcat(got, word); }
            }
            if (i == 0) assert_string_equal(got, want_cols);
            else assert_int_equal(k, 1 + 1 + (width >= 25) + (width >= 31) + 1);
            if (i > 0) {
                assert_true(!strncmp(table[i] + 2, wide_table[i] + 2, 1)); /* the block's letter */
                assert_non_null(strstr(table[i], stage_key[i - 1]));
                /* the share, as the wide table has it */
                assert_string_equal(strrchr(table[i], ' ') + 1, strrchr(wide_table[i], ' ') + 1);
            }
        }
        free(text);
    }
    free(wide);
    stagemap_free(&m);
}

/* The shares in the text table (one decimal) and in the JSON (four) total exactly
 * 100.0% and 1: each stage rounded on its own, three stages of equal lines showed
 * 33.3% each (99.9%), six 16.7% (100.2%).  Largest remainder: the units left over go
 * to the stages whose shares were cut the most, ties to the earlier in the table. */
static void shares_of(const long *lines, long tenths[N_STAGES], long ten_thousandths[N_STAGES])
{
    struct stagemap m;
    assert_int_equal(stagemap_init(&m, "n", "x"), 0);
    for (int s = 0; s < N_STAGES; s++)
        if (lines[s] >= 0) assert_int_equal(stagemap_add(&m, s, 0.5, lines[s]), 0);
    char *text = render(&m, 0), *l[32];
    size_t n = split_lines(text, l, 32);
    for (int s = 0; s < N_STAGES; s++) {
        long whole, tenth;
        assert_int_equal(sscanf(strrchr(l[n - N_STAGES + s], ' ') + 1, "%ld.%ld%%", &whole, &tenth), 2);
        tenths[s] = whole * 10 + tenth;
    }
    free(text);
    json_t *j = stagemap_json(&m), *st = json_object_get(j, "stages");
    for (int s = 0; s < N_STAGES; s++) {
        char num[32];
        snprintf(num, sizeof num, "%.6g", json_real_value(json_object_get(json_object_get(st, stage_key[s]), "share")));
        double v = atof(num);
        ten_thousandths[s] = lround(v * 10000);
        assert_true(fabs(v * 10000 - (double)ten_thousandths[s]) < 1e-6); /* 4 decimals */
    }
    json_decref(j);
    stagemap_free(&m);
}

static void test_shares_total_100(void **state)
{
    (void)state;
    static const struct { long lines[N_STAGES]; long tenths[N_STAGES]; } cases[] = {
        /* load, prep, train, evaluate, explore, imports; -1: no cell */
        {{1, 1, 1, -1, -1, -1}, {334, 333, 333, 0, 0, 0}},
        {{1, 1, 1, 1, 1, 1}, {167, 167, 167, 167, 166, 166}},
        {{0, 5, 0, 5, 0, 5}, {0, 334, 0, 333, 0, 333}}, /* a stage without lines gets none */
        {{3, 7, 2, 4, 3, 7}, {116, 269, 77, 154, 115, 269}}, /* share/demo.ipynb: 99.9% */
        {{2, 10, 5, 5, 4, 4}, {67, 333, 167, 167, 133, 133}},
        {{1, 0, 0, 0, 0, 0}, {1000, 0, 0, 0, 0, 0}},
        {{0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}},        /* no lines: nothing to share */
        {{-1, -1, -1, -1, -1, -1}, {0, 0, 0, 0, 0, 0}},  /* no cells */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        long t[N_STAGES], tt[N_STAGES];
        shares_of(cases[c].lines, t, tt);
        for (int s = 0; s < N_STAGES; s++)
            if (t[s] != cases[c].tenths[s]) fail_msg("case %zu, %s: %ld tenths, want %ld", c, stage_key[s], t[s],
                                                     cases[c].tenths[s]);
    }
    /* thirds in the JSON: 0.3334 + 0.3333 + 0.3333 */
    long t[N_STAGES], tt[N_STAGES];
    shares_of((const long[N_STAGES]){1, 1, 1, -1, -1, -1}, t, tt);
    assert_int_equal(tt[0], 3334);
    assert_int_equal(tt[1], 3333);
    assert_int_equal(tt[2], 3333);
    /* many maps: the total is exact, each share within one unit of its own rounding */
    unsigned seed = 12345;
    for (int k = 0; k < 2000; k++) {
        long lines[N_STAGES], sum = 0;
        for (int s = 0; s < N_STAGES; s++) {
            seed = seed * 1103515245u + 12345u;
            lines[s] = (long)((seed >> 8) % (k % 3 == 0 ? 7 : k % 3 == 1 ? 100 : 5000));
            sum += lines[s];
        }
        shares_of(lines, t, tt);
        long total = 0, total4 = 0;
        for (int s = 0; s < N_STAGES; s++) {
            total += t[s];
            total4 += tt[s];
            if (sum) {
                assert_true(fabs((double)t[s] - 1000.0 * (double)lines[s] / (double)sum) < 1.0);
                assert_true(fabs((double)tt[s] - 10000.0 * (double)lines[s] / (double)sum) < 1.0);
            }
            if (!lines[s]) assert_int_equal(t[s], 0);
        }
        assert_int_equal(total, sum ? 1000 : 0);
        assert_int_equal(total4, sum ? 10000 : 0);
    }
}

static void test_json(void **state)
{
    (void)state;
    struct stagemap m;
    fill_example(&m);
    json_t *j = stagemap_json(&m);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "notebook")), "nb <&\">.ipynb");
    assert_int_equal(json_integer_value(json_object_get(j, "code_cells")), 12);
    assert_int_equal(json_integer_value(json_object_get(j, "blank")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "sequence")),
                        "imports > load > explore x4 > prep x3 > train > evaluate");
    json_t *stages = json_object_get(j, "stages");
    assert_int_equal(json_object_size(stages), N_STAGES);
    double total = 0;
    for (int s = 0; s < N_STAGES; s++)
        total += json_real_value(json_object_get(json_object_get(stages, stage_key[s]), "share"));
    assert_true(total > 0.999 && total < 1.001);
    assert_true(json_real_value(json_object_get(json_object_get(stages, "prep"), "share")) ==
                0.3333);
    json_t *cells = json_object_get(j, "cells");
    assert_int_equal(json_array_size(cells), 12);
    json_t *blank = json_array_get(cells, 4);
    /* "index" counts code cells from 0, as the cell ids path#index do (summary --help) */
    assert_int_equal(json_integer_value(json_object_get(blank, "index")), 4);
    assert_true(json_is_null(json_object_get(blank, "stage")));
    assert_true(json_is_null(json_object_get(blank, "confidence")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(cells, 0), "stage")),
                        "imports");
    /* stage 0 (load) is a stage like the others, not null */
    assert_string_equal(json_string_value(json_object_get(json_array_get(cells, 1), "stage")),
                        "load");
    assert_true(json_real_value(json_object_get(json_array_get(cells, 1), "confidence")) == 0.5);
    json_decref(j);
    stagemap_free(&m);
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static void test_svg(void **state)
{
    (void)state;
    struct stagemap maps[2];
    fill_example(&maps[0]);
    /* a name with U+FFFE and U+FFFF (valid UTF-8, no XML 1.0 character), a control, a
     * backslash and a byte that is not UTF-8: shown as messages show them (their bytes'
     * escapes, \\ for the backslash), which is valid XML and names the bytes */
    assert_int_equal(stagemap_init(&maps[1], "second \xef\xbf\xbe\xef\xbf\xbf\x01 \xef\xbf\xbd\\\xff.ipynb", "x"),
                     0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(stagemap_write_svg(f, maps, 2), 0);
    fclose(f);
    assert_true(!strncmp(buf, "<?xml", 5));
    assert_non_null(strstr(buf, "second \\xef\\xbf\\xbe\\xef\\xbf\\xbf\\x01 \xef\xbf\xbd\\\\\\xff.ipynb"));
    assert_non_null(strstr(buf, "</svg>\n"));
    /* background + 6 legend swatches and one for the blank cell (white and light grey
     * blocks were explained nowhere) + 12 cells; no "untagged" in the legend (none) */
    assert_int_equal(count(buf, "<rect"), 1 + N_STAGES + 1 + 12);
    assert_non_null(strstr(buf, "<text x=\"694\" y=\"27\">blank</text>"));
    assert_null(strstr(buf, ">untagged</text>"));
    assert_int_equal(count(buf, "<g class=\"notebook\">"), 2);
    assert_non_null(strstr(buf, "nb &lt;&amp;&quot;&gt;.ipynb"));
    assert_null(strstr(buf, "nb <&"));
    assert_non_null(strstr(buf, "<title>#0: imports (50%), 4 lines</title>"));
    assert_non_null(strstr(buf, "<title>#4: blank, 0 lines</title>"));
    free(buf);
    stagemap_free(&maps[0]);
    stagemap_free(&maps[1]);
}

/* A long sequence ran off the picture's right edge on one <text>: it is broken into
 * lines (at most the width / 7 px characters, the picture made taller), which read
 * back as the sequence. */
static void test_svg_wraps_long_sequences(void **state)
{
    (void)state;
    struct stagemap m;
    assert_int_equal(stagemap_init(&m, "long", "x"), 0);
    for (size_t i = 0; i < 130; i++) assert_int_equal(stagemap_add(&m, (int)(i % 6), 0.5, 1), 0);
    char *buf = NULL, *seq = stagemap_sequence(&m);
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(stagemap_write_svg(f, &m, 1), 0);
    fclose(f);
    long width, height;
    assert_int_equal(sscanf(strstr(buf, "<svg "), "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                                                  "width=\"%ld\" height=\"%ld\"", &width, &height),
                     2);
    /* the texts after the last block: the sequence's lines */
    const char *p = strstr(buf, "#129: ");
    char joined[8192] = "";
    size_t lines = 0;
    long y = 0;
    while ((p = strstr(p, "<text x=\"16\" y=\""))) {
        assert_int_equal(sscanf(p, "<text x=\"16\" y=\"%ld\"", &y), 1);
        p = strchr(p, '>') + 1;
        const char *end = strstr(p, "</text>");
        char line[1024] = "";
        size_t n = 0;
        for (const char *q = p; q < end; q++) { /* &gt; read back as > */
            if (!strncmp(q, "&gt;", 4)) q += 3, line[n++] = '>';
            else line[n++] = *q;
        }
        assert_true(n <= (size_t)(width - 32) / 7);
        if (lines++) {
            assert_true(!strncmp(line, "> ", 2));
            strcat(joined, " ");
        }
        strcat(joined, line);
        p = end;
    }
    assert_true(lines > 5);
    assert_string_equal(joined, seq);
    assert_true(y < height - 16);
    free(buf);
    free(seq);
    stagemap_free(&m);
}

static long svg_width(const struct stagemap *maps, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(stagemap_write_svg(f, maps, n), 0);
    fclose(f);
    long width = 0, height = 0;
    assert_int_equal(sscanf(strstr(buf, "<svg "), "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                                                  "width=\"%ld\" height=\"%ld\"", &width, &height),
                     2);
    free(buf);
    return width;
}

/* The picture's width: the legend's boxes (110 px each: the stages, blank and untagged
 * only when there are some), the widest row of blocks or the longest title (about
 * 7.5 px a character), and a 16 px margin on each side. */
static void test_svg_width(void **state)
{
    (void)state;
    struct stagemap m;
    assert_int_equal(stagemap_init(&m, "n", "x"), 0);
    assert_int_equal(svg_width(&m, 1), 2 * 16 + N_STAGES * 110);
    assert_int_equal(stagemap_add(&m, STAGE_LOAD, 0.5, 1), 0);
    assert_int_equal(svg_width(&m, 1), 2 * 16 + N_STAGES * 110);
    assert_int_equal(stagemap_add(&m, STAGEMAP_BLANK, -1, 0), 0); /* one blank cell */
    assert_int_equal(svg_width(&m, 1), 2 * 16 + (N_STAGES + 1) * 110);
    assert_int_equal(stagemap_add(&m, STAGEMAP_UNTAGGED, -1, 1), 0); /* one untagged */
    assert_int_equal(svg_width(&m, 1), 2 * 16 + (N_STAGES + 2) * 110);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(stagemap_write_svg(f, &m, 1), 0);
    fclose(f);
    assert_int_equal(count(buf, ">blank</text>"), 1); /* each in the legend once */
    assert_int_equal(count(buf, ">untagged</text>"), 1);
    free(buf);
    stagemap_free(&m);

    char name[202];
    memset(name, 'n', 201);
    name[201] = 0; /* 201 characters: (201 * 15 + 1) / 2 = 1508 px */
    assert_int_equal(stagemap_init(&m, name, "x"), 0);
    assert_int_equal(svg_width(&m, 1), 2 * 16 + 1508);
    stagemap_free(&m);

    assert_int_equal(stagemap_init(&m, "n", "x"), 0); /* 60 blocks a row, 16 px each */
    for (int i = 0; i < 70; i++) assert_int_equal(stagemap_add(&m, STAGE_PREP, 0.5, 1), 0);
    assert_int_equal(svg_width(&m, 1), 2 * 16 + 60 * 16);
    stagemap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence),
        cmocka_unit_test(test_plain_text),
        cmocka_unit_test(test_header_blank_and_untagged),
        cmocka_unit_test(test_wraps_long_maps),
        cmocka_unit_test(test_fits_narrow_terminals),
        cmocka_unit_test(test_header_and_table_fit_narrow_terminals),
        cmocka_unit_test(test_shares_total_100),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_svg),
        cmocka_unit_test(test_svg_wraps_long_sequences),
        cmocka_unit_test(test_svg_width),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
