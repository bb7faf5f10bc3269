/* cmd_label.c — `nbstage label`: LF votes, the label model, weak labels.
 *
 * Owns: the command — its options and usage, their checks, the label model's fit as
 * both modes run it (label_fit: a fit stopped at the iteration limit is said), and
 * the dispatch to its two modes (labelcmd.h): labelcells.c reads cells (JSON Lines from `nbstage ingest`),
 * votes on them with the LF set in parallel, adds the context LFs in notebook order,
 * counts the vote patterns, fits the label model and writes one JSON line per cell in
 * input order (with --statements, each statement of a cell after it); the LF analysis
 * goes to stderr or --report, scored against --gold hand labels when given.
 * labelmatrix.c, `--votes`, runs the label model alone on someone else's label matrix,
 * with the same LF analysis of its columns.  Outputs: -o, --report and --svg naming
 * one file, or an input, are refused here, before the run; -o and --report are
 * committed together after every output was written (labelout.c), so a failed one
 * leaves the old files as they were (a report to stderr comes after the labels are in
 * place).  Findings, said even with -q and exit 1: input lines that are not cells (a
 * byte-order mark named as such; cellread.c), and each rule PCRE2 gave up on (rules.h's
 * limits), once, with its file:line, how many cells and the first (lfvote.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labeling/labelcmd.h"
#include "labeling/labelmodel.h"
#include "labeling/rules.h"
#include "model/commands.h"
#include "nbformat/cpus.h"
#include "nbformat/notebook.h"
#include "nbformat/outfile.h"

static const char usage[] =
"usage: nbstage label [options] [CELLS.jsonl]\n"
"       nbstage label --votes MATRIX.tsv [--truth LABELS.txt] [options]\n"
"\n"
"Labels cells with the labeling functions (LFs) and the generative label model.\n"
"Reads JSON Lines with \"id\" and \"source\" (as `nbstage ingest` writes; \"notebook\"\n"
"lets the context LFs see the cells around a cell, model_output the names its\n"
"notebook's earlier cells gave a model's results, unkept_change whether later\n"
"cells read what a cell made, feeds_model whether a later modelling cell does,\n"
"and helper_call which of the notebook's own helpers a cell runs), from\n"
"CELLS.jsonl or stdin (no file, or -), and writes one line per cell, in\n"
"input order:\n"
"  {\"id\": ..., \"stage\": key|null, \"probabilities\": {key: p, ...},\n"
"   \"votes\": {lf_name: key, ...}}\n"
"A cell no LF votes on gets \"stage\": null and empty probabilities.  The LF\n"
"analysis (coverage, overlaps, conflicts per LF; with --gold, accuracies, a\n"
"classification report and a confusion matrix) goes to stderr, or to\n"
"--report FILE.\n"
"\n"
"LF analysis columns (percentages of all cells), as Snorkel's LFAnalysis\n"
"defines them:\n"
"  stage      the stage the LF votes (its polarity; any: a context LF, or a\n"
"             --votes column with votes for more than one; -: a column\n"
"             without votes)\n"
"  level      job, show or hint (share/rules.txt), ctx for the context LFs; a *\n"
"             after it: silent, its abstains no evidence against its stage\n"
"  coverage   cells it votes on\n"
"  overlaps   cells it votes on that another LF votes on as well\n"
"  conflicts  cells it votes on that another LF votes a different stage on\n"
"  est.acc    the label model's estimate of P(its vote is right | it votes): from\n"
"             its fitted rates; for one voting several stages, whose firing the\n"
"             model does not fit, its votes' mean posterior; '-': it never voted\n"
"  gold.n     with --gold: the hand-labeled cells it votes on\n"
"             (correct + incorrect)\n"
"  gold.acc   with --gold: the share of those it votes right (empirical accuracy)\n"
"\n"
"options:\n"
"  --rules FILE     add rules from FILE (format: share/rules.txt); a rule of the\n"
"                   same name overrides the shipped one (or an earlier file's;\n"
"                   once per file, and not a built-in LF's name); may be given\n"
"                   more than once\n"
"  --no-default-rules  start from no rules (only --rules files and the built-ins)\n"
"  -g, --gold FILE  hand labels (TSV, labeling guide format) to score against\n"
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
"                   (default 0.4 for cells, 0 with --votes); also withheld, as\n"
"                   Snorkel does by default, when two stages tie for the best\n"
"  --statements     also label each top-level statement of a cell that has two\n"
"                   or more as a cell of its own, written after its cell with id\n"
"                   CELL.sK and its \"source\" (no context LFs but model_output,\n"
"                   which follows the names up to the statement; the label model\n"
"                   is fitted on whole cells only): more, shorter examples for\n"
"                   `train`; a statement whose votes name only stages no cell\n"
"                   was voted is left unlabeled (\"stage\": null), unless no cell\n"
"                   was voted anything (then its votes decide)\n"
"  --profile        time each LF: the report (stderr, or --report) then lists the\n"
"                   slowest, with the file and line that define them, their time,\n"
"                   share and cost per cell (with -q: only that)\n"
"  -j, --jobs N     threads, 1 to 64 (default: the CPUs it may use, at most 8)\n"
"  -q, --quiet      no analysis unless --report or --gold is given\n"
"  -h, --help       this help\n"
"\n"
"The default rules are $NBSTAGE_RULES, or share/rules.txt beside the program, or\n"
"the installed DATADIR/nbstage/rules.txt.  A pattern gets a few milliseconds a\n"
"cell (PCRE2's match limit, 1,000,000 steps, or 64 a byte on a cell over\n"
"15.6 kB): a rule whose pattern backtracks catastrophically, such as (a+)+$,\n"
"abstains on the cells PCRE2 gives up on, and is named once on stderr\n"
"(file:line, how many cells, the first), even with -q.  A label model fit that\n"
"stops at its limit of 100 EM iterations still moving is said on stderr too\n"
"(its last change), even with -q; the labels are that fit's.\n"
"exit: 0 done; 1 done, but some input lines were not cells and were skipped (each\n"
"is named, file:line), or PCRE2 gave up on a rule on some cells; 2 usage or I/O\n"
"error, a bad rule file (file:line: reason), or a --gold that cannot score (a bad\n"
"row, no cell labeled with a stage, or none of them in the input: as `eval`, said\n"
"before labeling, nothing written).\n";

/* Cells whose label-model posterior for its best stage is below this get "stage": null
 * (their probabilities are still written), to keep guesses out of the end model's
 * training data.  Scored with abstentions counted as wrong (labels right / all dev
 * cells), 0.5 got 0.871, as many as labeling every voted cell, 0.6 0.866 (2026-11-30,
 * the rules of then; README, "Where we depart"): most cells between 0.5 and 0.6 are
 * right.  0.5 itself was a knife edge: one vote pattern, next_cell's prep alone
 * (2,178 corpus cells, 52% right where hand-labeled), sits at 0.49-0.50, so any change
 * to the LF set could tip all of them in or out of the labels (the "coverage losses"
 * of 2,200-2,500 cells seen after several rule changes).  No pattern sits between 0.4
 * and 0.49; at 0.4 the labels of the rules of 2026-12-02 are the same as at 0.5.
 * --min-confidence 0 labels every cell with a vote. */
