/* cmd_summary.c — `nbstage summary`: a notebook's stage map.
 *
 * Owns: the command: reading each notebook, getting each code cell's stage (from the
 * model, or with --saved from the stage kernel's tag outputs and the tags already in
 * the file), and handing the maps to model/stagemap.c for text, --json or --svg.
 * Reads only; never writes a notebook.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/commands.h"
#include "model/model.h"
#include "model/stagemap.h"
#include "model/tagging.h"
#include "nbformat/notebook.h"
#include "nbformat/outfile.h"
#include "nbformat/pysrc.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: nbstage summary [OPTIONS] NOTEBOOK...\n\n"
            "Shows each notebook's stage map: one block per code cell in order (coloured on\n"
            "a terminal, a letter otherwise: L load, P prep, T train, E evaluate, X explore,\n"
            "I imports, . empty or comments only, ? untagged), the stage sequence with runs\n"
            "compressed, and per-stage cell counts and share of lines of code (lines with\n"
            "more than comments or white space; a stage's share is of the lines in cells\n"
            "with a stage).  Folders are walked for *.ipynb (hidden folders and\n"
            ".ipynb_checkpoints skipped); one without notebooks is said on stderr.\n"
            "NOTEBOOK '-' reads standard input.  On a terminal the blocks (60 a row) and\n"
            "the sequence fit its width (COLUMNS); into a pipe they do not wrap.\n\n"
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
            "                    label do (path#index)\n"
            "      --svg FILE    also draw the maps as an SVG picture (FILE -: only the\n"
            "                    picture, on stdout; a FILE named *.ipynb is refused)\n"
            "      --color WHEN  auto (default: on a terminal, unless NO_COLOR), always, never\n"
            "  -h, --help        this help\n\n"
            "exit: 0 ok, 2 usage error, a notebook or folder that could not be read, or an\n"
            "output (stdout, --svg FILE) that could not be written.\n");
}

struct summary {
    const nbs_model *model;
    int saved, json, color;
    int columns; /* the terminal's width; 0 when stdout is no terminal */
    int svg_only; /* --svg -: the picture is the only output */
    struct stagemap *maps; /* kept for --svg */
    size_t n, cap;
    int keep; /* keep maps (for --svg) */
    long errors;
    long seen; /* notebooks found (read or not) */
};

/* The width of the terminal on stdout (COLUMNS, as the shell sets it, else the
 * terminal's own), or 0 when stdout is no terminal: piped text keeps its rows of 60
 * and its one-line sequence whatever the width. */
static int terminal_columns(void)
{
    if (!isatty(STDOUT_FILENO)) return 0;
    const char *env = getenv("COLUMNS");
    char *end;
    long c = env ? strtol(env, &end, 10) : 0;
    if (env && *env && !*end && c > 0 && c < 100000) return (int)c;
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 0;
}

static int ends_with(const char *s, const char *suffix, int any_case)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !(any_case ? strcasecmp : strcmp)(s + a - b, suffix);
}

/* Fills M from NB's code cells. */
static int map_notebook(struct summary *s, const json_t *nb, struct stagemap *m)
{
    size_t n = nb_cell_count(nb);
    for (size_t i = 0; i < n; i++) {
        const json_t *cell = nb_cell(nb, i);
        const char *type = nb_cell_type(cell);
        if (!type || strcmp(type, "code")) continue;
        size_t len;
        char *src = nb_cell_source(cell, &len);
        if (!src) return -1;
        int stage = STAGEMAP_BLANK;
        double conf = -1;
        long lines = 0;
        if (!pysrc_is_blank(src, len)) {
            lines = tag_code_lines(src, len);
            if (s->saved) {
                /* what tag --from-outputs would leave: the stage kernel's last tag
                 * output (in JupyterLab, VS Code and nbclient the stage stays there),
                 * else the cell's saved tag */
                struct cell_tag live;
                if (tag_from_outputs(cell, &live) == 0) {
                    stage = live.stage;
                    conf = live.confidence;
                } else {
                    stage = tag_current(cell, &conf);
                }
                if (stage < 0) stage = STAGEMAP_UNTAGGED;
            } else {
                float probs[N_STAGES];
                stage = model_classify(s->model, src, len, probs);
                if (stage >= 0) conf = tag_round(probs[stage]);
            }
        }
        free(src);
        if (stagemap_add(m, stage, conf, lines)) return -1;
    }
    return 0;
}

/* Standard input, whole: NULL and errno on a read error or out of memory. */
static char *read_stdin(size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            char *p = realloc(buf, cap *= 2);
            if (!p) break;
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (got) continue;
        if (ferror(stdin)) break;
        *len = n;
        return buf;
    }
    int e = errno ? errno : ENOMEM;
    free(buf);
    errno = e;
    return NULL;
}

static int summarize_nb(struct summary *s, json_t *nb, const char *path);

/* PATH "-": standard input, named <stdin> as tag and fmt name it. */
static int summarize(const char *path, const char *rel, void *vs)
{
    (void)rel;
    struct summary *s = vs;
    s->seen++;
    nb_error err;
    json_t *nb;
    if (!strcmp(path, "-")) {
        size_t len;
        char *buf = read_stdin(&len);
        if (!buf) {
            fprintf(stderr, "nbstage summary: <stdin>: %s\n", strerror(errno));
            s->errors++;
            return 0;
        }
        nb = nb_read_mem(buf, len, "<stdin>", NB_ALLOW_V3, &err);
        free(buf);
        path = "<stdin>";
    } else {
        nb = nb_read_file(path, NB_ALLOW_V3, &err);
    }
    if (!nb) {
        fprintf(stderr, "nbstage summary: %s\n", err.msg);
        s->errors++;
        return 0;
    }
    return summarize_nb(s, nb, path);
}

