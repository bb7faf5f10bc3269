/* gold.c — hand-label files (see gold.h). */
#include "labeling/gold.h"
#include "labeling/stage.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbformat/jsonl.h"
#include "nbformat/notebook.h"

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const struct gold_row *)a)->cell_id, ((const struct gold_row *)b)->cell_id);
}

/* By id, then by line: a cell's rows in file order. */
static int cmp_row_line(const void *a, const void *b)
{
    const struct gold_row *x = a, *y = b;
    int c = strcmp(x->cell_id, y->cell_id);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

static const char *key_or_none(int stage) { return stage >= 0 ? stage_key[stage] : "none"; }

/* Splits LINE in place on tabs into at most N fields; returns the count. */
static int split_tabs(char *line, char **f, int n)
{
    int k = 0;
    f[k++] = line;
    for (char *p = line; *p && k < n; p++)
        if (*p == '\t') { *p = 0; f[k++] = p + 1; }
    return k;
}

/* One hand-label file being read: the line read last and its number, and where a
 * message goes ("path:line: reason"). */
struct gold_read {
    const char *path;
    FILE *fp;
    char *line;
    size_t cap, lineno;
    ssize_t len;
    size_t have; /* rows allocated */
    char *err;
    size_t errlen;
};

/* -1 said: standard input, or a file that cannot be opened. */
static int open_gold(struct gold_read *rd)
{
    /* "-" is standard input for the JSON Lines inputs only: the cells or predictions
     * may come from there, and the hand labels are read first, in full */
    if (!strcmp(rd->path, "-")) {
        nb_error_fmt(rd->err, rd->errlen, "--gold -: the hand labels are read from a file, not standard input "
                     "(./- names a file called -)");
        return -1;
    }
    char why[PATH_MAX + 64];
    rd->fp = nb_fopen_input(rd->path, "a hand-label file", why, sizeof why); /* a FIFO refused, not waited on */
    if (!rd->fp) {
        nb_error_fmt(rd->err, rd->errlen, "%s: %s", rd->path, why);
        return -1;
    }
    return 0;
}

/* The line read without its line end (LF or CRLF), and the first without a UTF-8
 * byte-order mark; -1 said for UTF-16. */
static int trim_line(struct gold_read *rd)
{
    char *line = rd->line;
    while (rd->len > 0 && (line[rd->len - 1] == '\n' || line[rd->len - 1] == '\r')) line[--rd->len] = 0;
    if (rd->lineno != 1) return 0;
    /* Excel's "Unicode Text" is UTF-16: every other byte a NUL, no field readable */
    if (rd->len >= 2 && (!memcmp(line, "\xff\xfe", 2) || !memcmp(line, "\xfe\xff", 2))) {
        nb_error_fmt(rd->err, rd->errlen, "%s: UTF-16 text (a spreadsheet's \"Unicode Text\"): save it as UTF-8",
                     rd->path);
        return -1;
    }
    /* a spreadsheet's "UTF-8" export starts with a byte-order mark */
    if (rd->len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
        memmove(line, line + 3, (size_t)rd->len - 2); /* the NUL too */
        rd->len -= 3;
    }
    return 0;
}

/* The line's fields into ROW (its cell_id still in the line); -1 said: too few
 * fields, a header under another name, an unknown stage, a bad confidence. */
static int parse_row(struct gold_read *rd, struct gold_row *row)
{
    const char *path = rd->path;
    char *f[5] = {0};
    int nf = split_tabs(rd->line, f, 5);
    if (nf < 2) {
        /* ingest's cells or label's lines given as the hand labels (arguments swapped) */
        const char *hint = rd->line[0] == '{' ? " (this line is JSON: the hand labels are the labeling guide's TSV, "
                                                "cell_id<TAB>label...; are the cells and the labels swapped?)" : "";
        nb_error_fmt(rd->err, rd->errlen, "%s:%zu: expected at least 2 tab-separated fields%s", path, rd->lineno, hint);
        return -1;
    }
    int label = stage_from_key(f[1]);
    int sec = (nf > 2 && f[2][0]) ? stage_from_key(f[2]) : STAGE_NONE;
    /* a first row that names columns ("id<TAB>label", as pandas writes it) is a
     * header under another name: said as such, not as a stage called "label" */
    if (rd->lineno == 1 && label == -2 && (!strcmp(f[1], "label") || !strcmp(f[1], "stage"))) {
        nb_error_fmt(rd->err, rd->errlen, "%s:1: a header row must start with cell_id (cell_id<TAB>label...), "
                     "or be left out", path);
        return -1;
    }
    if (label == -2 || sec == -2) {
        nb_error_fmt(rd->err, rd->errlen, "%s:%zu: unknown stage '%s' (load prep train evaluate explore imports, or none)",
                     path, rd->lineno, label == -2 ? f[1] : f[2]);
        return -1;
    }
    /* the guide's h, m or l, or empty: another word would drop the cell from the
     * report's lines by the labels' doubt without a word */
    const char *conf = nf > 3 ? f[3] : "";
    if (conf[0] && (conf[1] || !strchr("hml", conf[0]))) {
        nb_error_fmt(rd->err, rd->errlen, "%s:%zu: confidence '%s': expected h, m or l (clear, some doubt, ambiguous), "
                     "or nothing", path, rd->lineno, conf);
        return -1;
    }
    *row = (struct gold_row){.cell_id = f[0], .label = label, .secondary = sec, .confidence = conf[0],
                             .line = rd->lineno};
    return 0;
}

/* ROW appended to G, its cell_id copied; -1 said when out of memory. */
static int add_row(struct gold *g, struct gold_read *rd, const struct gold_row *row)
{
    if (g->n == rd->have) {
        rd->have = rd->have ? 2 * rd->have : 1024;
        void *p = realloc(g->rows, rd->have * sizeof *g->rows);
        if (!p) { nb_error_fmt(rd->err, rd->errlen, "%s: out of memory", rd->path); return -1; }
        g->rows = p;
    }
    struct gold_row *r = &g->rows[g->n];
    *r = *row;
    r->cell_id = strdup(row->cell_id);
    if (!r->cell_id) { nb_error_fmt(rd->err, rd->errlen, "%s: out of memory", rd->path); return -1; }
    g->n++;
    return 0;
}

/* Every row of the file into G, in file order (the header and blank lines skipped);
 * -1 said. */
static int read_rows(struct gold *g, struct gold_read *rd)
{
    while ((rd->len = getline(&rd->line, &rd->cap, rd->fp)) >= 0) {
        rd->lineno++;
        if (trim_line(rd) < 0) return -1;
        if (rd->lineno == 1 && strncmp(rd->line, "cell_id\t", 8) == 0) continue; /* header */
        if (rd->len == 0) continue;
        struct gold_row row;
        if (parse_row(rd, &row) < 0 || add_row(g, rd, &row) < 0) return -1;
    }
    /* a folder opens, then fails its first read (EISDIR): not an empty label file; and
     * out of memory is no end of the file (nbformat/jsonl.h) */
    if (jsonl_read_failed(rd->fp)) {
        nb_error_fmt(rd->err, rd->errlen, "%s: read error: %s", rd->path, strerror(errno));
        return -1;
    }
    return 0;
}

/* A cell twice: bsearch would find either row, and the other would look like a
 * labeled cell missing from the cells.  The same label: the first row kept (the
 * secondary stage is read by no one); different labels: which one is right is for the
 * annotator to say.  G sorted by id, then by line; -1 said for two labels. */
static int sort_rows(struct gold *g, struct gold_read *rd)
{
    if (g->n) qsort(g->rows, g->n, sizeof *g->rows, cmp_row_line); /* no rows: no array (NULL) */
    for (size_t i = 1, f = 0; i < g->n; i++) {
        const struct gold_row *r = &g->rows[i], *first = &g->rows[f];
        if (strcmp(r->cell_id, first->cell_id)) {
            f = i;
        } else if (r->label != first->label) {
            nb_error_fmt(rd->err, rd->errlen, "%s:%zu: %s is labeled %s on line %zu, %s here", rd->path, r->line,
                         r->cell_id, key_or_none(first->label), first->line, key_or_none(r->label));
            return -1;
        }
    }
    return 0;
}

/* Each cell's first row kept, its others (the same label) dropped; G sorted. */
static void drop_repeats(struct gold *g)
{
    size_t w = 0;
    for (size_t i = 0; i < g->n; i++) {
        if (w && !strcmp(g->rows[i].cell_id, g->rows[w - 1].cell_id)) free(g->rows[i].cell_id);
        else g->rows[w++] = g->rows[i];
    }
    g->n = w;
}

int gold_load(struct gold *g, const char *path, char *err, size_t errlen)
{
    memset(g, 0, sizeof *g);
    struct gold_read rd = {.path = path, .err = err, .errlen = errlen};
    if (open_gold(&rd) < 0) return -1;
    int rc = read_rows(g, &rd);
    free(rd.line);
    fclose(rd.fp);
    if (rc < 0 || sort_rows(g, &rd) < 0) {
        gold_free(g);
        return -1;
    }
    drop_repeats(g);
    return 0;
}

const struct gold_row *gold_find(const struct gold *g, const char *cell_id)
{
    struct gold_row key = {.cell_id = (char *)cell_id};
    return g->n ? bsearch(&key, g->rows, g->n, sizeof *g->rows, cmp_row) : NULL;
}

void gold_free(struct gold *g)
{
    for (size_t i = 0; i < g->n; i++) free(g->rows[i].cell_id);
    free(g->rows);
    memset(g, 0, sizeof *g);
}

void gold_mismatch_hint(FILE *to, const char *who, const struct gold *g, const char *cell_id)
{
    if (!g->n) return;
    const struct gold_row *first = &g->rows[0];
    for (size_t i = 1; i < g->n; i++)
        if (g->rows[i].line < first->line) first = &g->rows[i];
    nb_say(to, "%s: the hand labels' ids look like '%s', the cells' like '%s' (an id is the notebook's "
               "path relative to the PATH given to ingest, then #k)", who, first->cell_id, cell_id);
}

int gold_seen_init(struct gold_seen *s, const struct gold *g)
{
    size_t n = g->n ? g->n : 1;
    s->line = calloc(n, sizeof *s->line);
    s->src = calloc(n, sizeof *s->src);
    s->len = calloc(n, sizeof *s->len);
    if (s->line && s->src && s->len) return 0;
    free(s->line); free(s->src); free(s->len);
    memset(s, 0, sizeof *s);
    return -1;
}

int gold_seen_add(struct gold_seen *s, const struct gold *g, const struct gold_row *row, size_t line,
                  const char *src, size_t len, size_t *first)
{
    size_t i = (size_t)(row - g->rows);
    if (!s->line[i]) {
        s->line[i] = line ? line : 1;
        if (src) {
            if (!(s->src[i] = malloc(len ? len : 1))) return -1;
            memcpy(s->src[i], src, len);
            s->len[i] = len;
        }
        return 0;
    }
    *first = s->line[i];
    if (src && s->src[i] && (len != s->len[i] || memcmp(src, s->src[i], len))) return 2;
    return 1;
}

int gold_seen_met(const struct gold_seen *s, size_t i) { return s->line[i] != 0; }

const struct gold_row *gold_first_unmet(const struct gold_seen *s, const struct gold *g)
{
    const struct gold_row *first = NULL;
    for (size_t i = 0; i < g->n; i++)
        if (g->rows[i].label != STAGE_NONE && !s->line[i] && (!first || g->rows[i].line < first->line))
            first = &g->rows[i];
    return first;
}

void gold_seen_free(struct gold_seen *s, const struct gold *g)
{
    if (s->src)
        for (size_t i = 0; i < g->n; i++) free(s->src[i]);
    free(s->line); free(s->src); free(s->len);
    memset(s, 0, sizeof *s);
}
