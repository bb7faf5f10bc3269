/* cmd_summary.c — `nbstage summary`: a notebook's stage map.
 *
 * Owns: the command: reading each notebook, getting each code cell's stage (from the
 * model, or with --saved from the stage kernel's tag outputs and the tags already in
 * the file), and handing the maps to model/stagemap.c for text, --json or --svg.
 * Reads only; never writes a notebook.  A notebook that is not Python (nbformat/nblang.h)
 * gets a note instead of a map (with --saved, before it).  A file met again under another name (a symlink
 * beside it, named twice) is shown once (nbformat/fileonce.h), as tag and fmt take it.
 * For speed it borrows from ingest and tag: the byte scanner (nbformat/cellscan.h) for
 * the code cells, and tag's memo and batches (model/classcache.h, model/tagbatch.h)
 * over windows of notebooks, the maps shown in order; the stages are exactly
 * model_classify's either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/classcache.h"
#include "model/commands.h"
#include "model/model.h"
#include "model/stagemap.h"
#include "model/tagbatch.h"
#include "model/tagging.h"
#include "model/workers.h"
#include "nbformat/cellscan.h"
#include "nbformat/fileonce.h"
#include "nbformat/nblang.h"
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

struct summary {
    const nbs_model *model;
    int saved, json, color;
    int columns; /* the terminal's width; 0 when stdout is no terminal */
    int tty;     /* stdout is a terminal */
    int svg_only; /* --svg -: the picture is the only output */
    struct stagemap *maps; /* kept for --svg */
    size_t n, cap;
    int keep; /* keep maps (for --svg) */
    long errors;
    long seen; /* notebooks found (read or not) */
    long said; /* errors found (said now or with their window) */
    struct tagbatch *batch; /* the classifications a window asks for (not --saved) */
    int threads;
    struct cellscan scan; /* reused across notebooks */
    struct pending *pending; /* the window, in order */
    size_t npending, cappending, window_bytes;
    int out_errno; /* stdout's first write error seen before the end */
    struct fileonce met; /* the files read: one met again is passed over */
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

/* ---------------------------------------------------------------- the run in windows
 *
 * Notebooks are read in windows of up to WINDOW_NOTEBOOKS (or WINDOW_BYTES of cell
 * sources): every code cell to classify is asked of a tagbatch (model/tagbatch.h, as
 * tag does: each distinct source classified once, in batches, on all CPUs, the answers
 * exactly model_classify's), then the window's maps are made and shown in order.  Read
 * errors and other messages wait in the window too, so that they come in the order of
 * the notebooks. */

enum { WINDOW_NOTEBOOKS = 256 };
#define WINDOW_BYTES ((size_t)32 << 20)

struct pending_cell {
    size_t off, len; /* the source: text[off .. off+len) */
    int stage;       /* the batch's answer, or known at once (blank, --saved) */
    float prob;
    double conf; /* the saved confidence (--saved), or -1 */
    long lines;
};

struct pending {
    char *path;    /* the notebook, as shown (with an error MESSAGE: what failed) */
    char *message; /* instead of a map: said on stderr ("PATH: reason") */
    char *note;    /* before the map: said on stderr */
    int not_python; /* MESSAGE says so; --json gives a record in the map's place */
    char lang[NB_LANG_NAME];
    int error;     /* MESSAGE counts as an error */
    size_t reason; /* an error's reason: MESSAGE + REASON (for --json's record) */
    char *text;    /* the code cells' sources back to back; lives until the batch ran */
    size_t text_len;
    struct pending_cell *cells;
    size_t n;
};

/* Appends an empty entry to S's window; NULL when out of memory. */
static struct pending *pending_add(struct summary *s)
{
    if (s->npending == s->cappending) {
        size_t cap = s->cappending ? s->cappending * 2 : WINDOW_NOTEBOOKS;
        struct pending *p = realloc(s->pending, cap * sizeof *p);
        if (!p) return NULL;
        s->pending = p;
        s->cappending = cap;
    }
    struct pending *e = &s->pending[s->npending++];
    memset(e, 0, sizeof *e);
    return e;
}

static void pending_free(struct pending *e)
{
    free(e->note);
    free(e->text);
    free(e->cells);
    free(e->path);
    free(e->message);
}

