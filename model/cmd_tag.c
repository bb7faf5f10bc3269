/* cmd_tag.c — `nbstage tag`: write stage tags into saved notebooks.
 *
 * Owns: the command: its options and --help, the model and the run's memo
 * (model/classcache.h), the summary (notebooks left alone as not Python among its
 * counts, by language), and the exit code.  The work is done by:
 *   model/tagfind.h  the notebooks the PATH arguments name;
 *   model/tagrun.h   the run over them: windows read and classified ahead, worker
 *                    threads behind the -j compute gate, the reports in the order
 *                    given, Ctrl-C, the final sync;
 *   model/tagjob.h   one notebook: read, tagged (fast path or jansson), reported,
 *                    saved atomically in the layout `nbstage fmt` writes;
 *   model/fssync.h   one syncfs per filesystem written to, instead of an fsync per
 *                    file (so a successful exit means every rewritten file is on disk);
 *   model/closers.h  the replaced files' last closes, off the saving threads.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/classcache.h"
#include "model/commands.h"
#include "model/model.h"
#include "model/tagfind.h"
#include "model/tagrun.h"
#include "model/workers.h"
#include "nbformat/clock.h"
#include "nbformat/notebook.h"
#include "nbformat/outfile.h"
#include "nbformat/sharefile.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: nbstage tag [OPTIONS] PATH...\n\n"
            "Classifies every code cell of every notebook (PATH: files, read whatever\n"
            "their name, or folders walked recursively for *.ipynb in any case, skipping\n"
            "hidden files and folders, .ipynb_checkpoints among them) and writes the\n"
            "stage into the cell's metadata:\n"
            "metadata.workflow_stage = {\"stage\", \"confidence\", \"model\"} and a\n"
            "\"stage:<key>\" entry in metadata.tags (an older stage: tag is replaced, other\n"
            "tags are kept).  Empty and comment-only cells get no tag and lose a stale\n"
            "one.  Files are rewritten in place, atomically, in the layout `nbstage fmt`\n"
            "writes; a file that would not change is not touched.\n"
            "A notebook that cannot be read or written is reported and left alone.  A file\n"
            "met again under another name (a symlink to it, or named twice) is passed over:\n"
            "listed and written once, under the name met first.  A folder without\n"
            "notebooks is said on stderr (exit 0).\n"
            "A notebook in another language than Python (metadata.language_info.name, else\n"
            "kernelspec.language: R, Julia, Scala, SQL...; one with neither is Python) is\n"
            "skipped, left byte for byte as it is, and counted in the summary (and listed,\n"
            "without -q, or with --dry-run): the model reads Python only.  Not a finding\n"
            "for --check.  To -o or standard output it is written as it came.  With\n"
            "--from-outputs, which uses no model, every language is tagged.\n"
            "PATH '-' is standard input (named <stdin>), given once; its notebook is\n"
            "written to standard output, so '-' is then the only PATH (with --check or\n"
            "--dry-run, which write no notebook, it may come with others).\n\n"
            "options:\n"
            "  -m, --model FILE      the model (default: the shipped one; NBSTAGE_MODEL)\n"
            "  -o, --output FILE     write the single notebook given to FILE ('-': stdout)\n"
            "      --check           change nothing; list notebooks whose tags are missing\n"
            "                        or stale (not for a confidence or model change alone:\n"
            "                        a refresh, which the cells' line counts apart) and,\n"
            "                        with --strip-tag-outputs, those with tag outputs\n"
            "  -n, --dry-run         change nothing; say what would change, per cell (named\n"
            "                        path#index, code cells from 0, as ingest and label do)\n"
            "      --from-outputs    take each cell's stage from the live tag output the\n"
            "                        stage kernel left in it (no model needed): the stage\n"
            "                        of the code as it last ran; cells without one keep\n"
            "                        their tags, and so do cells whose one cannot be read\n"
            "                        (each named on stderr)\n"
            "      --strip-tag-outputs  remove the stage kernel's live tag outputs (those\n"
            "                        that cannot be read too)\n"
            "      --nbformat        also as nbformat.write: multi-line text as lists of\n"
            "                        lines, transient fields dropped (`fmt --nbformat`)\n"
            "      --any-language    tag notebooks that are not Python too (their stages\n"
            "                        are the Python model's guesses, most often wrong)\n"
            "  -j, --jobs N          notebooks read and classified at once, 1 to 1024\n"
            "                        (default: one per CPU); more than the CPUs may help\n"
            "                        while some wait on the disk in a save\n"
            "  -q, --quiet           only errors and findings (and when some failed, one line\n"
            "                        counting the notebooks)\n"
            "  -h, --help            this help\n\n"
            "exit: 0 done (or nothing stale), 1 --check found missing or stale tags,\n"
            "2 usage error, or some notebook (or folder) could not be read or written.\n");
}

/* BRIEF (-q): the notebooks' line alone, which says what failed or was not done. */
static void put_summary(FILE *to, const struct tagrun *r, double secs, int threads, int brief)
{
    const struct tagjob_options *o = &r->opt;
    long total = r->rewritten + r->unchanged + r->failed + r->skipped + r->not_python.total;
    if (o->check) {
        fprintf(to, "nbstage tag: %ld notebook%s: %ld with missing or stale tags%s, %ld failed",
                total, total == 1 ? "" : "s", r->with_findings,
                o->strip_outputs ? " or tag outputs" : "", r->failed);
    } else {
        fprintf(to, "nbstage tag: %ld notebook%s: %ld %s, %ld unchanged, %ld failed", total,
                total == 1 ? "" : "s", r->rewritten, o->dry_run ? "to rewrite" : "rewritten", r->unchanged, r->failed);
    }
    if (r->not_python.total) {
        fprintf(to, ", %ld skipped as not Python (", r->not_python.total);
        nb_lang_tally_print(to, &r->not_python);
        fputs("; --any-language tags them)", to);
    }
    if (r->folders_failed)
        fprintf(to, ", %ld folder%s could not be read", r->folders_failed, r->folders_failed == 1 ? "" : "s");
    if (r->skipped) fprintf(to, ", %ld not done (interrupted)", r->skipped);
    if (r->sync_failed)
        fprintf(to, ", %ld filesystem%s failed to sync", r->sync_failed,
                r->sync_failed == 1 ? "" : "s");
    if (brief) { fputc('\n', to); return; }
    fprintf(to, "\nnbstage tag: %ld code cell%s: %ld tagged, %ld blank", r->code_cells,
            r->code_cells == 1 ? "" : "s", r->tagged, r->blank);
    if (o->from_outputs) {
        fprintf(to, ", %ld without a tag output", r->kept - r->unreadable);
        if (r->unreadable) fprintf(to, " and %ld with an unreadable one", r->unreadable);
        fputs(" (kept)", to);
    }
    fprintf(to, "; %ld cell tag%s %s", r->changed_cells, r->changed_cells == 1 ? "" : "s",
            (o->check || o->dry_run) ? "would change" : "changed");
    /* a refresh (the same stage, an older model's name or another confidence) is no
     * --check finding, by design: "0 with missing or stale tags" above "7 cell tags
     * would change" read as a contradiction until the 7 were said to be refreshes */
    if (r->refreshed) {
        int one = r->refreshed == 1;
        if (r->changed_cells == 1) fputs(", a refresh", to);
        else if (one) fputs(", 1 of them a refresh", to);
        else fprintf(to, ", %ld of them refreshes", r->refreshed);
        fprintf(to, " (the same stage, a new model name or confidence%s)",
                !o->check ? "" : one ? ": not a finding" : ": not findings");
    }
    if (o->strip_outputs)
        fprintf(to, "; %ld tag output%s %s", r->stripped, r->stripped == 1 ? "" : "s",
                (o->check || o->dry_run) ? "would be removed" : "removed");
    fprintf(to, "\nnbstage tag:");
    long pct[N_STAGES]; /* whole percents totalling 100, as summary's shares */
    stage_shares(r->per_stage, 100, pct);
    for (int s = 0; s < N_STAGES; s++)
        fprintf(to, " %s %ld (%ld%%)%s", stage_key[s], r->per_stage[s], pct[s], s + 1 < N_STAGES ? "," : "");
    /* how the run went: its rates and the most threads at work at once; none when no
     * notebook was read (all failed before: missing paths), "0 threads" then */
    if (!threads) {
        fprintf(to, "\nnbstage tag: %.2f s, no notebook read, %s\n", secs,
                o->from_outputs ? "stages from tag outputs" : model_name(o->model));
        return;
    }
    fprintf(to, "\nnbstage tag: %.2f s, %.1f notebooks/s, %.0f cells/s, %d thread%s, %s",
            secs, secs > 0 ? (double)(total - r->skipped) / secs : 0.0, /* those done */
            secs > 0 ? (double)r->code_cells / secs : 0.0, threads, threads == 1 ? "" : "s",
            o->from_outputs ? "stages from tag outputs" : model_name(o->model));
    /* how the work was done: notebooks spliced without a tree (tagfast.h), cells
     * answered by the run's memo (classcache.h) */
    long hits, misses;
    classcache_stats(o->cache, &hits, &misses);
    fprintf(to, "; %ld spliced", r->spliced);
    if (o->cache) fprintf(to, ", %ld of %ld classifications memoised", hits, hits + misses);
    fputc('\n', to);
}

