/* cellread.c — the cells `nbstage label` labels (cellread.h). */
#include "labeling/cellread.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "nbformat/jsonl.h"
#include "nbformat/jsonload.h"
#include "nbformat/notebook.h"
#include "nbformat/pysrc.h"

static char *dup_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

/* The first lines skipped are each said; past them one count at the end (a file of
 * the wrong kind, such as classify's output, would otherwise fill the terminal with a
 * line for each of its lines). */
enum { SKIPS_SAID = 10 };
#define SAY_SKIP(...) do { if (++*skipped <= SKIPS_SAID) fprintf(stderr, __VA_ARGS__); } while (0)

int cells_read(FILE *f, const char *name, struct label_cell **out, size_t *n_out, size_t *skipped)
{
    struct label_cell *cells = NULL;
    size_t n = 0, cap = 0, lineno = 0, lcap = 0;
    char *line = NULL;
    ssize_t len;
    int rc = -1;
    while ((len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        if (jsonl_blank(line, (size_t)len)) continue;
        /* jansson quotes the mark it stops at, which no terminal shows: "'[' or '{'
         * expected near ''".  JSON Lines has no byte-order mark, and it is refused
         * as a notebook's is (nbformat/nbread.c) and as Python's json.loads refuses
         * it: the line is skipped, said plainly. */
        if (jsonl_bom(line, (size_t)len)) {
            SAY_SKIP("nbstage label: %s:%zu: skipped, %s with " JSONL_BOM_SAYS "\n",
                     name, lineno, lineno == 1 ? "the file starts" : "the line starts");
            continue;
        }
        json_error_t je;
        json_t *o = nb_json_loadb_lenient(line, (size_t)len, JSON_ALLOW_NUL, &je);
        if (!o && nb_json_error_is_memory(&je)) { /* no bad line: the run fails */
            nb_say(stderr, "nbstage label: %s:%zu: out of memory", name, lineno);
            goto out;
        }
        if (!o) nb_json_reason(&je); /* one line, no escapes */
        if (!o || !json_is_object(o)) {
            SAY_SKIP("nbstage label: %s:%zu: skipped, not a JSON object%s%s\n", name, lineno,
                     o ? "" : ": ", o ? "" : je.text);
            json_decref(o);
            continue;
        }
        /* a source may be nbformat's list of lines, as classify, eval and train take it */
        if (!json_is_string(json_object_get(o, "id")) || !jsonl_is_text(json_object_get(o, "source"))) {
            SAY_SKIP("nbstage label: %s:%zu: skipped, needs a string \"id\" and a \"source\" "
                     "(a string or a list of strings)\n", name, lineno);
            json_decref(o);
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            struct label_cell *q = realloc(cells, cap * sizeof *q);
            if (!q) { json_decref(o); fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
            cells = q;
        }
        struct label_cell *c = &cells[n];
        *c = (struct label_cell){0};
        c->id = dup_str(o, "id");
        c->notebook = dup_str(o, "notebook");
        c->src = nb_cell_source(o, &c->src_len);
        json_t *ix = json_object_get(o, "index");
        c->index = json_is_integer(ix) ? (int)json_integer_value(ix) : -1;
        c->line = lineno;
        int lost_nb = !c->notebook && json_is_string(json_object_get(o, "notebook")); /* its copy failed */
        json_decref(o);
        n++;
        if (!c->id || !c->src || lost_nb) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
    }
    if (jsonl_read_failed(f)) { nb_say(stderr, "nbstage label: %s: read error: %s", name, strerror(errno)); goto out; }
    if (*skipped > SKIPS_SAID)
        nb_say(stderr, "nbstage label: %s: %zu more lines skipped (%zu in all)", name,
               *skipped - SKIPS_SAID, *skipped);
    rc = 0;
out:
    free(line);
    *out = cells;
    *n_out = n;
    return rc;
}

static int by_id_then_line(const void *x, const void *y)
{
    const struct label_cell *a = *(const struct label_cell *const *)x, *b = *(const struct label_cell *const *)y;
    int d = strcmp(a->id, b->id);
    return d ? d : (a->line > b->line) - (a->line < b->line);
}

int cells_id_clash(const struct label_cell *c, size_t n, size_t *first, size_t *second, const char **id)
{
    if (n < 2) return 0;
    const struct label_cell **v = malloc(n * sizeof *v);
    if (!v) return -1;
    for (size_t i = 0; i < n; i++) v[i] = &c[i];
    qsort(v, n, sizeof *v, by_id_then_line);
    int found = 0;
    for (size_t i = 1; i < n; i++) {
        const struct label_cell *a = v[i - 1], *b = v[i];
        if (strcmp(a->id, b->id) || (a->src_len == b->src_len && (!a->src_len || memcmp(a->src, b->src, a->src_len) == 0)))
            continue;
        if (!found || a->line < *first) { *first = a->line; *second = b->line; *id = a->id; }
        found = 1;
    }
    free(v);
    return found;
}

int cells_same_notebook(const struct label_cell *a, const struct label_cell *b)
{
    return a->notebook && b->notebook && strcmp(a->notebook, b->notebook) == 0;
}

int cells_add_statements(struct label_cell **cells, size_t n, size_t *n_sub)
{
    size_t total = n, cap = n;
    *n_sub = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nb = pysrc_blocks((*cells)[i].src, (*cells)[i].src_len, NULL, 0);
        if (nb < 2) continue;
        size_t *pos = malloc(nb * sizeof *pos);
        if (!pos) { *n_sub = total - n; return -1; }
        pysrc_blocks((*cells)[i].src, (*cells)[i].src_len, pos, nb);
        if (total + nb > cap) {
            cap = 2 * (total + nb);
            struct label_cell *q = realloc(*cells, cap * sizeof *q);
            if (!q) { free(pos); *n_sub = total - n; return -1; }
            *cells = q;
        }
        const struct label_cell *c = &(*cells)[i];
        for (size_t k = 0; k < nb; k++) {
            size_t a = pos[k], z = k + 1 < nb ? pos[k + 1] : c->src_len;
            struct label_cell *d = &(*cells)[total];
            size_t idlen = strlen(c->id) + 24;
            *d = (struct label_cell){ malloc(idlen), NULL, malloc(z - a + 1), z - a, -1, 1, i, 0 };
            if (!d->id || !d->src) { free(d->id); free(d->src); free(pos); *n_sub = total - n; return -1; }
            snprintf(d->id, idlen, "%s.s%zu", c->id, k);
            memcpy(d->src, c->src + a, z - a);
            d->src[z - a] = 0;
            total++;
        }
        free(pos);
    }
    *n_sub = total - n;
    return 0;
}

void cells_free(struct label_cell *c, size_t n)
{
    for (size_t i = 0; i < n; i++) { free(c[i].id); free(c[i].notebook); free(c[i].src); }
    free(c);
}
