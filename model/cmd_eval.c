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

static void usage(FILE *to)
{
    fprintf(to,
"usage: nbstage eval [--model FILE] --gold LABELS.tsv [--svg FILE] [--errors FILE] [-q] CELLS.jsonl\n"
"       nbstage eval --predictions --gold LABELS.tsv [--svg FILE] [--errors FILE] [-q] PREDICTIONS.jsonl\n\n"
"Scores the model on the hand-labeled cells: CELLS.jsonl is `nbstage ingest`'s output\n"
"(lines with \"id\" and \"source\"; - reads stdin, as for label, train and classify);\n"
"only cells whose id is in LABELS.tsv are classified (a model trained with\n"
"--context reads each after the line before it of the same notebook, as classify\n"
"does).  Prints accuracy, macro-F1,\n"
"scikit-learn's classification report and the confusion matrix (rows: true stage,\n"
"columns: predicted).  Cells labeled `none` are left out.  With --predictions, the\n"
"file's own \"stage\" (a key or null) is scored instead of a model's answer; null\n"
"counts as no prediction (coverage < 1): a miss in the first line's accuracy and\n"
"macro-F1, left out of the report.  Where LABELS.tsv fills its confidence and\n"
"secondary columns, two more lines: the accuracy per confidence (h, m, l), and the\n"
"accuracy counting the secondary stage as right too.\n\n"
"options:\n"
"  -m, --model FILE  the model (default: the shipped one; NBSTAGE_MODEL overrides)\n"
"  -g, --gold FILE   hand labels, the labeling guide's TSV (required)\n"
"  --predictions     score PREDICTIONS.jsonl's \"stage\" fields, no model\n"
"  --svg FILE        the confusion matrix as an SVG picture\n"
"  --errors FILE     the misclassified cells as TSV: id, true, predicted, confidence\n"
"                    (the last two empty for a cell without a prediction)\n"
"  -q, --quiet       only the accuracy and macro-F1 line (and on stderr how many\n"
"                    hand-labeled cells were not found)\n"
"  -h, --help        this help\n\n"
"exit: 0 scored (a cell without a prediction is a miss, not an error), 2 usage or\n"
"I/O error, or nothing to score: LABELS.tsv has a bad row, no cell labeled with a\n"
"stage, or none of them in CELLS.jsonl (as `label --gold`; nothing written).\n");
}

