/* cmd_fmt.c — `nbstage fmt`: rewrite notebooks in nbformat's canonical layout.
 *
 * Owns: the command only.  The layout is json.dumps(nb, indent=1, sort_keys=True,
 * ensure_ascii=False) + "\n" of the notebook as it is (nb_dumps): the layout every
 * file of the shared corpus has, so fmt leaves those alone.  With --nbformat it is
 * what nbformat.write(nbformat.read(f, NO_CONVERT)) gives, which also rejoins and
 * re-splits multi-line text into lists of lines and strips transient fields.  A
 * canonical file is left alone byte for byte, not even re-saved; others are replaced
 * atomically, mode kept, through outfile (nbformat/outfile.h), whose handlers remove
 * the temporary of the save in flight when Ctrl-C, SIGTERM or SIGHUP ends fmt
 * (nb_save_atomic alone left it).  A file saved by someone else (Jupyter's autosave)
 * while fmt read and reformatted it is left as it now is and reported, as tag does.
 * A file met again under another name (a symlink beside it, a path named twice) is
 * passed over as tag passes it over (equal realpaths): listed and written once.
 * A folder without notebooks is said; control characters in the names it prints are
 * escaped, on every stream (nb_say).
 * One departure from Python: nbformat 5.x's validate() gives random ids to the cells
 * of a 4.5 notebook that lacks them, or that repeat an earlier cell's; fmt keeps output
 * deterministic and adds or changes none (a repeated id is said with --nbformat).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/commands.h"
#include "nbformat/fileonce.h"
#include "nbformat/notebook.h"
#include "nbformat/outfile.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: nbstage fmt [--check] [--nbformat] [-q] PATH...\n\n"
            "Rewrites notebooks (files, read whatever their name, or folders walked\n"
            "recursively for *.ipynb in any case, skipping hidden files and folders,\n"
            ".ipynb_checkpoints among them) in nbformat's canonical layout: indent 1,\n"
            "sorted keys, UTF-8 unescaped, a final newline.  Canonical files are not\n"
            "touched.  Only nbformat 4 is rewritten; a file that cannot be kept exactly\n"
            "(e.g. integers beyond 64 bits, NaN) is refused with the reason, never\n"
            "altered.  PATH '-' is standard input (named <stdin>), given once; its\n"
            "notebook is written to standard output, so '-' is then the only PATH (with\n"
            "--check, which writes no notebook, it may come with others).\n\n"
            "options:\n"
            "  --check     change nothing; list the files that would change\n"
            "  --nbformat  also what nbformat.write does: multi-line text as lists of\n"
            "              lines, transient fields dropped (cell ids missing or repeated in\n"
            "              a 4.5 notebook, which nbformat replaces by random ones, are\n"
            "              kept; a repeated one is said)\n"
            "  -q, --quiet do not list reformatted files\n"
            "  -h, --help  this help\n\n"
            "A file met again under another name (a symlink to it, or named twice) is\n"
            "passed over, as tag passes it over: listed and written once.  A folder\n"
            "without notebooks is said on stderr (exit 0); a folder named *.ipynb given by\n"
            "name is an error.\n\n"
            "exit: 0 all canonical (or rewritten), 1 with --check when some file would\n"
            "change, 2 usage or I/O error (including an unreadable notebook).\n");
}

struct fmt_ctx {
    int check, quiet, nbformat_write;
    long changed, same, errors, seen;
    struct fileonce done; /* the files met */
    int oom;
    int stdout_said; /* a failed write of `fmt -`'s notebook, already said */
    int list_errno;  /* the first failed write of a list line (stdout is line-buffered:
                      * the error comes then, not at the final flush) */
};

/* A folder may hold a notebook and a symlink to it (or `fmt dir dir/a.ipynb` names it
 * twice): the same file met again is passed over, silently, as tag passes it over:
 * --check lists it once, and it is never formatted twice (nbformat/fileonce.h). */

/* PATH, just replaced by a new file (a new inode), noted again as met: a symlink to it
 * later in the walk is still the same file.  (A failure only costs a second look, which
 * finds the file canonical.) */
/* One line of the list ("reformatted PATH"), its write error kept for the end. */
static void list_line(struct fmt_ctx *c, const char *what, const char *path)
{
    errno = 0;
    nb_say(stdout, "%s %s", what, path);
    if (ferror(stdout) && !c->list_errno) c->list_errno = errno ? errno : EIO;
}

static void met_again(struct fmt_ctx *c, const char *path)
{
    if (!c->oom && fileonce_met(&c->done, path) < 0) c->oom = 1;
}

