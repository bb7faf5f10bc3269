/* cmd_train.c — `nbstage train`: weak labels + cells -> a model file.
 *
 * Owns: turning the label model's output into training data — joining sources by id,
 * dropping abstentions and exact duplicate cells, the per-class cap, the validation
 * split by notebook, the vocabulary (fitted on the training cells only), soft or hard
 * targets — then calling lstm_train (model/train.c) and writing the model file with
 * its provenance.  Cells of one stage (all of them, or the training ones after the
 * split) are refused before training: the model would know that stage alone.  Ctrl-C (or SIGTERM) stops after the current batch and keeps the
 * best weights; stopped before the first epoch ends, it writes nothing.  So does a
 * run that diverged in its first epoch (train.h: non-finite weights are never kept).
 *
 * Why split by notebook: forks and copies put near-identical cells in sibling
 * notebooks; a random cell split would score the model on cells it trained on.
 */
#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "labeling/stage.h"
#include "model/commands.h"
#include "model/lstm.h"
#include "model/modelfile.h"
#include "model/train.h"
#include "model/tokenizer.h"
#include "model/vocab.h"
#include "nbformat/cpus.h"
#include "nbformat/jsonl.h"
#include "nbformat/outfile.h"
#include "nbformat/pysrc.h"
#include "nbformat/sigcatch.h"

_Static_assert(LSTM_MAX_THREADS == 16, "--help says --threads uses at most 16");

static void usage(FILE *to)
{
    fprintf(to,
"usage: nbstage train [options] WEAK.jsonl -o MODEL.nbsm\n\n"
"Trains the LSTM stage classifier on weak labels: `nbstage label`'s JSON Lines\n"
"({\"id\", \"stage\", \"probabilities\": {key: p}}), from WEAK.jsonl, or stdin for -\n"
"(`nbstage label cells.jsonl | nbstage train - --cells cells.jsonl -o m.nbsm`).\n"
"The cells' text comes from the line's own \"source\" when it has one, else from\n"
"--cells (`nbstage ingest`'s output, joined by id).  Cells the label model\n"
"abstained on (\"stage\": null) are left out; so are blank or comment-only sources\n"
"(classify gives them no stage) and exact duplicate sources after the first.\n"
"The validation set is whole notebooks (the part of the id before '#').  Cells of\n"
"one stage, or training cells left of one stage by the split, are refused.\n"
"One progress line per epoch; Ctrl-C (or SIGTERM, as a batch scheduler sends at its\n"
"time limit) stops cleanly and writes the best weights so far; before the first\n"
"epoch has ended there are none, and nothing is written (an older MODEL is left as\n"
"it was).\n\n"
"options (defaults in parentheses; they are the study's settings, but for --targets):\n"
"  -o, --output FILE        the model file (required)\n"
"  --cells FILE             cells with sources, joined to WEAK by id (-: stdin)\n"
"  --epochs N               at most N epochs (15)\n"
"  --batch N                mini-batch size (256)\n"
"  --lr X                   Adam learning rate (0.001)\n"
"  --spatial-dropout X      SpatialDropout1D rate (0.8)\n"
"  --dropout X              LSTM input dropout (0.8)\n"
"  --recurrent-dropout X    LSTM recurrent dropout (0.8)\n"
"  --patience N             early stopping on validation accuracy (7)\n"
"  --cap N                  at most N cells per class, sampled; 0 = no cap (5000)\n"
"  --val-split X            fraction of cells in validation notebooks (0.25), at\n"
"                           least one notebook, never all; 0: no early stopping\n"
"  --targets soft|hard      label-model probabilities or one-hot (soft; the study's: hard)\n"
"  --min-confidence X       leave out weak labels below this probability (0)\n"
"  --keep-duplicates        keep exact duplicate cells\n"
"  --vocab N                vocabulary size incl. padding (8000)\n"
"  --seq-len N              words per cell, the last ones (120)\n"
"  --assign-words           a word \"=\" where a statement assigns (off: the study's\n"
"                           split turns '=' into a space; see model/tokenizer.h)\n"
"  --embed N, --hidden N    layer sizes (512, 64)\n"
"  --seed N                 everything random derives from it (1)\n"
"  --threads N              threads, each a share of every batch, calling OpenBLAS\n"
"                           single-threaded (the CPUs it may use; at most 16)\n"
"  --curves PREFIX          learning curves to PREFIX.csv and PREFIX.svg (a .csv\n"
"                           or .svg ending of PREFIX is dropped)\n"
"  -q, --quiet              no progress lines\n"
"  -h, --help               this help\n\n"
"The file is the same, byte for byte, for the same inputs, options and --threads,\n"
"except the date in its description: set SOURCE_DATE_EPOCH (seconds since 1970,\n"
"as `date +%%s` prints; another value is refused) to fix it.\n"
"exit: 0 model written (also after Ctrl-C), 2 usage, input or I/O error, or\n"
"interrupted or diverged in the first epoch (nothing written).\n");
}

struct opts {
    const char *weak, *cells, *out, *curves;
    struct train_config cfg;
    int cap, soft, dedupe, vocab, seq_len, embed, hidden, quiet, assign_words;
    double val_split, min_conf;
};

/* ------------------------------------------------------------------ input */

struct cell {
    char *id;
    char *src;        /* owned */
    size_t len;
    float target[N_STAGES];
    int stage;
    uint64_t group;   /* hash of the notebook path */
    size_t line;      /* --cells: the line it was read from, for messages */
};

