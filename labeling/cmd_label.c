/* cmd_label.c — `nbstage label`: LF votes, the label model, weak labels.
 *
 * Owns: the command's I/O.  Reads cells (JSON Lines from `nbstage ingest`), votes on
 * them with the LF set in parallel, adds the context LFs in notebook order, counts the
 * vote patterns, fits the label model and writes one JSON line per cell in input
 * order (with --statements, each statement of a cell after it); the LF analysis goes
 * to stderr or --report, scored against --gold hand labels when given.  `--votes`
 * runs the label model alone on someone else's label matrix, with the same LF
 * analysis of its columns.  Outputs: -o, --report
 * and --svg naming one file are refused before the run; -o and --report are
 * committed together after every output was written, so a failed one leaves the old
 * files as they were (a report to stderr comes after the labels are in place).
 * Findings, said even with -q and exit 1: input lines that are not cells (a
 * byte-order mark named as such), and each rule PCRE2 gave up on (rules.h's limits),
 * once, with its file:line, how many cells and the first.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "labeling/gold.h"
#include "labeling/labelmodel.h"
#include "labeling/lfreport.h"
#include "labeling/lfset.h"
#include "labeling/metrics.h"
#include "labeling/pytoken.h"
#include "labeling/rules.h"
#include "labeling/stage.h"
#include "model/commands.h"
#include "nbformat/cpus.h"
#include "nbformat/jsonl.h"
#include "nbformat/notebook.h"
#include "nbformat/outfile.h"
#include "nbformat/pysrc.h"

static const char usage[] =
"usage: nbstage label [options] [CELLS.jsonl]\n"
"       nbstage label --votes MATRIX.tsv [--truth LABELS.txt] [options]\n"
"\n"
"Labels cells with the labeling functions (LFs) and the generative label model.\n"
"Reads JSON Lines with \"id\" and \"source\" (as `nbstage ingest` writes; \"notebook\"\n"
"lets the context LFs see the previous cell), from CELLS.jsonl or stdin (no file,\n"
"or -), and writes one line per cell, in input order:\n"
"  {\"id\": ..., \"stage\": key|null, \"probabilities\": {key: p, ...},\n"
"   \"votes\": {lf_name: key, ...}}\n"
"A cell no LF votes on gets \"stage\": null and empty probabilities.  The LF analysis\n"
"(coverage, overlaps, conflicts per LF; with --gold, accuracies, a classification\n"
"report and a confusion matrix) goes to stderr, or to --report FILE.\n"
"\n"
"LF analysis columns, as Snorkel's LFAnalysis defines them (percentages of all cells):\n"
"  stage      the stage the LF votes (its polarity; any: a context LF, or a --votes\n"
"             column with votes for more than one; -: a column without votes)\n"
"  level      job, show or hint (share/rules.txt), ctx for the context LFs\n"
"  coverage   cells it votes on\n"
"  overlaps   cells it votes on that another LF votes on as well\n"
"  conflicts  cells it votes on that another LF votes a different stage on\n"
"  est.acc    the label model's estimate of P(its vote is right | it votes);\n"
"             '-' for an LF that never voted\n"
"  gold.n     with --gold: the hand-labeled cells it votes on (correct + incorrect)\n"
"  gold.acc   with --gold: the share of those it votes right (empirical accuracy)\n"
"\n"
"options:\n"
"  --rules FILE     add rules from FILE (format: share/rules.txt); a rule of the same\n"
"                   name overrides the shipped one (or an earlier file's; once per\n"
"                   file, and not a built-in LF's name); may be given more than once\n"
"  --no-default-rules  start from no rules (only --rules files and the built-ins)\n"
"  --gold FILE      hand labels (TSV, labeling guide format) to score against\n"
"  --report FILE    write the analysis to FILE instead of stderr\n"
"  --svg FILE       with --gold, the label model's confusion matrix as SVG\n"
"  -o, --output FILE  write the labels to FILE instead of stdout ('-')\n"
"  --votes FILE     label model only: one row per item, one tab-separated integer\n"
"                   per LF (-1 abstain, 0..5 the stages in the guide's order);\n"
"                   writes \"class<TAB>p0..p5\" per row (class -1: no vote, or\n"
"                   the label withheld, see --min-confidence); the LF analysis\n"
"                   names the columns col1..colM, stage the one each votes (any:\n"
"                   more than one, -: none)\n"
"  --truth FILE     with --votes: true classes, one integer per line; prints the\n"
"                   accuracy of the label model and of majority vote, and each\n"
"                   column's gold.n and gold.acc\n"
"  --min-confidence P  withhold the label (\"stage\": null, probabilities kept)\n"
"                   when the label model's best stage has probability below P\n"
"                   (default 0.5 for cells, 0 with --votes); also withheld, as\n"
"                   Snorkel does by default, when two stages tie for the best\n"
"  --statements     also label each top-level statement of a cell that has two or\n"
"                   more as a cell of its own, written after its cell with id\n"
"                   CELL.sK and its \"source\" (no context LFs; the label model is\n"
"                   fitted on whole cells only): more, shorter examples for `train`\n"
"  -j, --jobs N     threads (default: the CPUs it may use, at most 8)\n"
"  -q, --quiet      no analysis unless --report or --gold is given\n"
"  -h, --help       this help\n"
"\n"
"The default rules are $NBSTAGE_RULES, or share/rules.txt beside the program, or\n"
"the installed DATADIR/nbstage/rules.txt.  A pattern gets a few milliseconds a\n"
"cell (PCRE2's match limit, 1,000,000): a rule whose pattern backtracks\n"
"catastrophically, such as (a+)+$, abstains on the cells PCRE2 gives up on, and\n"
"is named once on stderr (file:line, how many cells, the first), even with -q.\n"
"exit: 0 done; 1 done, but some input lines were not cells and were skipped (each\n"
"is named, file:line), or PCRE2 gave up on a rule on some cells; 2 usage or I/O\n"
"error, a bad rule file (file:line: reason), or a --gold that cannot score (a bad\n"
"row, no cell labeled with a stage, or none of them in the input: as `eval`, said\n"
"before labeling, nothing written).\n";

/* Cells whose label-model posterior for its best stage is below this get "stage": null
 * (their probabilities are still written), to keep guesses out of the end model's
 * training data.  Scored with abstentions counted as wrong (labels right / all dev
 * cells), 0.5 gets 0.871, as many as labeling every voted cell, 0.6 0.866 (2026-11-30,
 * the current rules; README, "Where we depart"): most cells between 0.5 and 0.6 are
 * right.  Below 0.5 the best stage is less likely than the others together.
 * --min-confidence 0 labels every cell with a vote. */
