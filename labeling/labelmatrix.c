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

/* Reads a whole file into memory (NUL-terminated). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) { char why[512]; fprintf(stderr, "nbstage label: %s: cannot open: %s\n", path, nb_path_strerror(path, errno, why, sizeof why)); return NULL; }
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
        p = next;
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

int label_matrix(const struct label_opts *o)
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
    double t0 = nb_now();
    char *b = slurp(o->votes, &len);
    if (!b) return EXIT_USAGE;
    int prc = parse_matrix(o->votes, b, len, &v, &n, &m);
    free(b);
    if (prc < 0) return EXIT_USAGE;
    if (o->truth) {
        char *tb = slurp(o->truth, &len);
        if (!tb) goto out;
        truth = malloc((n ? n : 1) * sizeof *truth);
        if (!truth) { /* not "0 classes for N rows", which blames the file */
            fprintf(stderr, "nbstage label: out of memory\n");
            free(tb);
            goto out;
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
        if (k != n) {
            fprintf(stderr, "nbstage label: %s: %zu classes for %zu matrix rows\n", o->truth, k, n);
            goto out;
        }
    }
    double t1 = nb_now(), c1 = nb_cpu_now();
    pat = malloc(n * sizeof *pat);
    if (!pat || lm_stats_init(&st, m) < 0) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
    for (size_t i = 0; i < n; i++)
        if ((pat[i] = lm_stats_add(&st, v + i * (size_t)m, 1.0)) < 0) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
    double t1b = nb_now();
    struct lm_options lo;
    lm_options_default(&lo);
    lo.threads = o->jobs;
    if (lm_fit(&model, &st, &lo) < 0) { fprintf(stderr, "nbstage label: out of memory in the fit\n"); goto out; }
    double t2 = nb_now(), c2 = nb_cpu_now();
    pproba = malloc((st.n ? st.n : 1) * LM_K * sizeof *pproba);
    ppred = malloc((st.n ? st.n : 1) * sizeof *ppred);
    if (!pproba || !ppred) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
    for (size_t p = 0; p < st.n; p++) {
        ppred[p] = lm_predict(&model, st.pat + p * (size_t)m, pproba + p * LM_K);
        if (ppred[p] >= 0 && !weak_is_distribution(pproba + p * LM_K)) { /* our bug: said, nothing written */
            size_t row = 0;
            while (row < n && (size_t)pat[row] != p) row++;
            fprintf(stderr, "nbstage label: internal error: the label model's probabilities for row %zu of %s "
                    "are not a distribution (", row + 1, o->votes);
            for (int k = 0; k < LM_K; k++) fprintf(stderr, "%s%g", k ? " " : "", pproba[p * LM_K + k]);
            fprintf(stderr, "); no labels written\n");
            goto out;
        }
        if (ppred[p] >= 0 && (pproba[p * LM_K + ppred[p]] < o->min_conf || weak_top_tied(pproba + p * LM_K, ppred[p])))
            ppred[p] = -1;
    }
    double t3 = nb_now(), c3 = nb_cpu_now();
    out = o->output ? labelout_open(&oo, o->output, "labels") : stdout;
    if (!out) goto out;
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
    /* -o is committed at the end, with the report (labelout_flush) */
    if (out == stdout && nb_stdout_flush("nbstage label")) goto out;
    out = NULL;
    double t4 = nb_now();
    /* as in label_cells: a report to a file is committed with the labels, one to
     * stderr is written once they are in place */
    FILE *rep = stderr;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1 && (labelout_flush(&oo) < 0 || labelout_flush(&ro) < 0 ||
                          labelout_commit(&ro) < 0 || labelout_commit(&oo) < 0))
            goto out;
        if (!(!o->quiet || o->report || o->truth) || (pass == 0) != (o->report != NULL)) continue;
        if (o->report && !(rep = labelout_open(&ro, o->report, "report"))) goto out;
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
        if (lf_report_print(rep, &lr)) {
            fprintf(stderr, "nbstage label: out of memory\n");
            goto out;
        }
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
