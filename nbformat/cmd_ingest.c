/* cmd_ingest.c — `nbstage ingest`: notebooks -> one JSON line per code cell.
 *
 * Owns: the command: options, walking the PATHs, the output file (written by outfile,
 * nbformat/outfile.h: a temporary renamed over -o's file, so a failed run leaves no
 * half a cells.jsonl and the old one as it was), the progress bar and the corpus
 * statistics of the reference study's section 2 on stderr.  Bad notebooks are listed
 * with their reason and skipped (one the walker could not stat, a dangling symlink,
 * too): one broken file never stops a corpus, the others' cells are written, and the
 * exit is 2 as for tag, summary and fmt; a PATH with no notebook in it is said, not
 * fatal.  A notebook that is not Python (nbformat/nblang.h) is skipped and counted.
 * Two notebooks that would share an id (found under two PATHs, or named in bytes that
 * differ only where they are not UTF-8: ids are written losslessly, \udcXX, but read
 * back as U+FFFD by jansson) stop the run before anything is written; a file met
 * again under another name (a symlink, named twice) is skipped.  Control characters in
 * the names it prints are escaped (nb_say).  The per-notebook work is nbformat/ingest.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "model/commands.h"
#include "nbformat/clock.h"
#include "nbformat/cpus.h"
#include "nbformat/fileonce.h"
#include "nbformat/ingest.h"
#include "nbformat/notebook.h"
#include "nbformat/outfile.h"
#include "nbformat/progress.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: nbstage ingest [-o cells.jsonl] [-j N] [-q] PATH...\n\n"
            "Walks each PATH (a notebook, read whatever its name, or a folder, recursively\n"
            "for *.ipynb in any case, in name order, skipping hidden files and folders,\n"
            ".ipynb_checkpoints among them, not following symlinked folders) and writes\n"
            "one JSON line per code cell:\n"
            "  {\"id\": \"<path relative to PATH>#<k>\", \"notebook\": \"<path relative to PATH>\",\n"
            "   \"index\": k, \"execution_count\": n|null, \"source\": \"...\"}\n"
            "k counts the notebook's code cells from 0, dropped ones included.  A byte of a\n"
            "file name that is not UTF-8 is written \\udcXX, as Python's json writes\n"
            "os.fsdecode(name): json.loads and os.fsencode give the name back.  Empty and\n"
            "comment-only cells are dropped (and counted).  nbformat 4 and 3 are read.\n"
            "A notebook in another language than Python (metadata.language_info.name, else\n"
            "kernelspec.language: R, Julia, ...; one with neither is Python) is skipped,\n"
            "its cells not written, and counted in the statistics.\n"
            "Two notebooks that would get one id (the same path under two PATHs, or file\n"
            "names that differ only in bytes that are not UTF-8, which label, train, eval\n"
            "and classify read as U+FFFD) are an error: give the folder that holds both,\n"
            "or rename them.  A file met again under another name\n"
            "(a symlink to a notebook read, one named twice, a folder bind-mounted at a\n"
            "second path) is skipped, its cells not written twice under two ids, and\n"
            "counted in the statistics.  PATH '-' is standard input (named <stdin>, its\n"
            "cells' ids <stdin>#k), given once.\n\n"
            "Statistics go to stderr: notebooks, groups (top-level folders under PATH),\n"
            "cells, means, dropped and duplicate cells, and each bad notebook with its\n"
            "reason.  A notebook that cannot be read (bad JSON, a dangling symlink) or a\n"
            "folder under PATH that cannot be read is named and skipped: the cells of all\n"
            "the others are still written (-o's file too), then the exit is 2.  A PATH\n"
            "without notebooks is said, even with -q.\n\n"
            "options:\n"
            "  -o, --output FILE  the lines to FILE (atomically) instead of stdout ('-')\n"
            "  -j, --jobs N       worker threads, 1 to 256 (default: the CPUs it may use, at\n"
            "                     most 8); the output is the same for any N\n"
            "  -q, --quiet        no statistics (bad notebooks are still listed)\n"
            "  -h, --help         this help\n\n"
            "exit: 0 done (also with no notebooks), 2 usage or I/O error: some notebook or\n"
            "folder could not be read (the others written), or a missing PATH, an\n"
            "unwritable output, two notebooks with one id (these leave -o's file as it was).\n");
}

/* ---------------------------------------------------------------- the work list */