/* A message in the window's order; -1 when out of memory. */
static int pending_message(struct summary *s, int error, const char *fmt, const char *a,
                           const char *b)
{
    struct pending *e = pending_add(s);
    size_t n = strlen(fmt) + strlen(a) + strlen(b ? b : "") + 1;
    if (!e || !(e->message = malloc(n))) {
        if (e) s->npending--;
        return -1;
    }
    snprintf(e->message, n, fmt, a, b);
    e->error = error;
    s->said += error;
    return 0;
}

/* A notebook, folder or PATH that could not be read, in the window's order: "PATH:
 * REASON" on stderr, and with --json a record on stdout too.  -1 when out of memory. */
static int pending_error(struct summary *s, const char *path, const char *reason)
{
    if (pending_message(s, 1, "%s: %s", path, reason)) return -1;
    struct pending *e = &s->pending[s->npending - 1];
    if (!(e->path = strdup(path))) {
        pending_free(e);
        s->npending--;
        s->said--;
        return -1;
    }
    e->reason = strlen(path) + 2;
    return 0;
}

/* --json: E, an error, as a line of its own among the maps, so that a script reading
 * stdout knows which notebooks are missing from it and why: {"notebook": PATH,
 * "error": REASON}.  -1 when out of memory. */
static int show_error_json(const struct pending *e)
{
    char *path = nb_utf8_lossy(e->path), *reason = nb_utf8_lossy(e->message + e->reason);
    json_t *j = path && reason ? json_pack("{s:s, s:s}", "notebook", path, "error", reason)
                               : NULL;
    char *line = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (line) puts(line);
    free(line);
    json_decref(j);
    free(path);
    free(reason);
    return line ? 0 : -1;
}

/* --json: E, a notebook that is not Python, as a line of its own among the maps:
 * {"notebook": PATH, "language": LANG, "skipped": "not Python"}.  -1 when out of
 * memory. */
static int show_not_python_json(const struct pending *e)
{
    char *path = nb_utf8_lossy(e->path);
    json_t *j = path ? json_pack("{s:s, s:s, s:s}", "notebook", path, "language", e->lang,
                                 "skipped", "not Python")
                     : NULL;
    char *line = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (line) puts(line);
    free(line);
    json_decref(j);
    free(path);
    return line ? 0 : -1;
}

/* E, the notebook NAME, is not Python (nbformat/nblang.h): the model's stages would
 * mean nothing, so no map, a note in its place (not an error).  With --saved the map
 * of what is saved is shown, the note before it.  -1 when out of memory. */
static int not_python(struct summary *s, struct pending *e, const char *name,
                      const struct nb_lang *lang)
{
    static const char map[] = "%s: not Python (%s): no stage map (the model reads Python)";
    static const char saved[] = "%s: not Python (%s): the stages saved in it, as saved";
    const char *fmt = s->saved ? saved : map;
    size_t n = strlen(fmt) + strlen(name) + strlen(lang->name) + 1;
    char *m = malloc(n);
    if (!m) return -1;
    snprintf(m, n, fmt, name, lang->name);
    if (s->saved) {
        e->note = m;
    } else {
        e->message = m;
        e->not_python = 1;
        memcpy(e->lang, lang->name, sizeof e->lang);
    }
    return 0;
}

/* E's cells from NB (the jansson path: nbformat 3, --saved, what cellscan leaves): the
 * sources into E->text, and with --saved each cell's saved stage.  -1 when out of
 * memory. */
