/* test_summarywindow.c — `nbstage summary`'s window (model/summarywindow.h) driven
 * directly, its stdout and stderr caught in one file as a `2>&1` would: the entries
 * added zeroed, the window grown past 256 and reused after a flush; a message formatted
 * and counted as an error or not; an error's "PATH: REASON", its path and reason; the
 * flush classifying what the window asked (the answers model_classify's, the
 * confidence rounded as tag saves it, none for a blank cell), or showing --saved's
 * stages and confidences under "saved tags"; maps, notes and messages in order, stdout
 * flushed before each line on stderr; --json's records of an error and of a notebook
 * that is not Python, and only there (not in text, not with --svg -, not for a message
 * that is no error or has no path); the errors counted; stdout's first write error
 * kept; the window emptied.  Before, only summary's integration tests reached it. */
#include "tests/unit/unit.h"
#include "tests/unit/unit_model.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio_ext.h>

#include "model/summarycmd.h"
#include "model/summarywindow.h"
#include "model/tagbatch.h"
#include "model/tagging.h"
#include "nbformat/pysrc.h"

/* stdout and stderr into one scratch file (as `2>&1`) while a flush runs. */
struct catch {
    char path[64];
    int fd, out, err;
};

static void catch_begin(struct catch *c)
{
    strcpy(c->path, "/tmp/nbstage-test-window-XXXXXX");
    c->fd = mkstemp(c->path);
    assert_true(c->fd >= 0);
    fflush(stdout);
    fflush(stderr);
    c->out = dup(1);
    c->err = dup(2);
    dup2(c->fd, 1);
    dup2(c->fd, 2);
}

/* What was written, malloc'd. */
static char *catch_end(struct catch *c)
{
    fflush(stdout);
    fflush(stderr);
    dup2(c->out, 1);
    dup2(c->err, 2);
    close(c->out);
    close(c->err);
    close(c->fd);
    char *text = unit_read_file(c->path, NULL);
    assert_non_null(text);
    unlink(c->path);
    return text;
}

static nbs_model *model;

static int setup(void **state)
{
    (void)state;
    model = unit_small_model(7, "window test");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    model_free(model);
    return 0;
}

/* A summary as cmd_summary.c sets one up: the model and a batch, or --saved. */
static void summary_init(struct summary *s, int saved)
{
    memset(s, 0, sizeof *s);
    s->model = model;
    s->saved = saved;
    s->threads = 1;
    if (!saved) assert_non_null(s->batch = tagbatch_new(model, NULL));
}

static void summary_done(struct summary *s)
{
    for (size_t k = 0; k < s->npending; k++) summarywindow_free_entry(&s->pending[k]);
    free(s->pending);
    tagbatch_free(s->batch);
}

/* An entry for the notebook PATH with the code cells SRC[0..N) (their sources back to
 * back): a blank one said blank, as summaryread.c says it, the others asked of the
 * batch, unless ASK is 0 (their stages and probabilities then set by the caller). */
static struct summary_entry *add_notebook(struct summary *s, const char *path, const char *const *src,
                                          size_t n, int ask)
{
    struct summary_entry *e = summarywindow_add(s);
    assert_non_null(e);
    assert_non_null(e->path = strdup(path));
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += strlen(src[i]);
    assert_non_null(bytebuf_room(&e->text, total + 1, total + 1)); /* one block: the batch keeps pointers */
    assert_non_null(e->cells = calloc(n ? n : 1, sizeof *e->cells));
    for (size_t i = 0; i < n; i++) {
        struct summary_cell *c = &e->cells[i];
        c->off = e->text.n;
        c->len = strlen(src[i]);
        memcpy(e->text.p + c->off, src[i], c->len);
        e->text.n += c->len;
        c->conf = -1;
        c->lines = (long)i + 1;
        c->stage = 99; /* the batch must answer */
        if (pysrc_is_blank(src[i], c->len))
            c->stage = STAGEMAP_BLANK;
        else if (ask) assert_true(tagbatch_ask(s->batch, e->text.p + c->off, c->len, &c->stage, &c->prob) >= 0);
    }
    e->n = n;
    return e;
}

/* The lines of TEXT (modified in place), at most MAX; their count. */
static size_t split_lines(char *text, char **line, size_t max)
{
    size_t n = 0;
    for (char *p = text; *p && n < max;) {
        char *nl = strchr(p, '\n');
        line[n++] = p;
        if (!nl) break;
        *nl = 0;
        p = nl + 1;
    }
    return n;
}

static json_t *parse(const char *line)
{
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    if (!j) fail_msg("not JSON (%s): %s", err.text, line);
    return j;
}