struct walk_ctx {
    struct ingest_item *items;
    int *arg; /* which PATH each item came from: groups are per PATH */
    size_t n, cap;
    int cur_arg;
    const char *cur_path; /* the PATH being walked */
    int io_errors;   /* folders under a PATH that could not be read: input not read */
    int path_errors; /* PATHs that could not be walked (missing): nothing committed */
    int oom;
    struct fileonce met; /* the files listed: one met again is skipped */
    long again;          /* how many */
};

/* One notebook onto the list: PATH to open, REL its id's first half. */
static int add_item(struct walk_ctx *c, const char *path, const char *rel)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        struct ingest_item *p = realloc(c->items, cap * sizeof *p);
        if (p) c->items = p;
        int *a = realloc(c->arg, cap * sizeof *a);
        if (a) c->arg = a;
        if (!p || !a) { c->oom = 1; return -1; }
        c->cap = cap;
    }
    struct ingest_item *it = &c->items[c->n];
    it->path = strdup(path);
    it->rel = strdup(rel); /* bytes: written losslessly (nb_json_path) */
    it->why = NULL;
    c->arg[c->n] = c->cur_arg;
    c->n++;
    if (!it->path || !it->rel) { c->oom = 1; return -1; }
    return 0;
}

static int collect(const char *path, const char *rel, void *vctx)
{
    struct walk_ctx *c = vctx;
    /* a file met again under another name (a symlink beside it, named twice) would
     * be its cells again under other ids, weighing twice in training: skipped, and
     * counted in the statistics (nbformat/fileonce.h, as tag, fmt and summary take it) */
    int met = fileonce_met(&c->met, path);
    if (met) {
        if (met > 0) {
            c->again++;
            return 0;
        }
        c->oom = 1;
        return -1;
    }
    return add_item(c, path, rel);
}

/* PATH names a *.ipynb file, the suffix in any case as the walk takes it (not a bare
 * ".ipynb"). */
static int is_notebook_name(const char *path)
{
    size_t n = strlen(path);
    return n > 6 && nb_is_notebook_name(path) && path[n - 7] != '/';
}

/* A notebook the walker found but could not stat (a dangling symlink, a symlink
 * loop, a file gone since the folder was read) or that is no regular file (a FIFO,
 * which open() would wait on) is a bad notebook like one that cannot be opened: listed
 * with the walker's reason by the worker, which does not open it, and skipped, the
 * rest still written.
 * A folder under a PATH that cannot be read is input not read, as a bad notebook is
 * (exit 2, the rest written); a PATH that does not exist or cannot be walked at all
 * (most often a typo) leaves -o's old file. */
static void walk_error(const char *path, const char *reason, void *vctx)
{
    struct walk_ctx *c = vctx;
    struct stat st;
    size_t pl = strlen(c->cur_path);
    if (strcmp(path, c->cur_path) && !strncmp(path, c->cur_path, pl) && is_notebook_name(path) &&
        !(lstat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
        const char *rel = path + pl;
        size_t n = c->n;
        if (pl && c->cur_path[pl - 1] != '/' && *rel == '/') rel++;
        collect(path, rel, c);
        if (c->n > n && !(c->items[n].why = strdup(reason))) c->oom = 1;
        return;
    }
    nb_say(stderr, "nbstage ingest: %s: %s", path, reason);
    if (!strcmp(path, c->cur_path)) c->path_errors++;
    else c->io_errors++;
}

static void free_items(struct walk_ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->items[i].path);
        free(c->items[i].rel);
        free(c->items[i].why);
    }
    free(c->items);
    free(c->arg);
    fileonce_free(&c->met);
}

/* The group of a notebook: its top-level folder under the PATH given (the PATH
 * itself for a notebook directly in it). */
static size_t group_len(const char *rel)
{
    const char *slash = strchr(rel, '/');
    return slash ? (size_t)(slash - rel) : 0;
}

/* Distinct (PATH, top folder) pairs of the notebooks read (READ[i]), the notebooks
 * right in PATH one group: they sort among its folders, so a set, not runs. */
static const struct walk_ctx *grp_ctx;
static int cmp_group(const void *a, const void *b)
{
    const struct walk_ctx *c = grp_ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (c->arg[x] != c->arg[y]) return c->arg[x] < c->arg[y] ? -1 : 1;
    const char *r = c->items[x].rel, *q = c->items[y].rel;
    size_t lr = group_len(r), lq = group_len(q);
    int k = memcmp(r, q, lr < lq ? lr : lq);
    return k ? k : (lr > lq) - (lr < lq);
}

