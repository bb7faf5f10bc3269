/* labelmatrix.c — `nbstage label --votes`: the label model alone, on a label matrix.
 *
 * Owns: reading someone else's label matrix (rows of tab-separated integers, -1
 * abstain or a stage 0..5, all as long as the first; a spreadsheet's byte-order mark
 * and CRLF taken) and --truth's classes (one a line), fitting the label model and
 * writing "class<TAB>p0..p5" per row; with --truth, the label model's and majority
 * vote's accuracy and coverage (a posterior that is not a distribution is an internal
 * error, said before anything is written).  The LF analysis of the columns
 * (col1..colM, each's stage the one it votes) goes to stderr or --report, as for
 * cells.  -o and --report are committed together once both are written (labelout.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labeling/labelcmd.h"
#include "labeling/labelmodel.h"
#include "labeling/labelout.h"
#include "labeling/lfreport.h"
#include "labeling/stage.h"
#include "labeling/weaklabel.h"
#include "model/commands.h"
#include "nbformat/clock.h"
#include "nbformat/notebook.h"
#include "nbformat/outfile.h"

/* Reads a whole file into memory (NUL-terminated); WHAT, what a folder is not. */
static char *slurp(const char *path, const char *what, size_t *len)
{
    char why[PATH_MAX + 64];
    FILE *f = nb_fopen_input(path, what, why, sizeof why); /* a FIFO refused, not waited on */
    if (!f) { nb_say(stderr, "nbstage label: %s: %s", path, why); return NULL; }
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
    if (!b) { nb_say(stderr, "nbstage label: %s: out of memory", path); return NULL; }
    if (bad) { free(b); nb_say(stderr, "nbstage label: %s: read error: %s", path, strerror(bad)); return NULL; }
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
        const char *next = e < end ? e + 1 : end; /* the next line, taken before the '\r' goes */
        const char *q = p;
        int k = 0;
        if (e > p && e[-1] == '\r') e--;
        if (q == e) { p = next; continue; } /* blank line */
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
            nb_say(stderr, "nbstage label: %s:%zu: %d values, the first row has %d", path, line, k, m);
            free(v);
            return -1;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 65536;
            signed char *nv = realloc(v, cap * (size_t)m);
            if (!nv) { free(v); nb_say(stderr, "nbstage label: %s: out of memory", path); return -1; }
            v = nv;
        }
        memcpy(v + n * (size_t)m, row, (size_t)m);
        n++;
        p = next;
    }
    if (m <= 0) { free(v); nb_say(stderr, "nbstage label: %s: no rows", path); return -1; }
    *out = v;
    *rows = n;
    *cols = m;
    return 0;
bad:
    nb_say(stderr, "nbstage label: %s:%zu: expected tab-separated integers from -1 to %d (at most %zu per row)",
           path, line, LM_K - 1, sizeof row);
    free(v);
    return -1;
}

/* One run of --votes: what its steps hand each other, all freed together
 * (matrix_run_free; a member is zeroed until its step fills it). */
struct matrix_run {
    signed char *v;                     /* [n][m]: the label matrix */
    size_t n;                           /* its rows */
    int m;                              /* its columns, the LFs */
    int *truth;                         /* [n] --truth's classes */
    long *pat;                          /* [n]: each row's vote pattern in st */
    double *pproba;                     /* [st.n][LM_K]: the posterior per pattern */
    int *ppred;                         /* [st.n]: its label, -1 none or withheld */
    const char **lf_names;              /* [m] col1..colM, for the LF analysis */
    char *lf_namebuf;                   /* [m][16]: their text */
    int *lf_stage;                      /* [m]: the stage each column votes */
    struct lm_stats st;
    struct label_model model;
    struct outfile oo, ro;              /* -o and --report, committed together */
    double t0, t1, t1b, t2, t3, t4;     /* read, count, EM, predict, write: the report's times */
    double c1, c2, c3;                  /* the CPU clock at t1, t2, t3 */
};

