/* trainread.c — the weak labels read and joined to their sources by id (trainread.h). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/trainread.h"
#include "model/context.h"
#include "labeling/weaklabel.h"
#include "nbformat/jsonl.h"
#include "nbformat/notebook.h"
#include "nbformat/pysrc.h"

static int push(struct train_cells *cv, struct train_cell c)
{
    if (cv->n == cv->cap) {
        size_t cap = cv->cap ? 2 * cv->cap : 4096;
        void *p = realloc(cv->v, cap * sizeof *cv->v);
        if (!p) return -1;
        cv->v = p;
        cv->cap = cap;
    }
    cv->v[cv->n++] = c;
    return 0;
}

uint64_t trainread_group(const char *nb, const char *id)
{
    if (nb) return trainread_hash(nb, strlen(nb), 0);
    if (!id) return 0;
    const char *hash = strrchr(id, '#');
    return trainread_hash(id, hash ? (size_t)(hash - id) : strlen(id), 0);
}

uint64_t trainread_context_group(const char *nb, const char *id)
{
    return nb || (id && strchr(id, '#')) ? trainread_group(nb, id) : 0;
}

uint64_t trainread_hash(const char *s, size_t n, uint64_t seed)
{
    uint64_t h = 1469598103934665603ull ^ (seed * 0x9E3779B97F4A7C15ull);
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    h ^= h >> 33; h *= 0xff51afd7ed558ccdull; h ^= h >> 33;
    return h;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct train_cell *)a)->id, ((const struct train_cell *)b)->id);
}

/* PATH to read, or standard input when PATH is trainread_stdin (given as '-', as label and
 * classify take it; named so in messages and the model's provenance, as label names it). */
const char trainread_stdin[] = "<stdin>";

/* NULL with the message's end after "PATH: " in WHY (WHYLEN bytes). */
static FILE *open_input(const char *path, char *why, size_t whylen)
{
    return path == trainread_stdin ? stdin : nb_fopen_input(path, "a JSON Lines file", why, whylen);
}

static void close_input(FILE *f)
{
    if (f != stdin) fclose(f);
}

/* One JSON Lines file being read (the --cells file or the weak labels). */
struct reader {
    FILE *f;
    const char *path;
    char *line;
    size_t cap, lineno;
};

/* Opens PATH into R: 0, or -1 with the reason said. */
static int reader_open(struct reader *r, const char *path)
{
    char why[PATH_MAX + 64];
    *r = (struct reader){.f = open_input(path, why, sizeof why), .path = path};
    if (r->f) return 0;
    nb_say(stderr, "nbstage train: %s: %s", path, why);
    return -1;
}

/* R's next line that is not blank, parsed into *OBJ: 1; 0 at the end of the file;
 * -1 with the reason said as PATH:LINE (a byte-order mark, or jansson's message: not
 * JSON).  *NONBLANK, when not NULL, counts every line that is not blank, one refused
 * for its mark too. */
static int reader_next(struct reader *r, json_t **obj, size_t *nonblank)
{
    ssize_t n;
    while ((n = getline(&r->line, &r->cap, r->f)) >= 0) {
        r->lineno++;
        if (jsonl_blank(r->line, (size_t)n)) continue;
        if (nonblank) (*nonblank)++;
        if (jsonl_bom(r->line, (size_t)n)) {
            nb_say(stderr, "nbstage train: %s:%zu: the %s starts with " JSONL_BOM_SAYS, r->path,
                   r->lineno, r->lineno == 1 ? "file" : "line");
            return -1;
        }
        json_error_t je;
        *obj = nb_json_loadb_lenient(r->line, (size_t)n, JSON_ALLOW_NUL, &je);
        if (*obj) return 1;
        nb_json_reason(&je); /* one line, no escapes */
        nb_say(stderr, "nbstage train: %s:%zu: %s", r->path, r->lineno, je.text);
        return -1;
    }
    return 0;
}