static long count_groups(const struct walk_ctx *c, const unsigned char *read)
{
    if (!read) return 0; /* its calloc failed: nothing was read (ingest_notebooks) */
    size_t *ix = malloc((c->n ? c->n : 1) * sizeof *ix), m = 0;
    if (!ix) return 0;
    for (size_t i = 0; i < c->n; i++)
        if (read[i]) ix[m++] = i;
    grp_ctx = c;
    qsort(ix, m, sizeof *ix, cmp_group);
    long g = 0;
    for (size_t i = 0; i < m; i++) g += !i || cmp_group(&ix[i - 1], &ix[i]) != 0;
    free(ix);
    return g;
}

/* Ids are relative to each PATH, so notebooks found under two PATHs may share one
 * (`ingest subs/ann subs/bob`: both students' hw1.ipynb#k), and every step after
 * ingest joins cells by id.  Under one PATH too: a byte of a file name that is not
 * UTF-8 is written losslessly (\udcXX, nb_json_path), but label, train, eval and
 * classify read ids with jansson, which holds UTF-8 only and reads it as U+FFFD (as
 * nb_utf8_lossy has it), so caf\xe9.ipynb and caf\xe8.ipynb would both be
 * caf\uFFFD.ipynb to them.  Ids are compared as those steps read them.  Reports each
 * such pair; how many (-1 when out of memory). */
static char **cmp_keys;
static int cmp_rel(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(cmp_keys[x], cmp_keys[y]);
    return c ? c : (x > y) - (x < y);
}

static long shared_ids(const struct walk_ctx *c)
{
    size_t *ix = malloc((c->n ? c->n : 1) * sizeof *ix);
    char **key = calloc(c->n ? c->n : 1, sizeof *key);
    long shared = 0, names = 0;
    for (size_t i = 0; ix && key && i < c->n; i++)
        if (!(key[i] = nb_utf8_lossy(c->items[i].rel))) shared = -1;
    if (!ix || !key || shared < 0) {
        shared = -1;
        goto out;
    }
    for (size_t i = 0; i < c->n; i++) ix[i] = i;
    cmp_keys = key;
    qsort(ix, c->n, sizeof *ix, cmp_rel);
    for (size_t i = 1; i < c->n; i++) {
        const struct ingest_item *a = &c->items[ix[i - 1]], *b = &c->items[ix[i]];
        if (strcmp(key[ix[i - 1]], key[ix[i]])) continue;
        int same_path = c->arg[ix[i - 1]] == c->arg[ix[i]];
        names += same_path;
        if (shared++ < 10)
            nb_say(stderr, "nbstage ingest: %s and %s both give the id %s#k%s", a->path, b->path,
                    key[ix[i]], same_path ? " (a file name that is not UTF-8)" : "");
    }
    if (shared > names)
        nb_say(stderr, "nbstage ingest: %ld id%s given twice: ids are paths relative to the PATH "
                        "given, so give the folder that holds these notebooks as one PATH",
                shared - names, shared - names == 1 ? "" : "s");
    if (names)
        nb_say(stderr, "nbstage ingest: %ld id%s given twice: a byte of a file name that is not "
                        "UTF-8 (\\udcXX in the id) is U+FFFD to label, train, eval and classify, "
                        "so rename these notebooks (UTF-8 names)",
                names, names == 1 ? "" : "s");
out:
    for (size_t i = 0; key && i < c->n; i++) free(key[i]);
    free(key);
    free(ix);
    return shared;
}

/* ---------------------------------------------------------------- output */

struct sink_ctx {
    FILE *out;
    struct progress *bar;
    const struct ingest_stats *st; /* the run's totals, item I counted when the sink sees it */
    long notebooks;                /* st->notebooks at the sink's last call */
    unsigned char *read;           /* [n] item I was read as a notebook (not bad, not skipped) */
    char **bad;
    size_t nbad;
    int write_errno;
};

static int sink(size_t i, const char *lines, size_t len, const char *error, void *vctx)
{
    struct sink_ctx *s = vctx;
    if (s->st->notebooks > s->notebooks) {
        s->read[i] = 1;
        s->notebooks = s->st->notebooks;
    }
    if (error) { /* said after the output is settled; now, if it cannot be kept */
        char **p = realloc(s->bad, (s->nbad + 1) * sizeof *p);
        if (p) s->bad = p;
        if (!p || !(p[s->nbad] = strdup(error)))
            nb_say(stderr, "nbstage ingest: bad notebook skipped: %s", error);
        else
            s->nbad++;
    }
    if (len && fwrite(lines, 1, len, s->out) != len) {
        s->write_errno = errno ? errno : EIO;
        return 1;
    }
    progress_update(s->bar, (long)i + 1);
    return 0;
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0; }