/* NB's map (NB released), printed and kept as the options say. */
static int summarize_nb(struct summary *s, json_t *nb, const char *path)
{
    struct stagemap m;
    if (stagemap_init(&m, path, s->saved ? "saved tags" : model_name(s->model)) ||
        map_notebook(s, nb, &m)) {
        json_decref(nb);
        stagemap_free(&m);
        fprintf(stderr, "nbstage summary: %s: out of memory\n", path);
        return -1;
    }
    json_decref(nb);
    if (s->svg_only) {
        /* nothing printed: the maps are kept for the picture */
    } else if (s->json) {
        json_t *j = stagemap_json(&m);
        char *line = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                           JSON_REAL_PRECISION(6))
                       : NULL;
        json_decref(j);
        if (!line) {
            stagemap_free(&m);
            fprintf(stderr, "nbstage summary: %s: out of memory\n", path);
            return -1;
        }
        puts(line);
        free(line);
    } else {
        if (s->n) putchar('\n');
        stagemap_print_text(stdout, &m, s->color, s->columns);
    }
    if (!s->keep) {
        stagemap_free(&m);
        s->n++;
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct stagemap *p = realloc(s->maps, cap * sizeof *p);
        if (!p) {
            stagemap_free(&m);
            fprintf(stderr, "nbstage summary: out of memory\n");
            return -1;
        }
        s->maps = p;
        s->cap = cap;
    }
    s->maps[s->n++] = m;
    return 0;
}

static void walk_error(const char *path, const char *reason, void *vs)
{
    struct summary *s = vs;
    fprintf(stderr, "nbstage summary: %s: %s\n", path, reason);
    s->errors++;
}

/* --svg: written atomically (outfile, nbformat/outfile.h); into a device or a FIFO
 * (/dev/stdout) straight. */
static int write_svg(const char *path, const struct summary *s)
{
    if (!strcmp(path, "-")) { /* stdout, checked with the rest of it at the end */
        stagemap_write_svg(stdout, s->maps, s->n);
        return 0;
    }
    struct outfile o;
    nb_error err;
    int rc = outfile_open(&o, path, &err);
    if (rc == 0) {
        stagemap_write_svg(o.f, s->maps, s->n); /* a write error: found by the commit */
        rc = outfile_commit(&o, &err);
    }
    if (rc) fprintf(stderr, "nbstage summary: %s\n", err.msg);
    return rc;
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
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "nbstage summary: no NOTEBOOK given\n");
        usage(stderr);
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
    if (svg && ends_with(svg, ".ipynb", 1)) {
        fprintf(stderr, "nbstage summary: --svg %s: a notebook's name; the picture would "
                        "replace it (give the picture's file, e.g. map.svg)\n", svg);
        return EXIT_USAGE;
    }
    s.columns = terminal_columns();
    s.keep = svg != NULL;
    s.svg_only = svg && !strcmp(svg, "-");
    if (s.svg_only && s.json) {
        fprintf(stderr, "nbstage summary: --json and --svg - would both write to stdout\n");
        return EXIT_USAGE;
    }

    int stdin_given = 0;
    for (int a = optind; a < argc; a++) stdin_given += !strcmp(argv[a], "-");
    if (stdin_given > 1) {
        fprintf(stderr, "nbstage summary: '-' (standard input) given %d times\n", stdin_given);
        return EXIT_USAGE;
    }
    /* a --svg that cannot be written is said now, not after the whole run */
    nb_error svg_err;
    if (svg && !s.svg_only && outfile_check(svg, &svg_err)) {
        fprintf(stderr, "nbstage summary: %s\n", svg_err.msg);
        return EXIT_USAGE;
    }

    nbs_model *model = NULL;
    if (!s.saved) {
        if (!model_path) model_path = model_default_path();
        if (!model_path) {
            fprintf(stderr, "nbstage summary: no model: none shipped beside the program and "
                            "NBSTAGE_MODEL unset; give one with --model FILE, or use --saved\n");
            return EXIT_USAGE;
        }
        char why[512];
        if (!(model = model_load(model_path, why, sizeof why))) {
            fprintf(stderr, "nbstage summary: %s\n", why);
            return EXIT_USAGE;
        }
        s.model = model;
    }
    int rc = 0;
    for (int a = optind; a < argc && !rc; a++) {
        if (!strcmp(argv[a], "-")) {
            rc = summarize(argv[a], argv[a], &s);
            continue;
        }
        struct stat st;
        int dir = stat(argv[a], &st) == 0 && S_ISDIR(st.st_mode);
        if (dir && ends_with(argv[a], ".ipynb", 0)) { /* a mistake worth saying, as tag does */
            walk_error(argv[a], "is a directory, not a notebook", &s);
            continue;
        }
        long seen = s.seen, errors = s.errors;
        rc = nb_walk(argv[a], summarize, walk_error, &s);
        /* most often the wrong folder: said, as ingest says it (exit 0 still) */
        if (!rc && dir && s.seen == seen && s.errors == errors)
            fprintf(stderr, "nbstage summary: %s: no notebooks (.ipynb) found\n", argv[a]);
    }
    if (!rc && svg && write_svg(svg, &s)) rc = -1;
    for (size_t i = 0; s.keep && i < s.n; i++) stagemap_free(&s.maps[i]);
    free(s.maps);
    model_free(model);
    if (fflush(stdout)) {
        fprintf(stderr, "nbstage summary: <stdout>: %s\n", strerror(errno));
        return EXIT_USAGE;
    }
    return (rc || s.errors) ? EXIT_USAGE : EXIT_OK;
}