/* The summary whole, in one write(2) (nb_line_begin): it is made of many pieces, and
 * on the unbuffered stderr each was a write another process's output could split. */
static void print_summary(const struct tagrun *r, double secs, int threads, int brief)
{
    struct nb_line line;
    put_summary(nb_line_begin(&line, stderr), r, secs, threads, brief);
    nb_line_end(&line);
}

static int parse_jobs(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 1024) return -1;
    *out = (int)v;
    return 0;
}

/* One tag run: its options, what its steps hand each other, and the run over the
 * notebooks (model/tagrun.h); a member is zeroed until its step fills it. */
struct tag_call {
    struct tagrun r;           /* the options, the jobs, the counts */
    const char *model_path;    /* --model, else the default once looked up */
    int first;                 /* argv's first PATH */
    nbs_model *model;          /* loaded (not --from-outputs) */
};

/* The options into C, first set to the first PATH; -1 to go on, else the exit code
 * (--help, a usage error said). */
static int parse_options(int argc, char **argv, struct tag_call *c)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'},
        {"check", no_argument, NULL, 'c'},
        {"dry-run", no_argument, NULL, 'n'},
        {"from-outputs", no_argument, NULL, 'F'},
        {"strip-tag-outputs", no_argument, NULL, 'S'},
        {"nbformat", no_argument, NULL, 'N'},
        {"any-language", no_argument, NULL, 'A'},
        {"jobs", required_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct tagjob_options *o = &c->r.opt;
    int ch;
    optind = 0; /* glibc: a full re-initialisation, so tests may call us twice */
    while ((ch = getopt_long(argc, argv, "m:o:nj:qh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'm': c->model_path = optarg; break;
        case 'o': o->output = optarg; break;
        case 'c': o->check = 1; break;
        case 'n': o->dry_run = 1; break;
        case 'F': o->from_outputs = 1; break;
        case 'S': o->strip_outputs = 1; break;
        case 'N': o->nbformat_layout = 1; break;
        case 'A': o->any_language = 1; break;
        case 'q': o->quiet = 1; break;
        case 'j':
            if (parse_jobs(optarg, &o->jobs)) {
                nb_say(stderr, "nbstage tag: -j wants a number of threads from 1 to 1024, "
                               "not '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return EXIT_OK;
        default: return cmd_usage_error_fn(argv[0], usage);
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "nbstage tag: no PATH given\n");
        return cmd_usage_error_fn(argv[0], usage);
    }
    c->first = optind;
    return -1;
}

/* The options checked together, and '-' among the PATHs; -1 said when they do not go
 * together. */
static int check_options(int argc, char **argv, const struct tag_call *c)
{
    const struct tagjob_options *o = &c->r.opt;
    if (o->check + o->dry_run + (o->output != NULL) > 1) {
        fprintf(stderr, "nbstage tag: --check, --dry-run and -o do not go together\n");
        return -1;
    }
    if (o->output && argc - c->first != 1) {
        fprintf(stderr, "nbstage tag: -o takes exactly one notebook\n");
        return -1;
    }
    /* a model given and not used is a mistake to say, not to drop (eval --predictions
     * --model, label --votes --rules are refused alike) */
    if (o->from_outputs && c->model_path) {
        fprintf(stderr, "nbstage tag: --from-outputs takes the stages the kernel left in the outputs: "
                        "no --model with it\n");
        return -1;
    }
    /* '-' as for every command that reads notebooks: once (standard input is read
     * once), and alone where its notebook is written back, to stdout (nb_stdin_rule) */
    if (nb_stdin_rule("nbstage tag", argc - c->first, argv + c->first, !o->check && !o->dry_run))
        return -1;
    return 0;
}

/* -o's checks once the notebooks are found: one notebook, and a FILE that can be
 * written (not a folder, its folder there), said before any work; -1 said. */
static int check_output(char **argv, const struct tag_call *c, const struct tagfind *found)
{
    const char *output = c->r.opt.output;
    if (output && found->n != 1) {
        nb_say(stderr, "nbstage tag: -o takes exactly one notebook; %s is not one", argv[c->first]);
        return -1;
    }
    nb_error oerr;
    if (output && strcmp(output, "-") && outfile_check(output, &oerr)) {
        nb_say(stderr, "nbstage tag: %s", oerr.msg);
        return -1;
    }
    return 0;
}

/* The notebooks the PATHs name, one job each in the order found (the jobs take the
 * paths), and the paths that could not be looked at counted; -1 said. */
static int find_notebooks(int argc, char **argv, struct tag_call *c)
{
    struct tagrun *r = &c->r;
    struct tagfind found = {0};
    /* a run that writes the notebooks in place removes the temporaries of killed saves
     * from the folders it walks (at its end); one that writes none there (--check,
     * --dry-run, -o) names them */
    const struct tagjob_options *o = &r->opt;
    nb_walk_remove_leftovers(!o->check && !o->dry_run && !o->output);
    for (int a = c->first; a < argc; a++)
        if (tagfind_add(&found, argv[a])) goto oom;
    r->failed = found.failed; /* paths that could not be looked at */
    r->folders_failed = found.folders_failed;
    if (check_output(argv, c, &found)) {
        tagfind_free(&found);
        return -1;
    }
    if (found.n && !(r->jobs = calloc(found.n, sizeof *r->jobs))) goto oom;
    for (size_t i = 0; i < found.n; i++) r->jobs[i].path = found.path[i];
    r->n = found.n;
    found.n = 0; /* (the jobs have the paths) */
    tagfind_free(&found);
    return 0;
oom:
    fprintf(stderr, "nbstage tag: out of memory\n");
    tagfind_free(&found);
    return -1;
}

/* The jobs and their paths freed, for a run that ends before tagrun_all. */
static void jobs_free(struct tagrun *r)
{
    for (size_t i = 0; i < r->n; i++) free(r->jobs[i].path);
    free(r->jobs);
}

/* The model loaded (not --from-outputs) with the run's memo; -1 said when there is
 * none, -o would replace it, it cannot be read, or out of memory. */
static int load_model(struct tag_call *c)
{
    struct tagjob_options *o = &c->r.opt;
    if (o->from_outputs) return 0;
    if (!c->model_path) c->model_path = model_default_path();
    if (!c->model_path) {
        char why[NB_ERROR_MAX];
        nb_say(stderr, "nbstage tag: no model: %s",
               share_file_missing("default.nbsm", "or give --model FILE or set NBSTAGE_MODEL", why, sizeof why));
        return -1;
    }
    /* -o over the model (given, NBSTAGE_MODEL's or the shipped one): a notebook
     * written over it, exit 0, and every later run without a model */
    if (o->output && strcmp(o->output, "-") && outfile_same(o->output, c->model_path)) {
        nb_say(stderr, "nbstage tag: -o %s and the model %s are the same file: the output would replace "
                       "the input", o->output, c->model_path);
        return -1;
    }
    char why[NB_ERROR_MAX];
    if (!(c->model = model_load(c->model_path, why, sizeof why))) {
        nb_say(stderr, "nbstage tag: %s", why);
        return -1;
    }
    o->model = c->model;
    if (!(o->cache = classcache_new(c->model))) {
        fprintf(stderr, "nbstage tag: out of memory\n");
        model_free(c->model);
        c->model = NULL;
        return -1;
    }
    return 0;
}

/* The notebooks tagged, and the summary said (with -q only when something failed or
 * was not done), then the folders nb_walk left out. */
static void tag_notebooks(struct tag_call *c)
{
    struct tagrun *r = &c->r;
    double t0 = nb_now();
    int threads = tagrun_all(r);
    double secs = nb_now() - t0;
    if (!r->opt.quiet || r->failed || r->folders_failed || r->skipped || r->sync_failed)
        print_summary(r, secs, threads, r->opt.quiet);
    nb_walk_say_leftovers("nbstage tag");
}

/* Frees what C's steps allocated after the run (tagrun_all has the jobs' paths). */
static void tag_call_free(struct tag_call *c)
{
    classcache_free(c->r.opt.cache);
    model_free(c->model);
    free(c->r.jobs);
}

/* The exit code, stdout flushed: 2 when it could not be written (said unless the run
 * said it), or a notebook, folder or filesystem failed, or the run was interrupted; 1
 * when --check found something; else 0. */
static int exit_code(const struct tagrun *r)
{
    errno = 0;
    if (fflush(stdout) || ferror(stdout)) { /* the reports; a SIGPIPE came: EPIPE */
        int e = errno ? errno : r->stdout_errno ? r->stdout_errno : r->stdout_gone ? EPIPE : EIO;
        if (!r->stdout_said) nb_say(stderr, "nbstage tag: <stdout>: write error: %s", strerror(e));
        return EXIT_USAGE;
    }
    if (r->failed || r->folders_failed || r->skipped || r->sync_failed) return EXIT_USAGE;
    return (r->opt.check && r->with_findings) ? EXIT_FINDINGS : EXIT_OK;
}

int cmd_tag(int argc, char **argv)
{
    struct tag_call c = {.r.opt.jobs = workers_default()};
    int rc = parse_options(argc, argv, &c);
    if (rc >= 0) return rc;
    if (check_options(argc, argv, &c) || find_notebooks(argc, argv, &c)) return EXIT_USAGE;
    if (load_model(&c)) {
        jobs_free(&c.r);
        return EXIT_USAGE;
    }
    tag_notebooks(&c);
    tag_call_free(&c);
    return exit_code(&c.r);
}