static void window_grows_and_entries_start_empty(void **state)
{
    (void)state;
    struct summary s;
    summary_init(&s, 1);
    for (int k = 0; k < 600; k++) {
        struct summary_entry *e = summarywindow_add(&s);
        assert_non_null(e);
        assert_ptr_equal(e, &s.pending[k]);
        assert_null(e->path);
        assert_null(e->message);
        assert_int_equal(e->n, 0);
        e->error = k; /* each entry its own, kept as the window grows */
    }
    assert_int_equal(s.npending, 600);
    assert_true(s.cappending >= 600);
    for (int k = 0; k < 600; k++) assert_int_equal(s.pending[k].error, k);
    s.npending = 0;
    /* a message, flushed: the entry it used starts empty again */
    assert_int_equal(summarywindow_message(&s, 0, "%s", "first", NULL), 0);
    struct catch c;
    catch_begin(&c);
    assert_int_equal(summarywindow_flush(&s), 0);
    free(catch_end(&c));
    struct summary_entry *e = summarywindow_add(&s);
    assert_ptr_equal(e, &s.pending[0]);
    assert_null(e->message);
    assert_null(e->path);
    assert_int_equal(e->error, 0);
    summary_done(&s);
}

static void messages_and_errors_are_formatted_and_counted(void **state)
{
    (void)state;
    struct summary s;
    summary_init(&s, 1);
    assert_int_equal(summarywindow_message(&s, 0, "no notebooks found in %s", "some/dir", NULL), 0);
    assert_int_equal(summarywindow_message(&s, 1, "%s%s", "ab", "cdefghij"), 0);
    assert_int_equal(summarywindow_error(&s, "dir/x.ipynb", "No such file or directory"), 0);
    assert_int_equal(s.npending, 3);
    assert_string_equal(s.pending[0].message, "no notebooks found in some/dir");
    assert_int_equal(s.pending[0].error, 0);
    assert_null(s.pending[0].path);
    assert_string_equal(s.pending[1].message, "abcdefghij");
    assert_int_equal(s.pending[1].error, 1);
    const struct summary_entry *e = &s.pending[2];
    assert_string_equal(e->message, "dir/x.ipynb: No such file or directory");
    assert_string_equal(e->path, "dir/x.ipynb");
    assert_string_equal(e->message + e->reason, "No such file or directory");
    assert_int_equal(e->error, 1);
    assert_int_equal(s.said, 2);
    assert_int_equal(s.errors, 0); /* counted when shown */
    summary_done(&s);
}

/* --json: maps, notes and messages in the window's order, stdout flushed before each
 * line on stderr; the answers the batch's. */