/* Closes R; RC, or -1 after a read error (said) when RC was 0. */
static int reader_close(struct reader *r, int rc)
{
    if (!rc && jsonl_read_failed(r->f)) { /* reader_next stopped at the end, or failed */
        nb_say(stderr, "nbstage train: %s: read error: %s", r->path, strerror(errno));
        rc = -1;
    }
    free(r->line);
    close_input(r->f);
    return rc;
}

/* Reads `nbstage ingest` lines: id -> source. */
int trainread_sources(const char *path, struct train_srcmap *map)
{
    struct reader r;
    if (reader_open(&r, path)) return -1;
    struct train_cells cv = {0};
    json_t *o;
    int rc = 0, got;
    struct context_cursor cur = {0};
    uint64_t last_nb = 0;
    json_int_t last_ix = -1;
    while ((got = reader_next(&r, &o, NULL)) > 0) {
        const char *id = json_string_value(json_object_get(o, "id"));
        struct train_cell c = {0};
        if (!id || !jsonl_is_text(json_object_get(o, "source"))) {
            nb_say(stderr, "nbstage train: %s:%zu: needs a string \"id\" and a \"source\" (a string or a "
                           "list of strings)", path, r.lineno);
            json_decref(o);
            rc = -1;
            break;
        }
        c.src = nb_cell_source(o, &c.len); /* NULL: out of memory */
        c.id = strdup(id);
        c.line = r.lineno;
        /* the predecessor: pointers to sources stay put while cv.v moves */
        uint64_t g = trainread_context_group(json_string_value(json_object_get(o, "notebook")), id);
        if (g != last_nb || !g || cv.n == 0) cur = (struct context_cursor){0}, last_ix = -1;
        /* ingest's "index" going back within a notebook: the lines were sorted or
         * shuffled, and the line before a cell is not its predecessor */
        json_t *ixv = json_object_get(o, "index");
        json_int_t ix = json_is_integer(ixv) ? json_integer_value(ixv) : -1;
        if (ix >= 0 && last_ix >= 0 && ix <= last_ix && !map->disorder_line)
            map->disorder_line = r.lineno, map->disorder_ix = ix, map->disorder_after = last_ix;
        last_ix = ix;
        last_nb = g;
        if (c.src) context_next(&cur, c.src, c.len, &c.prev, &c.prev_len);
        json_decref(o);
        if (!c.src || !c.id || push(&cv, c)) { free(c.id); free(c.src); rc = -1; fprintf(stderr, "nbstage train: out of memory\n"); break; }
    }
    rc = reader_close(&r, got < 0 ? -1 : rc);
    if (cv.n) qsort(cv.v, cv.n, sizeof *cv.v, by_id); /* an empty file: no array (NULL) */
    /* One id, two sources (two ingest outputs joined with cat, each PATH's ids relative
     * to it): a weak label could not tell which cell it is for, and the join would give
     * both lines the one bsearch happens to find.  Refused, as ingest refuses the two
     * notebooks that would give one id; the same cell twice is harmless. */
    for (size_t i = 1; !rc && i < cv.n; i++) {
        const struct train_cell *a = &cv.v[i - 1], *b = &cv.v[i];
        if (strcmp(a->id, b->id) || (a->len == b->len && memcmp(a->src, b->src, a->len) == 0)) continue;
        nb_say(stderr, "nbstage train: %s:%zu and %zu: one id, two sources (%s): a weak label could go with "
                       "either; ids must be unique, as one `nbstage ingest` run of their common folder gives them",
               path, a->line < b->line ? a->line : b->line, a->line < b->line ? b->line : a->line, a->id);
        rc = -1;
    }
    map->v = cv.v;
    map->n = cv.n;
    return rc;
}

void trainread_free(struct train_cell *v, size_t n)
{
    for (size_t i = 0; i < n; i++) { free(v[i].id); free(v[i].src); }
    free(v);
}

/* The cell of MAP with ID[0..LEN), or NULL. */
static const struct train_cell *find(const struct train_srcmap *map, const char *id, size_t len)
{
    if (!map->v) return NULL;
    char stack[512], *key = len < sizeof stack ? stack : malloc(len + 1);
    if (!key) return NULL;
    memcpy(key, id, len);
    key[len] = 0;
    struct train_cell k = {.id = key};
    const struct train_cell *hit = bsearch(&k, map->v, map->n, sizeof *map->v, by_id);
    if (key != stack) free(key);
    return hit;
}