int cmd_eval(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'}, {"gold", required_argument, 0, 'g'},
        {"svg", required_argument, 0, 's'}, {"errors", required_argument, 0, 'e'},
        {"predictions", no_argument, 0, 'p'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *model_path = NULL, *gold_path = NULL, *svg = NULL, *errors_path = NULL;
    int predictions = 0, quiet = 0, c;
    optind = 0; /* glibc: a full re-initialisation, so tests may call us twice */
    while ((c = getopt_long(argc, argv, "m:g:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'g': gold_path = optarg; break;
        case 's': svg = optarg; break;
        case 'e': errors_path = optarg; break;
        case 'p': predictions = 1; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: return cmd_usage_error_fn(argv[0], usage);
        }
    }
    if (optind != argc - 1 || !gold_path || (predictions && model_path)) {
        if (!gold_path) fprintf(stderr, "nbstage eval: no --gold LABELS.tsv given\n");
        else if (predictions && model_path)
            fprintf(stderr, "nbstage eval: --predictions scores the file's own stages: no --model with it\n");
        else if (optind > argc - 1) fprintf(stderr, "nbstage eval: no %s given\n", predictions ? "PREDICTIONS.jsonl" : "CELLS.jsonl");
        else fprintf(stderr, "nbstage eval: one %s, not %d files\n", predictions ? "PREDICTIONS.jsonl" : "CELLS.jsonl", argc - optind);
        return cmd_usage_error_fn(argv[0], usage);
    }
    /* '-' is stdin, as for label, train and classify (`label cells.jsonl | eval
     * --predictions --gold G -`) */
    int from_stdin = !strcmp(argv[optind], "-");
    const char *cells_path = from_stdin ? "<stdin>" : argv[optind];
    /* The picture is written last: checked now, as label and train check theirs, so
     * that a missing folder is not found after the report has been printed. */
    nb_error ce;
    if (svg && outfile_check(svg, &ce)) { fprintf(stderr, "nbstage eval: %s\n", ce.msg); return EXIT_USAGE; }
    /* --errors is committed after the picture: it would replace it */
    if (svg && errors_path && outfile_same(svg, errors_path)) {
        fprintf(stderr, "nbstage eval: --svg %s and --errors %s are the same file: the second would replace "
                        "the first\n", svg, errors_path);
        return EXIT_USAGE;
    }
    /* an output over an input (--errors cells.jsonl, --svg m.nbsm): the cells, the hand
     * labels or the model lost; the cells piped in (`- --errors c.jsonl < c.jsonl`) too */
    if (!predictions && !model_path) model_path = model_default_path();
    const char *ins[] = {cells_path, gold_path, model_path};
    const char *in_opt[] = {predictions ? "PREDICTIONS.jsonl" : "CELLS.jsonl", "--gold", "--model"};
    const char *outs[] = {svg, errors_path}, *out_opt[] = {"--svg", "--errors"};
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < 2; k++)
            if (outs[k] && ins[i] &&
                (i == 0 && from_stdin ? outfile_is_stdin(outs[k]) : outfile_same(outs[k], ins[i]))) {
                fprintf(stderr, "nbstage eval: %s %s and %s %s are the same file: the output would replace the "
                                "input\n", out_opt[k], outs[k], in_opt[i], ins[i]);
                return EXIT_USAGE;
            }

    char err[NB_ERROR_MAX];
    struct gold g;
    if (gold_load(&g, gold_path, err, sizeof err)) { fprintf(stderr, "nbstage eval: %s\n", err); return EXIT_USAGE; }
    nbs_model *m = NULL;
    if (!predictions) {
        if (!model_path) {
            fprintf(stderr, "nbstage eval: no model: give --model FILE (no share/default.nbsm beside the program)\n");
            gold_free(&g);
            return EXIT_USAGE;
        }
        if (!(m = model_load(model_path, err, sizeof err))) {
            fprintf(stderr, "nbstage eval: %s\n", err);
            gold_free(&g);
            return EXIT_USAGE;
        }
    }
    FILE *in = from_stdin ? stdin : fopen(cells_path, "r");
    FILE *errf = NULL;
    struct outfile eo = {0}; /* --errors: written atomically, committed only on success */
    nb_error oe;
    struct gold_seen seen = {0};
    int seen_ok = gold_seen_init(&seen, &g) == 0;
    char *first_id = NULL; /* the cells' first id, to show when none matches */
    char *src = NULL; /* the line's source, when read */
    struct context_trail trail = {0};
    int rc = EXIT_USAGE;
    if (!in) { char why[512]; fprintf(stderr, "nbstage eval: %s: cannot open: %s\n", cells_path, nb_path_strerror(cells_path, errno, why, sizeof why)); goto out; }
    if (!seen_ok) { fprintf(stderr, "nbstage eval: out of memory\n"); goto out; }
    if (errors_path) {
        if (outfile_open(&eo, errors_path, &oe)) {
            fprintf(stderr, "nbstage eval: %s\n", oe.msg);
            goto out;
        }
        errf = eo.f;
    }
    if (errf) fprintf(errf, "cell_id\ttrue\tpredicted\tconfidence\n");

    struct confusion conf;
    memset(&conf, 0, sizeof conf);
    struct label_doubt doubt; /* the hand labels' own doubt */
    memset(&doubt, 0, sizeof doubt);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    long scored = 0, dup = 0;
    while ((n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        if (jsonl_blank(line, (size_t)n)) continue;
        if (jsonl_bom(line, (size_t)n)) {
            fprintf(stderr, "nbstage eval: %s:%zu: the %s starts with " JSONL_BOM_SAYS "\n", cells_path, lineno,
                    lineno == 1 ? "file" : "line");
            free(line);
            goto out;
        }
        json_error_t je;
        json_t *o = nb_json_loadb_lenient(line, (size_t)n, JSON_ALLOW_NUL, &je);
        if (!o) nb_json_reason(&je); /* one line, no escapes */
        const char *id = o ? json_string_value(json_object_get(o, "id")) : NULL;
        if (id && !first_id && !(first_id = strdup(id))) {
            fprintf(stderr, "nbstage eval: out of memory\n");
            json_decref(o);
            free(line);
            goto out;
        }
        if (!id) {
            fprintf(stderr, "nbstage eval: %s:%zu: %s\n", cells_path, lineno, o ? "no string \"id\"" : je.text);
            json_decref(o);
            free(line);
            goto out;
        }
        /* A context model reads each cell after its predecessor: every line is one, gold or not. */
        free(src);
        src = NULL;
        const char *prev = NULL;
        size_t len = 0, plen = 0;
        json_t *sv = json_object_get(o, "source");
        if (m && model_reads_context(m) && sv && jsonl_is_text(sv) &&
            (!(src = nb_cell_source(o, &len)) ||
             context_trail_next(&trail, trainread_context_group(json_string_value(json_object_get(o, "notebook")), id),
                                src, len, &prev, &plen))) {
            fprintf(stderr, "nbstage eval: out of memory\n");
            json_decref(o);
            free(line);
            goto out;
        }
        const struct gold_row *row = gold_find(&g, id);
        if (!row || row->label == STAGE_NONE) { json_decref(o); continue; }
        /* the same cell again is scored once; another cell under its id is refused */
        if (sv && jsonl_is_text(sv) && !src && !(src = nb_cell_source(o, &len))) {
            fprintf(stderr, "nbstage eval: out of memory\n");
            json_decref(o);
            free(line);
            goto out;
        }
        /* --predictions without sources (classify's and label's lines): two stages for
         * one id are two cells under it, or one cell read two ways; either way its hand
         * label cannot score both */
        size_t first = 0;
        const char *key = src, *stage = NULL;
        size_t klen = len;
        char *both = NULL; /* --predictions: the source's length and bytes (if any), the stage */
        size_t slen = src ? len : 0;
        if (predictions) {
            json_t *st = json_object_get(o, "stage");
            stage = json_is_string(st) ? json_string_value(st) : "null";
            klen = sizeof slen + slen + strlen(stage);
            if (!(both = malloc(klen))) {
                fprintf(stderr, "nbstage eval: out of memory\n");
                json_decref(o);
                free(line);
                goto out;
            }
            memcpy(both, &slen, sizeof slen);
            if (slen) memcpy(both + sizeof slen, src, slen);
            memcpy(both + sizeof slen + slen, stage, strlen(stage));
            key = both;
        }
        int met = gold_seen_add(&seen, &g, row, lineno, key, klen, &first);
        if (met == 2 && stage) { /* the same source met before: the stages differ */
            const char *was = seen.src[row - g.rows];
            size_t wlen;
            memcpy(&wlen, was, sizeof wlen);
            if (wlen != slen || memcmp(was + sizeof wlen, key + sizeof slen, slen)) stage = NULL;
        }
        free(both);
        if (met < 0 || met == 2) {
            if (met < 0) fprintf(stderr, "nbstage eval: out of memory\n");
            else if (stage)
                fprintf(stderr, "nbstage eval: %s:%zu and %zu: one id, two predictions (%s): two cells under "
                                "one id, or one read two ways; its hand label could go with either; ids must "
                                "be unique, as one `nbstage ingest` run of their common folder gives them\n",
                        cells_path, first, lineno, id);
            else fprintf(stderr, "nbstage eval: %s:%zu and %zu: one id, two sources (%s): its hand label could go "
                                 "with either; ids must be unique, as one `nbstage ingest` run of their common "
                                 "folder gives them\n", cells_path, first, lineno, id);
            json_decref(o);
            free(line);
            goto out;
        }
        if (met) { dup++; json_decref(o); continue; }
        int pred = STAGE_NONE;
        float probs[N_STAGES] = {0};
        if (predictions) {
            json_t *st = json_object_get(o, "stage");
            if (!st && !json_object_get(o, "error")) { /* classify's bad lines: no prediction */
                fprintf(stderr, "nbstage eval: %s:%zu: no \"stage\" (is this `nbstage classify` or "
                                "`nbstage label` output?)\n", cells_path, lineno);
                json_decref(o);
                free(line);
                goto out;
            }
            if (st && !json_is_string(st) && !json_is_null(st)) { /* a class index, true, a list */
                fprintf(stderr, "nbstage eval: %s:%zu: \"stage\" is not a stage key (a string such as \"train\") "
                                "or null\n", cells_path, lineno);
                json_decref(o);
                free(line);
                goto out;
            }
            pred = json_is_string(st) ? stage_from_key(json_string_value(st)) : STAGE_NONE;
            if (pred == -2) {
                fprintf(stderr, "nbstage eval: %s:%zu: unknown stage '%s'\n", cells_path, lineno, json_string_value(st));
                json_decref(o);
                free(line);
                goto out;
            }
            if (pred >= 0) probs[pred] = (float)json_number_value(json_object_get(json_object_get(o, "probabilities"), stage_key[pred]));
        } else {
            if (!sv) {
                fprintf(stderr, "nbstage eval: %s:%zu: no \"source\" (is this `nbstage ingest` output?)\n", cells_path, lineno);
                json_decref(o);
                free(line);
                goto out;
            }
            if (!jsonl_is_text(sv)) { /* else scored as a blank cell, a quiet miss */
                fprintf(stderr, "nbstage eval: %s:%zu: \"source\" is not a string or a list of strings\n", cells_path, lineno);
                json_decref(o);
                free(line);
                goto out;
            }
            if (!src && !(src = nb_cell_source(o, &len))) {
                fprintf(stderr, "nbstage eval: out of memory\n");
                json_decref(o);
                free(line);
                goto out;
            }
            pred = model_classify_after(m, prev, plen, src, len, probs);
            if (pred == MODEL_NO_MEMORY) { /* no answer: not a miss to score */
                fprintf(stderr, "nbstage eval: out of memory\n");
                json_decref(o);
                free(line);
                goto out;
            }
        }
        confusion_add(&conf, row->label, pred);
        label_doubt_add(&doubt, row, pred);
        scored++;
        /* a cell without a prediction: empty fields, not "none" (a hand label's stage) */
        if (errf && pred != row->label && pred >= 0)
            fprintf(errf, "%s\t%s\t%s\t%.3f\n", id, stage_key[row->label], stage_key[pred], probs[pred]);
        else if (errf && pred != row->label)
            fprintf(errf, "%s\t%s\t\t\n", id, stage_key[row->label]);
        json_decref(o);
    }
    int read_errno = errno; /* getline's, before free may touch it */
    free(line);
    if (jsonl_read_failed(in)) { fprintf(stderr, "nbstage eval: %s: read error: %s\n", cells_path, strerror(read_errno)); goto out; }

    long labeled = 0, none = 0, missing = 0;
    for (size_t i = 0; i < g.n; i++) {
        if (g.rows[i].label == STAGE_NONE) { none++; continue; }
        labeled++;
        if (!gold_seen_met(&seen, i)) missing++;
    }
    if (labeled == 0) { /* empty, the header alone, or only `none` rows */
        fprintf(stderr, "nbstage eval: %s: no cell labeled with a stage\n", gold_path);
        goto out;
    }
    if (scored == 0) {
        fprintf(stderr, "nbstage eval: none of the %ld hand-labeled cells of %s is in %s\n", labeled, gold_path, cells_path);
        if (first_id) gold_mismatch_hint(stderr, "nbstage eval", &g, first_id);
        goto out;
    }
    long total = confusion_total(&conf) + conf.unlabeled;
    double acc_all = total ? (double)(conf.m[0][0] + conf.m[1][1] + conf.m[2][2] + conf.m[3][3] +
                                      conf.m[4][4] + conf.m[5][5]) / (double)total : 0;
    if (quiet && missing) /* the line below alone would pass for a score of every gold cell */
        fprintf(stderr, "nbstage eval: %ld of the %ld cells labeled in %s are not in %s: scored without them\n",
                missing, labeled, gold_path, cells_path);
    if (!quiet) {
        if (m) printf("model: %s (%s)\n  %s\n", model_name(m), model_path, model_info(m));
        else printf("predictions: %s\n", cells_path);
        printf("gold: %s: %ld cells labeled, %ld labeled none (left out), %ld not in %s%s\n", gold_path,
               labeled, none, missing, cells_path, dup ? " (duplicate ids ignored)" : "");
        if (conf.unlabeled)
            printf("coverage %.4f (%ld of %ld scored cells have a prediction)\n", confusion_coverage(&conf),
                   confusion_total(&conf), total);
    }
    /* Both figures of this line count a cell without a prediction as wrong (as
     * sklearn does when "no prediction" is a label of its own); the report below is
     * over the predicted cells. */
    printf("accuracy %.4f, macro-F1 %.4f over %ld cells", acc_all, confusion_macro_f1_all(&conf), total);
    if (conf.unlabeled && !confusion_total(&conf))
        printf(" (no cell has a prediction)"); /* no "0.0000 over predicted ones" of none */
    else if (conf.unlabeled)
        printf(" (cells without a prediction count as wrong; %.4f and %.4f over predicted ones)",
               confusion_accuracy(&conf), confusion_macro_f1(&conf));
    printf("\n");
    if (!quiet) {
        label_doubt_print(stdout, &doubt, scored, "");
        printf("\n");
        metrics_print_report(stdout, &conf);
        metrics_print_undefined(stdout, &conf);
        printf("\nconfusion matrix (rows: true, columns: predicted)\n");
        metrics_print_confusion(stdout, &conf);
    }
    if (svg) {
        char title[256];
        snprintf(title, sizeof title, "%s vs hand labels", m ? model_name(m) : "predictions");
        char why[NB_ERROR_MAX];
        if (metrics_write_confusion_svg(svg, &conf, title, why, sizeof why)) {
            fprintf(stderr, "nbstage eval: %s\n", why);
            goto out;
        }
    }
    if (nb_stdout_flush("nbstage eval")) goto out;
    rc = EXIT_OK;
out:
    if (in && in != stdin) fclose(in);
    if (errf && rc != EXIT_OK) {
        outfile_abort(&eo); /* the old file stays */
    } else if (errf && outfile_commit(&eo, &oe)) {
        fprintf(stderr, "nbstage eval: %s\n", oe.msg);
        rc = EXIT_USAGE;
    }
    gold_seen_free(&seen, &g);
    free(first_id);
    free(src);
    context_trail_free(&trail);
    model_free(m);
    gold_free(&g);
    return rc;
}
