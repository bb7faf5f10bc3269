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

/* A notebook as read: PATH as given, NAME as reported (<stdin> for "-", as tag and fmt
 * name it), its bytes (BUF NULL when a file's could not be loaded: nb_read_file then
 * says why). */
struct notebook_read {
    const char *path, *name;
    int is_stdin;
    char *buf;
    size_t len;
};

/* How far an entry's reading went. */
enum entry_read {
    ENTRY_CELLS,     /* its code cells, to be asked */
    ENTRY_COMPLETE,  /* nothing to ask: a note (not Python) or an error stands instead */
    ENTRY_UNSCANNED, /* not for the byte scanner: the jansson reader's */
    ENTRY_NO_MEMORY,
};

/* E's cells by the byte scanner (as ingest: no JSON tree, whose building took most of
 * the time), or its note when not Python; ENTRY_UNSCANNED for an empty file, one not
 * loaded, --saved, or one whose cells or language the scanner cannot say. */
static enum entry_read entry_from_scan(struct summary *s, struct summary_entry *e,
                                       const struct notebook_read *r)
{
    struct nb_lang lang;
    /* (the language unknown, out of memory: the notebook read whole, by the jansson
     * reader) */
    if (!r->buf || !r->len || s->saved || cellscan_run(&s->scan, r->buf, r->len) != 0 ||
        nb_lang_of_metadata(r->buf + s->scan.meta_off, s->scan.meta_end - s->scan.meta_off,
                            &lang) != 0)
        return ENTRY_UNSCANNED;
    if (!lang.python)
        return summarylang_note(s, e, r->name, &lang) ? ENTRY_NO_MEMORY : ENTRY_COMPLETE;
    return cells_from_scan(s, e) ? ENTRY_NO_MEMORY : ENTRY_CELLS;
}

/* E becomes the message MSG of the notebook NAME that could not be read ("NAME:
 * reason", "NAME:line:col: reason"), E->path what failed. */
static enum entry_read entry_error(struct summary *s, struct summary_entry *e, const char *name,
                                   const char *msg)
{
    if (!(e->message = strdup(msg))) return ENTRY_NO_MEMORY;
    size_t n = strlen(name);
    if (!strncmp(e->message, name, n) && e->message[n] == ':')
        e->reason = n + 1 + (e->message[n + 1] == ' ');
    e->error = 1;
    s->said++;
    return ENTRY_COMPLETE;
}

/* E's cells by the jansson reader (nbformat 3, odd corners, --saved), which says why a
 * bad notebook is bad; not Python: its note, and with --saved its cells after it. */
static enum entry_read entry_from_tree(struct summary *s, struct summary_entry *e,
                                       const struct notebook_read *r)
{
    nb_error err;
    /* a file that could not be loaded, or is empty: nb_read_file says why */
    /* read only, as ingest reads: what Python reads (NaN, duplicate keys) is read */
    int flags = NB_ALLOW_V3 | NB_DUP_KEYS | NB_LENIENT;
    json_t *nb = r->is_stdin || (r->buf && r->len)
                     ? nb_read_mem(r->buf, r->len, r->name, flags, &err)
                     : nb_read_file(r->path, flags, &err);
    if (!nb) return entry_error(s, e, r->name, err.msg);
    struct nb_lang lang;
    nb_lang_of_tree(nb, &lang);
    enum entry_read got = ENTRY_CELLS;
    if (!lang.python) {
        if (summarylang_note(s, e, r->name, &lang)) got = ENTRY_NO_MEMORY;
        else if (!s->saved) got = ENTRY_COMPLETE;
    }
    if (got == ENTRY_CELLS && cells_from_tree(s, nb, e)) got = ENTRY_NO_MEMORY;
    json_decref(nb);
    return got;
}

/* The notebook R's entry added to the window: its cells (by the scanner, else the
 * jansson reader) and their questions to the batch, or a note or an error in the
 * map's place.  -1 when out of memory (the entry dropped from the window). */
static int add_entry(struct summary *s, const struct notebook_read *r)
{
    struct summary_entry *e = summarywindow_add(s);
    if (!e) return -1;
    e->path = strdup(r->name);
    enum entry_read got = e->path ? entry_from_scan(s, e, r) : ENTRY_NO_MEMORY;
    if (got == ENTRY_UNSCANNED) got = entry_from_tree(s, e, r);
    if (got == ENTRY_CELLS && ask_cells(s, e)) got = ENTRY_NO_MEMORY;
    if (got != ENTRY_NO_MEMORY) return 0;
    summarywindow_free_entry(e);
    s->npending--;
    return -1;
}

/* NAME said out of memory, then the window shown: -1, the run stops. */
static int out_of_memory(struct summary *s, const char *name)
{
    nb_say(stderr, "nbstage summary: %s: out of memory", name);
    summarywindow_flush(s);
    return -1;
}

/* One notebook into the window (PATH "-": standard input, named <stdin> as tag and
 * fmt name it); the window shown when full.  The byte scanner (nbformat/cellscan.h,
 * as ingest) gives the code cells of nearly every notebook, the jansson reader the
 * rest (add_entry).  -1 when out of memory (the run stops). */
int summaryread_notebook(const char *path, const char *rel, void *vs)
{
    (void)rel;
    struct summary *s = vs;
    s->seen++;
    struct notebook_read r = {.path = path, .is_stdin = !strcmp(path, "-")};
    r.name = r.is_stdin ? "<stdin>" : path;
    /* a file met again under another name (a symlink beside it, named twice): one map
     * per file, as tag and fmt pass it over (nbformat/fileonce.h) */
    int met = r.is_stdin ? 0 : fileonce_met(&s->met, path);
    if (met > 0) return 0;
    if (met < 0) return out_of_memory(s, r.name);
    r.buf = r.is_stdin ? read_stdin(&r.len) : load(path, &r.len);
    /* (standard input not read: its error in its place; a file's is nb_read_file's) */
    int oom = r.is_stdin && !r.buf ? summarywindow_error(s, r.name, strerror(errno))
                                   : add_entry(s, &r);
    free(r.buf);
    if (oom) return out_of_memory(s, r.name);
    /* a window full of notebooks, or of bytes to classify, is shown */
    if (s->npending >= SUMMARY_WINDOW_NOTEBOOKS || s->window_bytes >= SUMMARY_WINDOW_BYTES)
        return summarywindow_flush(s);
    return 0;
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