/* The statement number K of a statement's id (CELL.sK): its CELL's length, or 0 when
 * ID is no statement's. */
static size_t statement_of(const char *id, long *k)
{
    const char *s = strrchr(id, '.');
    if (!s || s[1] != 's' || !s[2] || !strchr(id, '#') || s < strrchr(id, '#')) return 0;
    char *end;
    errno = 0;
    long v = strtol(s + 2, &end, 10);
    if (*end || errno || v < 0 || s[2] == '-' || s[2] == '+') return 0;
    *k = v;
    return (size_t)(s - id);
}

/* What a context model reads for the line ID with its own source: its predecessor
 * (trainread.h, trainread_weak).  LAST holds the previous statement line's id and raw
 * source. */
struct last_stmt { char *cell; long k; char *src; size_t len; };

static const char *own_prev(const struct train_srcmap *map, const struct last_stmt *last, const char *id,
                            size_t *plen)
{
    long k = 0;
    size_t cl = statement_of(id, &k);
    *plen = 0;
    if (cl && k > 0) {
        if (last->cell && strlen(last->cell) == cl && !memcmp(last->cell, id, cl) && last->k < k) {
            *plen = last->len;
            return last->src;
        }
        return NULL;
    }
    const struct train_cell *c = find(map, id, cl ? cl : strlen(id));
    if (!c) return NULL;
    *plen = c->prev_len;
    return c->prev;
}

/* The text of OBJ's own source after its predecessor, malloc'd into *TEXT; a statement's
 * source becomes LAST.  -1 when out of memory. */
static int own_text(const struct train_srcmap *map, struct last_stmt *last, const char *id, json_t *obj,
                    char **text, size_t *len)
{
    size_t n, plen, cap = 0;
    char *src = nb_cell_source(obj, &n);
    if (!src) return -1;
    const char *prev = own_prev(map, last, id, &plen);
    *len = context_text(prev, plen, src, n, text, &cap);
    if (*len == (size_t)-1) { free(src); return -1; }
    long k;
    size_t cl = statement_of(id, &k);
    if (!cl) { free(src); return 0; }
    char *cell = strndup(id, cl);
    if (!cell) { free(src); return -1; }
    free(last->cell), free(last->src);
    *last = (struct last_stmt){cell, k, src, n};
    return 0;
}

/* 1 when the weak line OBJ carries the digest of another source than HIT's: the
 * notebook changed and was ingested again since label ran (weaklabel.h). */
static int source_changed(json_t *obj, const struct train_cell *hit)
{
    const char *d = json_string_value(json_object_get(obj, "source_digest"));
    if (!d) return 0; /* a line of an older label, or made by hand: nothing to check */
    char want[17];
    snprintf(want, sizeof want, "%016" PRIx64, weak_source_digest(hit->src, hit->len));
    return strcmp(d, want) != 0;
}

static int by_id_then_line(const void *x, const void *y)
{
    const struct train_cell *a = *(const struct train_cell *const *)x, *b = *(const struct train_cell *const *)y;
    int c = strcmp(a->id, b->id);
    return c ? c : (a->line > b->line) - (a->line < b->line);
}

/* One id labeled with two stages (two weak files joined with cat, one of them edited):
 * the cell would be trained towards both.  Refused, as label and eval refuse one id
 * with two sources or two hand labels; 0, or -1 said.  The same label twice is a
 * duplicate, which the dedupe drops (or --keep-duplicates keeps). */
