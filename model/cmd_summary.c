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

static void usage(FILE *to)
{
    fprintf(to,
            "usage: nbstage summary [OPTIONS] NOTEBOOK...\n\n"
            "Shows each notebook's stage map: one block per code cell in order (coloured on\n"
            "a terminal, a letter otherwise: L load, P prep, T train, E evaluate, X explore,\n"
            "I imports, . empty or comments only, ? untagged), the stage sequence with runs\n"
            "compressed, and per-stage cell counts and share of lines of code (lines with\n"
            "more than comments or white space; a stage's share is of the lines in cells\n"
            "with a stage).  Folders are walked for *.ipynb in any case, skipping\n"
            "hidden files and folders, .ipynb_checkpoints among them (a file given by name\n"
            "is read whatever its name, hidden or not); one without notebooks is said on\n"
            "stderr.  A file met again under another name (a symlink to it, or named twice)\n"
            "is shown once, under the name met first.\n"
            "A notebook in another language than Python (metadata.language_info.name, else\n"
            "kernelspec.language: R, Julia, ...; one with neither is Python) gets no map,\n"
            "the model reads Python only: a note on stderr instead (exit 0), and with\n"
            "--json a line {\"notebook\": PATH, \"language\": LANG, \"skipped\": \"not Python\"}.\n"
            "With --saved its saved stages are shown, after the note.\n"
            "NOTEBOOK '-' is standard input (named <stdin>), given once.  On a terminal\n"
            "the blocks (60 a row) and the sequence fit its width (COLUMNS); into a pipe\n"
            "they do not wrap.\n\n"
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
            "                    is left as it was when no notebook could be read)\n"
            "      --color WHEN  auto (default: on a terminal, unless NO_COLOR is set or\n"
            "                    TERM=dumb), always, never (--colour WHEN alike)\n"
            "  -h, --help        this help\n\n"
            "exit: 0 ok, 2 usage error, a notebook or folder that could not be read, or an\n"
            "output (stdout, --svg FILE) that could not be written.\n");
}

