/* cmd_summary.c — `nbstage summary`: a notebook's stage map.
 *
 * Owns: the command: its usage, its options and their checks before any work (--saved
 * with no --model, --color's word, --svg not a notebook's name and writable, --json
 * not with --svg -, '-' given once), the model loaded with tag's memo and batches
 * (model/classcache.h, model/tagbatch.h), the dispatch over the arguments (folders
 * walked, a folder named like a notebook said once, one without notebooks said), the
 * --svg picture written or left alone at the end, and the exit code.  The stages are
 * exactly model_classify's (or, with --saved, the ones saved in the notebooks); the
 * run is summaryread.c (each notebook read into the window), summarywindow.c (the
 * window classified and shown in order), summaryshow.c (stdout: text or --json),
 * summarylang.c (a notebook that is not Python: a note instead of a map) and
 * summarysvg.c (the maps kept for --svg, the picture); model/stagemap.c draws.
 * Reads only; never writes a notebook.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/classcache.h"
#include "model/commands.h"
#include "model/model.h"
#include "model/summarycmd.h"
#include "model/summaryread.h"
#include "model/summaryshow.h"
#include "model/summarysvg.h"
#include "model/summarywindow.h"
#include "model/tagbatch.h"
#include "model/workers.h"
#include "nbformat/cellscan.h"
#include "nbformat/fileonce.h"
#include "nbformat/notebook.h"
#include "nbformat/outfile.h"
#include "nbformat/sharefile.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: nbstage summary [OPTIONS] NOTEBOOK...\n\n"
            "Shows each notebook's stage map: one block per code cell in order (coloured on\n"
            "a terminal, a letter otherwise: L load, P prep, T train, E evaluate, X explore,\n"
            "I imports, . empty or comments only, ? untagged), the stage sequence with runs\n"
            "compressed, and per-stage cell counts and share of lines of code (lines with\n"
            "more than comments or white space; a stage's share is of the lines in cells\n"
            "with a stage, rounded so that the shares total 100.0%%, --json's 1).  Folders\n"
            "are walked for *.ipynb in any case, skipping hidden files and folders,\n"
            ".ipynb_checkpoints among them (a file given by name is read whatever its name,\n"
            "hidden or not); one without notebooks is said on stderr.  A file met again\n"
            "under another name (a symlink to it, or named twice) is shown once, under the\n"
            "name met first.\n"
            "A notebook in another language than Python (metadata.language_info.name, else\n"
            "kernelspec.language: R, Julia, ...; one with neither is Python) gets no map,\n"
            "the model reads Python only: a note on stderr instead (exit 0), and with\n"
            "--json a line {\"notebook\": PATH, \"language\": LANG, \"skipped\": \"not Python\"}.\n"
            "With --saved its saved stages are shown, after the note.\n"
            "With -q no such note (an error, or a folder without notebooks, is still said).\n"
            "NOTEBOOK '-' is standard input (named <stdin>), given once.  On a terminal\n"
            "the map fits its width (COLUMNS): the header and the sequence are broken into\n"
            "lines, the blocks go fewer than 60 a row, and below 36 columns the table\n"
            "drops its lines, then its cells column; into a pipe nothing wraps.\n\n"
            "options:\n"
            "  -m, --model FILE  classify with this model (default: the shipped one;\n"
            "                    NBSTAGE_MODEL)\n"
            "      --saved       use the stages saved in the notebook (no model): the stage\n"
            "                    kernel's tag output, else the cell's stage tag, as\n"
            "                    `tag --from-outputs` would leave them\n"
            "      --json        one JSON object per notebook (JSON Lines) instead of text:\n"
            "                    notebook, model, code_cells, blank, untagged, lines (of\n"
            "                    code), stages {KEY: {cells, lines, share}}, sequence and\n"
            "                    cells [{index, stage, confidence, lines}] (stage and\n"
            "                    confidence null for a blank or untagged cell); \"index\"\n"
            "                    counts code cells from 0, as the cell ids of ingest and\n"
            "                    label do (path#index).  A notebook (or folder, or PATH)\n"
            "                    that could not be read is a line {\"notebook\": PATH,\n"
            "                    \"error\": REASON} in its place (and said on stderr)\n"
            "      --svg FILE    also draw the maps as an SVG picture (FILE -: only the\n"
            "                    picture, on stdout; a FILE named *.ipynb is refused; FILE\n"
            "                    is left as it was when there is no map to draw: no\n"
            "                    notebook found, read, or in Python)\n"
            "      --color WHEN  auto (default: on a terminal, unless NO_COLOR is set or\n"
            "                    TERM=dumb), always, never (--colour WHEN alike)\n"
            "  -q, --quiet       no note for a notebook not in Python (see above)\n"
            "  -h, --help        this help\n\n"
            "exit: 0 ok, 2 usage error, a notebook or folder that could not be read, or an\n"
            "output (stdout, --svg FILE) that could not be written.\n");
}

/* One summary run: its options and what its steps hand each other, freed together
 * (summary_run_free; a member is zeroed until its step fills it). */
