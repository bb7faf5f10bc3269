/* summaryread.c — `nbstage summary`: each notebook read into the window
 * (summaryread.h). */
#include "model/summaryread.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/context.h"
#include "model/summarylang.h"
#include "model/summarywindow.h"
#include "model/tagbatch.h"
#include "model/tagging.h"
#include "nbformat/bytebuf.h"
#include "nbformat/cellscan.h"
#include "nbformat/fileonce.h"
#include "nbformat/nblang.h"
#include "nbformat/notebook.h"
#include "nbformat/pysrc.h"

/* --saved: CELL's stage as tag --from-outputs would leave it: the stage kernel's last
 * tag output (in JupyterLab, VS Code and nbclient the stage stays there), else the
 * cell's saved tag; STAGEMAP_UNTAGGED when neither.  *CONF: the saved confidence, or
 * -1. */
static int saved_stage(const json_t *cell, double *conf)
{
    int stage;
    struct cell_tag live;
    if (tag_from_outputs(cell, &live) == 0) {
        stage = live.stage;
        *conf = live.confidence;
    } else {
        stage = tag_current(cell, conf);
    }
    if (stage < 0) stage = STAGEMAP_UNTAGGED;
    /* one figure everywhere, to 3 decimals; a saved one that is no probability (1e300,
     * edited by hand) is none, and an untagged cell has none */
    if (stage == STAGEMAP_UNTAGGED || !(*conf >= 0 && *conf <= 1)) *conf = -1;
    else *conf = tag_round(*conf);
    return stage;
}

/* E's cells from NB (the jansson path: nbformat 3, --saved, what cellscan leaves): the
 * sources into E->text, and with --saved each cell's saved stage.  -1 when out of
 * memory. */
static int cells_from_tree(struct summary *s, const json_t *nb, struct summary_entry *e)
{
    size_t n = nb_cell_count(nb), code = 0;
    for (size_t i = 0; i < n; i++) {
        const char *type = nb_cell_type(nb_cell(nb, i));
        code += type && !strcmp(type, "code");
    }
    if (code && !(e->cells = calloc(code, sizeof *e->cells))) return -1;
    for (size_t i = 0; i < n; i++) {
        const json_t *cell = nb_cell(nb, i);
        const char *type = nb_cell_type(cell);
        if (!type || strcmp(type, "code")) continue;
        size_t len;
        char *src = nb_cell_source(cell, &len);
        if (!src) return -1;
        size_t off = e->text.n;
        /* putz keeps a byte after the sources: code whose sources are all empty still
         * has a text to point into (text.p + off, never NULL + 0) */
        int oom = bytebuf_putz(&e->text, src, len, 4096);
        free(src);
        if (oom) return -1;
        struct summary_cell *c = &e->cells[e->n++];
        *c = (struct summary_cell){.off = off, .len = len, .conf = -1};
        if (s->saved) c->stage = saved_stage(cell, &c->conf);
    }
    return 0;
}

/* E's cells from the byte scanner (S->scan, just run): no JSON tree.  -1 when out of
 * memory. */
static int cells_from_scan(struct summary *s, struct summary_entry *e)
{
    const struct cellscan *sc = &s->scan;
    if (sc->n && !(e->cells = calloc(sc->n, sizeof *e->cells))) return -1;
    /* one block of the exact size, a NUL after; with no code SC->TEXT.P may be NULL */
    if (bytebuf_putz(&e->text, sc->text.n ? sc->text.p : "", sc->text.n, sc->text.n + 1)) return -1;
    for (size_t i = 0; i < sc->n; i++)
        e->cells[e->n++] = (struct summary_cell){.off = sc->cells[i].off,
                                                 .len = sc->cells[i].len, .conf = -1};
    return 0;
}

/* E's cells' lines, blank cells said blank, and the others (not --saved) asked of the
 * batch.  -1 when out of memory. */
static int ask_cells(struct summary *s, struct summary_entry *e)
{
    struct context_cursor cur = {0}; /* each cell after its predecessor, for a context model */
    for (size_t i = 0; i < e->n; i++) {
        struct summary_cell *c = &e->cells[i];
        const char *src = e->text.p + c->off, *prev;
        size_t plen;
        context_next(&cur, src, c->len, &prev, &plen);
        if (pysrc_is_blank(src, c->len)) {
            c->stage = STAGEMAP_BLANK;
            c->conf = -1;
            continue;
        }
        c->lines = tag_code_lines(src, c->len);
        if (s->saved) continue;
        int got = tagbatch_ask_after(s->batch, prev, plen, src, c->len, &c->stage, &c->prob);
        if (got < 0) return -1;
        if (!got) s->window_bytes += c->len;
    }
    return 0;
}