static void matrix_run_free(struct matrix_run *r)
{
    outfile_abort(&r->oo); /* (nothing once committed) */
    outfile_abort(&r->ro);
    free(r->lf_names); free(r->lf_namebuf); free(r->lf_stage);
    free(r->v); free(r->pat); free(r->ppred); free(r->pproba); free(r->truth);
    lm_stats_free(&r->st);
    lm_free(&r->model);
}

/* The label matrix of --votes, the read timed from t0.  -1 with the reason said. */
static int read_matrix(const struct label_opts *o, struct matrix_run *r)
{
    size_t len = 0;
    r->t0 = nb_now();
    char *b = slurp(o->votes, "a votes matrix", &len);
    if (!b) return -1;
    int prc = parse_matrix(o->votes, b, len, &r->v, &r->n, &r->m);
    free(b);
    return prc;
}

/* --truth's classes, one 0..LM_K-1 a line, exactly one per matrix row.  -1 with the
 * reason said (the file's line, when a line is to blame). */
static int read_truth(const struct label_opts *o, struct matrix_run *r)
{
    size_t len = 0, n = r->n;
    char *tb = slurp(o->truth, "a file of true classes", &len);
    if (!tb) return -1;
    int *truth = r->truth = malloc((n ? n : 1) * sizeof *truth);
    if (!truth) { /* not "0 classes for N rows", which blames the file */
        fprintf(stderr, "nbstage label: out of memory\n");
        free(tb);
        return -1;
    }
    size_t k = 0, line = 0;
    /* line by line, blank ones skipped as in the matrix but counted, so that a
     * message names the line an editor shows (strtok skipped them uncounted) */
    char *t = tb, *end = tb + len;
    if (len >= 3 && !memcmp(tb, "\xef\xbb\xbf", 3)) t += 3; /* a spreadsheet's UTF-8 */
    while (t < end) {
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
                    nb_say(stderr, "nbstage label: %s:%zu: more classes than the %zu matrix rows",
                           o->truth, line, n);
                else
                    nb_say(stderr, "nbstage label: %s:%zu: expected one class 0..%d per matrix row",
                           o->truth, line, LM_K - 1);
                free(tb);
                return -1;
            }
            truth[k++] = (int)x;
        }
        t = e + 1;
    }
    free(tb);
    if (k != n) {
        nb_say(stderr, "nbstage label: %s: %zu classes for %zu matrix rows", o->truth, k, n);
        return -1;
    }
    return 0;
}

/* The distinct vote patterns of the rows, which the model is fitted and predicts on
 * (many rows share one), each row's pattern in pat; timed from t1 to t1b.  -1 said
 * when out of memory. */
static int count_patterns(struct matrix_run *r)
{
    r->t1 = nb_now();
    r->c1 = nb_cpu_now();
    r->pat = malloc(r->n * sizeof *r->pat);
    if (!r->pat || lm_stats_init(&r->st, r->m) < 0) { fprintf(stderr, "nbstage label: out of memory\n"); return -1; }
    long *pat = r->pat;
    const signed char *v = r->v;
    size_t n = r->n, m = (size_t)r->m;
    for (size_t i = 0; i < n; i++)
        if ((pat[i] = lm_stats_add(&r->st, v + i * m, 1.0)) < 0) {
            fprintf(stderr, "nbstage label: out of memory\n");
            return -1;
        }
    r->t1b = nb_now();
    return 0;
}

/* The label model fitted on the patterns (EM), timed to t2.  -1 said when out of
 * memory. */
static int fit_model(const struct label_opts *o, struct matrix_run *r)
{
    struct lm_options lo;
    lm_options_default(&lo);
    lo.threads = o->jobs;
    if (label_fit(&r->model, &r->st, &lo) < 0) return -1;
    r->t2 = nb_now();
    r->c2 = nb_cpu_now();
    return 0;
}

/* Says that pattern p's posterior pr is not a distribution (our bug), naming the
 * first row of the matrix with that pattern, the one a user can look up. */