#define DEFAULT_MIN_CONFIDENCE 0.5

struct cell {
    char *id, *notebook, *src;
    size_t src_len;
    int index;              /* -1 when absent */
    int statement;          /* --statements: one top-level statement of a cell, written with its source */
    size_t parent;          /* a statement's cell */
};

struct opts {
    const char *rules[16];
    int n_rules, no_default, quiet, jobs, statements;
    const char *gold, *report, *svg, *output, *votes, *truth, *input;
    double min_conf;
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double cpu_now(void) /* process CPU time, all threads: honest on a busy machine */
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int default_jobs(void)
{
    int n = cpus_usable();
    return n > 8 ? 8 : n;
}

/* ---- reading cells ---- */

static char *dup_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

/* Reads every line of F; -1 with a message on a bad line or I/O error. */
static int read_cells(FILE *f, const char *name, struct cell **out, size_t *n_out, size_t *skipped)
{
    struct cell *cells = NULL;
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
        if (len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
            fprintf(stderr, "nbstage label: %s:%zu: skipped, %s with a UTF-8 byte-order mark (bytes EF BB BF), "
                            "which JSON Lines does not allow: save the file as UTF-8 without one\n",
                    name, lineno, lineno == 1 ? "the file starts" : "the line starts");
            (*skipped)++;
            continue;
        }
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &je);
        if (!o || !json_is_object(o)) {
            fprintf(stderr, "nbstage label: %s:%zu: skipped, not a JSON object%s%s\n", name, lineno,
                    o ? "" : ": ", o ? "" : je.text);
            json_decref(o);
            (*skipped)++;
            continue;
        }
        /* a source may be nbformat's list of lines, as classify, eval and train take it */
        json_t *src = json_object_get(o, "source"), *ln;
        size_t li;
        int text = json_is_string(src) || json_is_array(src);
        if (json_is_array(src)) json_array_foreach(src, li, ln) text &= json_is_string(ln);
        if (!json_is_string(json_object_get(o, "id")) || !text) {
            fprintf(stderr, "nbstage label: %s:%zu: skipped, needs a string \"id\" and a \"source\" "
                            "(a string or a list of strings)\n", name, lineno);
            json_decref(o);
            (*skipped)++;
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            struct cell *q = realloc(cells, cap * sizeof *q);
            if (!q) { json_decref(o); fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
            cells = q;
        }
        struct cell *c = &cells[n];
        *c = (struct cell){0};
        c->id = dup_str(o, "id");
        c->notebook = dup_str(o, "notebook");
        c->src = nb_cell_source(o, &c->src_len);
        json_t *ix = json_object_get(o, "index");
        c->index = json_is_integer(ix) ? (int)json_integer_value(ix) : -1;
        json_decref(o);
        n++;
        if (!c->id || !c->src) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
    }
    if (ferror(f)) { fprintf(stderr, "nbstage label: %s: read error: %s\n", name, strerror(errno)); goto out; }
    rc = 0;
out:
    free(line);
    *out = cells;
    *n_out = n;
    return rc;
}

static int same_notebook(const struct cell *a, const struct cell *b)
{
    return a->notebook && b->notebook && strcmp(a->notebook, b->notebook) == 0;
}

/* --statements: appends, after the N cells read, one cell per top-level statement of
 * every cell that has two or more (pysrc_blocks), in the order of the cells they come
 * from; *N_SUB gets how many.  -1 when out of memory. */