int cmd_summary(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"saved", no_argument, NULL, 's'},
        {"json", no_argument, NULL, 'J'},
        {"svg", required_argument, NULL, 'S'},
        {"color", required_argument, NULL, 'C'},
        {"colour", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct summary s = {0};
    const char *model_path = NULL, *svg = NULL, *when = "auto";
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "m:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 's': s.saved = 1; break;
        case 'J': s.json = 1; break;
        case 'S': svg = optarg; break;
        case 'C': when = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: return cmd_usage_error_fn(argv[0], usage);
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "nbstage summary: no NOTEBOOK given\n");
        return cmd_usage_error_fn(argv[0], usage);
    }
    /* a model given and not used is a mistake to say, not to drop, as tag
     * --from-outputs and eval --predictions say it */
    if (s.saved && model_path) {
        fprintf(stderr, "nbstage summary: --saved shows the stages saved in the notebooks: "
                        "no --model with it\n");
        return EXIT_USAGE;
    }
    if (!strcmp(when, "always")) {
        s.color = 1;
    } else if (!strcmp(when, "auto")) {
        const char *term = getenv("TERM"), *no = getenv("NO_COLOR");
        s.color = isatty(STDOUT_FILENO) && !(no && *no) && !(term && !strcmp(term, "dumb"));
    } else if (strcmp(when, "never")) {
        fprintf(stderr, "nbstage summary: --color wants auto, always or never, not '%s'\n",
                when);
        return EXIT_USAGE;
    }
    /* `--svg a.ipynb b.ipynb`, the picture's name forgotten: the picture would replace
     * the notebook a.ipynb */
    if (svg && nb_is_notebook_name(svg)) {
        fprintf(stderr, "nbstage summary: --svg %s: a notebook's name; the picture would "
                        "replace it (give the picture's file, e.g. map.svg)\n", svg);
        return EXIT_USAGE;
    }
    s.columns = summaryshow_columns();
    s.tty = isatty(STDOUT_FILENO);
    s.keep = svg != NULL;
    s.svg_only = svg && !strcmp(svg, "-");
    if (s.svg_only && s.json) {
        fprintf(stderr, "nbstage summary: --json and --svg - would both write to stdout\n");
        return EXIT_USAGE;
    }

    /* '-' as for every command that reads notebooks: once (summary writes none back) */
    if (nb_stdin_rule("nbstage summary", argc - optind, argv + optind, 0)) return EXIT_USAGE;
    /* a --svg that cannot be written is said now, not after the whole run */
    nb_error svg_err;
    if (svg && !s.svg_only && outfile_check(svg, &svg_err)) {
        fprintf(stderr, "nbstage summary: %s\n", svg_err.msg);
        return EXIT_USAGE;
    }
    /* a notebook of another name given (`--svg nb.json nb.json`), or the model (given,
     * NBSTAGE_MODEL's or the shipped one) */
    if (!s.saved && !model_path) model_path = model_default_path();
    for (int a = optind; svg && !s.svg_only && a <= argc; a++) {
        const char *in = a < argc ? argv[a] : model_path;
        if (in && (!strcmp(in, "-") ? outfile_is_stdin(svg) : outfile_same(svg, in))) {
            fprintf(stderr, "nbstage summary: --svg %s and %s are the same file: the picture would replace "
                            "the input\n", svg, strcmp(in, "-") ? in : "the notebook piped in ('-')");
            return EXIT_USAGE;
        }
    }

    nbs_model *model = NULL;
    if (!s.saved) {
        if (!model_path) model_path = model_default_path();
        if (!model_path) {
            fprintf(stderr, "nbstage summary: no model: %s (reinstall nbstage, give --model FILE or set "
                            "NBSTAGE_MODEL, or use --saved)\n", model_default_missing());
            return EXIT_USAGE;
        }
        char why[NB_ERROR_MAX];
        if (!(model = model_load(model_path, why, sizeof why))) {
            fprintf(stderr, "nbstage summary: %s\n", why);
            return EXIT_USAGE;
        }
        s.model = model;
    }
    struct classcache *cache = NULL;
    if (model) {
        /* as tag: a memo of the run's sources, and batches on every CPU */
        cache = classcache_new(model);
        s.batch = cache ? tagbatch_new(model, cache) : NULL;
        s.threads = workers_default();
        if (!s.batch) {
            fprintf(stderr, "nbstage summary: out of memory\n");
            classcache_free(cache);
            model_free(model);
            return EXIT_USAGE;
        }
    }
    int rc = 0;
    for (int a = optind; a < argc && !rc; a++) {
        if (!strcmp(argv[a], "-")) {
            rc = summaryread_notebook(argv[a], argv[a], &s);
            continue;
        }
        struct stat st;
        int dir = stat(argv[a], &st) == 0 && S_ISDIR(st.st_mode);
        if (dir && nb_is_notebook_name(argv[a])) { /* a mistake worth saying, as tag does: */
            int met = fileonce_met(&s.met, argv[a]); /* once a folder */
            if (met < 0) {
                fprintf(stderr, "nbstage summary: %s: out of memory\n", argv[a]);
                summarywindow_flush(&s);
                rc = -1;
                break;
            }
            if (!met) summaryread_walk_error(argv[a], "is a directory, not a notebook", &s);
            continue;
        }
        long seen = s.seen, said = s.said;
        rc = nb_walk(argv[a], summaryread_notebook, summaryread_walk_error, &s);
        /* most often the wrong folder: said, as ingest says it (exit 0 still) */
        if (!rc && dir && s.seen == seen && s.said == said &&
            summarywindow_message(&s, 0, "%s: no notebooks (.ipynb) found%s", argv[a], nb_walk_unfollowed()))
            fprintf(stderr, "nbstage summary: %s: no notebooks (.ipynb) found%s\n", argv[a], nb_walk_unfollowed());
    }
    if (!rc) rc = summarywindow_flush(&s);
    if (!rc && svg && !s.svg_only && !s.n && s.errors) {
        /* a picture of nothing would replace the last good one */
        fprintf(stderr, "nbstage summary: %s: not written (no notebook could be read)\n", svg);
    } else if (!rc && svg && summarysvg_write(svg, &s)) {
        rc = -1;
    }
    summarysvg_free(&s);
    free(s.pending);
    fileonce_free(&s.met);
    cellscan_free(&s.scan);
    tagbatch_free(s.batch);
    classcache_free(cache);
    model_free(model);
    if (fflush(stdout) || ferror(stdout)) {
        int e = s.out_errno ? s.out_errno : errno ? errno : EIO;
        fprintf(stderr, "nbstage summary: <stdout>: write error: %s\n", strerror(e));
        return EXIT_USAGE;
    }
    return (rc || s.errors) ? EXIT_USAGE : EXIT_OK;
}