static void say_bad_posterior(const char *votes, const long *pat, size_t n, size_t p, const double *pr)
{
    size_t row = 0;
    while (row < n && (size_t)pat[row] != p) row++;
    char probs[LM_K * 40] = "";
    for (int k = 0, m = 0; k < LM_K; k++) m += snprintf(probs + m, sizeof probs - (size_t)m, "%s%g", k ? " " : "", pr[k]);
    nb_say(stderr, "nbstage label: internal error: the label model's probabilities for row %zu of %s "
                   "are not a distribution (%s); no labels written", row + 1, votes, probs); /* VOTES escaped */
}

/* The model's posterior and label for each distinct pattern, the label withheld (-1)
 * under --min-confidence or when the best stages tie; timed to t3.  -1 said: out of
 * memory, or a posterior that is not a distribution (before anything is written). */
static int predict_patterns(const struct label_opts *o, struct matrix_run *r)
{
    size_t np = r->st.n, m = (size_t)r->m;
    r->pproba = malloc((np ? np : 1) * LM_K * sizeof *r->pproba);
    r->ppred = malloc((np ? np : 1) * sizeof *r->ppred);
    if (!r->pproba || !r->ppred) { fprintf(stderr, "nbstage label: out of memory\n"); return -1; }
    double *pproba = r->pproba;
    int *ppred = r->ppred;
    const signed char *spat = r->st.pat;
    for (size_t p = 0; p < np; p++) {
        ppred[p] = lm_predict(&r->model, spat + p * m, pproba + p * LM_K);
        if (ppred[p] >= 0 && !weak_is_distribution(pproba + p * LM_K)) {
            say_bad_posterior(o->votes, r->pat, r->n, p, pproba + p * LM_K);
            return -1;
        }
        ppred[p] = weak_label(pproba + p * LM_K, ppred[p], o->min_conf);
    }
    r->t3 = nb_now();
    r->c3 = nb_cpu_now();
    return 0;
}

/* "class<TAB>p0..p5" per row, in the matrix's order, to -o (committed at the end, with
 * the report: labelout_flush) or stdout; timed to t4.  -1 said. */
static int write_labels(const struct label_opts *o, struct matrix_run *r)
{
    FILE *out = o->output ? labelout_open(&r->oo, o->output, "labels") : stdout;
    if (!out) return -1;
    const long *pat = r->pat;
    const double *pproba = r->pproba;
    const int *ppred = r->ppred;
    size_t n = r->n;
    for (size_t i = 0; i < n; i++) {
        const double *pr = pproba + (size_t)pat[i] * LM_K;
        char line[64];
        int n0 = ppred[pat[i]] < 0 ? 2 : 1;
        memcpy(line, ppred[pat[i]] < 0 ? "-1" : "0", (size_t)n0);
        if (ppred[pat[i]] >= 0) line[0] = (char)('0' + ppred[pat[i]]);
        for (int k = 0; k < LM_K; k++) { line[n0++] = '\t'; n0 += weak_fmt4(line + n0, pr[k]); }
        line[n0++] = '\n';
        fwrite(line, 1, (size_t)n0, out);
    }
    if (out == stdout && nb_stdout_flush("nbstage label")) return -1;
    r->t4 = nb_now();
    return 0;
}

/* --truth's two report lines.  Three comparisons, since majority vote leaves ties
 * unlabeled: overall; the label model on just the items majority vote labels; and
 * majority vote with ties broken at random (a fixed seed) at full coverage. */