static int weak_id_clash(const char *path, const struct train_cells *cv)
{
    if (cv->n < 2) return 0;
    const struct train_cell **by = malloc(cv->n * sizeof *by);
    if (!by) { fprintf(stderr, "nbstage train: out of memory\n"); return -1; }
    for (size_t i = 0; i < cv->n; i++) by[i] = &cv->v[i];
    qsort(by, cv->n, sizeof *by, by_id_then_line);
    int rc = 0;
    for (size_t i = 1; i < cv->n && !rc; i++) {
        const struct train_cell *a = by[i - 1], *b = by[i];
        if (strcmp(a->id, b->id) || a->stage == b->stage) continue;
        nb_say(stderr, "nbstage train: %s:%zu and %zu: one id, two stages (%s: %s, then %s): the cell would "
                       "be trained towards both; give each cell one weak label, as `nbstage label` writes them",
               path, a->line, b->line, a->id, stage_key[a->stage], stage_key[b->stage]);
        rc = -1;
    }
    free(by);
    return rc;
}

/* One weak file being read (trainread_weak): the call's arguments, and the context
 * text of the line at hand with what it needs of the line before. */
struct weak_read {
    const char *path;
    double min_conf;
    int soft, context;
    const struct train_srcmap *map;
    struct train_cells *out;
    struct weak_stats *st;
    struct last_stmt last;
    char *ctx_src; /* this line's text with its context, until the cell takes it */
    size_t ctx_len;
};

/* Says so on stderr: -1. */
static int out_of_memory(void)
{
    fprintf(stderr, "nbstage train: out of memory\n");
    return -1;
}

/* A line without "id" or "stage": -1, said.  Ingest's cells given where label's weak
 * labels go (an id and a source, no stage) are told which step is missing. */
static int say_no_id_or_stage(const char *path, size_t lineno, json_t *obj, const char *id, json_t *stage)
{
    int cells = id && !stage && json_object_get(obj, "source");
    nb_say(stderr, "nbstage train: %s:%zu: needs \"id\" and \"stage\"%s", path, lineno,
           cells ? " (a cell without a label, as `nbstage ingest` writes: give the weak labels of "
                   "`nbstage label` here, and these cells as --cells)" : "");
    return -1;
}

/* A "stage" that is neither a stage's key nor null: -1, said. */
static int say_unknown_stage(const char *path, size_t lineno, json_t *stage)
{
    char *what = json_dumps(stage, JSON_ENCODE_ANY);
    nb_say(stderr, "nbstage train: %s:%zu: unknown stage %s (load prep train evaluate explore "
                   "imports, or null when the label model abstained)", path, lineno, what ? what : "");
    free(what);
    return -1;
}

/* A line's "probabilities" that cannot be its stage's soft targets: -1, said.  They may
 * be absent or null (one-hot), or an object of stage keys to numbers >= 0 in any scale;
 * a key that is no stage (a typo, "Prep"), a value that is no such number (a string,
 * NaN read as null) or a list was silently dropped, the label learned one-hot or from
 * the other keys, and a stage given probability 0 while others were not was learned as
 * those others' cell under --targets soft, as its stage's under hard. */
static int say_bad_probabilities(const char *path, size_t lineno, json_t *pr, int s)
{
    if (!pr || json_is_null(pr)) return 0;
    if (!json_is_object(pr)) {
        nb_say(stderr, "nbstage train: %s:%zu: \"probabilities\" is not an object of stage: number "
                       "({\"load\": 0.9, ...}, as `nbstage label` writes)", path, lineno);
        return -1;
    }
    const char *key;
    json_t *v;
    double other = 0;
    json_object_foreach(pr, key, v) {
        int k = stage_from_key(key);
        char *what = json_dumps(v, JSON_ENCODE_ANY);
        if (k < 0)
            nb_say(stderr, "nbstage train: %s:%zu: \"probabilities\" has the unknown stage \"%s\" (load prep "
                           "train evaluate explore imports)", path, lineno, key);
        else if (!json_is_number(v) || !(json_number_value(v) >= 0))
            nb_say(stderr, "nbstage train: %s:%zu: the probability of \"%s\" is %s%s: not a number >= 0", path,
                   lineno, key, what ? what : "", json_is_null(v) ? " (as NaN, Infinity or a number beyond a "
                                                                    "double's range are read)" : "");
        free(what);
        if (k < 0 || !json_is_number(v) || !(json_number_value(v) >= 0)) return -1;
        if (k != s) other += json_number_value(v);
    }
    double own = json_number_value(json_object_get(pr, stage_key[s]));
    if (!(own > 0) && other > 0) {
        nb_say(stderr, "nbstage train: %s:%zu: the stage is \"%s\", but its probability is 0 (the other "
                       "stages' sum to %g): the label and its probabilities disagree", path, lineno,
               stage_key[s], other);
        return -1;
    }
    return 0;
}