struct cellvec { struct cell *v; size_t n, cap; };

static int push(struct cellvec *cv, struct cell c)
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

static uint64_t hash_bytes(const char *s, size_t n, uint64_t seed)
{
    uint64_t h = 1469598103934665603ull ^ (seed * 0x9E3779B97F4A7C15ull);
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    h ^= h >> 33; h *= 0xff51afd7ed558ccdull; h ^= h >> 33;
    return h;
}

/* Source of a JSON value: a string or nbformat's list of lines (jsonl_is_text). */
static char *source_of(json_t *s, size_t *len)
{
    if (json_is_string(s)) {
        *len = json_string_length(s);
        char *out = malloc(*len + 1);
        if (out) memcpy(out, json_string_value(s), *len + 1);
        return out;
    }
    if (!json_is_array(s)) return NULL;
    size_t total = 0, i;
    json_t *x;
    json_array_foreach(s, i, x) total += json_is_string(x) ? json_string_length(x) : 0;
    char *out = malloc(total + 1), *p = out;
    if (!out) return NULL;
    json_array_foreach(s, i, x) if (json_is_string(x)) {
        memcpy(p, json_string_value(x), json_string_length(x));
        p += json_string_length(x);
    }
    *p = 0;
    *len = total;
    return out;
}

struct srcmap { struct cell *v; size_t n; }; /* sorted by id */

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct cell *)a)->id, ((const struct cell *)b)->id);
}

/* PATH to read, or standard input when PATH is STDIN_NAME (given as '-', as label and
 * classify take it; named so in messages and the model's provenance, as label names it). */
static const char STDIN_NAME[] = "<stdin>";

static FILE *open_input(const char *path)
{
    return path == STDIN_NAME ? stdin : fopen(path, "r");
}

static void close_input(FILE *f)
{
    if (f != stdin) fclose(f);
}

/* Reads `nbstage ingest` lines: id -> source. */
static int read_cells(const char *path, struct srcmap *map)
{
    FILE *f = open_input(path);
    if (!f) { fprintf(stderr, "nbstage train: %s: cannot open: %s\n", path, strerror(errno)); return -1; }
    struct cellvec cv = {0};
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (jsonl_blank(line, (size_t)n)) continue;
        if (jsonl_bom(line, (size_t)n)) {
            fprintf(stderr, "nbstage train: %s:%zu: the %s starts with " JSONL_BOM_SAYS "\n", path, lineno,
                    lineno == 1 ? "file" : "line");
            rc = -1;
            break;
        }
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, &je);
        const char *id = o ? json_string_value(json_object_get(o, "id")) : NULL;
        struct cell c = {0};
        json_t *sv = o ? json_object_get(o, "source") : NULL;
        if (!o || !id || !jsonl_is_text(sv)) {
            fprintf(stderr, "nbstage train: %s:%zu: %s\n", path, lineno,
                    o ? "needs a string \"id\" and a \"source\" (a string or a list of strings)" : je.text);
            json_decref(o);
            rc = -1;
            break;
        }
        c.src = source_of(sv, &c.len); /* NULL: out of memory */
        c.id = strdup(id);
        c.line = lineno;
        json_decref(o);
        if (!c.src || !c.id || push(&cv, c)) { free(c.id); free(c.src); rc = -1; fprintf(stderr, "nbstage train: out of memory\n"); break; }
    }
    if (!rc && ferror(f)) { fprintf(stderr, "nbstage train: %s: read error: %s\n", path, strerror(errno)); rc = -1; }
    free(line);
    close_input(f);
    if (cv.n) qsort(cv.v, cv.n, sizeof *cv.v, by_id); /* an empty file: no array (NULL) */
    /* One id, two sources (two ingest outputs joined with cat, each PATH's ids relative
     * to it): a weak label could not tell which cell it is for, and the join would give
     * both lines the one bsearch happens to find.  Refused, as ingest refuses the two
     * notebooks that would give one id; the same cell twice is harmless. */
    for (size_t i = 1; !rc && i < cv.n; i++) {
        const struct cell *a = &cv.v[i - 1], *b = &cv.v[i];
        if (strcmp(a->id, b->id) || (a->len == b->len && memcmp(a->src, b->src, a->len) == 0)) continue;
        fprintf(stderr, "nbstage train: %s:%zu and %zu: one id, two sources (%s): a weak label could go with "
                        "either; ids must be unique, as one `nbstage ingest` run of their common folder gives them\n",
                path, a->line < b->line ? a->line : b->line, a->line < b->line ? b->line : a->line, a->id);
        rc = -1;
    }
    map->v = cv.v;
    map->n = cv.n;
    return rc;
}

static void free_cells(struct cell *v, size_t n)
{
    for (size_t i = 0; i < n; i++) { free(v[i].id); free(v[i].src); }
    free(v);
}

struct weak_stats {
    size_t lines, abstained, no_source, blank, low_conf;
    char *missing[3];   /* the first ids without a source, to name them */
};