/* PATH's bytes, whole; NULL when they cannot be had (nb_read_file then says why). */
static char *load(const char *path, size_t *len)
{
    struct stat st;
    char why[PATH_MAX + 64];
    int fd = nb_open_regular(path, &st, why, sizeof why); /* a FIFO refused, not waited on */
    if (fd < 0) return NULL;
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) { /* the file grew while we read it */
            char *p = realloc(buf, cap *= 2);
            if (!p) break;
            buf = p;
        }
        ssize_t got = read(fd, buf + n, cap - 1 - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) break;
        if (got == 0) {
            close(fd);
            *len = n;
            return buf;
        }
        n += (size_t)got;
    }
    free(buf);
    close(fd);
    return NULL;
}

/* Standard input, whole: NULL and errno on a read error or out of memory. */
static char *read_stdin(size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            char *p = realloc(buf, cap *= 2);
            if (!p) break;
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (got) continue;
        if (ferror(stdin)) break;
        *len = n;
        return buf;
    }
    int e = errno ? errno : ENOMEM;
    free(buf);
    errno = e;
    return NULL;
}

/* One notebook into the window (PATH "-": standard input, named <stdin> as tag and
 * fmt name it); the window shown when full.  The byte scanner (nbformat/cellscan.h,
 * as ingest) gives the code cells of nearly every notebook without a JSON tree, whose
 * building took most of the time; the jansson reader the rest (nbformat 3, odd
 * corners, --saved) and says why a bad one is bad.  -1 when out of memory (the run
 * stops). */
int summaryread_notebook(const char *path, const char *rel, void *vs)
{
    (void)rel;
    struct summary *s = vs;
    s->seen++;
    int is_stdin = !strcmp(path, "-");
    /* a file met again under another name (a symlink beside it, named twice): one map
     * per file, as tag and fmt pass it over (nbformat/fileonce.h) */
    int met = is_stdin ? 0 : fileonce_met(&s->met, path);
    if (met) {
        if (met > 0) return 0;
        nb_say(stderr, "nbstage summary: %s: out of memory", path);
        summarywindow_flush(s);
        return -1;
    }
    size_t len = 0;
    char *buf = is_stdin ? read_stdin(&len) : load(path, &len);
    if (is_stdin && !buf) {
        if (summarywindow_error(s, "<stdin>", strerror(errno))) goto oom;
        goto done;
    }
    const char *name = is_stdin ? "<stdin>" : path;
    struct summary_entry *e = summarywindow_add(s);
    if (!e || !(e->path = strdup(name))) goto oom_entry;
    struct nb_lang lang;
    /* (the language unknown, out of memory: the notebook read whole, below) */
    if (buf && len && !s->saved && cellscan_run(&s->scan, buf, len) == 0 &&
        nb_lang_of_metadata(buf + s->scan.meta_off, s->scan.meta_end - s->scan.meta_off, &lang) == 0) {
        if (!lang.python) {
            if (summarylang_note(s, e, name, &lang)) goto oom_entry;
            goto done;
        }
        if (cells_from_scan(s, e)) goto oom_entry;
    } else {
        nb_error err;
        /* a file that could not be loaded, or is empty: nb_read_file says why */
        /* read only, as ingest reads: what Python reads (NaN, duplicate keys) is read */
        int flags = NB_ALLOW_V3 | NB_DUP_KEYS | NB_LENIENT;
        json_t *nb = is_stdin || (buf && len) ? nb_read_mem(buf, len, name, flags, &err)
                                              : nb_read_file(path, flags, &err);
        if (!nb) {
            /* the entry becomes the message ("NAME: reason", "NAME:line:col: reason"),
             * E->path what failed */
            if (!(e->message = strdup(err.msg))) goto oom_entry;
            size_t n = strlen(name);
            if (!strncmp(e->message, name, n) && e->message[n] == ':')
                e->reason = n + 1 + (e->message[n + 1] == ' ');
            e->error = 1;
            s->said++;
            goto done;
        }
        nb_lang_of_tree(nb, &lang);
        if (!lang.python) {
            if (summarylang_note(s, e, name, &lang)) {
                json_decref(nb);
                goto oom_entry;
            }
            if (!s->saved) {
                json_decref(nb);
                goto done;
            }
        }
        int bad = cells_from_tree(s, nb, e);
        json_decref(nb);
        if (bad) goto oom_entry;
    }
    if (ask_cells(s, e)) goto oom_entry;
done:
    free(buf);
    if (s->npending >= SUMMARY_WINDOW_NOTEBOOKS || s->window_bytes >= SUMMARY_WINDOW_BYTES)
        return summarywindow_flush(s);
    return 0;
oom_entry:
    if (e) {
        summarywindow_free_entry(e);
        s->npending--;
    }
oom:
    free(buf);
    nb_say(stderr, "nbstage summary: %s: out of memory", is_stdin ? "<stdin>" : path);
    summarywindow_flush(s);
    return -1;
}

void summaryread_walk_error(const char *path, const char *reason, void *vs)
{
    struct summary *s = vs;
    if (summarywindow_error(s, path, reason)) {
        /* out of memory: said at once, out of order */
        nb_say(stderr, "nbstage summary: %s: %s", path, reason);
        s->errors++;
        s->said++;
    }
}