static void print_stats(const struct ingest_stats *st, long groups, long again, double secs)
{
    nb_say(stderr, "nbstage ingest: %ld notebook%s in %ld group%s (%.1f notebooks per group), %ld bad",
           st->notebooks, st->notebooks == 1 ? "" : "s", groups, groups == 1 ? "" : "s",
           ratio((double)st->notebooks, (double)groups), st->bad);
    if (again)
        nb_say(stderr, "nbstage ingest: %ld notebook%s skipped, met again under another name (a symlink "
                       "to a notebook read, one named twice, a bind mount)",
               again, again == 1 ? "" : "s");
    if (st->not_python.total) { /* the line whole, in one write(2) (nb_line_begin) */
        struct nb_line line;
        FILE *to = nb_line_begin(&line, stderr);
        fprintf(to, "nbstage ingest: %ld notebook%s skipped, not Python (", st->not_python.total,
                st->not_python.total == 1 ? "" : "s");
        nb_lang_tally_print(to, &st->not_python);
        fputs("): the rules and the model read Python\n", to);
        nb_line_end(&line);
    }
    fprintf(stderr,
            "nbstage ingest: %ld code cells, %ld kept: %.1f cells per notebook, %.1f lines per cell\n"
            "nbstage ingest: dropped %ld empty and %ld comment-only cells\n"
            "nbstage ingest: %ld exact-duplicate cells (%.1f%% of kept); %ld one-cell notebooks, "
            "%ld with no cell kept\n"
            "nbstage ingest: %.1f MB in %.2f s: %.0f notebooks/s, %.1f MB/s\n",
            st->code_cells, st->kept, ratio((double)st->kept, (double)st->notebooks),
            ratio((double)st->lines, (double)st->kept), st->dropped_empty, st->dropped_comment,
            st->duplicates, 100.0 * ratio((double)st->duplicates, (double)st->kept),
            st->one_cell_notebooks, st->empty_notebooks, (double)st->bytes / 1e6, secs,
            ratio((double)(st->notebooks + st->bad), secs), ratio((double)st->bytes / 1e6, secs));
}

/* ---------------------------------------------------------------- the command */

/* One run of ingest: its options and what its steps hand each other, all freed
 * together (ingest_call_free; a member is zeroed until its step fills it). */
struct ingest_call {
    const char *outpath; /* -o's file; NULL for stdout ('-') */
    int quiet, jobs;
    double t0;           /* the walk's start: the statistics' time */
    struct walk_ctx wc;  /* the notebooks to read */
    FILE *out;           /* stdout or -o's temporary */
    struct outfile of;
    struct progress bar;
    struct ingest_stats st;
    struct sink_ctx sc;  /* the notebooks read and the bad ones' reasons */
    int rc;
    int written;         /* the output is in place (stdout, or -o committed) */
};

static void ingest_call_free(struct ingest_call *r)
{
    for (size_t i = 0; i < r->sc.nbad; i++) free(r->sc.bad[i]);
    free(r->sc.bad);
    free(r->sc.read);
    free_items(&r->wc);
}

/* -o, -j, -q and -h into R.  The exit code to stop with, or -1 to go on. */
static int parse_options(int argc, char **argv, struct ingest_call *r)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"jobs", required_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    char *end;
    r->jobs = cpus_usable_up_to(8);
    optind = 0; /* glibc: a full re-initialisation, so tests may call us twice */
    while ((c = getopt_long(argc, argv, "o:j:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': r->outpath = strcmp(optarg, "-") ? optarg : NULL; break; /* '-': stdout */
        case 'j': {
            /* range-checked as a long: cast first, 4294967297 was 1 */
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (errno || *end || v < 1 || v > 256) {
                nb_say(stderr, "nbstage ingest: -j wants a number of threads from 1 to 256, not '%s'", optarg);
                return EXIT_USAGE;
            }
            r->jobs = (int)v;
            break;
        }
        case 'q': r->quiet = 1; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: return cmd_usage_error_fn(argv[0], usage);
        }
    }
    if (optind >= argc) {
        nb_say(stderr, "nbstage ingest: no PATH given");
        return cmd_usage_error_fn(argv[0], usage);
    }
    return -1;
}