/* Reads the weak labels and joins the sources. */
static int read_weak(const struct opts *o, const struct srcmap *map, struct cellvec *out, struct weak_stats *st)
{
    FILE *f = open_input(o->weak);
    if (!f) { fprintf(stderr, "nbstage train: %s: cannot open: %s\n", o->weak, strerror(errno)); return -1; }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (jsonl_blank(line, (size_t)n)) continue;
        st->lines++;
        if (jsonl_bom(line, (size_t)n)) {
            fprintf(stderr, "nbstage train: %s:%zu: the %s starts with " JSONL_BOM_SAYS "\n", o->weak, lineno,
                    lineno == 1 ? "file" : "line");
            rc = -1;
            break;
        }
        json_error_t je;
        json_t *obj = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, &je);
        const char *id = obj ? json_string_value(json_object_get(obj, "id")) : NULL;
        json_t *stage = obj ? json_object_get(obj, "stage") : NULL;
        if (!obj || !id || !stage) {
            fprintf(stderr, "nbstage train: %s:%zu: %s\n", o->weak, lineno,
                    obj ? "needs \"id\" and \"stage\"" : je.text);
            json_decref(obj);
            rc = -1;
            break;
        }
        if (json_is_null(stage)) { st->abstained++; json_decref(obj); continue; }
        int s = stage_from_key(json_string_value(stage));
        if (s < 0) {
            char *what = json_dumps(stage, JSON_ENCODE_ANY);
            fprintf(stderr, "nbstage train: %s:%zu: unknown stage %s (load prep train evaluate explore "
                            "imports, or null when the label model abstained)\n", o->weak, lineno, what ? what : "");
            free(what);
            json_decref(obj);
            rc = -1;
            break;
        }
        struct cell c = {0};
        c.stage = s;
        /* Soft targets: the label model's probabilities, renormalised; else one-hot. */
        json_t *pr = json_object_get(obj, "probabilities");
        double sum = 0;
        for (int k = 0; k < N_STAGES && json_is_object(pr); k++) {
            double p = json_number_value(json_object_get(pr, stage_key[k]));
            c.target[k] = (float)(p > 0 && isfinite(p) ? p : 0);
            sum += c.target[k];
        }
        if (!isfinite(sum)) { /* a value beyond float's range (hand-made, 1e300): scaled by the largest */
            double v[N_STAGES], top = 0;
            for (int k = 0; k < N_STAGES; k++) {
                double p = json_number_value(json_object_get(pr, stage_key[k]));
                v[k] = p > 0 && isfinite(p) ? p : 0;
                if (v[k] > top) top = v[k];
            }
            sum = 0;
            for (int k = 0; k < N_STAGES; k++) sum += c.target[k] = (float)(v[k] / top);
        }
        if (sum <= 0) { memset(c.target, 0, sizeof c.target); c.target[s] = 1; sum = 1; }
        for (int k = 0; k < N_STAGES; k++) c.target[k] = (float)(c.target[k] / sum);
        if (c.target[s] < o->min_conf) { st->low_conf++; json_decref(obj); continue; }
        if (!o->soft) { memset(c.target, 0, sizeof c.target); c.target[s] = 1; }

        json_t *src = json_object_get(obj, "source");
        if (src && !jsonl_is_text(src)) {
            fprintf(stderr, "nbstage train: %s:%zu: \"source\" is not a string or a list of strings\n", o->weak, lineno);
            json_decref(obj);
            rc = -1;
            break;
        }
        int oom = 0;
        if (src) oom = !(c.src = source_of(src, &c.len));
        else if (map->v) {
            struct cell key = {.id = (char *)id};
            struct cell *hit = bsearch(&key, map->v, map->n, sizeof *map->v, by_id);
            if (hit) {
                c.src = malloc(hit->len + 1);
                if (c.src) memcpy(c.src, hit->src, hit->len + 1);
                else oom = 1;
                c.len = hit->len;
            }
        }
        if (oom) { /* not a label without a source, to be left out */
            fprintf(stderr, "nbstage train: out of memory\n");
            json_decref(obj);
            rc = -1;
            break;
        }
        if (!c.src) {
            if (st->no_source < sizeof st->missing / sizeof *st->missing) st->missing[st->no_source] = strdup(id);
            st->no_source++;
            json_decref(obj);
            continue;
        }
        /* A blank or comment-only cell has no stage (the labeling guide; label
         * abstains on it, classify, tag and the kernel say none): trained on, it
         * taught the all-padding sequence a stage.  A user's own weak file, or a line
         * joined from --cells, can still give it one.  Code with no word ("{}",
         * "...") is kept: classify gives it a stage, from the same all-padding input. */
        if (pysrc_is_blank(c.src, c.len)) {
            st->blank++;
            free(c.src);
            json_decref(obj);
            continue;
        }
        const char *nb = json_string_value(json_object_get(obj, "notebook"));
        const char *hash = strrchr(id, '#');
        c.group = nb ? hash_bytes(nb, strlen(nb), 0) : hash_bytes(id, hash ? (size_t)(hash - id) : strlen(id), 0);
        c.id = strdup(id);
        json_decref(obj);
        if (!c.id || push(out, c)) {
            free(c.id); free(c.src);
            fprintf(stderr, "nbstage train: out of memory\n");
            rc = -1;
            break;
        }
    }
    if (!rc && ferror(f)) { fprintf(stderr, "nbstage train: %s: read error: %s\n", o->weak, strerror(errno)); rc = -1; }
    free(line);
    close_input(f);
    return rc;
}

/* ------------------------------------------------------------------ selection */