#define DEFAULT_MIN_CONFIDENCE 0.4

int label_fit(struct label_model *model, const struct lm_stats *s, const struct lm_options *lo)
{
    if (lm_fit(model, s, lo) < 0) { fprintf(stderr, "nbstage label: out of memory in the fit\n"); return -1; }
    /* no corpus fit has come near the limit (77 iterations at most), but a small matrix
     * can climb slowly past it, and its labels are then an unfinished fit's */
    if (!model->converged)
        fprintf(stderr, "nbstage label: the label model stopped at its limit of %d EM iterations without "
                        "converging (the mean log-likelihood still moved %.3g in the last, the tolerance is %g)\n",
                model->iterations, model->last_change, lo->tol);
    return 0;
}

/* -j's N, 1 to 64; -1 said, worded as ingest, classify and tag word it (the value
 * given named: "--jobs wants 1..64" left `-j 8x` to be guessed at). */
static int parse_jobs(const char *s, int *jobs)
{
    char *e;
    long j = strtol(s, &e, 10);
    if (*e || j < 1 || j > 64) {
        nb_say(stderr, "nbstage label: -j wants a number of threads from 1 to 64, not '%s'", s);
        return -1;
    }
    *jobs = (int)j;
    return 0;
}

/* --min-confidence's P, 0 to 1; -1 said. */
static int parse_min_conf(const char *s, double *p)
{
    char *e;
    *p = strtod(s, &e);
    if (e == s || *e || !(*p >= 0 && *p <= 1)) { /* '' read as 0 */
        nb_say(stderr, "nbstage label: --min-confidence wants a probability, 0..1, not '%s'", s);
        return -1;
    }
    return 0;
}