static void flush_shows_the_window_in_order(void **state)
{
    (void)state;
    struct summary s;
    summary_init(&s, 0);
    s.json = 1;
    static const char *const a[] = {"import pandas as pd\ndf = pd.read_csv('x.csv')\n",
                                    "model.fit(x, y)\nmodel.predict(x)\n", "# only a comment\n",
                                    "plt.plot(df.head())\n"};
    struct summary_entry *e = add_notebook(&s, "a.ipynb", a, 4, 1);
    e->cells[2].prob = 0.75f; /* blank: no confidence all the same */
    static const char *const b[] = {"print(df.shape)\n"};
    e = add_notebook(&s, "b.ipynb", b, 1, 1);
    assert_non_null(e->note = strdup("b.ipynb: a note"));
    assert_int_equal(summarywindow_error(&s, "gone.ipynb", "No such file or directory"), 0);
    e = summarywindow_add(&s); /* a notebook in R, with --json */
    assert_non_null(e->path = strdup("r.ipynb"));
    assert_non_null(e->message = strdup("r.ipynb: not Python (R): skipped"));
    e->not_python = 1;
    strcpy(e->lang, "R");
    assert_int_equal(summarywindow_message(&s, 0, "%s", "a plain message", NULL), 0);
    s.window_bytes = 12345;

    struct catch c;
    catch_begin(&c);
    errno = E2BIG; /* a stale errno is no write error */
    int rc = summarywindow_flush(&s);
    char *text = catch_end(&c);
    assert_int_equal(rc, 0);
    assert_int_equal(s.npending, 0);
    assert_int_equal(s.window_bytes, 0);
    assert_int_equal(s.errors, 1);
    assert_int_equal(s.out_errno, 0);
    assert_int_equal(s.n, 2); /* maps shown */

    char *line[16];
    size_t n = split_lines(text, line, 16);
    assert_int_equal(n, 8);
    /* a.ipynb's map, with the model's answers */
    json_t *j = parse(line[0]);
    assert_string_equal(json_string_value(json_object_get(j, "notebook")), "a.ipynb");
    assert_string_equal(json_string_value(json_object_get(j, "model")), model_name(model));
    assert_int_equal(json_integer_value(json_object_get(j, "code_cells")), 4);
    assert_int_equal(json_integer_value(json_object_get(j, "blank")), 1);
    json_t *cells = json_object_get(j, "cells");
    assert_int_equal(json_array_size(cells), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *jc = json_array_get(cells, i);
        assert_int_equal(json_integer_value(json_object_get(jc, "lines")), (json_int_t)i + 1);
        if (i == 2) {
            assert_true(json_is_null(json_object_get(jc, "stage")));
            assert_true(json_is_null(json_object_get(jc, "confidence")));
            continue;
        }
        float probs[N_STAGES];
        int want = model_classify(model, a[i], strlen(a[i]), probs);
        assert_string_equal(json_string_value(json_object_get(jc, "stage")), stage_key[want]);
        double conf = json_real_value(json_object_get(jc, "confidence"));
        assert_true(fabs(conf - tag_round(probs[want])) < 1e-9);
    }
    json_decref(j);
    /* b.ipynb: its note (a.ipynb's map flushed before it), then its map */
    assert_string_equal(line[1], "nbstage summary: b.ipynb: a note");
    j = parse(line[2]);
    assert_string_equal(json_string_value(json_object_get(j, "notebook")), "b.ipynb");
    float probs[N_STAGES];
    int want = model_classify(model, b[0], strlen(b[0]), probs);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "cells"), 0), "stage")),
                        stage_key[want]);
    json_decref(j);
    /* the error: said on stderr, then its record */
    assert_string_equal(line[3], "nbstage summary: gone.ipynb: No such file or directory");
    j = parse(line[4]);
    assert_string_equal(json_string_value(json_object_get(j, "notebook")), "gone.ipynb");
    assert_string_equal(json_string_value(json_object_get(j, "error")), "No such file or directory");
    json_decref(j);
    /* the notebook in R: said, then its record */
    assert_string_equal(line[5], "nbstage summary: r.ipynb: not Python (R): skipped");
    j = parse(line[6]);
    assert_string_equal(json_string_value(json_object_get(j, "notebook")), "r.ipynb");
    assert_string_equal(json_string_value(json_object_get(j, "language")), "R");
    assert_string_equal(json_string_value(json_object_get(j, "skipped")), "not Python");
    json_decref(j);
    /* a message that is no error: said, no record */
    assert_string_equal(line[7], "nbstage summary: a plain message");
    free(text);
    summary_done(&s);
}

/* --saved: the stages and confidences as saved, under "saved tags"; a cell of stage 0
 * keeps its confidence. */
static void saved_stages_are_shown_as_saved(void **state)
{
    (void)state;
    struct summary s;
    summary_init(&s, 1);
    s.json = 1;
    static const char *const src[] = {"a = 1\n", "b = 2\n", "c = 3\n"};
    struct summary_entry *e = add_notebook(&s, "saved.ipynb", src, 3, 0);
    e->cells[0] = (struct summary_cell){.stage = 0, .prob = 0.5f, .conf = 0.875, .lines = 2};
    e->cells[1] = (struct summary_cell){.stage = STAGEMAP_UNTAGGED, .prob = 0.5f, .conf = -1, .lines = 1};
    e->cells[2] = (struct summary_cell){.stage = 3, .prob = 0.25f, .conf = 0.5, .lines = 4};
    struct catch c;
    catch_begin(&c);
    assert_int_equal(summarywindow_flush(&s), 0);
    char *text = catch_end(&c);
    char *line[4];
    assert_int_equal(split_lines(text, line, 4), 1);
    json_t *j = parse(line[0]);
    assert_string_equal(json_string_value(json_object_get(j, "model")), "saved tags");
    assert_int_equal(json_integer_value(json_object_get(j, "untagged")), 1);
    json_t *cells = json_object_get(j, "cells");
    assert_string_equal(json_string_value(json_object_get(json_array_get(cells, 0), "stage")), stage_key[0]);
    assert_true(json_real_value(json_object_get(json_array_get(cells, 0), "confidence")) == 0.875);
    assert_true(json_is_null(json_object_get(json_array_get(cells, 1), "confidence")));
    assert_true(json_real_value(json_object_get(json_array_get(cells, 2), "confidence")) == 0.5);
    assert_int_equal(json_integer_value(json_object_get(j, "lines")), 7);
    json_decref(j);
    free(text);

    /* without --saved a cell of stage 0 gets its rounded probability, not -1 */
    summary_done(&s);
    summary_init(&s, 0);
    s.json = 1;
    e = add_notebook(&s, "zero.ipynb", src, 1, 0);
    e->cells[0].stage = 0;
    e->cells[0].prob = 0.123456f;
    catch_begin(&c);
    assert_int_equal(summarywindow_flush(&s), 0);
    text = catch_end(&c);
    j = parse(text);
    double conf = json_real_value(json_object_get(json_array_get(json_object_get(j, "cells"), 0), "confidence"));
    assert_true(fabs(conf - tag_round(0.123456f)) < 1e-9);
    json_decref(j);
    free(text);
    summary_done(&s);
}