/* Drops exact duplicate sources after their first appearance (in WEAK's order). */
static size_t dedupe(struct cellvec *cv)
{
    size_t size = 16;
    while (size < 2 * cv->n) size *= 2;
    uint64_t *seen = calloc(size, sizeof *seen);
    size_t *who = calloc(size, sizeof *who);
    if (!seen || !who) { free(seen); free(who); return 0; }
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < cv->n; i++) {
        struct cell *c = &cv->v[i];
        uint64_t h = hash_bytes(c->src, c->len, 7) | 1;
        size_t j = h & (size - 1);
        int dup = 0;
        for (; seen[j]; j = (j + 1) & (size - 1))
            if (seen[j] == h) {
                const struct cell *o = &cv->v[who[j]];
                if (o->len == c->len && memcmp(o->src, c->src, c->len) == 0) { dup = 1; break; }
            }
        if (dup) { free(c->id); free(c->src); dropped++; continue; }
        seen[j] = h;
        who[j] = kept;
        cv->v[kept++] = *c;
    }
    cv->n = kept;
    free(seen);
    free(who);
    return dropped;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

struct ranked { int stage; uint64_t key; size_t i; };

static int by_stage_key(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->stage != y->stage) return x->stage - y->stage;
    return (x->key > y->key) - (x->key < y->key);
}

/* At most CAP cells of each class, a seeded uniform sample; order kept.  COUNTS gets
 * the class sizes before the cap.  -1 when out of memory. */
static long cap_classes(struct cellvec *cv, int cap, uint64_t seed, long counts[N_STAGES])
{
    memset(counts, 0, N_STAGES * sizeof *counts);
    for (size_t i = 0; i < cv->n; i++) counts[cv->v[i].stage]++;
    if (cap <= 0) return 0;
    struct ranked *r = malloc((cv->n ? cv->n : 1) * sizeof *r);
    unsigned char *keep = calloc(cv->n ? cv->n : 1, 1);
    if (!r || !keep) { free(r); free(keep); return -1; }
    uint64_t s = seed ^ 0xC0FFEEull;
    for (size_t i = 0; i < cv->n; i++) r[i] = (struct ranked){cv->v[i].stage, rng_next(&s), i};
    qsort(r, cv->n, sizeof *r, by_stage_key);
    long in_class = 0;
    for (size_t j = 0; j < cv->n; j++) {
        in_class = (j > 0 && r[j].stage == r[j - 1].stage) ? in_class + 1 : 0;
        if (in_class < cap) keep[r[j].i] = 1;
    }
    size_t kept = 0;
    long dropped = 0;
    for (size_t i = 0; i < cv->n; i++) {
        if (keep[i]) cv->v[kept++] = cv->v[i];
        else { free(cv->v[i].id); free(cv->v[i].src); dropped++; }
    }
    cv->n = kept;
    free(r);
    free(keep);
    return dropped;
}

/* The one stage COUNTS has cells of, or -1 when it has none or several. */
static int one_stage(const long counts[N_STAGES])
{
    int only = -1;
    for (int k = 0; k < N_STAGES; k++)
        if (counts[k]) {
            if (only >= 0) return -1;
            only = k;
        }
    return only;
}

/* Validation notebooks: notebooks in a seeded random order, taken until they hold
 * FRACTION of the cells, at least one (a fraction of a small corpus that rounds to no
 * cell would otherwise turn validation, and with it early stopping, off unsaid), never
 * the last one (a tiny corpus of one or two notebooks still trains: the split would
 * otherwise leave nothing to train on).  Sets IS_VAL[i]; returns the count of
 * validation cells. */
static size_t split_by_notebook(const struct cellvec *cv, double fraction, uint64_t seed, unsigned char *is_val)
{
    /* A notebook's place in the random order is a keyed hash of its path. */
    struct ranked *r = malloc((cv->n ? cv->n : 1) * sizeof *r);
    if (!r) return (size_t)-1;
    for (size_t i = 0; i < cv->n; i++)
        r[i] = (struct ranked){0, hash_bytes((const char *)&cv->v[i].group, 8, seed + 1), i};
    qsort(r, cv->n, sizeof *r, by_stage_key);
    size_t want = (size_t)(fraction * (double)cv->n + 0.5), nval = 0;
    size_t last = cv->n ? cv->n - 1 : 0; /* the last notebook's first cell */
    while (last > 0 && r[last - 1].key == r[last].key) last--;
    for (size_t j = 0; j < last; j++) {
        /* whole notebooks: once started, a notebook is finished even past WANT */
        if (nval >= want && nval > 0 && r[j].key != r[j - 1].key) break;
        is_val[r[j].i] = 1;
        nval++;
    }
    free(r);
    return nval;
}

/* ------------------------------------------------------------------ training */

/* An atomic, not a volatile sig_atomic_t: the signal may be taken by any thread
 * (OpenBLAS's among them) and the training loop reads it on another.  Lock-free, so
 * safe in a handler. */
static atomic_int stop_flag;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_int must be lock-free to be set in a signal handler");
static void on_stop(int sig) { (void)sig; atomic_store_explicit(&stop_flag, 1, memory_order_relaxed); }


static int build_vocab(const struct cellvec *cv, const unsigned char *is_val, int max_ids,
                       unsigned tokenize, struct vocab *v)
{
    struct vocab_counter *vc = vocab_counter_new();
    if (!vc) return -1;
    vocab_counter_set_tokenize(vc, tokenize);
    for (size_t i = 0; i < cv->n; i++)
        if (!is_val[i] && vocab_counter_add_source(vc, cv->v[i].src, cv->v[i].len)) {
            vocab_counter_free(vc);
            return -1;
        }
    int r = vocab_build(vc, max_ids, v);
    vocab_counter_free(vc);
    return r;
}