static int add_statements(struct cell **cells, size_t n, size_t *n_sub)
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
            struct cell *q = realloc(*cells, cap * sizeof *q);
            if (!q) { free(pos); *n_sub = total - n; return -1; }
            *cells = q;
        }
        const struct cell *c = &(*cells)[i];
        for (size_t k = 0; k < nb; k++) {
            size_t a = pos[k], z = k + 1 < nb ? pos[k + 1] : c->src_len;
            struct cell *d = &(*cells)[total];
            size_t idlen = strlen(c->id) + 24;
            *d = (struct cell){ malloc(idlen), NULL, malloc(z - a + 1), z - a, -1, 1, i };
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

static void free_cells(struct cell *c, size_t n)
{
    for (size_t i = 0; i < n; i++) { free(c[i].id); free(c[i].notebook); free(c[i].src); }
    free(c);
}

/* ---- voting, in parallel ---- */

/* Per LF, the cells PCRE2 gave up on (a limit of rules.h, or another match error):
 * how many, the first one (its cell and error), and for imports_only the `setup`
 * pattern of that first one.  The LF abstains on them. */
struct gave_up {
    unsigned long *n;       /* [m] */
    size_t *cell;           /* [m] */
    int *code;              /* [m] */
    size_t setup;
};

static int gave_up_init(struct gave_up *g, int m)
{
    g->n = calloc((size_t)m, sizeof *g->n);
    g->cell = calloc((size_t)m, sizeof *g->cell);
    g->code = calloc((size_t)m, sizeof *g->code);
    g->setup = 0;
    return g->n && g->cell && g->code ? 0 : -1;
}

static void gave_up_free(struct gave_up *g)
{
    free(g->n);
    free(g->cell);
    free(g->code);
}

struct vote_job {
    const struct lfset *lfs;
    const struct cell *cells;
    signed char *votes;
    struct lf_cellinfo *info;
    size_t lo, hi;
    int failed;
    struct gave_up gu;
};

static void *vote_range(void *arg)
{
    struct vote_job *j = arg;
    int m = j->lfs->n, imp = (int)j->lfs->rules.n + LF_BUILTIN_IMPORTS_ONLY;
    void *md = rules_match_data();
    int *code = malloc((size_t)m * sizeof *code);
    if (!md || !code || gave_up_init(&j->gu, m) < 0) { j->failed = 1; goto out; }
    struct lf_gave_up g = { code, 0, 0 };
    for (size_t i = j->lo; i < j->hi; i++) {
        struct pyview v;
        if (pyview_make(&v, j->cells[i].src, j->cells[i].src_len) < 0) { j->failed = 1; break; }
        lfset_votes(j->lfs, &v, md, j->votes + i * (size_t)m, &j->info[i], &g);
        pyview_free(&v);
        for (int k = 0; g.n && k < m; k++) {
            if (!code[k] || j->gu.n[k]++) continue;
            j->gu.cell[k] = i;
            j->gu.code[k] = code[k];
            if (k == imp) j->gu.setup = g.setup;
        }
    }
out:
    free(code);
    rules_match_data_free(md);
    return NULL;
}

/* Votes on every cell; GU gets, per LF, the cells PCRE2 gave up on (summed over the
 * threads, the first in input order). */
static int vote_all(const struct lfset *lfs, const struct cell *cells, size_t n, int jobs,
                    signed char *votes, struct lf_cellinfo *info, struct gave_up *gu)
{
    struct vote_job jb[8];
    pthread_t th[8];
    int started[8] = {0};
    if (jobs < 1) jobs = 1;
    if (jobs > 8) jobs = 8;
    /* one contiguous block of ceil(n / jobs) cells per thread: split by cells, not by
     * notebooks, so a notebook of very many cells is shared out like any other; blocks
     * in cell order, which the merge of the gave-up cells below relies on */
    size_t per = (n + (size_t)jobs - 1) / (size_t)jobs;
    for (int t = 0; t < jobs; t++) {
        jb[t] = (struct vote_job){ lfs, cells, votes, info, 0, 0, 0, {NULL, NULL, NULL, 0} };
        jb[t].lo = per * (size_t)t < n ? per * (size_t)t : n;
        jb[t].hi = jb[t].lo + per < n ? jb[t].lo + per : n;
        if (t > 0 && pthread_create(&th[t], NULL, vote_range, &jb[t]) == 0) started[t] = 1;
        else if (t > 0) vote_range(&jb[t]);
    }
    vote_range(&jb[0]);
    int failed = jb[0].failed;
    for (int t = 1; t < jobs; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        failed |= jb[t].failed;
    }
    int imp = (int)lfs->rules.n + LF_BUILTIN_IMPORTS_ONLY;
    for (int t = 0; !failed && t < jobs; t++) /* blocks in cell order: the first is the first */
        for (int k = 0; k < lfs->n; k++) {
            if (!jb[t].gu.n[k]) continue;
            if (!gu->n[k]) {
                gu->cell[k] = jb[t].gu.cell[k];
                gu->code[k] = jb[t].gu.code[k];
                if (k == imp) gu->setup = jb[t].gu.setup;
            }
            gu->n[k] += jb[t].gu.n[k];
        }
    for (int t = 0; t < jobs; t++) gave_up_free(&jb[t].gu);
    return failed ? -1 : 0;
}

/* Said once per LF PCRE2 gave up on, even with -q (its votes are missing from those
 * cells, and the exit code is 1): where the rule (or imports_only's `setup` pattern)
 * is, on how many of the TOTAL cells, the first, and PCRE2's reason.  Returns how
 * many LFs were named. */
static int say_gave_up(const struct lfset *lfs, const struct gave_up *gu, const struct cell *cells,
                       size_t total)
{
    int said = 0, imp = (int)lfs->rules.n + LF_BUILTIN_IMPORTS_ONLY;
    const struct ruleset *rs = &lfs->rules;
    for (int k = 0; k < lfs->n; k++) {
        if (!gu->n[k]) continue;
        char why[256];
        rules_error_message(gu->code[k], why, sizeof why);
        int file = k == imp ? rs->setup_at[gu->setup].file : rs->rules[k].file;
        int line = k == imp ? rs->setup_at[gu->setup].line : rs->rules[k].line;
        fprintf(stderr, "nbstage label: warning: %s:%d: %s%s: PCRE2 gave up (%s) on %lu of %zu cells, "
                        "the first %s; it abstains on them%s\n",
                rs->paths[file - 1], line, k == imp ? "setup pattern of LF " : "rule ", lfs->name[k], why,
                gu->n[k], total, cells[gu->cell[k]].id,
                rules_error_is_limit(gu->code[k])
                    ? " (a pattern that backtracks catastrophically: nested quantifiers such as "
                      "(a+)+ or (\\w+\\s?)*; possessive a++ or atomic (?>...) groups avoid it)"
                    : "");
        said++;
    }
    return said;
}

/* ---- writing ---- */

/* P in [0, 1] as "%.4f" would print it, without printf's cost (a quarter of the
 * time of `--votes` on a million rows went to printf). */
static int fmt4(char *out, double p)
{
    if (!(p > 0)) p = 0; /* also NaN */
    long k = (long)(p * 10000.0 + 0.5);
    if (k > 10000) k = 10000;
    out[0] = (char)('0' + k / 10000);
    out[1] = '.';
    out[2] = (char)('0' + k / 1000 % 10);
    out[3] = (char)('0' + k / 100 % 10);
    out[4] = (char)('0' + k / 10 % 10);
    out[5] = (char)('0' + k % 10);
    return 6;
}

/* S[0..LEN) as a JSON string; a NUL inside (JSON's \u0000, which a source may hold)
 * is written as \u0000, not taken for the end: a statement's "source" was cut there. */
static void put_json_mem(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s, *e = p + len; p < e; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void put_json_string(FILE *f, const char *s)
{
    put_json_mem(f, s, strlen(s));
}

/* STAGE is the label or -1; VOTED says whether any LF voted (then the
 * probabilities are written even when the label is withheld as too unsure). */
static void write_cell(FILE *f, const struct cell *c, const struct lfset *lfs,
                       const signed char *votes, int stage, int voted, const double *proba)
{
    fputs("{\"id\": ", f);
    put_json_string(f, c->id);
    if (c->notebook) { fputs(", \"notebook\": ", f); put_json_string(f, c->notebook); }
    if (c->index >= 0) fprintf(f, ", \"index\": %d", c->index);
    if (c->statement) { fputs(", \"source\": ", f); put_json_mem(f, c->src, c->src_len); }
    if (stage >= 0) fprintf(f, ", \"stage\": \"%s\", \"probabilities\": {", stage_key[stage]);
    else fputs(", \"stage\": null, \"probabilities\": {", f);
    if (voted)
        for (int k = 0; k < N_STAGES; k++) {
            char num[8];
            num[fmt4(num, proba[k])] = 0;
            fprintf(f, "%s\"%s\": %s", k ? ", " : "", stage_key[k], num);
        }
    fputs("}, \"votes\": {", f);
    int first = 1;
    for (int j = 0; j < lfs->n; j++) {
        if (votes[j] < 0) continue;
        fprintf(f, "%s\"%s\": \"%s\"", first ? "" : ", ", lfs->name[j], stage_key[(int)votes[j]]);
        first = 0;
    }
    fputs("}}\n", f);
}

/* Whether another stage has BEST's probability in P (within 1e-9: EM's sums leave a
 * symmetric tie a few ulps apart): a tie is no label, as Snorkel's LabelModel.predict
 * abstains on one by default.  The lowest stage id won it, so 'load' was written for
 * a cell whose posterior was 0.5 load, 0.5 prep. */
static int top_tied(const double *p, int best)
{
    for (int k = 0; k < LM_K; k++)
        if (k != best && p[best] - p[k] < 1e-9) return 1;
    return 0;
}

/* ---- the two modes ---- */

/* -o and --report: written atomically (outfile, nbformat/outfile.h), so a write error
 * or a failed run leaves the old file as it was. */
static FILE *open_out(struct outfile *of, const char *path, const char *what)
{
    nb_error e;
    if (outfile_open(of, path, &e) == 0) return of->f;
    fprintf(stderr, "nbstage label: cannot write the %s: %s\n", what, e.msg);
    return NULL;
}

static int close_out(struct outfile *of)
{
    nb_error e;
    if (outfile_commit(of, &e) == 0) return 0;
    fprintf(stderr, "nbstage label: %s\n", e.msg);
    return -1;
}

/* The outputs are committed together at the end of a run, the labels last: a report
 * or SVG that cannot be written (a full disk) used to fail the run after the labels
 * had replaced the old ones.  Each one's buffer is flushed before any is committed,
 * so that a write error shows while every old file is still in place (said through
 * close_out, which also removes that temporary); only a failing fsync or rename after
 * that could leave one replaced and not another.  0 when OF is not open. */
static int flush_out(struct outfile *of)
{
    if (!of->f || (fflush(of->f) == 0 && !ferror(of->f))) return 0;
    close_out(of); /* fails too, with the reason */
    return -1;
}

static int commit_out(struct outfile *of)
{
    return of->f ? close_out(of) : 0;
}

static int load_rules(const struct opts *o, struct lfset *lfs)
{
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    rs.reserved = lfset_builtin_names();
    char err[NB_ERROR_MAX], path[4096];
    if (!o->no_default) {
        if (rules_default_path(path, sizeof path) < 0) {
            const char *env = getenv("NBSTAGE_RULES");
            if (env && *env) /* it was set: say what is wrong with it, not to set it */
                fprintf(stderr, "nbstage label: NBSTAGE_RULES=%s: cannot read: %s\n", env, strerror(errno));
            else
                fprintf(stderr, "nbstage label: no default rule file (set NBSTAGE_RULES, or install share/rules.txt)\n");
            return -1;
        }
        if (ruleset_load_file(&rs, path, err, sizeof err) < 0) goto bad;
    }
    for (int i = 0; i < o->n_rules; i++)
        if (ruleset_load_file(&rs, o->rules[i], err, sizeof err) < 0) goto bad;
    if (lfset_init(lfs, &rs) < 0) { ruleset_free(&rs); fprintf(stderr, "nbstage label: out of memory\n"); return -1; }
    return 0;
bad:
    fprintf(stderr, "nbstage label: %s\n", err);
    ruleset_free(&rs);
    return -1;
}

static int label_cells(const struct opts *o)
{
    struct lfset lfs;
    if (load_rules(o, &lfs) < 0) return EXIT_USAGE;
    int rc = EXIT_USAGE, m = lfs.n;
    struct cell *cells = NULL;
    size_t n = 0, n_sub = 0, total = 0;
    signed char *votes = NULL;
    struct lf_cellinfo *info = NULL;
    long *pat = NULL;
    int *lm_pred = NULL, *mv_pred = NULL, *gold_ix = NULL, *lm_all = NULL;
    int gave_up_lfs = 0;
    struct gave_up gu = {0};
    double *pproba = NULL;
    int *ppred = NULL;
    struct lm_stats st;
    struct label_model model;
    struct gold gold;
    memset(&st, 0, sizeof st);
    memset(&model, 0, sizeof model);
    memset(&gold, 0, sizeof gold);
    FILE *out = NULL, *rep = NULL;
    struct outfile oo = {0}, ro = {0};
    char err[NB_ERROR_MAX];

    if (o->gold && gold_load(&gold, o->gold, err, sizeof err) < 0) {
        fprintf(stderr, "nbstage label: %s\n", err);
        goto out;
    }
    FILE *in = stdin;
    const char *inname = o->input ? o->input : "<stdin>";
    if (o->input && !(in = fopen(o->input, "r"))) {
        fprintf(stderr, "nbstage label: %s: cannot open: %s\n", o->input, strerror(errno));
        goto out;
    }
    double t0 = now();
    size_t skipped = 0;
    int rd = read_cells(in, inname, &cells, &n, &skipped);
    total = n;
    if (in != stdin) fclose(in);
    if (rd < 0) goto out;
    if (o->gold) {
        /* Scoring asked for that cannot happen is the --gold argument's error, as a
         * bad row of it is, and as `eval` says it (exit 2): said before the work,
         * nothing written.  Rows labeled none are left out of scoring, as eval's. */
        size_t labeled_rows = 0, found = 0;
        for (size_t i = 0; i < gold.n; i++) labeled_rows += gold.rows[i].label != STAGE_NONE;
        for (size_t i = 0; i < n; i++) {
            const struct gold_row *g = gold_find(&gold, cells[i].id);
            found += g && g->label != STAGE_NONE;
        }
        if (labeled_rows == 0) { /* empty, the header alone, or only `none` rows */
            fprintf(stderr, "nbstage label: %s: no cell labeled with a stage\n", o->gold);
            goto out;
        }
        if (found == 0) {
            fprintf(stderr, "nbstage label: none of the %zu hand-labeled cells of %s is in %s\n",
                    labeled_rows, o->gold, inname);
            if (n) gold_mismatch_hint(stderr, "nbstage label", &gold, cells[0].id);
            goto out;
        }
        if (found < labeled_rows)
            fprintf(stderr, "nbstage label: %zu of %zu hand-labeled cells are not in %s\n",
                    labeled_rows - found, labeled_rows, inname);
    }
    if (o->statements) {
        int added = add_statements(&cells, n, &n_sub);
        total = n + n_sub;
        if (added < 0) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
    }
    double t1 = now();

    votes = malloc((total ? total : 1) * (size_t)m);
    info = calloc(total ? total : 1, sizeof *info);
    pat = malloc((n ? n : 1) * sizeof *pat);
    lm_pred = malloc((n ? n : 1) * sizeof *lm_pred);
    mv_pred = malloc((n ? n : 1) * sizeof *mv_pred);
    lm_all = malloc((n ? n : 1) * sizeof *lm_all);
    if (!votes || !info || !pat || !lm_pred || !mv_pred || !lm_all || lm_stats_init(&st, m) < 0) {
        fprintf(stderr, "nbstage label: out of memory\n");
        goto out;
    }
    if (gave_up_init(&gu, m) < 0 ||
        vote_all(&lfs, cells, total, o->jobs, votes, info, &gu) < 0) {
        fprintf(stderr, "nbstage label: out of memory while voting\n");
        goto out;
    }
    gave_up_lfs = say_gave_up(&lfs, &gu, cells, total);
    /* Context LFs and pattern counts, in input (notebook) order.  (A second round
     * taking the previous cell's stage from a first fit of the label model instead of
     * its votes was tried: no better on the development labels.) */
    struct lm_options lo;
    lm_options_default(&lo);
    lo.threads = o->jobs;
    for (size_t i = 0; i < n; i++) {
        signed char *v = votes + i * (size_t)m;
        struct lf_context ctx = { STAGE_NONE, STAGE_NONE };
        if (i > 0 && same_notebook(&cells[i], &cells[i - 1]))
            ctx.prev_stage = lf_majority(v - m, m);
        if (i + 1 < n && same_notebook(&cells[i], &cells[i + 1]))
            ctx.next_stage = lfset_rule_majority(&lfs, v + m);
        lfset_context(&lfs, &info[i], &ctx, v);
        if ((pat[i] = lm_stats_add(&st, v, 1.0)) < 0) {
            fprintf(stderr, "nbstage label: out of memory\n");
            goto out;
        }
    }
    /* A statement has no neighbours: the context LFs see none.  Statements are labeled
     * by the model fitted on whole cells, not fitted on: they leave the cells' labels
     * as they are without --statements. */
    for (size_t i = n; i < total; i++) {
        struct lf_context ctx = { STAGE_NONE, STAGE_NONE };
        lfset_context(&lfs, &info[i], &ctx, votes + i * (size_t)m);
    }
    double t2 = now();
    if (lm_fit(&model, &st, &lo) < 0) { fprintf(stderr, "nbstage label: out of memory in the fit\n"); goto out; }
    double t3 = now();
    /* predict once per distinct pattern */
    pproba = malloc((st.n ? st.n : 1) * LM_K * sizeof *pproba);
    ppred = malloc((st.n ? st.n : 1) * sizeof *ppred);
    if (!pproba || !ppred) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
    for (size_t p = 0; p < st.n; p++)
        ppred[p] = lm_predict(&model, st.pat + p * (size_t)m, pproba + p * LM_K);

    out = o->output ? open_out(&oo, o->output, "labels") : stdout;
    if (!out) goto out;
    size_t labeled = 0, unsure = 0, sub = n, sub_labeled = 0;
    for (size_t i = 0; i < n; i++) {
        const double *pr = pproba + (size_t)pat[i] * LM_K;
        int voted = ppred[pat[i]] >= 0;
        lm_all[i] = ppred[pat[i]];
        lm_pred[i] = voted && pr[ppred[pat[i]]] >= o->min_conf && !top_tied(pr, ppred[pat[i]]) ? ppred[pat[i]] : -1;
        unsure += voted && lm_pred[i] < 0;
        mv_pred[i] = lm_majority_vote(votes + i * (size_t)m, m);
        labeled += lm_pred[i] >= 0;
        write_cell(out, &cells[i], &lfs, votes + i * (size_t)m, lm_pred[i], voted, pr);
        for (; sub < total && cells[sub].parent == i; sub++) { /* its statements follow it */
            const signed char *v = votes + sub * (size_t)m;
            double spr[LM_K];
            int best = lm_predict(&model, v, spr);
            int stage = best >= 0 && spr[best] >= o->min_conf && !top_tied(spr, best) ? best : -1;
            sub_labeled += stage >= 0;
            write_cell(out, &cells[sub], &lfs, v, stage, best >= 0, spr);
        }
    }
    /* -o is committed at the end, with the report (flush_out) */
    if (out == stdout && nb_stdout_flush("nbstage label")) goto out;
    out = NULL;
    double t4 = now();

    if (o->gold) {
        gold_ix = malloc((n ? n : 1) * sizeof *gold_ix);
        if (!gold_ix) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
        for (size_t i = 0; i < n; i++) {
            const struct gold_row *g = gold_find(&gold, cells[i].id);
            gold_ix[i] = g ? g->label : GOLD_MISSING;
        }
    }
    /* A report to a file (--report) is written before the outputs are committed, so
     * that they are committed together; one to stderr after, so that a reader of
     * stderr gone (`2>&1 | head`) cannot end the run before the labels are in place. */
    int want_report = !o->quiet || o->report || o->gold;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            if (flush_out(&oo) < 0 || flush_out(&ro) < 0) goto out;
            if (o->svg && gold_ix) { /* written and committed by metrics, before the report and the labels */
                struct confusion c;
                memset(&c, 0, sizeof c);
                for (size_t i = 0; i < n; i++) if (gold_ix[i] >= 0) confusion_add(&c, gold_ix[i], lm_pred[i]);
                if (metrics_write_confusion_svg(o->svg, &c, "nbstage label: label model vs hand labels", err,
                                                sizeof err) < 0) {
                    fprintf(stderr, "nbstage label: %s\n", err);
                    goto out;
                }
            }
            if (commit_out(&ro) < 0 || commit_out(&oo) < 0) goto out;
        }
        if (!want_report || (pass == 0) != (o->report != NULL)) continue;
        rep = o->report ? open_out(&ro, o->report, "report") : stderr;
        if (!rep) goto out;
        fprintf(rep, "label: %zu cells, %d LFs (%zu rules + %d built-ins), %zu distinct vote patterns\n",
                n, m, lfs.rules.n, N_LF_BUILTINS, st.n);
        fprintf(rep, "label: %zu cells labeled (%.1f%%), %zu unlabeled (%zu of them voted on, but the "
                "label model's confidence is below --min-confidence %.2f, or its best stages tie)\n", labeled,
                n ? 100.0 * labeled / n : 0.0, n - labeled, unsure, o->min_conf);
        if (o->statements)
            fprintf(rep, "label: --statements: %zu statements of cells with two or more, written as cells of "
                    "their own; %zu labeled\n", n_sub, sub_labeled);
        fprintf(rep, "label: read %.2f s, LFs %.2f s, fit %.3f s, predict+write %.2f s\n\n",
                t1 - t0, t2 - t1, t3 - t2, t4 - t3);
        struct lf_report r = {
            .m = m, .name = lfs.name, .stage = lfs.stage, .level = lfs.level, .n = n,
            .votes = votes, .gold = gold_ix, .lm_pred = lm_pred, .mv_pred = mv_pred, .model = &model,
            .lm_pred_all = lm_all, .min_conf = o->min_conf,
        };
        lf_report_print(rep, &r);
        rep = NULL;
    }
    rc = skipped || gave_up_lfs ? EXIT_FINDINGS : EXIT_OK;
out:
    outfile_abort(&oo); /* (nothing once committed) */
    outfile_abort(&ro);
    free_cells(cells, total);
    free(votes); free(info); free(pat); free(lm_pred); free(mv_pred); free(gold_ix); free(lm_all);
    free(pproba); free(ppred);
    lm_stats_free(&st);
    lm_free(&model);
    gold_free(&gold);
    gave_up_free(&gu);
    lfset_free(&lfs);
    return rc;
}