/* The records are --json's: not in text, not with --svg - (the picture alone), not for
 * an error without a path. */
static void records_only_with_json(void **state)
{
    (void)state;
    for (int mode = 0; mode < 3; mode++) {
        struct summary s;
        summary_init(&s, 1);
        s.json = mode != 0;
        s.svg_only = mode == 2;
        assert_int_equal(summarywindow_error(&s, "gone.ipynb", "No such file or directory"), 0);
        struct summary_entry *e = summarywindow_add(&s);
        assert_non_null(e->path = strdup("r.ipynb"));
        assert_non_null(e->message = strdup("r.ipynb: not Python (R): skipped"));
        e->not_python = 1;
        strcpy(e->lang, "R");
        assert_int_equal(summarywindow_message(&s, 1, "%s: %s", "an error", "without a path"), 0);
        /* a path, but no error and not Python: no record either */
        assert_int_equal(summarywindow_message(&s, 0, "%s", "said only", NULL), 0);
        assert_non_null(s.pending[s.npending - 1].path = strdup("p.ipynb"));
        struct catch c;
        catch_begin(&c);
        assert_int_equal(summarywindow_flush(&s), 0);
        char *text = catch_end(&c);
        const char *want = mode == 1 ? "nbstage summary: gone.ipynb: No such file or directory\n"
                                       "{\"notebook\":\"gone.ipynb\",\"error\":\"No such file or directory\"}\n"
                                       "nbstage summary: r.ipynb: not Python (R): skipped\n"
                                       "{\"notebook\":\"r.ipynb\",\"language\":\"R\",\"skipped\":\"not Python\"}\n"
                                       "nbstage summary: an error: without a path\n"
                                       "nbstage summary: said only\n"
                                     : "nbstage summary: gone.ipynb: No such file or directory\n"
                                       "nbstage summary: r.ipynb: not Python (R): skipped\n"
                                       "nbstage summary: an error: without a path\n"
                                       "nbstage summary: said only\n";
        assert_string_equal(text, want);
        assert_int_equal(s.errors, 2);
        free(text);
        summary_done(&s);
    }
}

/* Stdout's first write error is kept for the end: one found when stdout is flushed
 * before a message or a note, not one already kept. */
static void stdout_write_error_is_kept(void **state)
{
    (void)state;
    for (int kind = 0; kind < 3; kind++) {
        struct summary s;
        summary_init(&s, 1);
        if (kind == 2) s.out_errno = EPIPE;
        if (kind == 1) {
            static const char *const src[] = {"a = 1\n"};
            struct summary_entry *e = add_notebook(&s, "n.ipynb", src, 1, 0);
            e->cells[0].stage = STAGEMAP_UNTAGGED;
            assert_non_null(e->note = strdup("n.ipynb: a note"));
        } else {
            assert_int_equal(summarywindow_message(&s, 0, "%s", "a message", NULL), 0);
        }
        fflush(stdout);
        fflush(stderr);
        int out = dup(1), err = dup(2), full = open("/dev/full", O_WRONLY), null = open("/dev/null", O_WRONLY);
        assert_true(full >= 0 && null >= 0);
        dup2(full, 1);
        dup2(null, 2);
        fputs("pending", stdout); /* no newline: still in stdout's buffer */
        summarywindow_flush(&s);
        __fpurge(stdout); /* what /dev/full refused: not for the real stdout */
        clearerr(stdout);
        dup2(out, 1);
        dup2(err, 2);
        close(out);
        close(err);
        close(full);
        close(null);
        assert_int_equal(s.out_errno, kind == 2 ? EPIPE : ENOSPC);
        summary_done(&s);
    }
}

int main(void)
{
    /* stdout fully buffered whatever it is, as in a pipe: the flushes before stderr's
     * lines are seen */
    setvbuf(stdout, NULL, _IOFBF, BUFSIZ);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(window_grows_and_entries_start_empty),
        cmocka_unit_test(messages_and_errors_are_formatted_and_counted),
        cmocka_unit_test(flush_shows_the_window_in_order),
        cmocka_unit_test(saved_stages_are_shown_as_saved),
        cmocka_unit_test(records_only_with_json),
        cmocka_unit_test(stdout_write_error_is_kept),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