static void print_truth_scores(FILE *rep, const struct matrix_run *r)
{
    const signed char *v = r->v;
    const long *pat = r->pat;
    const int *ppred = r->ppred, *truth = r->truth;
    size_t n = r->n;
    int m = r->m;
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

/* The LF analysis's view of the columns, as for cells (Snorkel's LFAnalysis takes any
 * label matrix): each named by its place, its stage the one it votes (any: more than
 * one; '-': none).  -1 said when out of memory. */
static int name_columns(struct matrix_run *r)
{
    int m = r->m;
    r->lf_names = malloc((size_t)m * sizeof *r->lf_names);
    r->lf_namebuf = malloc((size_t)m * 16);
    r->lf_stage = malloc((size_t)m * sizeof *r->lf_stage);
    if (!r->lf_names || !r->lf_namebuf || !r->lf_stage) { fprintf(stderr, "nbstage label: out of memory\n"); return -1; }
    const char **lf_names = r->lf_names;
    char *lf_namebuf = r->lf_namebuf;
    int *lf_stage = r->lf_stage;
    for (int j = 0; j < m; j++) {
        snprintf(lf_namebuf + (size_t)j * 16, 16, "col%d", j + 1);
        lf_names[j] = lf_namebuf + (size_t)j * 16;
        lf_stage[j] = LF_NO_VOTES;
    }
    const signed char *spat = r->st.pat;
    size_t np = r->st.n;
    for (size_t p = 0; p < np; p++) /* the distinct patterns hold every vote */
        for (int j = 0; j < m; j++) {
            int x = spat[p * (size_t)m + j];
            if (x < 0 || lf_stage[j] == STAGE_NONE) continue;
            lf_stage[j] = lf_stage[j] == LF_NO_VOTES || lf_stage[j] == x ? x : STAGE_NONE;
        }
    return 0;
}

/* The report, to --report (its temporary, committed with the labels) or stderr: the
 * counts and times, --truth's scores, and the LF analysis (lfreport.c), whose gold.n
 * and gold.acc --truth gives (the lines above are their summary).  -1 said. */
static int write_report(const struct label_opts *o, struct matrix_run *r)
{
    FILE *rep = o->report ? labelout_open(&r->ro, o->report, "report") : stderr;
    if (!rep) return -1;
    fprintf(rep, "label --votes: %zu items x %d LFs, %zu distinct vote patterns, %d EM iterations\n",
            r->n, r->m, r->st.n, r->model.iterations);
    fprintf(rep, "label --votes: read %.3f s, fit %.3f s (counting %zu items %.3f s + EM %.3f s; cpu %.3f s), "
            "predict %.3f s (cpu %.3f s), write %.3f s\n",
            r->t1 - r->t0, r->t2 - r->t1, r->n, r->t1b - r->t1, r->t2 - r->t1b, r->c2 - r->c1,
            r->t3 - r->t2, r->c3 - r->c2, r->t4 - r->t3);
    if (r->truth) print_truth_scores(rep, r);
    if (name_columns(r) < 0) return -1;
    fputc('\n', rep);
    struct lf_report lr = {
        .m = r->m, .name = r->lf_names, .stage = r->lf_stage, .level = NULL, .n = r->n, .votes = r->v,
        .gold = r->truth, .model = &r->model, .min_conf = o->min_conf, .table_only = 1,
    };
    if (lf_report_print(rep, &lr)) {
        fprintf(stderr, "nbstage label: out of memory\n");
        return -1;
    }
    return 0;
}

/* -o and --report flushed, then committed, the report first.  -1 said. */
static int commit_outputs(struct matrix_run *r)
{
    if (labelout_flush(&r->oo) < 0 || labelout_flush(&r->ro) < 0 ||
        labelout_commit(&r->ro) < 0 || labelout_commit(&r->oo) < 0)
        return -1;
    return 0;
}

int label_matrix(const struct label_opts *o)
{
    struct matrix_run r;
    memset(&r, 0, sizeof r);
    if (read_matrix(o, &r) < 0) return EXIT_USAGE;
    int rc = EXIT_USAGE;

    if (o->truth && read_truth(o, &r) < 0) goto out;
    if (count_patterns(&r) < 0 || fit_model(o, &r) < 0 || predict_patterns(o, &r) < 0 || write_labels(o, &r) < 0)
        goto out;
    /* As in label_cells: a report to a file (--report) is written before the outputs
     * are committed, so that they are committed together; one to stderr after, once
     * the labels are in place. */
    int want_report = !o->quiet || o->report || o->truth;
    if (want_report && o->report && write_report(o, &r) < 0) goto out;
    if (commit_outputs(&r) < 0) goto out;
    if (want_report && !o->report && write_report(o, &r) < 0) goto out;
    rc = EXIT_OK;
out:
    matrix_run_free(&r);
    return rc;
}
