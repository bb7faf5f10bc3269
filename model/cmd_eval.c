/* cmd_eval.c — `nbstage eval`: a model (or any predictions) against hand labels.
 *
 * Owns: the command: joining cells to the gold file by id, classifying the gold cells,
 * and printing accuracy, macro-F1, the classification report and the confusion matrix
 * (labeling/metrics.h does the scoring and the layouts).  Cells labeled `none` are
 * left out, as the guide says.  --predictions scores a file of {"id", "stage"} lines
 * (e.g. `nbstage label`'s weak labels) instead, so the label model and the end model
 * are measured by the same code.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labeling/gold.h"
#include "labeling/labeldoubt.h"
#include "labeling/metrics.h"
#include "labeling/stage.h"
#include "model/commands.h"
#include "model/context.h"
#include "model/model.h"
#include "model/trainread.h"
#include "nbformat/jsonl.h"
#include "nbformat/notebook.h"
#include "nbformat/outfile.h"
#include "nbformat/sharefile.h"

static void usage(FILE *to)
{
    fprintf(to,
"usage: nbstage eval [--model FILE] --gold LABELS.tsv [--svg FILE]\n"
"                    [--errors FILE] [-q] CELLS.jsonl\n"
"       nbstage eval --predictions --gold LABELS.tsv [--svg FILE]\n"
"                    [--errors FILE] [-q] PREDICTIONS.jsonl\n\n"
"Scores the model on the hand-labeled cells: CELLS.jsonl is `nbstage ingest`'s\n"
"output (lines with \"id\" and \"source\"; - reads stdin, as for label, train and\n"
"classify); only cells whose id is in LABELS.tsv are classified (a model trained\n"
"with --context reads each after the line before it of the same notebook, as\n"
"classify does).  Prints accuracy, macro-F1, scikit-learn's classification\n"
"report and the confusion matrix (rows: true stage, columns: predicted).  Cells\n"
"labeled `none` are left out.  With --predictions, the file's own \"stage\" (a key\n"
"or null) is scored instead of a model's answer; null counts as no prediction\n"
"(coverage < 1): a miss in the first line's accuracy and macro-F1, left out of\n"
"the report.  Where LABELS.tsv fills its confidence and secondary columns, two\n"
"more lines: the accuracy per confidence (h, m, l), and the accuracy counting\n"
"the secondary stage as right too.\n\n"
"options:\n"
"  -m, --model FILE  the model (default: the shipped one; NBSTAGE_MODEL\n"
"                    overrides)\n"
"  -g, --gold FILE   hand labels, the labeling guide's TSV (required)\n"
"  --predictions     score PREDICTIONS.jsonl's \"stage\" fields, no model\n"
"  --svg FILE        the confusion matrix as an SVG picture\n"
"  --errors FILE     the misclassified cells as TSV: id, true, predicted,\n"
"                    confidence (the last two empty for a cell without a\n"
"                    prediction; a tab, newline, return or backslash in an id\n"
"                    written \\t \\n \\r \\\\)\n"
"  -q, --quiet       only the accuracy and macro-F1 line (and on stderr how many\n"
"                    hand-labeled cells were not found)\n"
"  -h, --help        this help\n\n"
"exit: 0 scored (a cell without a prediction is a miss, not an error), 2 usage or\n"
"I/O error, or nothing to score: LABELS.tsv has a bad row, no cell labeled with a\n"
"stage, or none of them in CELLS.jsonl (as `label --gold`; nothing written).\n");
}

/* What a run reads, writes and counts. */
struct eval_run {
    const char *model_path, *gold_path, *svg, *errors_path, *cells_path;
    int predictions, quiet, from_stdin;
    struct gold g;
    nbs_model *m;           /* NULL with --predictions */
    FILE *in, *errf;        /* errf: --errors' file, or NULL */
    struct outfile eo;      /* --errors: written atomically, committed only on success */
    struct gold_seen seen;  /* the gold cells met, and their sources */
    char *first_id;         /* the cells' first id, to show when none matches */
    char *src;              /* the current line's source, when read */
    size_t len;
    struct context_trail trail;
    struct confusion conf;
    struct label_doubt doubt; /* the hand labels' own doubt */
    long scored, dup;
};