static int cells_from_tree(struct summary *s, const json_t *nb, struct pending *e)
{
    size_t n = nb_cell_count(nb), code = 0, cap = 0;
    for (size_t i = 0; i < n; i++) {
        const char *type = nb_cell_type(nb_cell(nb, i));
        code += type && !strcmp(type, "code");
    }
    if (code && !(e->cells = calloc(code, sizeof *e->cells))) return -1;
    for (size_t i = 0; i < n; i++) {
        const json_t *cell = nb_cell(nb, i);
        const char *type = nb_cell_type(cell);
        if (!type || strcmp(type, "code")) continue;
        size_t len;
        char *src = nb_cell_source(cell, &len);
        if (!src) return -1;
        if (e->text_len + len + 1 > cap) {
            size_t c = cap ? cap * 2 : 4096;
            while (c < e->text_len + len + 1) c *= 2;
            char *p = realloc(e->text, c);
            if (!p) {
                free(src);
                return -1;
            }
            e->text = p;
            cap = c;
        }
        memcpy(e->text + e->text_len, src, len);
        free(src);
        struct pending_cell *c = &e->cells[e->n++];
        *c = (struct pending_cell){.off = e->text_len, .len = len, .conf = -1};
        e->text_len += len;
        if (s->saved) {
            /* what tag --from-outputs would leave: the stage kernel's last tag output
             * (in JupyterLab, VS Code and nbclient the stage stays there), else the
             * cell's saved tag */
            struct cell_tag live;
            if (tag_from_outputs(cell, &live) == 0) {
                c->stage = live.stage;
                c->conf = live.confidence;
            } else {
                c->stage = tag_current(cell, &c->conf);
            }
            if (c->stage < 0) c->stage = STAGEMAP_UNTAGGED;
        }
    }
    return 0;
}

/* E's cells from the byte scanner (S->scan, just run): no JSON tree.  -1 when out of
 * memory. */
static int cells_from_scan(struct summary *s, struct pending *e)
{
    const struct cellscan *sc = &s->scan;
    if (sc->n && !(e->cells = calloc(sc->n, sizeof *e->cells))) return -1;
    if (!(e->text = malloc(sc->text_len + 1))) return -1;
    memcpy(e->text, sc->text, sc->text_len);
    e->text_len = sc->text_len;
    for (size_t i = 0; i < sc->n; i++)
        e->cells[e->n++] = (struct pending_cell){.off = sc->cells[i].off,
                                                 .len = sc->cells[i].len, .conf = -1};
    return 0;
}

/* E's cells' lines, blank cells said blank, and the others (not --saved) asked of the
 * batch.  -1 when out of memory. */
static int ask_cells(struct summary *s, struct pending *e)
{
    for (size_t i = 0; i < e->n; i++) {
        struct pending_cell *c = &e->cells[i];
        const char *src = e->text + c->off;
        if (pysrc_is_blank(src, c->len)) {
            c->stage = STAGEMAP_BLANK;
            c->conf = -1;
            continue;
        }
        c->lines = tag_code_lines(src, c->len);
        if (s->saved) continue;
        int got = tagbatch_ask(s->batch, src, c->len, &c->stage, &c->prob);
        if (got < 0) return -1;
        if (!got) s->window_bytes += c->len;
    }
    return 0;
}

/* PATH's bytes, whole; NULL when they cannot be had (nb_read_file then says why). */
static char *load(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) return NULL;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return NULL;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) { /* the file grew while we read it */
            char *p = realloc(buf, cap *= 2);
            if (!p) break;
            buf = p;
        }
        ssize_t got = read(fd, buf + n, cap - 1 - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) break;
        if (got == 0) {
            close(fd);
            *len = n;
            return buf;
        }
        n += (size_t)got;
    }
    free(buf);
    close(fd);
    return NULL;
}

/* Shows M as the options say and keeps it for --svg (M taken); -1 when out of memory. */
static int show_map(struct summary *s, struct stagemap *m)
{
    if (s->svg_only) {
        /* nothing printed: the maps are kept for the picture */
    } else if (s->json) {
        json_t *j = stagemap_json(m);
        char *line = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                           JSON_REAL_PRECISION(6))
                       : NULL;
        json_decref(j);
        if (!line) {
            fprintf(stderr, "nbstage summary: %s: out of memory\n", m->name);
            stagemap_free(m);
            return -1;
        }
        puts(line);
        free(line);
    } else {
        if (s->n) putchar('\n');
        /* a name's control characters (an escape sequence in a crawled file's name)
         * shown as '?' on a terminal, as ls shows them, not obeyed by it */
        char *name = m->name, *shown = s->tty ? strdup(name) : NULL;
        if (shown) {
            shown[nb_unctrl(shown, strlen(shown), 0)] = '\0';
            m->name = shown;
        }
        stagemap_print_text(stdout, m, s->color, s->columns);
        m->name = name;
        free(shown);
    }
    if (!s->keep) {
        stagemap_free(m);
        s->n++;
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct stagemap *p = realloc(s->maps, cap * sizeof *p);
        if (!p) {
            stagemap_free(m);
            fprintf(stderr, "nbstage summary: out of memory\n");
            return -1;
        }
        s->maps = p;
        s->cap = cap;
    }
    s->maps[s->n++] = *m;
    return 0;
}