/* Sequences and targets of the cells with IS_VAL[i] == WANT_VAL. */
static int make_set(const struct cellvec *cv, const unsigned char *is_val, int want_val,
                    const struct vocab *v, int seq_len, struct train_data *d, int **tok, float **tgt)
{
    size_t n = 0;
    for (size_t i = 0; i < cv->n; i++) n += is_val[i] == want_val;
    *tok = malloc((n ? n : 1) * (size_t)seq_len * sizeof **tok);
    *tgt = malloc((n ? n : 1) * N_STAGES * sizeof **tgt);
    if (!*tok || !*tgt) return -1;
    size_t k = 0;
    for (size_t i = 0; i < cv->n; i++) {
        if (is_val[i] != want_val) continue;
        if (vocab_encode(v, cv->v[i].src, cv->v[i].len, *tok + k * seq_len, seq_len) < 0) return -1;
        memcpy(*tgt + k * N_STAGES, cv->v[i].target, sizeof cv->v[i].target);
        k++;
    }
    *d = (struct train_data){(int)n, seq_len, *tok, *tgt};
    return 0;
}

/* Whether PATH can be written when training ends: checked before it starts, so that a
 * typo in a folder name, a folder, or a read-only file (which the rename would
 * replace) does not cost the whole run.  A device or FIFO (/dev/null) is fine.  The
 * rules are outfile's, which writes the files (nbformat/outfile.h). */
static int check_output(const char *path)
{
    nb_error err;
    if (outfile_check(path, &err) == 0) return 0;
    fprintf(stderr, "nbstage train: %s\n", err.msg);
    return -1;
}

/* What the value parse_int or parse_float last refused should have been, for the
 * message (--help gives the defaults, not the ranges). */