/* Reads a whole file into memory (NUL-terminated). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "nbstage label: %s: cannot open: %s\n", path, strerror(errno)); return NULL; }
    size_t cap = 1 << 20, n = 0;
    char *b = malloc(cap);
    errno = 0; /* fread's, if it fails */
    while (b) {
        size_t got = fread(b + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
        if (n + 1 == cap) {
            char *q = realloc(b, cap * 2);
            if (!q) { free(b); b = NULL; break; }
            b = q;
            cap *= 2;
        }
    }
    int bad = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    if (!b) { fprintf(stderr, "nbstage label: %s: out of memory\n", path); return NULL; }
    if (bad) { free(b); fprintf(stderr, "nbstage label: %s: read error: %s\n", path, strerror(bad)); return NULL; }
    b[n] = 0;
    *len = n;
    return b;
}

/* Parses a label matrix: rows of tab-separated integers in -1..5, all rows as long
 * as the first.  -1 with "path:line: reason" on anything else. */
static int parse_matrix(const char *path, const char *b, size_t len, signed char **out, size_t *rows, int *cols)
{
    size_t cap = 0, n = 0, line = 0;
    int m = -1;
    signed char *v = NULL, row[1024];
    const char *p = b, *end = b + len;
    if (len >= 3 && !memcmp(b, "\xef\xbb\xbf", 3)) p += 3; /* a spreadsheet's UTF-8 */
    while (p < end) {
        line++;
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e) e = end;
        const char *q = p;
        int k = 0;
        if (e > p && e[-1] == '\r') e--;
        if (q == e) { p = (*e == '\r') ? e + 2 : e + 1; continue; } /* blank line */
        while (q < e) {
            int neg = 0;
            if (*q == '-') { neg = 1; q++; }
            if (q >= e || *q < '0' || *q > '9') goto bad;
            int x = 0;
            while (q < e && *q >= '0' && *q <= '9' && x < 1000) x = x * 10 + (*q++ - '0');
            if (neg) x = -x;
            if (x < -1 || x >= LM_K || k >= (int)sizeof row) goto bad;
            row[k++] = (signed char)x;
            if (q < e) { if (*q != '\t') goto bad; q++; if (q == e) goto bad; }
        }
        if (m < 0) m = k;
        if (k != m) {
            fprintf(stderr, "nbstage label: %s:%zu: %d values, the first row has %d\n", path, line, k, m);
            free(v);
            return -1;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            signed char *nv = realloc(v, cap * (size_t)m);
            if (!nv) { free(v); fprintf(stderr, "nbstage label: %s: out of memory\n", path); return -1; }
            v = nv;
        }
        memcpy(v + n * (size_t)m, row, (size_t)m);
        n++;
        p = (e < end && *e == '\r') ? e + 2 : e + 1;
    }
    if (m <= 0) { free(v); fprintf(stderr, "nbstage label: %s: no rows\n", path); return -1; }
    *out = v;
    *rows = n;
    *cols = m;
    return 0;