/* The PATHs and -o refused before any is read: '-' twice, -o a notebook or an input.
 * -1 with the reason said. */
static int check_paths(int argc, char **argv, const char *outpath)
{
    /* '-' as for every command that reads notebooks: standard input, once */
    if (nb_stdin_rule("nbstage ingest", argc - optind, argv + optind, 0)) return -1;
    /* -o over a notebook (`ingest a.ipynb -o a.ipynb`, the output's name forgotten):
     * its cells' lines would replace it, exit 0.  A notebook's name anywhere, as the
     * walk takes any file of that name; a PATH given (or piped in) whatever its name. */
    if (outpath && nb_is_notebook_name(outpath)) {
        nb_say(stderr, "nbstage ingest: -o %s: a notebook's name; the cells' lines would replace it "
                       "(give the lines' file, e.g. cells.jsonl)", outpath);
        return -1;
    }
    for (int a = optind; outpath && a < argc; a++)
        if (!strcmp(argv[a], "-") ? outfile_is_stdin(outpath) : outfile_same(outpath, argv[a])) {
            nb_say(stderr, "nbstage ingest: -o %s and %s%s are the same file: the output would replace "
                           "the input", outpath, strcmp(argv[a], "-") ? "PATH " : "the notebook piped in ",
                   strcmp(argv[a], "-") ? argv[a] : "('-')");
            return -1;
        }
    return 0;
}

/* The notebooks of PATH (argv[A]) onto WC's list; a PATH without any said. */
static void walk_path(struct walk_ctx *wc, int a, const char *path)
{
    wc->cur_arg = a;
    wc->cur_path = path;
    if (!strcmp(path, "-")) { /* one notebook, its ids <stdin>#k */
        add_item(wc, "-", "<stdin>");
        return;
    }
    size_t before = wc->n;
    int errors = wc->io_errors + wc->path_errors;
    long again = wc->again;
    struct stat st;
    if (is_notebook_name(path) && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        /* a folder named like a notebook (any case) given by name: a bad notebook
         * the worker names, as tag, fmt and summary refuse it, not a folder walked */
        const char *slash = strrchr(path, '/');
        collect(path, slash ? slash + 1 : path, wc);
        return;
    }
    nb_walk(path, collect, walk_error, wc);
    /* A folder without notebooks is no error (exit 0, no lines), but most often
     * the wrong folder: said even with -q, as bad notebooks are. */
    if (wc->n == before && wc->io_errors + wc->path_errors == errors && wc->again == again &&
        !wc->oom)
        nb_say(stderr, "nbstage ingest: %s: no notebooks (.ipynb) found%s", path, nb_walk_unfollowed());
}

/* Every PATH's notebooks onto R's list, timed from here.  -1 with the reason said
 * (out of memory). */
static int walk_paths(int argc, char **argv, struct ingest_call *r)
{
    r->t0 = nb_now();
    for (int a = optind; a < argc && !r->wc.oom; a++) walk_path(&r->wc, a, argv[a]);
    if (r->wc.oom) {
        nb_say(stderr, "nbstage ingest: out of memory");
        return -1;
    }
    return 0;
}

/* No two notebooks on WC's list with one id.  -1 with the pairs (or no memory) said. */
static int check_ids(const struct walk_ctx *wc)
{
    /* one PATH's walk gives each notebook its own relative path, but not its own id
     * when a name is not UTF-8 */
    long shared = wc->n > 1 ? shared_ids(wc) : 0;
    if (shared) {
        if (shared < 0) nb_say(stderr, "nbstage ingest: out of memory");
        return -1;
    }
    return 0;
}

/* R's output: stdout, or -o's temporary.  -1 with the reason said. */
static int open_output(struct ingest_call *r)
{
    /* -o: written atomically (outfile: a temporary renamed over OUTPATH once complete,
     * a device or FIFO written straight into); an error leaves the old file. */
    nb_error oe;
    r->out = stdout;
    if (r->outpath) {
        if (outfile_open(&r->of, r->outpath, &oe)) {
            nb_say(stderr, "nbstage ingest: %s", oe.msg);
            return -1;
        }
        r->out = r->of.f;
    }
    return 0;
}

/* Every notebook on the list read and its lines written, under the progress bar;
 * R's rc EXIT_USAGE when the run could not be done. */
