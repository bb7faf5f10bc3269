/* summarywindow.c — `nbstage summary`'s window of notebooks, shown in order
 * (summarywindow.h). */
#include "model/summarywindow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/summarylang.h"
#include "model/summaryshow.h"
#include "model/tagbatch.h"
#include "model/tagging.h"
#include "nbformat/notebook.h"

struct summary_entry *summarywindow_add(struct summary *s)
{
    if (s->npending == s->cappending) {
        size_t cap = s->cappending ? s->cappending * 2 : SUMMARY_WINDOW_NOTEBOOKS;
        struct summary_entry *p = realloc(s->pending, cap * sizeof *p);
        if (!p) return NULL;
        s->pending = p;
        s->cappending = cap;
    }
    struct summary_entry *e = &s->pending[s->npending++];
    memset(e, 0, sizeof *e);
    return e;
}

void summarywindow_free_entry(struct summary_entry *e)
{
    free(e->note);
    free(e->text.p);
    free(e->cells);
    free(e->path);
    free(e->message);
}

/* A message in the window's order; -1 when out of memory. */
int summarywindow_message(struct summary *s, int error, const char *fmt, const char *a,
                          const char *b)
{
    struct summary_entry *e = summarywindow_add(s);
    size_t n = strlen(fmt) + strlen(a) + strlen(b ? b : "") + 1;
    if (!e || !(e->message = malloc(n))) {
        if (e) s->npending--;
        return -1;
    }
    snprintf(e->message, n, fmt, a, b);
    e->error = error;
    s->said += error;
    return 0;
}

/* A notebook, folder or PATH that could not be read, in the window's order: "PATH:
 * REASON" on stderr, and with --json a record on stdout too.  -1 when out of memory. */
int summarywindow_error(struct summary *s, const char *path, const char *reason)
{
    if (summarywindow_message(s, 1, "%s: %s", path, reason)) return -1;
    struct summary_entry *e = &s->pending[s->npending - 1];
    if (!(e->path = strdup(path))) {
        summarywindow_free_entry(e);
        s->npending--;
        s->said--;
        return -1;
    }
    e->reason = strlen(path) + 2;
    return 0;
}

int summarywindow_flush(struct summary *s)
{
    int rc = 0;
    if (s->batch) tagbatch_run(s->batch, s->threads);
    const char *from = s->saved ? "saved tags" : model_name(s->model);
    for (size_t k = 0; k < s->npending; k++) {
        struct summary_entry *e = &s->pending[k];
        if (rc) {
            /* out of memory before: the rest only freed */
        } else if (e->message) {
            /* in order in a `2>&1` too; a write error is said at the end */
            if (fflush(stdout) && !s->out_errno) s->out_errno = errno;
            if (!(e->not_python && s->quiet)) nb_say(stderr, "nbstage summary: %s", e->message);
            s->errors += e->error;
            if (e->error && e->path && s->json && !s->svg_only && summaryshow_error_json(e)) {
                nb_say(stderr, "nbstage summary: %s: out of memory", e->path);
                rc = -1;
            }
            if (e->not_python && s->json && !s->svg_only && summarylang_json(e)) {
                nb_say(stderr, "nbstage summary: %s: out of memory", e->path);
                rc = -1;
            }
        } else {
            if (e->note && !s->quiet) {
                if (fflush(stdout) && !s->out_errno) s->out_errno = errno;
                nb_say(stderr, "nbstage summary: %s", e->note);
            }
            struct stagemap m;
            int bad = stagemap_init(&m, e->path, from);
            for (size_t i = 0; !bad && i < e->n; i++) {
                const struct summary_cell *c = &e->cells[i];
                bad = c->stage == MODEL_NO_MEMORY; /* no answer: not a blank cell to show */
                double conf = s->saved ? c->conf : c->stage >= 0 ? tag_round(c->prob) : -1;
                if (!bad) bad = stagemap_add(&m, c->stage, conf, c->lines);
            }
            if (bad) {
                stagemap_free(&m);
                nb_say(stderr, "nbstage summary: %s: out of memory", e->path);
                rc = -1;
            } else if (summaryshow_map(s, &m)) {
                rc = -1;
            }
        }
        summarywindow_free_entry(e);
    }
    s->npending = 0;
    s->window_bytes = 0;
    return rc;
}