struct summary_run {
    struct summary s;          /* what summaryread, summarywindow, summaryshow and summarysvg share */
    const char *model_path;    /* --model, else the default once looked up */
    const char *svg;           /* --svg FILE, or NULL */
    const char *when;          /* --color's word */
    int first;                 /* argv's first NOTEBOOK */
    nbs_model *model;          /* loaded (not --saved) */
    struct classcache *cache;  /* the memo of the run's sources (not --saved) */
};

/* The options into R, first set to the first NOTEBOOK; -1 to go on, else the exit
 * code (--help, a usage error said). */
static int parse_options(int argc, char **argv, struct summary_run *r)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"saved", no_argument, NULL, 's'},
        {"json", no_argument, NULL, 'J'},
        {"svg", required_argument, NULL, 'S'},
        {"color", required_argument, NULL, 'C'},
        {"colour", required_argument, NULL, 'C'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "m:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': r->model_path = optarg; break;
        case 'q': r->s.quiet = 1; break;
        case 's': r->s.saved = 1; break;
        case 'J': r->s.json = 1; break;
        case 'S': r->svg = optarg; break;
        case 'C': r->when = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: return cmd_usage_error_fn(argv[0], usage);
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "nbstage summary: no NOTEBOOK given\n");
        return cmd_usage_error_fn(argv[0], usage);
    }
    r->first = optind;
    return -1;
}

/* --color's word into s.color; -1 said when it is none of auto, always, never. */
static int set_color(struct summary_run *r)
{
    const char *when = r->when;
    if (!strcmp(when, "always")) {
        r->s.color = 1;
    } else if (!strcmp(when, "auto")) {
        const char *term = getenv("TERM"), *no = getenv("NO_COLOR");
        r->s.color = isatty(STDOUT_FILENO) && !(no && *no) && !(term && !strcmp(term, "dumb"));
    } else if (strcmp(when, "never")) {
        nb_say(stderr, "nbstage summary: --color wants auto, always or never, not '%s'",
               when);
        return -1;
    }
    return 0;
}

/* The options checked together and the output's settings (width, terminal, --svg)
 * set; -1 said when they do not go together. */
static int check_options(struct summary_run *r)
{
    struct summary *s = &r->s;
    const char *svg = r->svg;
    /* a model given and not used is a mistake to say, not to drop, as tag
     * --from-outputs and eval --predictions say it */
    if (s->saved && r->model_path) {
        fprintf(stderr, "nbstage summary: --saved shows the stages saved in the notebooks: "
                        "no --model with it\n");
        return -1;
    }
    if (set_color(r)) return -1;
    /* `--svg a.ipynb b.ipynb`, the picture's name forgotten: the picture would replace
     * the notebook a.ipynb */
    if (svg && nb_is_notebook_name(svg)) {
        nb_say(stderr, "nbstage summary: --svg %s: a notebook's name; the picture would "
                       "replace it (give the picture's file, e.g. map.svg)", svg);
        return -1;
    }
    s->columns = summaryshow_columns();
    s->keep = svg != NULL;
    s->svg_only = svg && !strcmp(svg, "-");
    if (s->svg_only && s->json) {
        fprintf(stderr, "nbstage summary: --json and --svg - would both write to stdout\n");
        return -1;
    }
    return 0;
}

/* The --svg FILE (not -) that would replace an input: a notebook of another name given
 * (`--svg nb.json nb.json`), or the model (given, NBSTAGE_MODEL's or the shipped one),
 * looked up now; -1 said when it is one of them. */
static int check_svg_not_input(int argc, char **argv, struct summary_run *r)
{
    const char *svg = r->svg;
    if (!r->s.saved && !r->model_path) r->model_path = model_default_path();
    for (int a = r->first; svg && !r->s.svg_only && a <= argc; a++) {
        const char *in = a < argc ? argv[a] : r->model_path;
        if (in && (!strcmp(in, "-") ? outfile_is_stdin(svg) : outfile_same(svg, in))) {
            nb_say(stderr, "nbstage summary: --svg %s and %s are the same file: the picture would replace "
                           "the input", svg, strcmp(in, "-") ? in : "the notebook piped in ('-')");
            return -1;
        }
    }
    return 0;
}

/* The notebooks' and --svg's checks before any work: '-' once, --svg writable and not
 * an input; -1 said. */
static int check_inputs(int argc, char **argv, struct summary_run *r)
{
    /* '-' as for every command that reads notebooks: once (summary writes none back) */
    if (nb_stdin_rule("nbstage summary", argc - r->first, argv + r->first, 0)) return -1;
    /* a --svg that cannot be written is said now, not after the whole run */
    nb_error svg_err;
    if (r->svg && !r->s.svg_only && outfile_check(r->svg, &svg_err)) {
        nb_say(stderr, "nbstage summary: %s", svg_err.msg);
        return -1;
    }
    return check_svg_not_input(argc, argv, r);
}

/* The model loaded (not --saved) into model and s.model; -1 said when there is none
 * or it cannot be read. */