/* Classifies what the window asked, then shows its maps and messages in order and
 * empties it.  -1 when out of memory (the window emptied all the same). */
static int flush_window(struct summary *s)
{
    int rc = 0;
    if (s->batch) tagbatch_run(s->batch, s->threads);
    const char *from = s->saved ? "saved tags" : model_name(s->model);
    for (size_t k = 0; k < s->npending; k++) {
        struct pending *e = &s->pending[k];
        if (rc) {
            /* out of memory before: the rest only freed */
        } else if (e->message) {
            /* in order in a `2>&1` too; a write error is said at the end */
            if (fflush(stdout) && !s->out_errno) s->out_errno = errno;
            fprintf(stderr, "nbstage summary: %s\n", e->message);
            s->errors += e->error;
            if (e->error && e->path && s->json && !s->svg_only && show_error_json(e)) {
                fprintf(stderr, "nbstage summary: %s: out of memory\n", e->path);
                rc = -1;
            }
            if (e->not_python && s->json && !s->svg_only && show_not_python_json(e)) {
                fprintf(stderr, "nbstage summary: %s: out of memory\n", e->path);
                rc = -1;
            }
        } else {
            if (e->note) {
                if (fflush(stdout) && !s->out_errno) s->out_errno = errno;
                fprintf(stderr, "nbstage summary: %s\n", e->note);
            }
            struct stagemap m;
            int bad = stagemap_init(&m, e->path, from);
            for (size_t i = 0; !bad && i < e->n; i++) {
                const struct pending_cell *c = &e->cells[i];
                double conf = s->saved ? c->conf : c->stage >= 0 ? tag_round(c->prob) : -1;
                bad = stagemap_add(&m, c->stage, conf, c->lines);
            }
            if (bad) {
                stagemap_free(&m);
                fprintf(stderr, "nbstage summary: %s: out of memory\n", e->path);
                rc = -1;
            } else if (show_map(s, &m)) {
                rc = -1;
            }
        }
        pending_free(e);
    }
    s->npending = 0;
    s->window_bytes = 0;
    return rc;
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

/* One notebook into the window (PATH "-": standard input, named <stdin> as tag and
 * fmt name it); the window shown when full.  The byte scanner (nbformat/cellscan.h,
 * as ingest) gives the code cells of nearly every notebook without a JSON tree, whose
 * building took most of the time; the jansson reader the rest (nbformat 3, odd
 * corners, --saved) and says why a bad one is bad.  -1 when out of memory (the run
 * stops). */
static int summarize(const char *path, const char *rel, void *vs)
{
    (void)rel;
    struct summary *s = vs;
    s->seen++;
    int is_stdin = !strcmp(path, "-");
    /* a file met again under another name (a symlink beside it, named twice): one map
     * per file, as tag and fmt pass it over (nbformat/fileonce.h) */
    int met = is_stdin ? 0 : fileonce_met(&s->met, path);
    if (met) {
        if (met > 0) return 0;
        fprintf(stderr, "nbstage summary: %s: out of memory\n", path);
        flush_window(s);
        return -1;
    }
    size_t len = 0;
    char *buf = is_stdin ? read_stdin(&len) : load(path, &len);
    if (is_stdin && !buf) {
        if (pending_error(s, "<stdin>", strerror(errno))) goto oom;
        goto done;
    }
    const char *name = is_stdin ? "<stdin>" : path;
    struct pending *e = pending_add(s);
    if (!e || !(e->path = strdup(name))) goto oom_entry;
    struct nb_lang lang;
    if (buf && len && !s->saved && cellscan_run(&s->scan, buf, len) == 0) {
        nb_lang_of_metadata(buf + s->scan.meta_off, s->scan.meta_end - s->scan.meta_off, &lang);
        if (!lang.python) {
            if (not_python(s, e, name, &lang)) goto oom_entry;
            goto done;
        }
        if (cells_from_scan(s, e)) goto oom_entry;
    } else {
        nb_error err;
        /* a file that could not be loaded, or is empty: nb_read_file says why */
        /* read only, as ingest reads: what Python reads (NaN, duplicate keys) is read */
        int flags = NB_ALLOW_V3 | NB_DUP_KEYS | NB_LENIENT;
        json_t *nb = is_stdin || (buf && len) ? nb_read_mem(buf, len, name, flags, &err)
                                              : nb_read_file(path, flags, &err);
        if (!nb) {
            /* the entry becomes the message ("NAME: reason", "NAME:line:col: reason"),
             * E->path what failed */
            if (!(e->message = strdup(err.msg))) goto oom_entry;
            size_t n = strlen(name);
            if (!strncmp(e->message, name, n) && e->message[n] == ':')
                e->reason = n + 1 + (e->message[n + 1] == ' ');
            e->error = 1;
            s->said++;
            goto done;
        }
        nb_lang_of_tree(nb, &lang);
        if (!lang.python) {
            if (not_python(s, e, name, &lang)) {
                json_decref(nb);
                goto oom_entry;
            }
            if (!s->saved) {
                json_decref(nb);
                goto done;
            }
        }
        int bad = cells_from_tree(s, nb, e);
        json_decref(nb);
        if (bad) goto oom_entry;
    }
    if (ask_cells(s, e)) goto oom_entry;
done:
    free(buf);
    if (s->npending >= WINDOW_NOTEBOOKS || s->window_bytes >= WINDOW_BYTES)
        return flush_window(s);
    return 0;
oom_entry:
    if (e) {
        pending_free(e);
        s->npending--;
    }
oom:
    free(buf);
    fprintf(stderr, "nbstage summary: %s: out of memory\n", is_stdin ? "<stdin>" : path);
    flush_window(s);
    return -1;
}

static void walk_error(const char *path, const char *reason, void *vs)
{
    struct summary *s = vs;
    if (pending_error(s, path, reason)) {
        /* out of memory: said at once, out of order */
        fprintf(stderr, "nbstage summary: %s: %s\n", path, reason);
        s->errors++;
        s->said++;
    }
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
    s.columns = terminal_columns();
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

    nbs_model *model = NULL;
    if (!s.saved) {
        if (!model_path) model_path = model_default_path();
        if (!model_path) {
            fprintf(stderr, "nbstage summary: no model: none shipped beside the program and "
                            "NBSTAGE_MODEL unset; give one with --model FILE, or use --saved\n");
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
            rc = summarize(argv[a], argv[a], &s);
            continue;
        }
        struct stat st;
        int dir = stat(argv[a], &st) == 0 && S_ISDIR(st.st_mode);
        if (dir && nb_is_notebook_name(argv[a])) { /* a mistake worth saying, as tag does: */
            int met = fileonce_met(&s.met, argv[a]); /* once a folder */
            if (met < 0) {
                fprintf(stderr, "nbstage summary: %s: out of memory\n", argv[a]);
                flush_window(&s);
                rc = -1;
                break;
            }
            if (!met) walk_error(argv[a], "is a directory, not a notebook", &s);
            continue;
        }
        long seen = s.seen, said = s.said;
        rc = nb_walk(argv[a], summarize, walk_error, &s);
        /* most often the wrong folder: said, as ingest says it (exit 0 still) */
        if (!rc && dir && s.seen == seen && s.said == said &&
            pending_message(&s, 0, "%s: no notebooks (.ipynb) found", argv[a], NULL))
            fprintf(stderr, "nbstage summary: %s: no notebooks (.ipynb) found\n", argv[a]);
    }
    if (!rc) rc = flush_window(&s);
    if (!rc && svg && !s.svg_only && !s.n && s.errors) {
        /* a picture of nothing would replace the last good one */
        fprintf(stderr, "nbstage summary: %s: not written (no notebook could be read)\n", svg);
    } else if (!rc && svg && write_svg(svg, &s)) {
        rc = -1;
    }
    for (size_t i = 0; s.keep && i < s.n; i++) stagemap_free(&s.maps[i]);
    free(s.maps);
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