bad:
    fprintf(stderr, "nbstage label: %s:%zu: expected tab-separated integers from -1 to %d (at most %zu per row)\n",
            path, line, LM_K - 1, sizeof row);
    free(v);
    return -1;
}

static int label_matrix(const struct opts *o)
{
    int rc = EXIT_USAGE, m = 0;
    size_t len = 0, n = 0;
    signed char *v = NULL;
    long *pat = NULL;
    int *ppred = NULL, *truth = NULL, *lf_stage = NULL;
    double *pproba = NULL;
    const char **lf_names = NULL;
    char *lf_namebuf = NULL;
    struct lm_stats st;
    struct label_model model;
    memset(&st, 0, sizeof st);
    memset(&model, 0, sizeof model);
    FILE *out = NULL;
    struct outfile oo = {0}, ro = {0};
    double t0 = now();
    char *b = slurp(o->votes, &len);
    if (!b) return EXIT_USAGE;
    int prc = parse_matrix(o->votes, b, len, &v, &n, &m);
    free(b);
    if (prc < 0) return EXIT_USAGE;
    if (o->truth) {
        char *tb = slurp(o->truth, &len);
        if (!tb) goto out;
        truth = malloc((n ? n : 1) * sizeof *truth);
        size_t k = 0, line = 0;
        /* line by line, blank ones skipped as in the matrix but counted, so that a
         * message names the line an editor shows (strtok skipped them uncounted) */
        char *t = tb, *end = tb + len;
        if (len >= 3 && !memcmp(tb, "\xef\xbb\xbf", 3)) t += 3; /* a spreadsheet's UTF-8 */
        for (; truth && t < end; ) {
            char *nl = memchr(t, '\n', (size_t)(end - t));
            char *e = nl ? nl : end;
            line++;
            if (e > t && e[-1] == '\r') e[-1] = 0;
            *e = 0;
            if (*t) {
                char *endp;
                long x = strtol(t, &endp, 10);
                if (endp == t || *endp || x < 0 || x >= LM_K || k >= n) {
                    if (k >= n && endp != t && !*endp)
                        fprintf(stderr, "nbstage label: %s:%zu: more classes than the %zu matrix rows\n",
                                o->truth, line, n);
                    else
                        fprintf(stderr, "nbstage label: %s:%zu: expected one class 0..%d per matrix row\n",
                                o->truth, line, LM_K - 1);
                    free(tb);
                    goto out;
                }
                truth[k++] = (int)x;
            }
            t = e + 1;
        }
        free(tb);
        if (!truth || k != n) {
            fprintf(stderr, "nbstage label: %s: %zu classes for %zu matrix rows\n", o->truth, k, n);
            goto out;
        }
    }
    double t1 = now(), c1 = cpu_now();
    pat = malloc(n * sizeof *pat);
    if (!pat || lm_stats_init(&st, m) < 0) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
    for (size_t i = 0; i < n; i++)
        if ((pat[i] = lm_stats_add(&st, v + i * (size_t)m, 1.0)) < 0) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
    double t1b = now();
    struct lm_options lo;
    lm_options_default(&lo);
    lo.threads = o->jobs;
    if (lm_fit(&model, &st, &lo) < 0) { fprintf(stderr, "nbstage label: out of memory in the fit\n"); goto out; }
    double t2 = now(), c2 = cpu_now();
    pproba = malloc((st.n ? st.n : 1) * LM_K * sizeof *pproba);
    ppred = malloc((st.n ? st.n : 1) * sizeof *ppred);
    if (!pproba || !ppred) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
    for (size_t p = 0; p < st.n; p++) {
        ppred[p] = lm_predict(&model, st.pat + p * (size_t)m, pproba + p * LM_K);
        if (ppred[p] >= 0 && (pproba[p * LM_K + ppred[p]] < o->min_conf || top_tied(pproba + p * LM_K, ppred[p])))
            ppred[p] = -1;
    }
    double t3 = now(), c3 = cpu_now();
    out = o->output ? open_out(&oo, o->output, "labels") : stdout;
    if (!out) goto out;
    for (size_t i = 0; i < n; i++) {
        const double *pr = pproba + (size_t)pat[i] * LM_K;
        char line[64];
        int n0 = ppred[pat[i]] < 0 ? 2 : 1;
        memcpy(line, ppred[pat[i]] < 0 ? "-1" : "0", (size_t)n0);
        if (ppred[pat[i]] >= 0) line[0] = (char)('0' + ppred[pat[i]]);
        for (int k = 0; k < LM_K; k++) { line[n0++] = '\t'; n0 += fmt4(line + n0, pr[k]); }
        line[n0++] = '\n';
        fwrite(line, 1, (size_t)n0, out);
    }
    /* -o is committed at the end, with the report (flush_out) */
    if (out == stdout && nb_stdout_flush("nbstage label")) goto out;
    out = NULL;
    double t4 = now();
    /* as in label_cells: a report to a file is committed with the labels, one to
     * stderr is written once they are in place */
    FILE *rep = stderr;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && (flush_out(&oo) < 0 || flush_out(&ro) < 0 || commit_out(&ro) < 0 || commit_out(&oo) < 0))
            goto out;
        if (!(!o->quiet || o->report || o->truth) || (pass == 0) != (o->report != NULL)) continue;
        if (o->report && !(rep = open_out(&ro, o->report, "report"))) goto out;
        fprintf(rep, "label --votes: %zu items x %d LFs, %zu distinct vote patterns, %d EM iterations\n",
                n, m, st.n, model.iterations);
        fprintf(rep, "label --votes: read %.3f s, fit %.3f s (counting %zu items %.3f s + EM %.3f s; cpu %.3f s), "
                "predict %.3f s (cpu %.3f s), write %.3f s\n",
                t1 - t0, t2 - t1, n, t1b - t1, t2 - t1b, c2 - c1, t3 - t2, c3 - c2, t4 - t3);
        if (truth) {
            /* Three comparisons, since majority vote leaves ties unlabeled: overall;
             * the label model on just the items majority vote labels; and majority
             * vote with ties broken at random (a fixed seed) at full coverage. */
            size_t lm_n = 0, lm_ok = 0, mv_n = 0, mv_ok = 0, lm_on_mv = 0, rt_n = 0, rt_ok = 0;
            unsigned long long seed = 0x9E3779B97F4A7C15ULL;
            for (size_t i = 0; i < n; i++) {
                const signed char *row = v + i * (size_t)m;
                int a = ppred[pat[i]], c = lm_majority_vote(row, m);
                if (a >= 0) { lm_n++; lm_ok += a == truth[i]; }
                if (c >= 0) { mv_n++; mv_ok += c == truth[i]; lm_on_mv += a == truth[i]; }
                int cnt[LM_K] = {0}, best = 0, ties = 0, pick = -1;
                for (int j = 0; j < m; j++) if (row[j] >= 0) cnt[(int)row[j]]++;
                for (int k = 0; k < LM_K; k++) if (cnt[k] > best) best = cnt[k];
                for (int k = 0; k < LM_K && best > 0; k++) {
                    if (cnt[k] != best) continue;
                    seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
                    if (++ties == 1 || seed % (unsigned long long)ties == 0) pick = k; /* reservoir */
                }
                if (pick >= 0) { rt_n++; rt_ok += pick == truth[i]; }
            }
            fprintf(rep, "label --votes: label model accuracy %.4f coverage %.4f; majority vote accuracy %.4f coverage %.4f (ties unlabeled)\n",
                    lm_n ? (double)lm_ok / lm_n : 0, n ? (double)lm_n / n : 0,
                    mv_n ? (double)mv_ok / mv_n : 0, n ? (double)mv_n / n : 0);
            fprintf(rep, "label --votes: on the %zu items majority vote labels: label model %.4f, majority vote %.4f; "
                    "majority vote with random tie-breaks: accuracy %.4f coverage %.4f\n",
                    mv_n, mv_n ? (double)lm_on_mv / mv_n : 0, mv_n ? (double)mv_ok / mv_n : 0,
                    rt_n ? (double)rt_ok / rt_n : 0, n ? (double)rt_n / n : 0);
        }
        /* The LF analysis, as for cells (Snorkel's LFAnalysis takes any label matrix):
         * each column named by its place, its stage the one it votes (any: more than
         * one; '-': none); --truth gives gold.n and gold.acc, whose summary the lines
         * above already are. */
        if (!lf_names) {
            lf_names = malloc((size_t)m * sizeof *lf_names);
            lf_namebuf = malloc((size_t)m * 16);
            lf_stage = malloc((size_t)m * sizeof *lf_stage);
            if (!lf_names || !lf_namebuf || !lf_stage) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
            for (int j = 0; j < m; j++) {
                snprintf(lf_namebuf + (size_t)j * 16, 16, "col%d", j + 1);
                lf_names[j] = lf_namebuf + (size_t)j * 16;
                lf_stage[j] = LF_NO_VOTES;
            }
            for (size_t p = 0; p < st.n; p++) /* the distinct patterns hold every vote */
                for (int j = 0; j < m; j++) {
                    int x = st.pat[p * (size_t)m + j];
                    if (x < 0 || lf_stage[j] == STAGE_NONE) continue;
                    lf_stage[j] = lf_stage[j] == LF_NO_VOTES || lf_stage[j] == x ? x : STAGE_NONE;
                }
        }
        fputc('\n', rep);
        struct lf_report lr = {
            .m = m, .name = lf_names, .stage = lf_stage, .level = NULL, .n = n, .votes = v, .gold = truth,
            .model = &model, .min_conf = o->min_conf, .table_only = 1,
        };
        lf_report_print(rep, &lr);
    }
    rc = EXIT_OK;
