/* cmd_train.c — `nbstage train`: weak labels + cells -> a model file.
 *
 * Owns the command: its usage, its options and their ranges, the checks made before
 * any work (one WEAK.jsonl and -o given, not both inputs standard input, every output
 * writable and none the same file as another or as an input, --curves' PREFIX.csv and
 * PREFIX.svg, SOURCE_DATE_EPOCH a time), then the run (trainrun.c, over
 * traincmd.h's options): the weak labels joined to their sources (trainread.c), the
 * cells chosen and split by notebook (trainsplit.c), the sets (trainsets.c), training
 * (model/train.c) with Ctrl-C caught (trainstop.c), the model file (trainsave.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/checkpoint.h"
#include "model/commands.h"
#include "model/lstm.h"
#include "model/traincmd.h"
#include "model/trainread.h"
#include "nbformat/cpus.h"
#include "nbformat/notebook.h"
#include "nbformat/outfile.h"

_Static_assert(LSTM_MAX_THREADS == 16, "--help says -j uses at most 16");

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
"One progress line per epoch; Ctrl-C (or SIGTERM, as a batch scheduler sends at\n"
"its time limit, or SIGHUP, a closed terminal) stops cleanly and writes the best\n"
"weights so far; before the first epoch has ended there are none, and nothing is\n"
"written (an older MODEL is left as it was).  While it still reads its input,\n"
"the signal ends it at once, as it ends any program (exit 130, 143 or 129), also\n"
"writing nothing.  A reader of the progress lines that goes away (| head) stops\n"
"nothing.  With --checkpoint FILE, the run's whole state is written to FILE\n"
"after every epoch, and the same command run again after a stop (or a crash)\n"
"goes on from there, to the same model an unstopped run makes; FILE is removed\n"
"once the run has ended and the model is written.\n\n"
"options (defaults in parentheses: the study's settings, but for --targets):\n"
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
"  --targets soft|hard      targets (soft; the study's: hard): the label model's\n"
"                           probabilities, or one-hot\n"
"  --min-confidence X       leave out weak labels below this probability (0)\n"
"  --keep-duplicates        keep exact duplicate cells\n"
"  --vocab N                vocabulary size incl. padding (8000)\n"
"  --seq-len N              words per cell, the last ones (120)\n"
"  --assign-words           a word \"=\" where a statement assigns (off: the\n"
"                           study's split turns '=' into a space; see\n"
"                           model/tokenizer.h)\n"
"  --oov-word               unknown words read as one word, as Keras' oov_token\n"
"                           (off: they are dropped, as in the study)\n"
"  --context                each cell read after the last 3 code lines of the\n"
"                           cell before it in its notebook and the word\n"
"                           nbstagectx (off: the cell alone, as in the study;\n"
"                           see model/context.h).  Needs --cells in ingest's\n"
"                           order; classify, eval, tag, summary and the kernel\n"
"                           then give each cell its predecessor\n"
"  --round-recurrent        write the recurrent weights rounded to bf16 values\n"
"                           (8 bits of mantissa; training and val_acc use fp32):\n"
"                           with --hidden 64 and AVX-512 one cell's inference\n"
"                           then reads half the bytes, the same numbers\n"
"                           (model/infer_step.h)\n"
"  --embed N, --hidden N    layer sizes (512, 64)\n"
"  --seed N                 everything random derives from it (1)\n"
"  -j, --jobs N             worker threads, 1 to 256, each a share of every\n"
"                           batch, calling OpenBLAS single-threaded (default:\n"
"                           the CPUs it may use, at most 16)\n"
"  --threads N              the former name of -j, still taken\n"
"  --curves PREFIX          learning curves to PREFIX.csv and PREFIX.svg (a .csv\n"
"                           or .svg ending of PREFIX is dropped)\n"
"  --checkpoint FILE        the run's state after each epoch (weights, Adam's,\n"
"                           the best epoch's, the random stream), resumed from\n"
"                           when there; another run's is refused.  --epochs may\n"
"                           be raised on resuming, -j changed (the model then\n"
"                           differs from an unstopped run's, as with any -j)\n"
"  -q, --quiet              no progress lines\n"
"  -h, --help               this help\n\n"
"The file is the same, byte for byte, for the same inputs, options and -j,\n"
"except the date in its description: set SOURCE_DATE_EPOCH (seconds since 1970,\n"
"as `date +%%s` prints; another value is refused) to fix it.\n"
"exit: 0 model written (also after Ctrl-C), 2 usage, input or I/O error, or\n"
"interrupted or diverged in the first epoch (nothing written).\n");
}


/* Whether PATH can be written when training ends: checked before it starts, so that a
 * typo in a folder name, a folder, or a read-only file (which the rename would
 * replace) does not cost the whole run.  A device or FIFO (/dev/null) is fine.  The
 * rules are outfile's, which writes the files (nbformat/outfile.h). */