/* With --context, the text of the line's own source after its predecessor, into
 * W->ctx_src.  Made for every line before anything is left out, since a statement's
 * predecessor is the one before it, labeled or not.  -1 when out of memory. */
static int line_context(struct weak_read *w, json_t *obj, const char *id)
{
    free(w->ctx_src);
    w->ctx_src = NULL;
    json_t *own = json_object_get(obj, "source");
    if (w->context && own && jsonl_is_text(own) && own_text(w->map, &w->last, id, obj, &w->ctx_src, &w->ctx_len))
        return -1;
    return 0;
}

/* The soft targets of stage S into TARGET: PR's probabilities (the label model's),
 * renormalised, or one-hot when there are none (returns 1).  *SUM is what they summed
 * to before (1 when one-hot). */
static int weak_targets(json_t *pr, int s, float *target, double *sum)
{
    *sum = 0;
    for (int k = 0; k < N_STAGES && json_is_object(pr); k++) {
        double p = json_number_value(json_object_get(pr, stage_key[k]));
        target[k] = (float)(p > 0 && isfinite(p) ? p : 0);
        *sum += target[k];
    }
    if (!isfinite(*sum)) { /* a value beyond float's range (hand-made, 1e300): scaled by the largest */
        double v[N_STAGES], top = 0;
        for (int k = 0; k < N_STAGES; k++) {
            double p = json_number_value(json_object_get(pr, stage_key[k]));
            v[k] = p > 0 && isfinite(p) ? p : 0;
            if (v[k] > top) top = v[k];
        }
        *sum = 0;
        for (int k = 0; k < N_STAGES; k++) *sum += target[k] = (float)(v[k] / top);
    }
    int no_probs = *sum <= 0;
    if (no_probs) { memset(target, 0, N_STAGES * sizeof *target); target[s] = 1; *sum = 1; }
    for (int k = 0; k < N_STAGES; k++) target[k] = (float)(target[k] / *sum);
    return no_probs;
}

/* The source of the line ID from MAP (--cells) into C: its text, or with --context
 * the text after its predecessor; C->src stays NULL when MAP has no such id.  1, or 0
 * when the label was made from another source than MAP's (counted: left out), or -1
 * when out of memory. */
static int joined_source(struct weak_read *w, json_t *obj, const char *id, struct train_cell *c)
{
    struct train_cell key = {.id = (char *)id};
    struct train_cell *hit = bsearch(&key, w->map->v, w->map->n, sizeof *w->map->v, by_id);
    if (hit && source_changed(obj, hit)) {
        struct weak_stats *st = w->st;
        if (st->changed < sizeof st->changed_ids / sizeof *st->changed_ids)
            st->changed_ids[st->changed] = strdup(id);
        st->changed++;
        return 0;
    }
    if (hit && w->context) {
        size_t cap = 0;
        c->len = context_text(hit->prev, hit->prev_len, hit->src, hit->len, &c->src, &cap);
        if (c->len == (size_t)-1) { free(c->src), c->src = NULL; return -1; }
    } else if (hit) {
        c->src = malloc(hit->len + 1);
        if (!c->src) return -1;
        memcpy(c->src, hit->src, hit->len + 1);
        c->len = hit->len;
    }
    return 1;
}

/* The line's source into C->src: its own "source" (with --context, line_context's
 * text), else joined_source's.  1 with one; 0 when it has none, or another than the
 * label's (counted: left out); -1 said.  Out of memory is no missing source. */