/* The options into R; EXIT_OK to go on, else the exit code (--help, a usage error). */
static int eval_options(struct eval_run *r, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'}, {"gold", required_argument, 0, 'g'},
        {"svg", required_argument, 0, 's'}, {"errors", required_argument, 0, 'e'},
        {"predictions", no_argument, 0, 'p'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    int c;
    optind = 0; /* glibc: a full re-initialisation, so tests may call us twice */
    while ((c = getopt_long(argc, argv, "m:g:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': r->model_path = optarg; break;
        case 'g': r->gold_path = optarg; break;
        case 's': r->svg = optarg; break;
        case 'e': r->errors_path = optarg; break;
        case 'p': r->predictions = 1; break;
        case 'q': r->quiet = 1; break;
        case 'h': usage(stdout); return -1;
        default: return cmd_usage_error_fn(argv[0], usage);
        }
    }
    const char *what = r->predictions ? "PREDICTIONS.jsonl" : "CELLS.jsonl";
    if (optind != argc - 1 || !r->gold_path || (r->predictions && r->model_path)) {
        if (!r->gold_path) fprintf(stderr, "nbstage eval: no --gold LABELS.tsv given\n");
        else if (r->predictions && r->model_path)
            fprintf(stderr, "nbstage eval: --predictions scores the file's own stages: no --model with it\n");
        else if (optind > argc - 1) nb_say(stderr, "nbstage eval: no %s given", what);
        else nb_say(stderr, "nbstage eval: one %s, not %d files", what, argc - optind);
        return cmd_usage_error_fn(argv[0], usage);
    }
    /* '-' is stdin, as for label, train and classify (`label cells.jsonl | eval
     * --predictions --gold G -`) */
    r->from_stdin = !strcmp(argv[optind], "-");
    r->cells_path = r->from_stdin ? "<stdin>" : argv[optind];
    /* The picture is written last: checked now, as label and train check theirs, so
     * that a missing folder is not found after the report has been printed. */
    nb_error ce;
    if (r->svg && outfile_check(r->svg, &ce)) { nb_say(stderr, "nbstage eval: %s", ce.msg); return EXIT_USAGE; }
    /* --errors is committed after the picture: it would replace it */
    if (r->svg && r->errors_path && outfile_same(r->svg, r->errors_path)) {
        nb_say(stderr, "nbstage eval: --svg %s and --errors %s are the same file: the second would replace "
                       "the first", r->svg, r->errors_path);
        return EXIT_USAGE;
    }
    /* an output over an input (--errors cells.jsonl, --svg m.nbsm): the cells, the hand
     * labels or the model lost; the cells piped in (`- --errors c.jsonl < c.jsonl`) too */
    if (!r->predictions && !r->model_path) r->model_path = model_default_path();
    const char *ins[] = {r->cells_path, r->gold_path, r->model_path};
    const char *in_opt[] = {what, "--gold", "--model"};
    const char *outs[] = {r->svg, r->errors_path}, *out_opt[] = {"--svg", "--errors"};
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < 2; k++)
            if (outs[k] && ins[i] &&
                (i == 0 && r->from_stdin ? outfile_is_stdin(outs[k]) : outfile_same(outs[k], ins[i]))) {
                nb_say(stderr, "nbstage eval: %s %s and %s %s are the same file: the output would replace the "
                               "input", out_opt[k], outs[k], in_opt[i], ins[i]);
                return EXIT_USAGE;
            }
    return EXIT_OK;
}

/* S as a field of --errors' TSV: a tab or a newline in it would split the row (an id
 * is a path, and a file name may hold them), so the field is escaped as TSV's own
 * convention has it (as PostgreSQL's COPY writes its text format, and "linear TSV"):
 * \\t, \\n, \\r and \\\\ for a backslash; every other byte as it is (the id as read,
 * not the escapes messages show: --errors is data for a script, as --json is). */
static void tsv_field(FILE *f, const char *s)
{
    for (; *s; s++) {
        const char *e = *s == '\t' ? "\\t" : *s == '\n' ? "\\n" : *s == '\r' ? "\\r" : *s == '\\' ? "\\\\" : NULL;
        if (e) fputs(e, f);
        else fputc(*s, f);
    }
}

/* The gold file, the model, the input and --errors' file opened into R; 0, or -1 said. */
static int eval_open(struct eval_run *r)
{
    char err[NB_ERROR_MAX];
    if (gold_load(&r->g, r->gold_path, err, sizeof err)) { nb_say(stderr, "nbstage eval: %s", err); return -1; }
    if (!r->predictions) {
        if (!r->model_path) {
            nb_say(stderr, "nbstage eval: no model: %s",
                   share_file_missing("default.nbsm", "or give --model FILE or set NBSTAGE_MODEL", err, sizeof err));
            return -1;
        }
        if (!(r->m = model_load(r->model_path, err, sizeof err))) { nb_say(stderr, "nbstage eval: %s", err); return -1; }
    }
    char why[PATH_MAX + 64];
    if (!(r->in = r->from_stdin ? stdin : nb_fopen_input(r->cells_path, "a JSON Lines file", why, sizeof why))) {
        nb_say(stderr, "nbstage eval: %s: %s", r->cells_path, why);
        return -1;
    }
    if (gold_seen_init(&r->seen, &r->g)) { fprintf(stderr, "nbstage eval: out of memory\n"); return -1; }
    if (r->errors_path) {
        nb_error oe;
        if (outfile_open(&r->eo, r->errors_path, &oe)) { nb_say(stderr, "nbstage eval: %s", oe.msg); return -1; }
        r->errf = r->eo.f;
        fprintf(r->errf, "cell_id\ttrue\tpredicted\tconfidence\n");
    }
    return 0;
}

/* ID's line, O, already met as SRC (or, --predictions, as its source and STAGE): 0 a
 * first meeting, 1 the same cell again (counted, not scored), -1 when refused or out
 * of memory (said).  One id with two sources is two cells under it; with two
 * predictions and no sources (classify's and label's lines), two cells or one read two
 * ways: either way its hand label cannot score both. */
static int met_before(struct eval_run *r, const struct gold_row *row, json_t *o, const char *id, size_t lineno)
{
    size_t first = 0;
    const char *key = r->src, *stage = NULL;
    size_t klen = r->len, slen = r->src ? r->len : 0;
    char *both = NULL; /* --predictions: the source's length and bytes (if any), the stage */
    if (r->predictions) {
        json_t *st = json_object_get(o, "stage");
        stage = json_is_string(st) ? json_string_value(st) : "null";
        klen = sizeof slen + slen + strlen(stage);
        if (!(both = malloc(klen))) { fprintf(stderr, "nbstage eval: out of memory\n"); return -1; }
        memcpy(both, &slen, sizeof slen);
        if (slen) memcpy(both + sizeof slen, r->src, slen);
        memcpy(both + sizeof slen + slen, stage, strlen(stage));
        key = both;
    }
    int met = gold_seen_add(&r->seen, &r->g, row, lineno, key, klen, &first);
    if (met == 2 && stage) { /* the same source met before: the stages differ */
        const char *was = r->seen.src[row - r->g.rows];
        size_t wlen;
        memcpy(&wlen, was, sizeof wlen);
        if (wlen != slen || memcmp(was + sizeof wlen, key + sizeof slen, slen)) stage = NULL;
    }
    free(both);
    if (met < 0) fprintf(stderr, "nbstage eval: out of memory\n");
    else if (met == 2 && stage)
        nb_say(stderr, "nbstage eval: %s:%zu and %zu: one id, two predictions (%s): two cells under "
                       "one id, or one read two ways; its hand label could go with either; ids must "
                       "be unique, as one `nbstage ingest` run of their common folder gives them",
               r->cells_path, first, lineno, id);
    else if (met == 2)
        nb_say(stderr, "nbstage eval: %s:%zu and %zu: one id, two sources (%s): its hand label could go "
                       "with either; ids must be unique, as one `nbstage ingest` run of their common "
                       "folder gives them", r->cells_path, first, lineno, id);
    if (met < 0 || met == 2) return -1;
    if (met) r->dup++;
    return met ? 1 : 0;
}

/* The stage predicted for line O (its own with --predictions, else the model's, after
 * PREV[0..PLEN)) into *PRED and PROBS; 0, or -1 said. */
static int predict(struct eval_run *r, json_t *o, size_t lineno, const char *prev, size_t plen, int *pred,
                   float *probs)
{
    *pred = STAGE_NONE;
    if (r->predictions) {
        json_t *st = json_object_get(o, "stage");
        if (!st && !json_object_get(o, "error")) { /* classify's bad lines: no prediction */
            nb_say(stderr, "nbstage eval: %s:%zu: no \"stage\" (is this `nbstage classify` or "
                           "`nbstage label` output?)", r->cells_path, lineno);
            return -1;
        }
        if (st && !json_is_string(st) && !json_is_null(st)) { /* a class index, true, a list */
            nb_say(stderr, "nbstage eval: %s:%zu: \"stage\" is not a stage key (a string such as \"train\") "
                           "or null", r->cells_path, lineno);
            return -1;
        }
        *pred = json_is_string(st) ? stage_from_key(json_string_value(st)) : STAGE_NONE;
        if (*pred == -2) {
            nb_say(stderr, "nbstage eval: %s:%zu: unknown stage '%s' (load prep train evaluate explore imports, "
                           "or null)", r->cells_path, lineno, json_string_value(st));
            return -1;
        }
        if (*pred >= 0)
            probs[*pred] = (float)json_number_value(json_object_get(json_object_get(o, "probabilities"), stage_key[*pred]));
        return 0;
    }
    json_t *sv = json_object_get(o, "source");
    if (!sv) {
        nb_say(stderr, "nbstage eval: %s:%zu: no \"source\" (is this `nbstage ingest` output?)", r->cells_path, lineno);
        return -1;
    }
    if (!jsonl_is_text(sv)) { /* else scored as a blank cell, a quiet miss */
        nb_say(stderr, "nbstage eval: %s:%zu: \"source\" is not a string or a list of strings", r->cells_path, lineno);
        return -1;
    }
    if (!r->src && !(r->src = nb_cell_source(o, &r->len))) { fprintf(stderr, "nbstage eval: out of memory\n"); return -1; }
    *pred = model_classify_after(r->m, prev, plen, r->src, r->len, probs);
    if (*pred == MODEL_NO_MEMORY) { /* no answer: not a miss to score */
        fprintf(stderr, "nbstage eval: out of memory\n");
        return -1;
    }
    return 0;
}

/* One line of the input, LINE[0..N) at LINENO: scored if its id is a hand-labeled
 * cell's; 0, or -1 said. */
static int eval_line(struct eval_run *r, const char *line, size_t n, size_t lineno)
{
    if (jsonl_blank(line, n)) return 0;
    if (jsonl_bom(line, n)) {
        nb_say(stderr, "nbstage eval: %s:%zu: the %s starts with " JSONL_BOM_SAYS, r->cells_path, lineno,
               lineno == 1 ? "file" : "line");
        return -1;
    }
    json_error_t je;
    json_t *o = nb_json_loadb_lenient(line, n, JSON_ALLOW_NUL, &je);
    if (!o) nb_json_reason(&je); /* one line, no escapes */
    const char *id = o ? json_string_value(json_object_get(o, "id")) : NULL;
    int rc = -1;
    if (id && !r->first_id && !(r->first_id = strdup(id))) { fprintf(stderr, "nbstage eval: out of memory\n"); goto out; }
    if (!id) {
        nb_say(stderr, "nbstage eval: %s:%zu: %s", r->cells_path, lineno, o ? "no string \"id\"" : je.text);
        goto out;
    }
    /* A context model reads each cell after its predecessor: every line is one, gold or not. */
    free(r->src);
    r->src = NULL;
    r->len = 0;
    const char *prev = NULL;
    size_t plen = 0;
    json_t *sv = json_object_get(o, "source");
    if (r->m && model_reads_context(r->m) && sv && jsonl_is_text(sv) &&
        (!(r->src = nb_cell_source(o, &r->len)) ||
         context_trail_next(&r->trail, trainread_context_group(json_string_value(json_object_get(o, "notebook")), id),
                            r->src, r->len, &prev, &plen))) {
        fprintf(stderr, "nbstage eval: out of memory\n");
        goto out;
    }
    const struct gold_row *row = gold_find(&r->g, id);
    if (!row || row->label == STAGE_NONE) { rc = 0; goto out; }
    /* the same cell again is scored once; another cell under its id is refused */
    if (sv && jsonl_is_text(sv) && !r->src && !(r->src = nb_cell_source(o, &r->len))) {
        fprintf(stderr, "nbstage eval: out of memory\n");
        goto out;
    }
    int met = met_before(r, row, o, id, lineno);
    if (met) { rc = met > 0 ? 0 : -1; goto out; }
    int pred;
    float probs[N_STAGES] = {0};
    if (predict(r, o, lineno, prev, plen, &pred, probs)) goto out;
    confusion_add(&r->conf, row->label, pred);
    label_doubt_add(&r->doubt, row, pred);
    r->scored++;
    /* a cell without a prediction: empty fields, not "none" (a hand label's stage) */
    if (r->errf && pred != row->label) {
        tsv_field(r->errf, id);
        if (pred >= 0) fprintf(r->errf, "\t%s\t%s\t%.3f\n", stage_key[row->label], stage_key[pred], probs[pred]);
        else fprintf(r->errf, "\t%s\t\t\n", stage_key[row->label]);
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

/* The scores printed (and --svg drawn); 0, or -1 said (nothing to score, or a write
 * failed). */
static int eval_report(struct eval_run *r)
{
    long labeled = 0, none = 0, missing = 0;
    for (size_t i = 0; i < r->g.n; i++) {
        if (r->g.rows[i].label == STAGE_NONE) { none++; continue; }
        labeled++;
        if (!gold_seen_met(&r->seen, i)) missing++;
    }
    if (labeled == 0) { /* empty, the header alone, or only `none` rows */
        nb_say(stderr, "nbstage eval: %s: no cell labeled with a stage", r->gold_path);
        return -1;
    }
    if (r->scored == 0) {
        nb_say(stderr, "nbstage eval: none of the %ld hand-labeled cells of %s is in %s", labeled, r->gold_path,
               r->cells_path);
        if (r->first_id) gold_mismatch_hint(stderr, "nbstage eval", &r->g, r->first_id);
        return -1;
    }
    const struct confusion *conf = &r->conf;
    long total = confusion_total(conf) + conf->unlabeled;
    double acc_all = total ? (double)(conf->m[0][0] + conf->m[1][1] + conf->m[2][2] + conf->m[3][3] +
                                      conf->m[4][4] + conf->m[5][5]) / (double)total : 0;
    const struct gold_row *unmet = missing ? gold_first_unmet(&r->seen, &r->g) : NULL;
    if (r->quiet && unmet) /* the line below alone would pass for a score of every gold cell */
        nb_say(stderr, "nbstage eval: %ld of the %ld cells labeled in %s are not in %s: scored without them "
               "(the first, %s:%zu: %s)", missing, labeled, r->gold_path, r->cells_path, r->gold_path,
               unmet->line, unmet->cell_id);
    if (!r->quiet) {
        if (r->m) {
            nb_say(stdout, "model: %s (%s)", model_name(r->m), r->model_path);
            printf("  %s\n", model_info(r->m));
        } else {
            nb_say(stdout, "predictions: %s", r->cells_path);
        }
        char first[64] = "";
        if (unmet) snprintf(first, sizeof first, " (the first, line %zu: ", unmet->line);
        nb_say(stdout, "gold: %s: %ld cells labeled, %ld labeled none (left out), %ld not in %s%s%s%s%s",
               r->gold_path, labeled, none, missing, r->cells_path, first, unmet ? unmet->cell_id : "",
               unmet ? ")" : "", r->dup ? " (duplicate ids ignored)" : "");
        if (conf->unlabeled)
            printf("coverage %.4f (%ld of %ld scored cells have a prediction)\n", confusion_coverage(conf),
                   confusion_total(conf), total);
    }
    /* Both figures of this line count a cell without a prediction as wrong (as
     * sklearn does when "no prediction" is a label of its own); the report below is
     * over the predicted cells. */
    printf("accuracy %.4f, macro-F1 %.4f over %ld cells", acc_all, confusion_macro_f1_all(conf), total);
    if (conf->unlabeled && !confusion_total(conf))
        printf(" (no cell has a prediction)"); /* no "0.0000 over predicted ones" of none */
    else if (conf->unlabeled)
        printf(" (cells without a prediction count as wrong; %.4f and %.4f over predicted ones)",
               confusion_accuracy(conf), confusion_macro_f1(conf));
    printf("\n");
    if (!r->quiet) {
        label_doubt_print(stdout, &r->doubt, r->scored, "");
        printf("\n");
        metrics_print_report(stdout, conf);
        metrics_print_undefined(stdout, conf);
        printf("\nconfusion matrix (rows: true, columns: predicted)\n");
        metrics_print_confusion(stdout, conf);
    }
    if (r->svg) {
        char title[256];
        snprintf(title, sizeof title, "%s vs hand labels", r->m ? model_name(r->m) : "predictions");
        char why[NB_ERROR_MAX];
        if (metrics_write_confusion_svg(r->svg, conf, title, why, sizeof why)) {
            nb_say(stderr, "nbstage eval: %s", why);
            return -1;
        }
    }
    return nb_stdout_flush("nbstage eval") ? -1 : 0;
}

int cmd_eval(int argc, char **argv)
{
    struct eval_run r;
    memset(&r, 0, sizeof r);
    int rc = eval_options(&r, argc, argv);
    if (rc) return rc < 0 ? EXIT_OK : rc; /* -1: --help was printed */
    rc = EXIT_USAGE;
    if (eval_open(&r)) goto out;
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int failed = 0;
    while (!failed && (n = getline(&line, &cap, r.in)) >= 0) failed = eval_line(&r, line, (size_t)n, ++lineno) < 0;
    int read_errno = errno; /* getline's, before free may touch it */
    free(line);
    if (failed) goto out;
    if (jsonl_read_failed(r.in)) {
        nb_say(stderr, "nbstage eval: %s: read error: %s", r.cells_path, strerror(read_errno));
        goto out;
    }
    if (eval_report(&r) == 0) rc = EXIT_OK;
out:
    if (r.in && r.in != stdin) fclose(r.in);
    if (r.errf && rc != EXIT_OK) {
        outfile_abort(&r.eo); /* the old file stays */
    } else if (r.errf) {
        nb_error oe;
        if (outfile_commit(&r.eo, &oe)) {
            nb_say(stderr, "nbstage eval: %s", oe.msg);
            rc = EXIT_USAGE;
        }
    }
    gold_seen_free(&r.seen, &r.g);
    free(r.first_id);
    free(r.src);
    context_trail_free(&r.trail);
    model_free(r.m);
    gold_free(&r.g);
    return rc;
}