static char *read_stream(FILE *f, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    for (;;) {
        if (n == cap) {
            char *p = realloc(buf, cap * 2);
            if (!p) { free(buf); return NULL; }
            buf = p;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    if (ferror(f)) { free(buf); return NULL; }
    *len = n;
    return buf;
}

/* nbformat's validate() gives a 4.5 notebook's cell whose id repeats an earlier
 * cell's a random new one, so nbformat.write's bytes differ from run to run and from
 * ours; fmt keeps the ids (its output is deterministic) but says so, for each such
 * cell: Jupyter will change the id at its next save. */
static void dup_ids_said(const json_t *nb, const char *name)
{
    json_int_t minor = json_integer_value(json_object_get(nb, "nbformat_minor"));
    if (json_integer_value(json_object_get(nb, "nbformat")) != 4 || minor < 5) return;
    json_t *seen = json_object(); /* id -> the first cell's index */
    size_t i;
    json_t *cell;
    json_array_foreach(json_object_get(nb, "cells"), i, cell) {
        const char *id = json_string_value(json_object_get(cell, "id"));
        if (!id || !seen) continue;
        json_t *first = json_object_get(seen, id);
        if (first)
            nb_say(stderr, "nbstage fmt: %s: cells[%zu].id \"%s\" is cells[%" JSON_INTEGER_FORMAT
                           "]'s too: nbformat.write would give it a random new one (kept)",
                   name, i, id, json_integer_value(first));
        else
            json_object_set_new(seen, id, json_integer((json_int_t)i));
    }
    json_decref(seen);
}

/* The canonical bytes of BUF, or NULL with ERR. */
static char *canonical(const char *buf, size_t len, const char *name, int nbformat_write,
                       size_t *outlen, nb_error *err)
{
    json_t *nb = nb_read_mem(buf, len, name, 0, err);
    if (!nb) return NULL;
    int laid = 0;
    if (nbformat_write) {
        dup_ids_said(nb, name);
        laid = nb_rejoin_lines(nb);
        nb_strip_transient(nb);
        laid |= nb_split_lines(nb);
    }
    char *out = laid ? NULL : nb_dumps(nb, outlen);
    json_decref(nb);
    if (!out) snprintf(err->msg, sizeof err->msg, "%s: out of memory", name); /* (read: fits) */
    return out;
}

/* PATH, still the file WAS (as read), replaced by BUF atomically (a write error, or
 * PATH now another file, reported by outfile_commit). */
static int save(const char *path, const struct stat *was, const char *buf, size_t len, nb_error *err)
{
    struct outfile o;
    if (outfile_replace(&o, path, was, err)) return -1;
    fwrite(buf, 1, len, o.f);
    return outfile_commit(&o, err);
}

static int fmt_one(const char *path, const char *rel, void *vctx)
{
    (void)rel;
    struct fmt_ctx *c = vctx;
    c->seen++;
    int met = fileonce_met(&c->done, path);
    if (met < 0) {
        c->oom = 1;
        return -1; /* the walk stops */
    }
    if (met) return 0;
    struct stat st;
    char why[PATH_MAX + 64];
    /* a FIFO put in its place since the walk is refused, not waited on */
    int fd = nb_open_regular(path, &st, why, sizeof why);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        if (fd >= 0) { /* fdopen's reason, before close can change errno */
            snprintf(why, sizeof why, "%s", strerror(errno));
            close(fd);
        }
        nb_say(stderr, "nbstage fmt: %s: %s", path, why);
        c->errors++;
        return 0;
    }
    size_t len, outlen;
    char *buf = read_stream(f, &len);
    int read_errno = errno;
    fclose(f);
    if (!buf) {
        nb_say(stderr, "nbstage fmt: %s: %s", path, strerror(read_errno));
        c->errors++;
        return 0;
    }
    nb_error err;
    char *out = canonical(buf, len, path, c->nbformat_write, &outlen, &err);
    if (!out) {
        nb_say(stderr, "nbstage fmt: %s", err.msg);
        c->errors++;
    } else if (outlen == len && !memcmp(out, buf, len)) {
        c->same++;
    } else if (c->check) {
        list_line(c, "would reformat", path);
        c->changed++;
    } else if (!nb_file_unchanged(path, &st)) { /* a Jupyter autosave meanwhile: kept */
        nb_say(stderr, "nbstage fmt: %s: changed while being formatted, left as it is now",
                path);
        c->errors++;
    } else if (save(path, &st, out, outlen, &err)) {
        nb_say(stderr, "nbstage fmt: %s", err.msg);
        c->errors++;
    } else {
        if (!c->quiet) list_line(c, "reformatted", path);
        c->changed++;
        met_again(c, path);
    }
    free(out);
    free(buf);
    return 0;
}

static void walk_error(const char *path, const char *reason, void *vctx)
{
    struct fmt_ctx *c = vctx;
    nb_say(stderr, "nbstage fmt: %s: %s", path, reason);
    c->errors++;
}

static int fmt_stdin(struct fmt_ctx *c)
{
    size_t len, outlen;
    char *buf = read_stream(stdin, &len);
    if (!buf) {
        nb_say(stderr, "nbstage fmt: <stdin>: %s", strerror(errno));
        c->errors++;
        return 0;
    }
    nb_error err;
    char *out = canonical(buf, len, "<stdin>", c->nbformat_write, &outlen, &err);
    if (!out) {
        nb_say(stderr, "nbstage fmt: %s", err.msg);
        c->errors++;
    } else if (c->check) {
        if (outlen != len || memcmp(out, buf, len)) {
            nb_say(stdout, "would reformat <stdin>");
            c->changed++;
        }
    } else if (fwrite(out, 1, outlen, stdout) != outlen || fflush(stdout)) {
        nb_say(stderr, "nbstage fmt: <stdout>: write error: %s", strerror(errno));
        c->errors++;
        c->stdout_said = 1;
    }
    free(out);
    free(buf);
    return 0;
}

int cmd_fmt(int argc, char **argv)
{
    static const struct option opts[] = {
        {"check", no_argument, NULL, 'c'},
        {"quiet", no_argument, NULL, 'q'},
        {"nbformat", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct fmt_ctx c = {0};
    int o;
    optind = 0; /* glibc: a full re-initialisation, so tests may call us twice */
    while ((o = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (o) {
        case 'c': c.check = 1; break;
        case 'q': c.quiet = 1; break;
        case 'n': c.nbformat_write = 1; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: return cmd_usage_error_fn(argv[0], usage);
        }
    }
    if (optind >= argc) {
        nb_say(stderr, "nbstage fmt: no PATH given");
        return cmd_usage_error_fn(argv[0], usage);
    }
    /* '-' as for every command that reads notebooks: once, alone when its notebook
     * is written back to stdout (a second '-' was read as an empty file) */
    if (nb_stdin_rule("nbstage fmt", argc - optind, argv + optind, !c.check)) return EXIT_USAGE;
    /* The list of files rewritten, a line at a time even into a file: a signal ends the
     * run (outfile.c removes its temporary and re-raises), and a buffered list lost the
     * last files rewritten.  Not with '-', whose notebook goes to stdout. */
    int piped_notebook = 0;
    for (int a = optind; a < argc; a++) piped_notebook |= !strcmp(argv[a], "-");
    if (!piped_notebook) setvbuf(stdout, NULL, _IOLBF, 0);
    nb_walk_remove_leftovers(!c.check); /* killed saves' temporaries: --check writes none, names them */
    for (int a = optind; a < argc; a++) {
        if (!strcmp(argv[a], "-")) {
            fmt_stdin(&c);
            continue;
        }
        struct stat st;
        int dir = stat(argv[a], &st) == 0 && S_ISDIR(st.st_mode);
        if (dir && nb_is_notebook_name(argv[a])) { /* as tag says it: once a folder */
            int met = fileonce_met(&c.done, argv[a]);
            if (met < 0) {
                c.oom = 1;
                break;
            }
            if (!met) walk_error(argv[a], "is a directory, not a notebook", &c);
            continue;
        }
        long seen = c.seen, errors = c.errors;
        nb_walk(argv[a], fmt_one, walk_error, &c);
        if (c.oom) break;
        /* most often the wrong folder, and --check would pass on it: said (exit 0 still,
         * as tag, ingest and summary do) */
        if (dir && c.seen == seen && c.errors == errors)
            nb_say(stderr, "nbstage fmt: %s: no notebooks (.ipynb) found%s", argv[a], nb_walk_unfollowed());
    }
    fileonce_free(&c.done);
    nb_walk_say_leftovers("nbstage fmt");
    if (c.oom) {
        nb_say(stderr, "nbstage fmt: out of memory");
        return EXIT_USAGE;
    }
    /* the lists (would reformat, reformatted): a full disk or a closed stdout is said,
     * not only exit 2 (the files themselves are written, or not, as said above) */
    errno = 0;
    if (fflush(stdout) || ferror(stdout)) {
        int e = c.list_errno ? c.list_errno : errno ? errno : EIO;
        if (!c.stdout_said) nb_say(stderr, "nbstage fmt: <stdout>: write error: %s", strerror(e));
        return EXIT_USAGE;
    }
    if (c.errors) return EXIT_USAGE;
    return (c.check && c.changed) ? EXIT_FINDINGS : EXIT_OK;
}