static int weak_source(struct weak_read *w, json_t *obj, const char *id, size_t lineno, struct train_cell *c)
{
    struct weak_stats *st = w->st;
    json_t *src = json_object_get(obj, "source");
    if (src && !jsonl_is_text(src)) {
        nb_say(stderr, "nbstage train: %s:%zu: \"source\" is not a string or a list of strings", w->path, lineno);
        return -1;
    }
    if (src && w->context) {
        c->src = w->ctx_src, c->len = w->ctx_len, w->ctx_src = NULL;
    } else if (src) {
        if (!(c->src = nb_cell_source(obj, &c->len))) return out_of_memory();
    } else if (w->map->v) {
        int joined = joined_source(w, obj, id, c);
        if (joined <= 0) return joined < 0 ? out_of_memory() : 0;
    }
    if (!c->src) {
        if (st->no_source < sizeof st->missing / sizeof *st->missing) st->missing[st->no_source] = strdup(id);
        st->no_source++;
        return 0;
    }
    return 1;
}

/* One weak line, OBJ: its cell added to W->out, or the line left out and counted in
 * W->st.  0, or -1 with the reason said. */
static int weak_line(struct weak_read *w, json_t *obj, size_t lineno)
{
    struct weak_stats *st = w->st;
    const char *id = json_string_value(json_object_get(obj, "id"));
    json_t *stage = json_object_get(obj, "stage");
    if (!id || !stage) return say_no_id_or_stage(w->path, lineno, obj, id, stage);
    if (line_context(w, obj, id)) return out_of_memory();
    if (json_is_null(stage)) { st->abstained++; return 0; }
    int s = stage_from_key(json_string_value(stage));
    if (s < 0) return say_unknown_stage(w->path, lineno, stage);
    if (say_bad_probabilities(w->path, lineno, json_object_get(obj, "probabilities"), s)) return -1;

    struct train_cell c = {0};
    c.stage = s;
    double sum;
    int no_probs = weak_targets(json_object_get(obj, "probabilities"), s, c.target, &sum);
    /* label writes 4 decimals (a sum off by 3e-4 at most); a sum far from 1 is a
     * hand-made file's (percentages, counts), whose scaling is said */
    int rescaled = !no_probs && fabs(sum - 1) > 0.01;
    if (c.target[s] < w->min_conf) { st->low_conf++; return 0; }
    if (!w->soft) { memset(c.target, 0, sizeof c.target); c.target[s] = 1; }

    int got = weak_source(w, obj, id, lineno, &c);
    if (got <= 0) return got;
    /* A blank or comment-only cell has no stage (the labeling guide; label
     * abstains on it, classify, tag and the kernel say none): trained on, it
     * taught the all-padding sequence a stage.  A user's own weak file, or a line
     * joined from --cells, can still give it one.  Code with no word ("{}",
     * "...") is kept: classify gives it a stage, from the same all-padding input. */
    if (pysrc_is_blank(c.src, c.len)) {
        st->blank++;
        free(c.src);
        return 0;
    }
    c.group = trainread_group(json_string_value(json_object_get(obj, "notebook")), id);
    c.id = strdup(id);
    c.line = lineno;
    if (!c.id || push(w->out, c)) {
        free(c.id); free(c.src);
        return out_of_memory();
    }
    st->no_probs += no_probs;
    if (rescaled && !st->rescaled++) st->rescaled_line = lineno, st->rescaled_sum = sum;
    return 0;
}

/* Reads the weak labels and joins the sources: each line in turn (weak_line), then
 * the ids labeled twice (weak_id_clash). */
int trainread_weak(const char *path, double min_conf, int soft, int context, const struct train_srcmap *map,
                   struct train_cells *out, struct weak_stats *st)
{
    struct reader r;
    if (reader_open(&r, path)) return -1;
    struct weak_read w = {.path = path, .min_conf = min_conf, .soft = soft, .context = context,
                          .map = map, .out = out, .st = st};
    json_t *obj;
    int rc = 0, got;
    while (!rc && (got = reader_next(&r, &obj, &st->lines)) > 0) {
        rc = weak_line(&w, obj, r.lineno);
        json_decref(obj);
    }
    free(w.ctx_src);
    free(w.last.cell), free(w.last.src);
    rc = reader_close(&r, got < 0 ? -1 : rc);
    return rc ? rc : weak_id_clash(path, out);
}