static int load_model(struct summary_run *r)
{
    if (r->s.saved) return 0;
    if (!r->model_path) r->model_path = model_default_path();
    if (!r->model_path) {
        char why[NB_ERROR_MAX];
        nb_say(stderr, "nbstage summary: no model: %s",
               share_file_missing("default.nbsm", "give --model FILE or set NBSTAGE_MODEL, or use --saved", why,
                                  sizeof why));
        return -1;
    }
    char why[NB_ERROR_MAX];
    if (!(r->model = model_load(r->model_path, why, sizeof why))) {
        nb_say(stderr, "nbstage summary: %s", why);
        return -1;
    }
    r->s.model = r->model;
    return 0;
}

/* As tag: a memo of the run's sources, and batches on every CPU (with a model); -1
 * said when out of memory, the memo and the model freed. */
static int start_batches(struct summary_run *r)
{
    if (!r->model) return 0;
    r->cache = classcache_new(r->model);
    r->s.batch = r->cache ? tagbatch_new(r->model, r->cache) : NULL;
    r->s.threads = workers_default();
    if (!r->s.batch) {
        fprintf(stderr, "nbstage summary: out of memory\n");
        classcache_free(r->cache);
        model_free(r->model);
        return -1;
    }
    return 0;
}

/* A folder named like a notebook, said once (a mistake worth saying, as tag does);
 * -1 said when out of memory, the window flushed. */
static int say_folder_named_notebook(const char *path, struct summary *s)
{
    int met = fileonce_met(&s->met, path); /* once a folder */
    if (met < 0) {
        nb_say(stderr, "nbstage summary: %s: out of memory", path);
        summarywindow_flush(s);
        return -1;
    }
    if (!met) summaryread_walk_error(path, "is a directory, not a notebook", s);
    return 0;
}

/* A NOTEBOOK argument shown: '-', a notebook, or a folder walked (one without
 * notebooks said, as ingest says it, exit 0 still); nonzero to stop the run. */
static int summarize_argument(const char *path, struct summary *s)
{
    if (!strcmp(path, "-")) return summaryread_notebook(path, path, s);
    struct stat st;
    int dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
    if (dir && nb_is_notebook_name(path)) return say_folder_named_notebook(path, s);
    long seen = s->seen, said = s->said;
    int rc = nb_walk(path, summaryread_notebook, summaryread_walk_error, s);
    /* most often the wrong folder: said, as ingest says it (exit 0 still) */
    if (!rc && dir && s->seen == seen && s->said == said &&
        summarywindow_message(s, 0, "%s: no notebooks (.ipynb) found%s", path, nb_walk_unfollowed()))
        nb_say(stderr, "nbstage summary: %s: no notebooks (.ipynb) found%s", path, nb_walk_unfollowed());
    return rc;
}

/* The NOTEBOOK arguments shown in order, the window flushed at the end; nonzero when
 * the run stopped early. */
static int summarize_arguments(int argc, char **argv, struct summary_run *r)
{
    int rc = 0;
    for (int a = r->first; a < argc && !rc; a++) rc = summarize_argument(argv[a], &r->s);
    if (!rc) rc = summarywindow_flush(&r->s);
    return rc;
}

/* The --svg picture written after a run that went through (RC 0), or left alone when
 * there is no map to draw; RC, or -1 when it could not be written. */
static int write_svg(struct summary_run *r, int rc)
{
    struct summary *s = &r->s;
    if (!rc && r->svg && !s->svg_only && !s->n) {
        /* a picture of nothing would replace the last good one: a notebook broken at the
         * moment, and as much a folder given by mistake (no notebooks in it) or notebooks
         * none of which is Python */
        nb_say(stderr, "nbstage summary: %s: not written (%s)", r->svg,
               s->errors ? "no notebook could be read" : "no stage map to draw");
    } else if (!rc && r->svg && summarysvg_write(r->svg, s)) {
        rc = -1;
    }
    return rc;
}

/* Frees what R's steps allocated. */
static void summary_run_free(struct summary_run *r)
{
    summarysvg_free(&r->s);
    free(r->s.pending);
    fileonce_free(&r->s.met);
    cellscan_free(&r->s.scan);
    tagbatch_free(r->s.batch);
    classcache_free(r->cache);
    model_free(r->model);
}

/* The exit code, stdout flushed: 2 when it could not be written (said), when the run
 * stopped (RC) or a notebook could not be read, else 0. */
static int exit_code(const struct summary_run *r, int rc)
{
    if (fflush(stdout) || ferror(stdout)) {
        int e = r->s.out_errno ? r->s.out_errno : errno ? errno : EIO;
        nb_say(stderr, "nbstage summary: <stdout>: write error: %s", strerror(e));
        return EXIT_USAGE;
    }
    return (rc || r->s.errors) ? EXIT_USAGE : EXIT_OK;
}

int cmd_summary(int argc, char **argv)
{
    struct summary_run r = {.when = "auto"};
    int rc = parse_options(argc, argv, &r);
    if (rc >= 0) return rc;
    if (check_options(&r) || check_inputs(argc, argv, &r) || load_model(&r) || start_batches(&r))
        return EXIT_USAGE;
    rc = summarize_arguments(argc, argv, &r);
    rc = write_svg(&r, rc);
    summary_run_free(&r);
    return exit_code(&r, rc);
}