out:
    outfile_abort(&oo); /* (nothing once committed) */
    outfile_abort(&ro);
    free(lf_names); free(lf_namebuf); free(lf_stage);
    free(v); free(pat); free(ppred); free(pproba); free(truth);
    lm_stats_free(&st);
    lm_free(&model);
    return rc;
}

int cmd_label(int argc, char **argv)
{
    struct opts o;
    memset(&o, 0, sizeof o);
    o.jobs = default_jobs();
    o.min_conf = -1; /* the mode's default below */
    enum { O_RULES = 256, O_NODEF, O_GOLD, O_REPORT, O_SVG, O_VOTES, O_TRUTH, O_MINCONF, O_STATEMENTS };
    static const struct option lopts[] = {
        {"rules", required_argument, 0, O_RULES}, {"no-default-rules", no_argument, 0, O_NODEF},
        {"gold", required_argument, 0, O_GOLD}, {"report", required_argument, 0, O_REPORT},
        {"svg", required_argument, 0, O_SVG}, {"output", required_argument, 0, 'o'},
        {"votes", required_argument, 0, O_VOTES}, {"truth", required_argument, 0, O_TRUTH},
        {"min-confidence", required_argument, 0, O_MINCONF}, {"jobs", required_argument, 0, 'j'},
        {"statements", no_argument, 0, O_STATEMENTS},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    optind = 0; /* GNU getopt: a full re-initialisation, so the command may run twice */
    int c;
    while ((c = getopt_long(argc, argv, "o:j:qh", lopts, NULL)) != -1) {
        switch (c) {
        case O_RULES:
            if (o.n_rules == (int)(sizeof o.rules / sizeof o.rules[0])) {
                fprintf(stderr, "nbstage label: too many --rules files\n");
                return EXIT_USAGE;
            }
            o.rules[o.n_rules++] = optarg;
            break;
        case O_NODEF: o.no_default = 1; break;
        case O_STATEMENTS: o.statements = 1; break;
        case O_GOLD: o.gold = optarg; break;
        case O_REPORT: o.report = optarg; break;
        case O_SVG: o.svg = optarg; break;
        case 'o': o.output = strcmp(optarg, "-") ? optarg : NULL; break; /* '-': stdout */
        case O_VOTES: o.votes = optarg; break;
        case O_TRUTH: o.truth = optarg; break;
        case 'j': {
            char *e;
            long j = strtol(optarg, &e, 10);
            if (*e || j < 1 || j > 64) { fprintf(stderr, "nbstage label: --jobs wants 1..64\n"); return EXIT_USAGE; }
            o.jobs = (int)j;
            break;
        }
        case O_MINCONF: {
            char *e;
            o.min_conf = strtod(optarg, &e);
            if (e == optarg || *e || !(o.min_conf >= 0 && o.min_conf <= 1)) { /* '' read as 0 */
                fprintf(stderr, "nbstage label: --min-confidence wants a probability, 0..1\n");
                return EXIT_USAGE;
            }
            break;
        }
        case 'q': o.quiet = 1; break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: fputs(usage, stderr); return EXIT_USAGE;
        }
    }
    if (argc - optind > 1 || (o.votes && argc - optind > 0)) {
        if (o.votes) fprintf(stderr, "nbstage label: --votes reads MATRIX.tsv, not %s as well\n", argv[optind]);
        else fprintf(stderr, "nbstage label: one CELLS.jsonl, not %d files\n", argc - optind);
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (o.truth && !o.votes) { fprintf(stderr, "nbstage label: --truth goes with --votes (use --gold for cells)\n"); return EXIT_USAGE; }
    /* an option the mode has no use for is a mistake to say, not to drop */
    if (o.votes && (o.gold || o.svg || o.n_rules || o.no_default || o.statements)) {
        fprintf(stderr, "nbstage label: --votes runs the label model alone: no --rules, "
                        "--no-default-rules, --statements, --gold or --svg (use --truth)\n");
        return EXIT_USAGE;
    }
    if (o.svg && !o.gold) { fprintf(stderr, "nbstage label: --svg goes with --gold (the confusion matrix needs hand labels)\n"); return EXIT_USAGE; }
    if (optind < argc && strcmp(argv[optind], "-")) o.input = argv[optind]; /* '-': stdin */
    if (o.min_conf < 0) o.min_conf = o.votes ? 0.0 : DEFAULT_MIN_CONFIDENCE;
    /* The files written at the end, checked now: a read-only file or a missing folder
     * would otherwise be found only after the whole run (30 s on a large corpus). */
    const char *outs[] = {o.output, o.report, o.svg}, *opt[] = {"-o", "--report", "--svg"};
    for (size_t i = 0; i < sizeof outs / sizeof *outs; i++) {
        nb_error e;
        if (outs[i] && outfile_check(outs[i], &e)) {
            fprintf(stderr, "nbstage label: %s\n", e.msg);
            return EXIT_USAGE;
        }
        /* one file for two outputs: the second would replace the first (the report
         * renamed over the labels, exit 0) */
        for (size_t k = 0; k < i; k++)
            if (outs[i] && outs[k] && outfile_same(outs[k], outs[i])) {
                fprintf(stderr, "nbstage label: %s %s and %s %s are the same file: the second would replace "
                                "the first\n", opt[k], outs[k], opt[i], outs[i]);
                return EXIT_USAGE;
            }
        /* an output over an input (label cells.jsonl -o cells.jsonl): the cells, the
         * hand labels or a rule file replaced, exit 0 */
        const char *ins[20] = {o.input, o.gold, o.votes, o.truth}, *in_opt[20] = {"CELLS.jsonl", "--gold", "--votes", "--truth"};
        size_t n_in = 4;
        for (int r = 0; r < o.n_rules && n_in < 20; r++) ins[n_in] = o.rules[r], in_opt[n_in++] = "--rules";
        for (size_t k = 0; outs[i] && k < n_in; k++)
            if (ins[k] && outfile_same(outs[i], ins[k])) {
                fprintf(stderr, "nbstage label: %s %s and %s %s are the same file: the output would replace the "
                                "input\n", opt[i], outs[i], in_opt[k], ins[k]);
                return EXIT_USAGE;
            }
    }
    return o.votes ? label_matrix(&o) : label_cells(&o);
}