static void ingest_notebooks(struct ingest_call *r)
{
    progress_start(&r->bar, "ingest", (long)r->wc.n, r->quiet);
    r->sc = (struct sink_ctx){.out = r->out, .bar = &r->bar, .st = &r->st,
                              .read = calloc(r->wc.n ? r->wc.n : 1, 1)};
    r->rc = EXIT_OK;
    int res = r->sc.read ? ingest_run(r->wc.items, r->wc.n, r->jobs, sink, &r->sc, &r->st) : -1;
    progress_end(&r->bar);
    if (res < 0) {
        nb_say(stderr, "nbstage ingest: out of memory or threads");
        r->rc = EXIT_USAGE;
    }
}

/* The output flushed, and -o committed or, after any error, left as it was; R's rc
 * and written say how it went. */
static void settle_output(struct ingest_call *r)
{
    struct sink_ctx *sc = &r->sc;
    nb_error oe;
    if (r->wc.path_errors) r->rc = EXIT_USAGE;
    if (!r->outpath && !sc->write_errno && (fflush(r->out) || ferror(r->out)))
        sc->write_errno = errno ? errno : EIO;
    if (sc->write_errno) {
        nb_say(stderr, "nbstage ingest: %s: write error: %s", r->outpath ? r->outpath : "<stdout>",
                strerror(sc->write_errno));
        r->rc = EXIT_USAGE;
    }
    /* Input that could not be read (bad notebooks, a folder or PATH that could not be
     * walked) is exit 2, as for tag, summary and fmt, but after every other notebook's
     * cells are written: -o is committed all the same.  An output that failed, no
     * memory, or a PATH that could not be walked leaves -o's old file. */
    if (r->outpath && r->rc != EXIT_OK) {
        outfile_abort(&r->of);
    } else if (r->outpath && outfile_commit(&r->of, &oe)) {
        nb_say(stderr, "nbstage ingest: %s", oe.msg);
        r->rc = EXIT_USAGE;
    }
    r->written = r->rc == EXIT_OK;
}

/* Each bad notebook kept by the sink, with its reason. */
static void say_bad_notebooks(const struct sink_ctx *sc)
{
    for (size_t i = 0; i < sc->nbad; i++)
        nb_say(stderr, "nbstage ingest: bad notebook skipped: %s", sc->bad[i]);
}

/* The reason for exit 2 when some input could not be read, said even with -q (the
 * bad notebooks are); R's rc EXIT_USAGE then. */
static void say_unread(struct ingest_call *r)
{
    const struct ingest_stats *st = &r->st;
    int io_errors = r->wc.io_errors;
    if (!st->bad && !io_errors) return;
    char what[96];
    if (st->bad && io_errors)
        snprintf(what, sizeof what, "%ld notebook%s and %d folder%s", st->bad,
                 st->bad == 1 ? "" : "s", io_errors, io_errors == 1 ? "" : "s");
    else if (st->bad)
        snprintf(what, sizeof what, "%ld notebook%s", st->bad, st->bad == 1 ? "" : "s");
    else
        snprintf(what, sizeof what, "%d folder%s", io_errors, io_errors == 1 ? "" : "s");
    if (r->written)
        nb_say(stderr, "nbstage ingest: %s could not be read (named above); the cells of the "
                       "%ld notebook%s read are written%s%s", what, st->notebooks,
                st->notebooks == 1 ? "" : "s", r->outpath ? " to " : "", r->outpath ? r->outpath : "");
    else
        nb_say(stderr, "nbstage ingest: %s could not be read (named above)", what);
    r->rc = EXIT_USAGE;
}

int cmd_ingest(int argc, char **argv)
{
    struct ingest_call r;
    memset(&r, 0, sizeof r);
    int stop = parse_options(argc, argv, &r);
    if (stop >= 0) return stop;
    if (check_paths(argc, argv, r.outpath) < 0) return EXIT_USAGE;
    if (walk_paths(argc, argv, &r) < 0 || check_ids(&r.wc) < 0 || open_output(&r) < 0) {
        ingest_call_free(&r);
        return EXIT_USAGE;
    }
    ingest_notebooks(&r);
    settle_output(&r); /* -o committed (or left) before anything more is said */
    say_bad_notebooks(&r.sc);
    if (!r.quiet) print_stats(&r.st, count_groups(&r.wc, r.sc.read), r.wc.again, nb_now() - r.t0);
    say_unread(&r);
    ingest_call_free(&r);
    return r.rc;
}