/* The options into O, *FIRST set to the first argument after them; -1 to go on, else
 * the exit code (--help, a usage error said). */
static int parse_options(int argc, char **argv, struct label_opts *o, int *first)
{
    enum { O_RULES = 256, O_NODEF, O_GOLD, O_REPORT, O_SVG, O_VOTES, O_TRUTH, O_MINCONF, O_STATEMENTS, O_PROFILE };
    static const struct option lopts[] = {
        {"rules", required_argument, 0, O_RULES}, {"no-default-rules", no_argument, 0, O_NODEF},
        {"gold", required_argument, 0, O_GOLD}, {"report", required_argument, 0, O_REPORT},
        {"svg", required_argument, 0, O_SVG}, {"output", required_argument, 0, 'o'},
        {"votes", required_argument, 0, O_VOTES}, {"truth", required_argument, 0, O_TRUTH},
        {"min-confidence", required_argument, 0, O_MINCONF}, {"jobs", required_argument, 0, 'j'},
        {"statements", no_argument, 0, O_STATEMENTS}, {"profile", no_argument, 0, O_PROFILE},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    optind = 0; /* GNU getopt: a full re-initialisation, so the command may run twice */
    int c;
    while ((c = getopt_long(argc, argv, "o:j:g:qh", lopts, NULL)) != -1) {
        switch (c) {
        case O_RULES:
            if (o->n_rules == (int)(sizeof o->rules / sizeof o->rules[0])) {
                fprintf(stderr, "nbstage label: too many --rules files\n");
                return EXIT_USAGE;
            }
            o->rules[o->n_rules++] = optarg;
            break;
        case O_NODEF: o->no_default = 1; break;
        case O_STATEMENTS: o->statements = 1; break;
        case O_PROFILE: o->profile = 1; break;
        case 'g': /* as eval's -g: the same hand labels */
        case O_GOLD: o->gold = optarg; break;
        case O_REPORT: o->report = optarg; break;
        case O_SVG: o->svg = optarg; break;
        case 'o': o->output = strcmp(optarg, "-") ? optarg : NULL; break; /* '-': stdout */
        case O_VOTES: o->votes = optarg; break;
        case O_TRUTH: o->truth = optarg; break;
        case 'j': if (parse_jobs(optarg, &o->jobs)) return EXIT_USAGE; break;
        case O_MINCONF: if (parse_min_conf(optarg, &o->min_conf)) return EXIT_USAGE; break;
        case 'q': o->quiet = 1; break;
        case 'h': fputs(usage, stdout); return EXIT_OK;
        default: return cmd_usage_error(argv[0], usage);
        }
    }
    *first = optind;
    return -1;
}

/* The arguments after the options (one CELLS.jsonl at most, none with --votes) and the
 * options the mode has no use for, then the input and --min-confidence's default for
 * the mode set; -1 to go on, else the exit code (the usage error said). */
static int check_mode(int argc, char **argv, int first, struct label_opts *o)
{
    if (argc - first > 1 || (o->votes && argc - first > 0)) {
        if (o->votes) nb_say(stderr, "nbstage label: --votes reads MATRIX.tsv, not %s as well", argv[first]);
        else fprintf(stderr, "nbstage label: one CELLS.jsonl, not %d files\n", argc - first);
        return cmd_usage_error(argv[0], usage);
    }
    if (o->truth && !o->votes) { fprintf(stderr, "nbstage label: --truth goes with --votes (use --gold for cells)\n"); return EXIT_USAGE; }
    /* an option the mode has no use for is a mistake to say, not to drop */
    if (o->votes && (o->gold || o->svg || o->n_rules || o->no_default || o->statements || o->profile)) {
        fprintf(stderr, "nbstage label: --votes runs the label model alone: no --rules, "
                        "--no-default-rules, --statements, --profile, --gold or --svg (use --truth)\n");
        return EXIT_USAGE;
    }
    if (o->svg && !o->gold) { fprintf(stderr, "nbstage label: --svg goes with --gold (the confusion matrix needs hand labels)\n"); return EXIT_USAGE; }
    if (first < argc && strcmp(argv[first], "-")) o->input = argv[first]; /* '-': stdin */
    if (o->min_conf < 0) o->min_conf = o->votes ? 0.0 : DEFAULT_MIN_CONFIDENCE;
    return -1;
}

/* The files the run reads, each with the name the messages give it: an output over
 * one of them would replace it (label cells.jsonl -o cells.jsonl: the cells, the hand
 * labels or a rule file replaced, exit 0).  Room for every input: with 16 --rules, a
 * fixed 20 once left the default rules out. */
enum { N_RULES = sizeof ((struct label_opts *)0)->rules / sizeof ((struct label_opts *)0)->rules[0] };
struct label_inputs {
    const char *path[4 + N_RULES + 1], *opt[4 + N_RULES + 1];
    size_t n;
    char def_rules[4096];
};

static void list_inputs(const struct label_opts *o, struct label_inputs *in)
{
    const char *path[] = {o->input, o->gold, o->votes, o->truth},
               *opt[] = {"CELLS.jsonl", "--gold", "--votes", "--truth"};
    in->n = 0;
    for (size_t k = 0; k < sizeof path / sizeof *path; k++)
        in->path[in->n] = path[k], in->opt[in->n++] = opt[k];
    for (int r = 0; r < o->n_rules; r++) in->path[in->n] = o->rules[r], in->opt[in->n++] = "--rules";
    /* and the default rules (NBSTAGE_RULES's or the shipped file): every later run
     * fails on them, --no-default-rules in this one or not */
    if (rules_default_path(in->def_rules, sizeof in->def_rules) == 0)
        in->path[in->n] = in->def_rules, in->opt[in->n++] = "the default rules";
}

/* Output I (OUTS[I], given as OPT[I]) checked: writable, not an output before it, not
 * an input; -1 said. */
static int check_output(const struct label_opts *o, const struct label_inputs *in, const char *const *outs,
                        const char *const *opt, size_t i)
{
    nb_error e;
    if (outfile_check(outs[i], &e)) {
        nb_say(stderr, "nbstage label: %s", e.msg);
        return -1;
    }
    /* one file for two outputs: the second would replace the first (the report renamed
     * over the labels, exit 0) */
    for (size_t k = 0; k < i; k++)
        if (outs[k] && outfile_same(outs[k], outs[i])) {
            nb_say(stderr, "nbstage label: %s %s and %s %s are the same file: the second would replace "
                           "the first", opt[k], outs[k], opt[i], outs[i]);
            return -1;
        }
    for (size_t k = 0; k < in->n; k++)
        if (in->path[k] && outfile_same(outs[i], in->path[k])) {
            nb_say(stderr, "nbstage label: %s %s and %s %s are the same file: the output would replace the "
                           "input", opt[i], outs[i], in->opt[k], in->path[k]);
            return -1;
        }
    /* the cells piped in (label - -o c.jsonl < c.jsonl) have no name to compare */
    if (!o->input && !o->votes && outfile_is_stdin(outs[i])) {
        nb_say(stderr, "nbstage label: %s %s is the file piped in as CELLS.jsonl ('-'): the output would "
                       "replace the input", opt[i], outs[i]);
        return -1;
    }
    return 0;
}

/* The files written at the end, checked now: a read-only file or a missing folder
 * would otherwise be found only after the whole run (30 s on a large corpus); -1 said. */
static int check_outputs(const struct label_opts *o)
{
    const char *outs[] = {o->output, o->report, o->svg}, *opt[] = {"-o", "--report", "--svg"};
    struct label_inputs in;
    list_inputs(o, &in);
    for (size_t i = 0; i < sizeof outs / sizeof *outs; i++)
        if (outs[i] && check_output(o, &in, outs, opt, i)) return -1;
    return 0;
}

int cmd_label(int argc, char **argv)
{
    struct label_opts o;
    memset(&o, 0, sizeof o);
    o.jobs = cpus_usable_up_to(8);
    o.min_conf = -1; /* the mode's default, in check_mode */
    int first = 0, rc = parse_options(argc, argv, &o, &first);
    if (rc >= 0) return rc;
    if ((rc = check_mode(argc, argv, first, &o)) >= 0) return rc;
    if (check_outputs(&o)) return EXIT_USAGE;
    return o.votes ? label_matrix(&o) : label_cells(&o);
}