static char bad_range[64];

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        snprintf(bad_range, sizeof bad_range, "a whole number from %d to %d", lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_float(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        snprintf(bad_range, sizeof bad_range, "a number from %g to %g", lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int cmd_train(int argc, char **argv)
{
    struct opts o = {
        .cfg = {.spatial_dropout = 0.8f, .dropout = 0.8f, .recurrent_dropout = 0.8f, .lr = 0.001f,
                .batch = 256, .max_epochs = 15, .patience = 7, .seed = 1, .threads = 0},
        .cap = 5000, .soft = 1, .dedupe = 1, .vocab = 8000, .seq_len = 120, .embed = 512,
        .hidden = 64, .val_split = 0.25,
    };
    o.cfg.threads = cpus_usable();
    enum { O_CELLS = 256, O_EPOCHS, O_BATCH, O_LR, O_SDROP, O_DROP, O_RDROP, O_PATIENCE, O_CAP,
           O_VAL, O_TARGETS, O_MINCONF, O_KEEPDUP, O_VOCAB, O_SEQ, O_EMBED, O_HIDDEN, O_SEED,
           O_THREADS, O_CURVES, O_ASSIGN };
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"cells", required_argument, 0, O_CELLS},
        {"epochs", required_argument, 0, O_EPOCHS}, {"batch", required_argument, 0, O_BATCH},
        {"lr", required_argument, 0, O_LR}, {"spatial-dropout", required_argument, 0, O_SDROP},
        {"dropout", required_argument, 0, O_DROP}, {"recurrent-dropout", required_argument, 0, O_RDROP},
        {"patience", required_argument, 0, O_PATIENCE}, {"cap", required_argument, 0, O_CAP},
        {"val-split", required_argument, 0, O_VAL}, {"targets", required_argument, 0, O_TARGETS},
        {"min-confidence", required_argument, 0, O_MINCONF}, {"keep-duplicates", no_argument, 0, O_KEEPDUP},
        {"vocab", required_argument, 0, O_VOCAB}, {"seq-len", required_argument, 0, O_SEQ},
        {"embed", required_argument, 0, O_EMBED}, {"hidden", required_argument, 0, O_HIDDEN},
        {"seed", required_argument, 0, O_SEED}, {"threads", required_argument, 0, O_THREADS},
        {"curves", required_argument, 0, O_CURVES}, {"quiet", no_argument, 0, 'q'},
        {"assign-words", no_argument, 0, O_ASSIGN},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    optind = 1;
    int c, bad = 0, seed = 1, li = 0;
    double x;
    while ((c = getopt_long(argc, argv, "o:qh", longopts, &li)) != -1) {
        switch (c) {
        case 'o': o.out = optarg; break;
        case 'q': o.quiet = 1; break;
        case 'h': usage(stdout); return EXIT_OK;
        case O_CELLS: o.cells = optarg; break;
        case O_CURVES: o.curves = optarg; break;
        case O_EPOCHS: bad |= parse_int(optarg, 1, 100000, &o.cfg.max_epochs); break;
        case O_BATCH: bad |= parse_int(optarg, 1, 1 << 20, &o.cfg.batch); break;
        case O_PATIENCE: bad |= parse_int(optarg, 0, 100000, &o.cfg.patience); break;
        case O_CAP: bad |= parse_int(optarg, 0, 1 << 30, &o.cap); break;
        case O_VOCAB: bad |= parse_int(optarg, 2, 1 << 22, &o.vocab); break;
        case O_SEQ: bad |= parse_int(optarg, 1, 65536, &o.seq_len); break;
        case O_EMBED: bad |= parse_int(optarg, 1, 8192, &o.embed); break;
        case O_HIDDEN: bad |= parse_int(optarg, 1, 1024, &o.hidden); break;
        case O_SEED: bad |= parse_int(optarg, 0, 1 << 30, &seed); o.cfg.seed = (unsigned long)seed; break;
        case O_THREADS: bad |= parse_int(optarg, 1, 256, &o.cfg.threads); break;
        case O_LR: bad |= parse_float(optarg, 1e-7, 10, &x); o.cfg.lr = (float)x; break;
        case O_SDROP: bad |= parse_float(optarg, 0, 0.99, &x); o.cfg.spatial_dropout = (float)x; break;
        case O_DROP: bad |= parse_float(optarg, 0, 0.99, &x); o.cfg.dropout = (float)x; break;
        case O_RDROP: bad |= parse_float(optarg, 0, 0.99, &x); o.cfg.recurrent_dropout = (float)x; break;
        case O_VAL: bad |= parse_float(optarg, 0, 0.9, &o.val_split); break;
        case O_MINCONF: bad |= parse_float(optarg, 0, 1, &o.min_conf); break;
        case O_KEEPDUP: o.dedupe = 0; break;
        case O_ASSIGN: o.assign_words = 1; break;
        case O_TARGETS:
            if (!strcmp(optarg, "soft")) o.soft = 1;
            else if (!strcmp(optarg, "hard")) o.soft = 0;
            else { bad = 1; snprintf(bad_range, sizeof bad_range, "soft or hard"); }
            break;
        default: usage(stderr); return EXIT_USAGE;
        }
        if (bad) {
            fprintf(stderr, "nbstage train: bad value '%s' for --%s: %s\n", optarg, longopts[li].name, bad_range);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || !o.out) {
        if (optind > argc - 1) fprintf(stderr, "nbstage train: no WEAK.jsonl given\n");
        else if (optind < argc - 1) fprintf(stderr, "nbstage train: one WEAK.jsonl, not %d files\n", argc - optind);
        else fprintf(stderr, "nbstage train: no -o MODEL.nbsm given\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    o.weak = argv[optind];
    if (o.cells && !strcmp(o.weak, "-") && !strcmp(o.cells, "-")) {
        fprintf(stderr, "nbstage train: WEAK.jsonl and --cells cannot both be standard input ('-')\n");
        return EXIT_USAGE;
    }
    if (!strcmp(o.weak, "-")) o.weak = STDIN_NAME;
    if (o.cells && !strcmp(o.cells, "-")) o.cells = STDIN_NAME;
    char csv[4096], svg[4096];
    if (o.curves) {
        /* `--curves curves.csv`, as Keras' CSVLogger takes a file name: curves.csv and
         * curves.svg, not curves.csv.csv */
        size_t n = strlen(o.curves);
        /* hidden files .csv and .svg, or DIR/.csv; '-' (stdout elsewhere) files -.csv and -.svg */
        if (n == 0 || o.curves[n - 1] == '/' || !strcmp(o.curves, "-")) {
            fprintf(stderr, "nbstage train: --curves '%s': give a file name's start (--curves curves "
                            "writes curves.csv and curves.svg)\n", o.curves);
            return EXIT_USAGE;
        }
        int stem = n > 4 && (!strcmp(o.curves + n - 4, ".csv") || !strcmp(o.curves + n - 4, ".svg")) ? (int)n - 4 : (int)n;
        snprintf(csv, sizeof csv, "%.*s.csv", stem, o.curves);
        snprintf(svg, sizeof svg, "%.*s.svg", stem, o.curves);
        o.cfg.curves_csv = csv;
        o.cfg.curves_svg = svg;
    }
    if (check_output(o.out) || (o.curves && (check_output(csv) || check_output(svg)))) return EXIT_USAGE;
    /* the model is written last: over a curves file of the same name, the run's curves lost */
    if (o.curves && (outfile_same(o.out, csv) || outfile_same(o.out, svg))) {
        fprintf(stderr, "nbstage train: -o %s and the curves' %s (--curves %s) are the same file: the model "
                        "would replace the curves\n", o.out, outfile_same(o.out, csv) ? csv : svg, o.curves);
        return EXIT_USAGE;
    }
    /* an output over an input (-o weak.jsonl, a slip of the tab key): the labels or
     * the cells were replaced by the model, exit 0 */
    const char *ins[] = {o.weak, o.cells}, *in_opt[] = {"WEAK.jsonl", "--cells"};
    const char *outs[] = {o.out, o.curves ? csv : NULL, o.curves ? svg : NULL}, *out_opt[] = {"-o", "--curves", "--curves"};
    for (size_t i = 0; i < sizeof ins / sizeof *ins; i++)
        for (size_t k = 0; ins[i] && ins[i] != STDIN_NAME && k < sizeof outs / sizeof *outs; k++)
            if (outs[k] && outfile_same(outs[k], ins[i])) {
                fprintf(stderr, "nbstage train: %s %s and %s %s are the same file: the output would replace "
                                "the input\n", out_opt[k], outs[k], in_opt[i], ins[i]);
                return EXIT_USAGE;
            }
    /* SOURCE_DATE_EPOCH (reproducible-builds.org): two runs of the same command give
     * byte-identical files (cmp), whatever minute they end in.  Read now: a value that
     * is no time was ignored unsaid (the file not reproducible after all), and one past
     * year 9999 crashed the run at its end (gmtime's NULL given to strftime). */
    time_t sde_time = 0;
    int have_sde = 0;
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end;
        errno = 0;
        long long t = strtoll(sde, &end, 10);
        if (errno || *end || t < 0 || t > 253402300799LL) { /* 9999-12-31 23:59:59 UTC */
            fprintf(stderr, "nbstage train: SOURCE_DATE_EPOCH '%s': not a time (whole seconds since 1970, "
                            "at most 253402300799, as `date +%%s` prints): set it so, or unset it\n", sde);
            return EXIT_USAGE;
        }
        sde_time = (time_t)t;
        have_sde = 1;
    }
    FILE *log = o.quiet ? NULL : stderr;

    int rc = EXIT_USAGE;
    struct srcmap map = {0};
    struct cellvec cv = {0};
    struct weak_stats ws = {0};
    unsigned char *is_val = NULL;
    struct vocab v = {0};
    struct lstm_params p = {0};
    int *ttok = NULL, *vtok = NULL;
    float *ttgt = NULL, *vtgt = NULL;
    if (o.cells && read_cells(o.cells, &map)) goto out;
    if (read_weak(&o, &map, &cv, &ws)) goto out;
    /* Named even with -q: a --cells file from another ingest (or a stale one) would
     * otherwise train on whatever part of the labels it happens to cover. */
    if (ws.no_source) {
        fprintf(stderr, "nbstage train: %zu of %zu weak labels have no source%s%s (", ws.no_source, ws.lines,
                o.cells ? " in " : "; give --cells", o.cells ? o.cells : "");
        for (size_t i = 0; i < sizeof ws.missing / sizeof *ws.missing && ws.missing[i]; i++)
            fprintf(stderr, "%s%s", i ? ", " : "", ws.missing[i]);
        fprintf(stderr, "%s): left out\n", ws.no_source > sizeof ws.missing / sizeof *ws.missing ? ", ..." : "");
    }
    free_cells(map.v, map.n);
    map = (struct srcmap){0};
    size_t dups = o.dedupe ? dedupe(&cv) : 0;
    long counts[N_STAGES];
    long capped = cap_classes(&cv, o.cap, o.cfg.seed, counts);
    if (capped < 0) { fprintf(stderr, "nbstage train: out of memory\n"); goto out; }
    /* One stage among the usable cells (before the cap, which keeps at least one cell
     * of each): a model that can only ever answer it, trained without a word.
     * Refused, as scikit-learn refuses data of one class, with what left the others out. */
    int only = one_stage(counts);
    if (only >= 0 && counts[only] >= 2) {
        fprintf(stderr, "nbstage train: %s: every one of the %ld usable cells has the stage %s: a classifier "
                        "needs at least 2 stages to learn (%zu lines: %zu abstained, %zu without source%s, %zu "
                        "blank or comment-only, %zu below --min-confidence, %zu duplicates)\n",
                o.weak, counts[only], stage_key[only], ws.lines, ws.abstained, ws.no_source,
                ws.no_source && !o.cells ? "; give --cells" : "", ws.blank, ws.low_conf, dups);
        goto out;
    }
    if (cv.n < 2) { /* every reason a line was left out, as the log line below gives them */
        fprintf(stderr, "nbstage train: %s: %zu usable cells, 2 needed (%zu lines: %zu abstained, %zu without "
                        "source%s, %zu blank or comment-only, %zu below --min-confidence, %zu duplicates)\n",
                o.weak, cv.n, ws.lines, ws.abstained, ws.no_source, ws.no_source && !o.cells ? "; give --cells" : "",
                ws.blank, ws.low_conf, dups);
        goto out;
    }
    is_val = calloc(cv.n, 1);
    if (!is_val) { fprintf(stderr, "nbstage train: out of memory\n"); goto out; }
    size_t nval = o.val_split > 0 ? split_by_notebook(&cv, o.val_split, o.cfg.seed, is_val) : 0;
    if (nval == (size_t)-1) { fprintf(stderr, "nbstage train: out of memory\n"); goto out; }
    if (nval == cv.n) { fprintf(stderr, "nbstage train: no training cells left after the split\n"); goto out; }
    /* The split takes whole notebooks: those of the other stages may all have gone to
     * validation, and the training cells, of one stage, would teach only it. */
    long tcounts[N_STAGES] = {0};
    for (size_t i = 0; i < cv.n; i++) tcounts[cv.v[i].stage] += !is_val[i];
    if ((only = one_stage(tcounts)) >= 0) {
        fprintf(stderr, "nbstage train: %s: after the validation split, the %zu training cells all have the stage "
                        "%s (the validation notebooks hold the other stages): a classifier needs at least 2 to "
                        "learn; try another --seed or --val-split 0\n", o.weak, cv.n - nval, stage_key[only]);
        goto out;
    }
    if (build_vocab(&cv, is_val, o.vocab, o.assign_words ? TOKENIZE_ASSIGN_WORDS : 0, &v)) { fprintf(stderr, "nbstage train: out of memory\n"); goto out; }
    int used_threads = o.cfg.threads < LSTM_MAX_THREADS ? o.cfg.threads : LSTM_MAX_THREADS; /* train.c's cap */
    if (log) {
        fprintf(log, "train: %zu weak labels: %zu abstained, %zu without source, %zu blank or comment-only, "
                     "%zu below confidence, %zu duplicates dropped, %ld over the class cap of %d\n",
                ws.lines, ws.abstained, ws.no_source, ws.blank, ws.low_conf, dups, capped, o.cap);
        fprintf(log, "train: classes before the cap:");
        for (int k = 0; k < N_STAGES; k++) fprintf(log, " %s %ld", stage_key[k], counts[k]);
        fprintf(log, "\ntrain: %zu training cells, %zu validation cells (whole notebooks), vocabulary %d words%s, "
                     "%s targets; OpenBLAS %s kernels, %d thread%s\n", cv.n - nval, nval, v.n - 1,
                o.assign_words ? " with assignment words" : "", o.soft ? "soft" : "hard", openblas_get_corename(),
                used_threads, used_threads == 1 ? "" : "s");
        if (o.val_split > 0 && nval == 0)
            fprintf(log, "train: no validation set: the cells are all from one notebook, which is never split "
                         "(no early stopping; the last epoch is kept)\n");
    }
    struct train_data td, vd;
    if (make_set(&cv, is_val, 0, &v, o.seq_len, &td, &ttok, &ttgt) ||
        make_set(&cv, is_val, 1, &v, o.seq_len, &vd, &vtok, &vtgt)) {
        fprintf(stderr, "nbstage train: out of memory\n");
        goto out;
    }
    /* The table has a row per id in use: a small vocabulary gives a small model. */
    int rows = v.n < o.vocab ? (v.n < 2 ? 2 : v.n) : o.vocab;
    if (lstm_params_init(&p, rows, o.embed, o.hidden, N_STAGES, o.cfg.seed)) {
        fprintf(stderr, "nbstage train: out of memory for the parameters\n");
        goto out;
    }
    atomic_store(&stop_flag, 0);
    o.cfg.stop = &stop_flag;
    /* SIGTERM too: a batch scheduler's time limit should keep the best epoch as
     * Ctrl-C does.  A second signal acts as usual (SA_RESETHAND). */
    struct sigaction sa = {.sa_handler = on_stop, .sa_flags = SA_RESETHAND}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sig_catch_unless_ignored(SIGINT, &sa, &old_int);
    sig_catch_unless_ignored(SIGTERM, &sa, &old_term);
    struct train_result res = {0};
    int tr = lstm_train(&p, &o.cfg, &td, nval ? &vd : NULL, &res, log);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (tr) { fprintf(stderr, "nbstage train: training failed\n"); goto out; }
    /* Stopped before any epoch ended: the weights are a part-epoch's, never
     * validated; writing them would replace a user's earlier model with a worse one. */
    if (res.interrupted && res.epochs_run == 0) {
        fprintf(stderr, "nbstage train: interrupted in epoch 1, before any epoch ended: no model written "
                        "(%s left as it was)\n", o.out);
        goto out;
    }
    /* Diverged in the first epoch: no weights that are numbers to write. */
    if (res.diverged && res.epochs_run == 0) {
        fprintf(stderr, "nbstage train: training diverged in epoch 1 (weights or losses no longer finite "
                        "numbers; try a lower --lr or less dropout): no model written (%s left as it was)\n", o.out);
        goto out;
    }

    /* room for the weak file's path whole (an open succeeded: at most PATH_MAX) and the
     * settings after it: 1,024 bytes cut a long path's settings off (epochs, val_acc,
     * dropout, seed), and could cut a character in two */
    char info[PATH_MAX + 1024], when[32], vacc[64];
    time_t now = have_sde ? sde_time : time(NULL);
    struct tm tm_now;
    if (!gmtime_r(&now, &tm_now)) memset(&tm_now, 0, sizeof tm_now); /* a clock past year 2^31 */
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm_now);
    /* without validation cells (--val-split 0, one notebook) there is no val_acc */
    if (nval) snprintf(vacc, sizeof vacc, "val_acc %.4f", res.best_val_acc);
    else snprintf(vacc, sizeof vacc, "no validation set");
    snprintf(info, sizeof info,
             "nbstage train %s: %zu train / %zu validation cells from %s; %s targets; epochs %d of %d "
             "(best %d, %s); dropout %.2f/%.2f/%.2f, batch %d, lr %g, cap %d, seed %lu%s%s",
             when, cv.n - nval, nval, o.weak, o.soft ? "soft" : "hard", res.epochs_run, o.cfg.max_epochs,
             res.best_epoch, vacc, o.cfg.spatial_dropout, o.cfg.dropout, o.cfg.recurrent_dropout,
             o.cfg.batch, o.cfg.lr, o.cap, o.cfg.seed, o.assign_words ? "; assignment words" : "",
             res.interrupted ? "; interrupted" : res.diverged ? "; diverged" : "");
    char err[NB_ERROR_MAX];
    if (modelfile_write(o.out, &p, &v, o.seq_len, info, err, sizeof err)) {
        fprintf(stderr, "nbstage train: %s\n", err);
        goto out;
    }
    if (log) fprintf(log, "train: wrote %s (best epoch %d, %s%s)\n", o.out, res.best_epoch, vacc,
                     res.interrupted ? ", interrupted" : res.diverged ? ", training diverged after it" : "");
    rc = EXIT_OK;
out:
    for (size_t i = 0; i < sizeof ws.missing / sizeof *ws.missing; i++) free(ws.missing[i]);
    free_cells(map.v, map.n);
    free_cells(cv.v, cv.n);
    free(is_val);
    vocab_free(&v);
    lstm_params_free(&p);
    free(ttok); free(vtok); free(ttgt); free(vtgt);
    return rc;
}