static int check_output(const char *path)
{
    nb_error err;
    if (outfile_check(path, &err) == 0) return 0;
    nb_say(stderr, "nbstage train: %s", err.msg);
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

/* One train command: the options handed to the run, and the curves' two file names
 * they point to (o.cfg.curves_csv and curves_svg). */
struct train_call {
    struct train_opts o;
    char csv[4096], svg[4096]; /* --curves PREFIX's PREFIX.csv and PREFIX.svg */
};

/* The defaults: the study's settings, but soft targets; as many threads as the CPUs
 * it may use. */
static void set_defaults(struct train_opts *o)
{
    *o = (struct train_opts){
        .cfg = {.spatial_dropout = 0.8f, .dropout = 0.8f, .recurrent_dropout = 0.8f, .lr = 0.001f,
                .batch = 256, .max_epochs = 15, .patience = 7, .seed = 1, .threads = 0},
        .cap = 5000, .soft = 1, .dedupe = 1, .vocab = 8000, .seq_len = 120, .embed = 512,
        .hidden = 64, .val_split = 0.25,
    };
    o->cfg.threads = cpus_usable();
}

/* The options into O, and WEAK.jsonl and -o required; -1 to go on, else the exit code
 * (--help, a usage error said). */
static int parse_options(int argc, char **argv, struct train_opts *o)
{
    enum { O_CELLS = 256, O_EPOCHS, O_BATCH, O_LR, O_SDROP, O_DROP, O_RDROP, O_PATIENCE, O_CAP,
           O_VAL, O_TARGETS, O_MINCONF, O_KEEPDUP, O_VOCAB, O_SEQ, O_EMBED, O_HIDDEN, O_SEED,
           O_CURVES, O_ASSIGN, O_OOV, O_CONTEXT, O_ROUND, O_CHECKPOINT };
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
        {"seed", required_argument, 0, O_SEED}, {"jobs", required_argument, 0, 'j'},
        {"threads", required_argument, 0, 'j'}, /* -j's name before every command had -j */
        {"curves", required_argument, 0, O_CURVES}, {"checkpoint", required_argument, 0, O_CHECKPOINT},
        {"quiet", no_argument, 0, 'q'},
        {"assign-words", no_argument, 0, O_ASSIGN}, {"oov-word", no_argument, 0, O_OOV},
        {"context", no_argument, 0, O_CONTEXT}, {"round-recurrent", no_argument, 0, O_ROUND},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    optind = 0; /* glibc: a full re-initialisation, so tests may call us twice */
    int c, bad = 0, seed = 1, li = 0;
    double x;
    while ((c = getopt_long(argc, argv, "o:j:qh", longopts, &li)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'q': o->quiet = 1; break;
        case 'h': usage(stdout); return EXIT_OK;
        case 'j': /* worded as ingest, label, classify and tag word it */
            if (parse_int(optarg, 1, 256, &o->cfg.threads)) {
                nb_say(stderr, "nbstage train: -j wants a number of threads from 1 to 256, not '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case O_CELLS: o->cells = optarg; break;
        case O_CURVES: o->curves = optarg; break;
        case O_CHECKPOINT: o->cfg.checkpoint = optarg; break;
        case O_EPOCHS: bad |= parse_int(optarg, 1, 100000, &o->cfg.max_epochs); break;
        case O_BATCH: bad |= parse_int(optarg, 1, 1 << 20, &o->cfg.batch); break;
        case O_PATIENCE: bad |= parse_int(optarg, 0, 100000, &o->cfg.patience); break;
        case O_CAP: bad |= parse_int(optarg, 0, 1 << 30, &o->cap); break;
        case O_VOCAB: bad |= parse_int(optarg, 2, 1 << 22, &o->vocab); break;
        case O_SEQ: bad |= parse_int(optarg, 1, 65536, &o->seq_len); break;
        case O_EMBED: bad |= parse_int(optarg, 1, 8192, &o->embed); break;
        case O_HIDDEN: bad |= parse_int(optarg, 1, 1024, &o->hidden); break;
        case O_SEED: bad |= parse_int(optarg, 0, 1 << 30, &seed); o->cfg.seed = (unsigned long)seed; break;
        case O_LR: bad |= parse_float(optarg, 1e-7, 10, &x); o->cfg.lr = (float)x; break;
        case O_SDROP: bad |= parse_float(optarg, 0, 0.99, &x); o->cfg.spatial_dropout = (float)x; break;
        case O_DROP: bad |= parse_float(optarg, 0, 0.99, &x); o->cfg.dropout = (float)x; break;
        case O_RDROP: bad |= parse_float(optarg, 0, 0.99, &x); o->cfg.recurrent_dropout = (float)x; break;
        case O_VAL: bad |= parse_float(optarg, 0, 0.9, &o->val_split); break;
        case O_MINCONF: bad |= parse_float(optarg, 0, 1, &o->min_conf); break;
        case O_KEEPDUP: o->dedupe = 0; break;
        case O_ASSIGN: o->assign_words = 1; break;
        case O_OOV: o->oov_word = 1; break;
        case O_CONTEXT: o->context = 1; break;
        case O_ROUND: o->round_recurrent = 1; break;
        case O_TARGETS:
            if (!strcmp(optarg, "soft")) o->soft = 1;
            else if (!strcmp(optarg, "hard")) o->soft = 0;
            else { bad = 1; snprintf(bad_range, sizeof bad_range, "soft or hard"); }
            break;
        default: return cmd_usage_error_fn(argv[0], usage);
        }
        if (bad) {
            nb_say(stderr, "nbstage train: bad value '%s' for --%s: %s", optarg, longopts[li].name, bad_range);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || !o->out) {
        if (optind > argc - 1) fprintf(stderr, "nbstage train: no WEAK.jsonl given\n");
        else if (optind < argc - 1) fprintf(stderr, "nbstage train: one WEAK.jsonl, not %d files\n", argc - optind);
        else fprintf(stderr, "nbstage train: no -o MODEL.nbsm given\n");
        return cmd_usage_error_fn(argv[0], usage);
    }
    o->weak = argv[optind];
    return -1;
}

/* The inputs: --context with --cells, not both standard input, '-' given as
 * trainread_stdin; -1 said. */
static int check_inputs(struct train_opts *o)
{
    /* Without the notebooks' cells in order a weak line has no predecessor: the model
     * would be trained on cells alone and then used on cells after their context. */
    if (o->context && !o->cells) {
        fprintf(stderr, "nbstage train: --context needs --cells (ingest's lines, a notebook's cells in their "
                        "order: each cell is read after the one before it)\n");
        return -1;
    }
    if (o->cells && !strcmp(o->weak, "-") && !strcmp(o->cells, "-")) {
        fprintf(stderr, "nbstage train: WEAK.jsonl and --cells cannot both be standard input ('-')\n");
        return -1;
    }
    if (!strcmp(o->weak, "-")) o->weak = trainread_stdin;
    if (o->cells && !strcmp(o->cells, "-")) o->cells = trainread_stdin;
    return 0;
}

/* --curves PREFIX's two files named in C's csv and svg, and given to the run; -1 said
 * when PREFIX names no file. */
static int name_curves(struct train_call *c)
{
    struct train_opts *o = &c->o;
    if (!o->curves) return 0;
    /* `--curves curves.csv`, as Keras' CSVLogger takes a file name: curves.csv and
     * curves.svg, not curves.csv.csv */
    size_t n = strlen(o->curves);
    /* hidden files .csv and .svg, or DIR/.csv; '-' (stdout elsewhere) files -.csv and -.svg */
    if (n == 0 || o->curves[n - 1] == '/' || !strcmp(o->curves, "-")) {
        nb_say(stderr, "nbstage train: --curves '%s': give a file name's start (--curves curves "
                       "writes curves.csv and curves.svg)", o->curves);
        return -1;
    }
    int stem = n > 4 && (!strcmp(o->curves + n - 4, ".csv") || !strcmp(o->curves + n - 4, ".svg")) ? (int)n - 4 : (int)n;
    snprintf(c->csv, sizeof c->csv, "%.*s.csv", stem, o->curves);
    snprintf(c->svg, sizeof c->svg, "%.*s.svg", stem, o->curves);
    o->cfg.curves_csv = c->csv;
    o->cfg.curves_svg = c->svg;
    return 0;
}

/* Every output (-o, the curves, --checkpoint) one that can be written when the run
 * gets to it; -1 said. */
static int check_writable(const struct train_call *c)
{
    const struct train_opts *o = &c->o;
    const char *ckpt = o->cfg.checkpoint;
    if (ckpt && !strcmp(ckpt, "-")) {
        fprintf(stderr, "nbstage train: --checkpoint '-': a checkpoint is a file, read back on resuming (./- names "
                        "one)\n");
        return -1;
    }
    if (check_output(o->out) || (o->curves && (check_output(c->csv) || check_output(c->svg))) ||
        (ckpt && check_output(ckpt)))
        return -1;
    return 0;
}

/* No output the same file as another, or as an input; -1 said. */
static int check_distinct(const struct train_call *c)
{
    const struct train_opts *o = &c->o;
    const char *csv = c->csv, *svg = c->svg, *ckpt = o->cfg.checkpoint;
    /* the model is written last: over a curves file of the same name, the run's curves lost */
    if (o->curves && (outfile_same(o->out, csv) || outfile_same(o->out, svg))) {
        nb_say(stderr, "nbstage train: -o %s and the curves' %s (--curves %s) are the same file: the model "
                       "would replace the curves", o->out, outfile_same(o->out, csv) ? csv : svg, o->curves);
        return -1;
    }
    /* an output over an input (-o weak.jsonl, a slip of the tab key): the labels or
     * the cells were replaced by the model, exit 0 */
    const char *ins[] = {o->weak, o->cells}, *in_opt[] = {"WEAK.jsonl", "--cells"};
    const char *outs[] = {o->out, o->curves ? csv : NULL, o->curves ? svg : NULL, ckpt},
               *out_opt[] = {"-o", "--curves", "--curves", "--checkpoint"};
    /* outputs over each other: the checkpoint replaced by the model, or the curves by
     * the checkpoint */
    for (size_t i = 0; i < sizeof outs / sizeof *outs; i++)
        for (size_t k = i + 1; outs[i] && k < sizeof outs / sizeof *outs; k++)
            if (outs[k] && outfile_same(outs[i], outs[k])) {
                nb_say(stderr, "nbstage train: %s %s and %s %s are the same file: one would replace the other",
                       out_opt[i], outs[i], out_opt[k], outs[k]);
                return -1;
            }
    for (size_t i = 0; i < sizeof ins / sizeof *ins; i++)
        for (size_t k = 0; ins[i] && k < sizeof outs / sizeof *outs; k++)
            if (outs[k] && (ins[i] == trainread_stdin ? outfile_is_stdin(outs[k]) : outfile_same(outs[k], ins[i]))) {
                nb_say(stderr, "nbstage train: %s %s and %s %s are the same file: the output would replace "
                               "the input", out_opt[k], outs[k], in_opt[i], ins[i]);
                return -1;
            }
    return 0;
}

/* A checkpoint there that cannot be one (a FIFO would block the run, another file,
 * another version) said now, not once the inputs are read; -1 said. */
static int check_checkpoint(const struct train_opts *o)
{
    const char *ckpt = o->cfg.checkpoint;
    char err[NB_ERROR_MAX];
    if (ckpt && checkpoint_peek(ckpt, err, sizeof err)) {
        nb_say(stderr, "nbstage train: --checkpoint %s", err);
        return -1;
    }
    return 0;
}

/* SOURCE_DATE_EPOCH (reproducible-builds.org): two runs of the same command give
 * byte-identical files (cmp), whatever minute they end in.  Read now: a value that
 * is no time was ignored unsaid (the file not reproducible after all), and one past
 * year 9999 crashed the run at its end (gmtime's NULL given to strftime); -1 said. */
static int read_source_date(struct train_opts *o)
{
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (!sde || !*sde) return 0;
    char *end;
    errno = 0;
    long long t = strtoll(sde, &end, 10);
    if (errno || *end || t < 0 || t > 253402300799LL) { /* 9999-12-31 23:59:59 UTC */
        nb_say(stderr, "nbstage train: SOURCE_DATE_EPOCH '%s': not a time (whole seconds since 1970, "
                       "at most 253402300799, as `date +%%s` prints): set it so, or unset it", sde);
        return -1;
    }
    o->sde_time = (time_t)t;
    o->have_sde = 1;
    return 0;
}

int cmd_train(int argc, char **argv)
{
    struct train_call c;
    set_defaults(&c.o);
    int rc = parse_options(argc, argv, &c.o);
    if (rc >= 0) return rc;
    if (check_inputs(&c.o) || name_curves(&c) || check_writable(&c) || check_distinct(&c) ||
        check_checkpoint(&c.o) || read_source_date(&c.o))
        return EXIT_USAGE;
    return trainrun(&c.o);
}
