/* cmd_classify.c — `nbstage classify`: the model on JSON Lines, or on one file.
 *
 * Owns: the command.  Stdin mode reads {"id", "source"} lines in chunks, classifies
 * a chunk on worker threads (model_classify is thread-safe) and writes the answers
 * in input order.  A line that is not such an object (no "id", a "source" that is not
 * a string or a list of strings) gets an {"id", "error"} answer in its place (the
 * line count always matches) and the exit code 1; when the first bad line looks like
 * a notebook's (one piped in), or is not JSON at all (code piped in), the message on
 * stderr says how to give it.  File mode
 * classifies a text file (.py or anything) as one cell, or each code cell of a .ipynb
 * (none of a notebook that is not Python, nbformat/nblang.h: a note says so);
 * a .jsonl (or .ndjson) file is read as stdin is, line by line (the cells file label,
 * train and eval take by name: classified as one cell of JSON text, it gave one stage
 * for the whole corpus, exit 0).  Any other file whose text is a notebook or JSON
 * Lines of cells (cells.json, a notebook saved as .json) is still one cell, but a
 * note on stderr says what it looks like and how to give it.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "labeling/stage.h"
#include "model/commands.h"
#include "model/context.h"
#include "model/model.h"
#include "model/tagging.h"
#include "model/trainread.h"
#include "nbformat/bytebuf.h"
#include "nbformat/cpus.h"
#include "nbformat/nblang.h"
#include "nbformat/jsonbytes.h"
#include "nbformat/notebook.h"
#include "nbformat/jsonl.h"
#include "nbformat/jsonload.h"
#include "nbformat/sharefile.h"

static void usage(FILE *to)
{
    /* the shipped model's path, as nbstage-kernel --help names it: where it was looked
     * for, and whether it is there (NBSTAGE_MODEL's is not the shipped one) */
    char shipped[PATH_MAX + 64], found[PATH_MAX];
    fprintf(to,
"usage: nbstage classify [--model FILE] [-j N] < cells.jsonl > stages.jsonl\n"
"       nbstage classify [--model FILE] [-j N] cells.jsonl > stages.jsonl\n"
"       nbstage classify [--model FILE] [--json] [-q] FILE\n\n"
"Without FILE (or with -), or with a FILE named *.jsonl or *.ndjson (the cells\n"
"file label, train and eval take), reads JSON Lines {\"id\": ..., \"source\": \"...\"}\n"
"(source may also be a list of lines, as in .ipynb; other fields but \"notebook\"\n"
"are ignored) and writes one line per input line, in order (lines of only white\n"
"space are skipped), each as soon as no more input is waiting (a program may\n"
"write a line and read its answer):\n"
"  {\"id\": ..., \"stage\": \"train\", \"confidence\": 0.93,\n"
"   \"probabilities\": {\"load\": p, ...}}\n"
"\"confidence\" is the stage's probability to 3 decimals, the value `tag` saves and\n"
"`summary` shows (compare them as they are: the 4-decimal probability, rounded\n"
"again, can differ in the last digit); the probabilities have 4 decimals.\n"
"A blank or comment-only source gets \"stage\": null.  A model trained with\n"
"--context reads each line after the line just before it when that one is of the\n"
"same \"notebook\" (else the same id up to '#'), as ingest writes a notebook's\n"
"cells together; a line of neither, or after another notebook's, is read as a\n"
"notebook's first cell.  A bad line (not JSON, no\n"
"\"id\", a \"source\" that is not a string or a list of strings) gets\n"
"{\"id\": ..., \"error\": \"...\"} and makes the exit code 1.\n\n"
"With another FILE: a .ipynb prints one line per code cell,\n"
"\"<k>\\t<stage>\\t<confidence>\" (k counts code cells from 0, as ingest's ids do;\n"
"blank cells say none); any other file is one cell and prints its stage (a note\n"
"on stderr says when its text looks like a notebook, JSON Lines or binary\n"
"data).  --json\n"
"prints the JSON objects instead.  A .ipynb in another language than Python\n"
"(metadata.language_info.name, else kernelspec.language; one with neither is\n"
"Python) prints nothing: a note on stderr says so (exit 0).\n\n"
"options:\n"
"  -m, --model FILE  the model (NBSTAGE_MODEL overrides; default: the shipped\n"
"                    one, %s%s)\n"
"  -j, --jobs N      worker threads for JSON Lines, 1 to 64 (default: the CPUs\n"
"                    it may use, at most 8)\n"
"  --json            JSON output for a .ipynb or one cell\n"
"  -q, --quiet       no notes on stderr (not Python, no code cells, looks like\n"
"                    data), only errors\n"
"  -h, --help        this help\n\n"
"exit: 0 ok, 1 some input lines were bad, 2 usage, model or I/O error.\n",
            share_file_expected("default.nbsm", shipped, sizeof shipped),
            share_file_find("default.nbsm", found, sizeof found) ? ",\n                    which is missing" : "");
}

/* ------------------------------------------------------------------ one answer */

/* 256 bytes first: an answer line, its six probabilities and a short id, fits. */
enum { BUF_FIRST = 256 };

/* printf reads an answer as a C string: the NUL kept after it. */
static void put(struct bytebuf *b, const char *s, size_t n) { bytebuf_putz(b, s, n, BUF_FIRST); }
static void puts_(struct bytebuf *b, const char *s) { put(b, s, strlen(s)); }

/* The answer object for a classified source, without a trailing newline. */
static void answer(struct bytebuf *b, const char *id_json, int stage, const float *probs)
{
    char tmp[64];
    puts_(b, "{\"id\": ");
    puts_(b, id_json);
    if (stage < 0) {
        puts_(b, ", \"stage\": null, \"confidence\": 0, \"probabilities\": {}}");
        return;
    }
    /* the confidence tag saves, summary shows and the kernel's tag output carries
     * (3 decimals, tag_round); the probabilities keep 4, as in that output */
    snprintf(tmp, sizeof tmp, ", \"stage\": \"%s\", \"confidence\": %.3f", stage_key[stage], tag_round(probs[stage]));
    puts_(b, tmp);
    puts_(b, ", \"probabilities\": {");
    for (int s = 0; s < N_STAGES; s++) {
        snprintf(tmp, sizeof tmp, "%s\"%s\": %.4f", s ? ", " : "", stage_key[s], probs[s]);
        puts_(b, tmp);
    }
    puts_(b, "}}");
}

/* One answer line on stdout for the id ID (JSON text: a literal); 0, or -1 when out of
 * memory (ID NULL included), with nothing printed. */
static int print_answer_json(const char *id, int stage, const float *probs)
{
    struct bytebuf b = {0};
    if (id) answer(&b, id, stage, probs);
    int ok = id && b.p && !b.oom;
    if (ok) printf("%s\n", b.p);
    free(b.p);
    return ok ? 0 : -1;
}

static void error_answer(struct bytebuf *b, const char *id_json, const char *msg)
{
    json_t *m = json_string(msg);
    char *s = m ? json_dumps(m, JSON_ENCODE_ANY) : NULL;
    puts_(b, "{\"id\": ");
    puts_(b, id_json);
    puts_(b, ", \"error\": ");
    puts_(b, s ? s : "\"?\"");
    puts_(b, "}");
    free(s);
    json_decref(m);
}

/* What a bad line looks like, for the hint on stderr: LIKE_NOTEBOOK, a notebook's (a
 * lone '{', the first line of a notebook as Jupyter saves it, indented, which no JSON
 * Lines line is, or an object with "cells" or "nbformat", one saved on a single
 * line); LIKE_TEXT, not JSON at all, not even begun as JSON (code piped in,
 * `echo 'df.head()' | nbstage classify`); else LIKE_NOTHING.  `classify <
 * analysis.ipynb` otherwise said only "111 bad input lines", and piped code "'[' or
 * '{' expected near 'df'", leaving the user to guess why. */
enum { LIKE_NOTHING, LIKE_NOTEBOOK, LIKE_TEXT };
static int notebook_like(const char *line, size_t len, json_t *o)
{
    if (json_is_object(o)) return json_object_get(o, "cells") || json_object_get(o, "nbformat") ? LIKE_NOTEBOOK : LIKE_NOTHING;
    if (!o && jsonl_bom(line, len)) return LIKE_NOTHING; /* its own message says what to do */
    while (len && memchr(" \t\r\n", line[len - 1], 4)) len--;
    while (len && memchr(" \t", *line, 2)) line++, len--;
    if (len == 1 && *line == '{') return LIKE_NOTEBOOK;
    return !o && len && !strchr("{[\"", *line) ? LIKE_TEXT : LIKE_NOTHING;
}

/* Reads one input line.  A good line gives its cell's text (*TEXT, *N; NULL for a
 * source jansson could not join) and its id as JSON (*ID_JSON) and returns 0; a bad
 * one gets its error answer in OUT (newline included), its message ("line N: why")
 * in WHY, whether it looks like a notebook's in *NB_LIKE, and returns 1. */
static int parse_line(const char *line, size_t len, long lineno, char **text, size_t *n,
                      char **id_json, uint64_t *group, struct bytebuf *out, char why[256], int *nb_like)
{
    json_error_t je;
    json_t *o = nb_json_loadb_lenient(line, len, JSON_ALLOW_NUL, &je);
    if (!o && nb_json_error_is_memory(&je)) { /* no bad line: the run fails (as pass 3's) */
        *id_json = *text = NULL;
        *n = 0;
        out->oom = 1;
        snprintf(why, 256, "line %ld: out of memory", lineno);
        return 1;
    }
    if (!o) nb_json_reason(&je); /* one line, no escapes */
    json_t *id = o ? json_object_get(o, "id") : NULL;
    *id_json = id ? json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    *text = NULL;
    *n = 0;
    json_t *src = o ? json_object_get(o, "source") : NULL;
    char msg[256];
    int bad = 1;
    if (!o && jsonl_bom(line, len)) {
        snprintf(msg, sizeof msg, "line %ld: the %s starts with " JSONL_BOM_SAYS, lineno, lineno == 1 ? "file" : "line");
        error_answer(out, "null", msg);
    } else if (!o || !json_is_object(o)) {
        snprintf(msg, sizeof msg, "line %ld: %s", lineno, o ? "not a JSON object" : je.text);
        error_answer(out, "null", msg);
    } else if (!id) {
        snprintf(msg, sizeof msg, "line %ld: needs \"id\" (the answer carries it)", lineno);
        error_answer(out, "null", msg);
    } else if (!src || !jsonl_is_text(src)) {
        snprintf(msg, sizeof msg, "line %ld: needs \"source\", a string or a list of strings", lineno);
        error_answer(out, *id_json ? *id_json : "null", msg);
    } else {
        *text = nb_cell_source(o, n);
        bad = 0;
        /* its notebook, as train groups cells: "notebook", else the id's part before '#' */
        *group = trainread_context_group(json_string_value(json_object_get(o, "notebook")), json_string_value(id));
    }
    if (bad) {
        put(out, "\n", 1);
        memcpy(why, msg, sizeof msg);
        *nb_like = notebook_like(line, len, o);
    }
    json_decref(o);
    return bad;
}

/* ------------------------------------------------------------------ stdin, in chunks */

enum { CHUNK = 4096 };

/* A chunk of input lines and, per line, what the passes make of it. */
struct chunk {
    const nbs_model *m;
    char **lines;
    size_t *lens;
    long *linenos;
    struct bytebuf *outs;
    int n;
    char *text[CHUNK];     /* a good line's source (NULL: none could be joined) */
    size_t tlen[CHUNK];
    char *id_json[CHUNK];
    int good[CHUNK];
    uint64_t group[CHUNK]; /* its notebook's hash; 0: none */
    const char *prev[CHUNK]; /* a context model's: the cell before it (context_next) */
    size_t plen[CHUNK];
};

/* BAD: its bad lines; FIRST: the first one's message, for stderr; FIRST_NB: whether
 * that line looks like a notebook's */
struct slice { struct chunk *c; int from, to, bad; char first[256]; int first_nb; };

/* Pass 1, on the threads: the slice's lines parsed; bad ones answered. */
static void *parse_slice(void *arg)
{
    struct slice *sl = arg;
    struct chunk *c = sl->c;
    for (int li = sl->from; li < sl->to; li++) {
        char why[256];
        int nb_like = 0;
        c->outs[li].n = 0;
        c->group[li] = 0;
        c->good[li] = !parse_line(c->lines[li], c->lens[li], c->linenos[li], &c->text[li], &c->tlen[li],
                                  &c->id_json[li], &c->group[li], &c->outs[li], why, &nb_like);
        if (!c->good[li] && !sl->bad++) memcpy(sl->first, why, sizeof why), sl->first_nb = nb_like;
    }
    return NULL;
}

/* Pass 2, in order: each good line's predecessor, a line of the same notebook just
 * before it (ingest's order), which may be in an earlier chunk: the cursor then
 * points at CARRY's copy (keep_context).  Only for a model that reads context. */
struct carry { struct context_cursor cur; uint64_t group; char *copy; size_t cap; int oom; };

static void link_context(struct chunk *c, struct carry *k)
{
    for (int i = 0; i < c->n; i++) {
        c->prev[i] = NULL, c->plen[i] = 0;
        if (!c->good[i] || !c->text[i]) continue;
        if (c->group[i] != k->group || !c->group[i]) k->cur = (struct context_cursor){0};
        k->group = c->group[i];
        context_next(&k->cur, c->text[i], c->tlen[i], &c->prev[i], &c->plen[i]);
    }
}

/* After the chunk's pass 3: the cursor's cell copied, for the next chunk's first lines
 * (the chunk's texts are freed; the copy pass 3 read from is not overwritten before). */
static void keep_context(struct carry *k)
{
    if (k->cur.prev && k->cur.prev != k->copy) { /* this chunk's text, freed after it */
        if (k->cap < k->cur.plen + 1) {
            char *p = realloc(k->copy, k->cur.plen + 1);
            if (!p) { k->oom = 1; k->cur = (struct context_cursor){0}; return; }
            k->copy = p, k->cap = k->cur.plen + 1;
        }
        memcpy(k->copy, k->cur.prev, k->cur.plen);
        k->cur.prev = k->copy;
    }
}

/* Pass 3, on the threads: the slice's good cells classified together
 * (model_classify_many runs cells of similar length side by side), answered in order. */
static void *classify_slice(void *arg)
{
    struct slice *sl = arg;
    struct chunk *c = sl->c;
    int k = sl->to - sl->from;
    if (k <= 0) return NULL;
    char **text = c->text + sl->from, **read = text;
    size_t *n = c->tlen + sl->from, *rn = n;
    int *best = calloc((size_t)k, sizeof *best);
    float (*probs)[N_STAGES] = calloc((size_t)k, sizeof *probs);
    char **ctx = NULL;
    size_t *cn = NULL;
    int oom = !best || !probs;
    if (!oom && model_reads_context(c->m)) { /* the texts a context model reads */
        ctx = calloc((size_t)k, sizeof *ctx);
        cn = calloc((size_t)k, sizeof *cn);
        oom = !ctx || !cn;
        for (int i = 0; !oom && i < k; i++) {
            if (!text[i]) continue;
            size_t cap = 0;
            cn[i] = context_text(c->prev[sl->from + i], c->plen[sl->from + i], text[i], n[i], &ctx[i], &cap);
            oom = cn[i] == (size_t)-1;
        }
        read = ctx, rn = cn;
    }
    if (oom) {
        for (int i = 0; i < k; i++) c->outs[sl->from + i].oom = 1;
    } else {
        model_classify_many(c->m, (const char *const *)read, rn, k, probs, best);
        for (int i = 0; i < k; i++) {
            if (!c->good[sl->from + i]) continue;
            struct bytebuf *o = &c->outs[sl->from + i];
            /* as a chunk out of memory: no text (its join failed; a good line has a
             * source), or no answer */
            if (!text[i] || best[i] == MODEL_NO_MEMORY) {
                o->oom = 1;
                continue;
            }
            const char *id = c->id_json[sl->from + i];
            answer(o, id ? id : "null", best[i], probs[i]);
            put(o, "\n", 1);
        }
    }
    for (int i = 0; ctx && i < k; i++) free(ctx[i]);
    free(ctx), free(cn), free(best), free(probs);
    return NULL;
}

/* Runs PASS over the chunk's T slices, on threads where they can be had. */
static void run_pass(void *(*pass)(void *), struct slice *sl, int t)
{
    pthread_t th[64];
    int started[64] = {0};
    for (int k = 1; k < t; k++) started[k] = pthread_create(&th[k], NULL, pass, &sl[k]) == 0;
    pass(&sl[0]);
    for (int k = 1; k < t; k++) {
        if (started[k]) pthread_join(th[k], NULL);
        else pass(&sl[k]); /* no thread to be had: do its share here */
    }
}

/* Whether reading IN would not wait: bytes in its stdio buffer (glibc's FILE fields,
 * as gnulib's freadahead reads them; elsewhere only the descriptor is asked, which
 * may answer a chunk early, never late), or ready on its descriptor: a file always
 * is, a pipe once its writer has written. */
static int input_ready(FILE *in)
{
#ifdef __GLIBC__
    if (in->_IO_read_ptr < in->_IO_read_end) return 1;
#endif
    struct pollfd p = {.fd = fileno(in), .events = POLLIN};
    return poll(&p, 1, 0) != 0;
}

/* JSON Lines from IN, named NAME in messages (<stdin>, or a .jsonl file's path).
 * A chunk ends at CHUNK lines, or where the next line has not come yet: a program
 * that writes a line and waits for its answer (a pipe to a long-lived classify) gets
 * it then, instead of after 4,095 more lines or the end of the input. */
static int run_lines(const nbs_model *m, int jobs, FILE *in, const char *name)
{
    static char *lines[CHUNK];
    static size_t caps[CHUNK], lens[CHUNK];
    static long linenos[CHUNK];
    static struct bytebuf outs[CHUNK];
    static struct chunk c;
    c = (struct chunk){.m = m, .lines = lines, .lens = lens, .linenos = linenos, .outs = outs};
    struct carry carry = {0};
    long lineno = 0;
    int bad = 0, io = 0, eof = 0, werr = 0; /* io: stop (said); werr: stdout's errno */
    int first_nb = 0;
    char first[256] = "";
    while (!eof) {
        c.n = 0;
        while (c.n < CHUNK) {
            if (c.n > 0 && !input_ready(in)) break; /* answer what came, then wait */
            ssize_t r = getline(&lines[c.n], &caps[c.n], in);
            if (r < 0) { eof = 1; break; }
            lineno++;
            if (jsonl_blank(lines[c.n], (size_t)r)) continue; /* blank lines carry no cell */
            linenos[c.n] = lineno;
            lens[c.n++] = (size_t)r;
        }
        if (ferror(in) || (eof && jsonl_read_failed(in))) {
            nb_say(stderr, "nbstage classify: %s: read error: %s", name, strerror(errno));
            io = 1;
            break;
        }
        int t = jobs < 1 ? 1 : jobs;
        if (c.n < 64) t = 1; /* threads cost more than a few cells */
        struct slice sl[64];
        for (int k = 0; k < t; k++) sl[k] = (struct slice){&c, c.n * k / t, c.n * (k + 1) / t, 0, "", 0};
        run_pass(parse_slice, sl, t);
        if (model_reads_context(m)) link_context(&c, &carry);
        run_pass(classify_slice, sl, t);
        if (model_reads_context(m)) keep_context(&carry);
        for (int i = 0; i < c.n; i++) {
            free(c.text[i]), free(c.id_json[i]);
            c.text[i] = c.id_json[i] = NULL;
            if (carry.oom) outs[i].oom = 1;
        }
        for (int k = 0; k < t; k++) {
            if (sl[k].bad && !bad) memcpy(first, sl[k].first, sizeof first), first_nb = sl[k].first_nb;
            bad += sl[k].bad;
        }
        for (int i = 0; i < c.n; i++) {
            if (outs[i].oom) { fprintf(stderr, "nbstage classify: out of memory\n"); io = 1; break; }
            if (fwrite(outs[i].p, 1, outs[i].n, stdout) != outs[i].n) { werr = errno ? errno : EIO; io = 1; break; }
        }
        if (io) break;
        /* the chunk's answers out now (a pipe's stdout is fully buffered) */
        errno = 0;
        if (!eof && fflush(stdout)) { werr = errno ? errno : EIO; io = 1; break; }
    }
    errno = 0;
    if (!io && (fflush(stdout) || ferror(stdout))) werr = errno ? errno : EIO, io = 1;
    if (werr) nb_say(stderr, "nbstage classify: <stdout>: write error: %s", strerror(werr));
    for (int i = 0; i < CHUNK; i++) { free(lines[i]); free(outs[i].p); }
    free(carry.copy);
    /* each is answered in its place on stdout; the first named here, as label names its */
    if (bad) nb_say(stderr, "nbstage classify: %s: %d bad input line%s; the first, %s%s", name, bad,
                    bad == 1 ? "" : "s", first,
                    first_nb == LIKE_NOTEBOOK
                         ? " (it looks like a notebook: JSON Lines are read here, one {\"id\", \"source\"} "
                           "object a line; give a notebook as FILE, `nbstage classify NOTEBOOK.ipynb`, or "
                           "make such lines of it with `nbstage ingest`)"
                    : first_nb == LIKE_TEXT
                         ? " (it is not JSON: JSON Lines are read here, one {\"id\", \"source\"} object a "
                           "line; give a cell of code as FILE, `nbstage classify cell.py`)"
                         : "");
    return io ? EXIT_USAGE : bad ? EXIT_FINDINGS : EXIT_OK;
}

/* ------------------------------------------------------------------ file mode */

/* What the text of a file given as one cell looks like when it is data rather than
 * code: binary data (a NUL byte, or bytes that are not UTF-8), "a notebook" (a JSON
 * object with "cells" or "nbformat"), "JSON Lines of cells" (its first line an object
 * with "source"), else NULL.  Classified as one
 * cell, such a file gets one stage that means nothing, so the caller says so. */
static const char *data_like(const char *p, size_t n)
{
    /* a NUL byte or bytes that are not UTF-8: a program, an image, a pickle */
    const unsigned char *u = (const unsigned char *)p, *end = u + n;
    while (u < end) {
        int k = *u == 0 ? 0 : *u < 0x80 ? 1 : json_utf8_len(u, end);
        if (!k) return "binary data, not UTF-8 text";
        u += k;
    }
    while (n && memchr(" \t\r\n", *p, 4)) p++, n--;
    if (!n || *p != '{') return NULL;
    json_error_t je;
    json_t *o = nb_json_loadb_lenient(p, n, JSON_ALLOW_NUL, &je);
    int nb = json_is_object(o) && (json_object_get(o, "cells") || json_object_get(o, "nbformat"));
    json_decref(o);
    if (nb) return "a notebook";
    const char *eol = memchr(p, '\n', n);
    o = nb_json_loadb_lenient(p, eol ? (size_t)(eol - p) : n, JSON_ALLOW_NUL, &je);
    int cells = json_is_object(o) && json_object_get(o, "source");
    json_decref(o);
    return cells ? "JSON Lines of cells" : NULL;
}

/* One answer line for a file's cell: its id PATH#K (PATH alone when K < 0), written as
 * ingest writes ids (nb_json_path: a byte of the name that is not UTF-8 is \udcXX, so
 * nothing is lost).  0, or -1 when out of memory. */
static int print_path_answer(const char *path, int k, int stage, const float *probs)
{
    char num[24] = "";
    if (k >= 0) snprintf(num, sizeof num, "#%d", k);
    size_t n = strlen(path), m = strlen(num);
    char *id = malloc(n + m + 1);
    char *lit = NULL;
    if (id) {
        memcpy(id, path, n);
        memcpy(id + n, num, m + 1);
        lit = nb_json_path(id);
    }
    int r = print_answer_json(lit, stage, probs);
    free(lit);
    free(id);
    return r;
}

/* Code cell K of a notebook at PATH classified, after the cell before it (TRAIL) for a
 * model that reads context, and its answer printed.  0, or -1 when out of memory. */
static int classify_code_cell(const nbs_model *m, json_t *cell, struct context_trail *trail,
                              const char *path, int k, int as_json)
{
    float probs[N_STAGES];
    size_t n, plen = 0;
    const char *prev = NULL;
    char *src = nb_cell_source(cell, &n);
    if (!src || (model_reads_context(m) && context_trail_next(trail, 1, src, n, &prev, &plen))) {
        free(src);
        return -1;
    }
    int s = model_classify_after(m, prev, plen, src, n, probs);
    free(src);
    if (s == MODEL_NO_MEMORY) return -1;
    if (as_json) return print_path_answer(path, k, s, probs);
    printf("%d\t%s\t%.3f\n", k, s < 0 ? "none" : stage_key[s], s < 0 ? 0.0 : tag_round(probs[s]));
    return 0;
}

/* The notebook at PATH classified code cell by code cell (ids PATH#K, K counting code
 * cells from 0); QUIET: no note on stderr.  0, or EXIT_USAGE (said). */
static int run_notebook(const nbs_model *m, const char *path, int as_json, int quiet)
{
    nb_error e;
    json_t *nb = nb_read_file(path, NB_ALLOW_V3 | NB_DUP_KEYS | NB_LENIENT, &e); /* read only */
    if (!nb) { nb_say(stderr, "nbstage classify: %s", e.msg); return EXIT_USAGE; }
    /* another language's cells would get stages that mean nothing: said, not
     * classified, and no error (tag and summary leave it alike; nbformat/nblang.h) */
    struct nb_lang lang;
    nb_lang_of_tree(nb, &lang);
    if (!lang.python) {
        json_decref(nb);
        if (!quiet)
            nb_say(stderr, "nbstage classify: %s: not Python (%s): not classified (the model "
                           "reads Python)", path, lang.name);
        return 0;
    }
    int k = 0, oom = 0;
    struct context_trail trail = {0}; /* each cell after its predecessor, for a context model */
    for (size_t i = 0; i < nb_cell_count(nb); i++) {
        json_t *cell = nb_cell(nb, i);
        const char *type = nb_cell_type(cell);
        if (!type || strcmp(type, "code")) continue;
        if ((oom = classify_code_cell(m, cell, &trail, path, k, as_json))) break;
        k++;
    }
    context_trail_free(&trail);
    json_decref(nb);
    if (oom) {
        fprintf(stderr, "nbstage classify: out of memory\n");
        return EXIT_USAGE;
    }
    /* nothing on stdout is the right answer, but say why, or it looks like a failure */
    if (k == 0 && !quiet) nb_say(stderr, "nbstage classify: %s: no code cells", path);
    return 0;
}

/* PATH's whole text appended to TEXT; a FIFO refused, not waited on.  0, or EXIT_USAGE
 * (said; TEXT is still the caller's to free). */
static int read_whole_file(const char *path, struct bytebuf *text)
{
    char why[PATH_MAX + 64];
    FILE *f = nb_fopen_input(path, "a notebook", why, sizeof why);
    if (!f) {
        /* a folder said as every command says one given as a file; a FIFO or a device
         * as the walk says it; both with what classify reads instead */
        if (errno == EISDIR)
            nb_say(stderr, "nbstage classify: %s: is a directory, not a file to classify (one .py or .ipynb file, "
                           "or cells on stdin)", path);
        else if (errno == ENXIO)
            nb_say(stderr, "nbstage classify: %s: not a regular file (one .py or .ipynb file, or cells on stdin)",
                   path);
        else
            nb_say(stderr, "nbstage classify: %s: %s", path, why); /* the reason alone, as for a notebook */
        return EXIT_USAGE;
    }
    char chunk[65536];
    size_t r;
    errno = 0;
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) put(text, chunk, r);
    int rerr = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    if (rerr || text->oom) {
        if (rerr) nb_say(stderr, "nbstage classify: %s: read error: %s", path, strerror(rerr));
        else nb_say(stderr, "nbstage classify: %s: out of memory", path);
        return EXIT_USAGE;
    }
    return 0;
}

/* A note on stderr when the text of PATH, classified as one cell, looks like data
 * (data_like): what it looks like, and how to give it instead. */
static void say_if_data_like(const char *path, const struct bytebuf *text)
{
    const char *looks = data_like(text->p ? text->p : "", text->n);
    if (looks)
        nb_say(stderr, "nbstage classify: %s: classified as one cell of code, but it looks like %s: %s",
               path, looks,
               strcmp(looks, "a notebook") == 0
                    ? "name it *.ipynb for a stage per code cell"
               : strcmp(looks, "JSON Lines of cells") == 0
                    ? "give them on stdin (`nbstage classify < FILE`) or in a file named *.jsonl"
                    : "give a file of Python code, or a notebook");
}

/* The file at PATH classified as one cell of code (id PATH); QUIET: no note on stderr.
 * 0, or EXIT_USAGE (said). */
static int run_text_file(const nbs_model *m, const char *path, int as_json, int quiet)
{
    float probs[N_STAGES];
    struct bytebuf text = {0};
    if (read_whole_file(path, &text)) {
        free(text.p);
        return EXIT_USAGE;
    }
    if (!quiet) say_if_data_like(path, &text);
    /* read as a notebook's first cell, as every other command reads a cell alone */
    int s = model_classify_after(m, NULL, 0, text.p ? text.p : "", text.n, probs);
    free(text.p);
    if (s == MODEL_NO_MEMORY || (as_json && print_path_answer(path, -1, s, probs))) {
        fprintf(stderr, "nbstage classify: out of memory\n");
        return EXIT_USAGE;
    }
    if (!as_json) printf("%s\n", s < 0 ? "none" : stage_key[s]);
    return 0;
}

/* PATH classified: a notebook code cell by code cell (ids PATH#K), else the file as one
 * cell of code (id PATH); AS_JSON: answer lines, else plain text; QUIET (-q): the
 * answers and errors only, no note (not Python, no code cells, data-like text). */
static int run_file(const nbs_model *m, const char *path, int as_json, int quiet)
{
    /* any case (nb_is_notebook_name): a notebook saved as NOTES.IPYNB is still a
     * notebook, not Python to classify */
    int rc = nb_is_notebook_name(path) ? run_notebook(m, path, as_json, quiet)
                                       : run_text_file(m, path, as_json, quiet);
    if (rc) return rc;
    return nb_stdout_flush("nbstage classify") ? EXIT_USAGE : EXIT_OK;
}


/* A cells file by its name (.jsonl, in any case, as ingest, label and eval write and
 * read it, or .ndjson, JSON Lines' other common suffix): JSON Lines, not one cell of
 * Python. */
static int is_jsonl_name(const char *path)
{
    size_t n = strlen(path);
    return (n > 6 && strcasecmp(path + n - 6, ".jsonl") == 0 && path[n - 7] != '/') ||
           (n > 7 && strcasecmp(path + n - 7, ".ndjson") == 0 && path[n - 8] != '/');
}

int cmd_classify(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'}, {"jobs", required_argument, 0, 'j'},
        {"json", no_argument, 0, 'J'}, {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *model_path = NULL;
    int ncpu = cpus_usable();
    int jobs = ncpu > 8 ? 8 : ncpu, as_json = 0, quiet = 0, c;
    optind = 0; /* glibc: a full re-initialisation, so tests may call us twice */
    while ((c = getopt_long(argc, argv, "m:j:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'j': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 64) {
                /* worded as ingest, label and tag word it */
                nb_say(stderr, "nbstage classify: -j wants a number of threads from 1 to 64, not '%s'",
                       optarg);
                return EXIT_USAGE;
            }
            jobs = (int)v;
            break;
        }
        case 'J': as_json = 1; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: return cmd_usage_error_fn(argv[0], usage);
        }
    }
    if (argc - optind > 1) {
        fprintf(stderr, "nbstage classify: one FILE, not %d files\n", argc - optind);
        return cmd_usage_error_fn(argv[0], usage);
    }
    if (!model_path) model_path = model_default_path();
    if (!model_path) {
        char why[NB_ERROR_MAX];
        nb_say(stderr, "nbstage classify: no model: %s",
               share_file_missing("default.nbsm", "or give --model FILE or set NBSTAGE_MODEL", why, sizeof why));
        return EXIT_USAGE;
    }
    char err[NB_ERROR_MAX];
    nbs_model *m = model_load(model_path, err, sizeof err);
    if (!m) { nb_say(stderr, "nbstage classify: %s", err); return EXIT_USAGE; }
    const char *file = optind < argc && strcmp(argv[optind], "-") ? argv[optind] : NULL;
    int rc;
    if (!file) rc = run_lines(m, jobs, stdin, "<stdin>");
    else if (is_jsonl_name(file)) {
        char why[PATH_MAX + 64];
        FILE *in = nb_fopen_input(file, "a JSON Lines file", why, sizeof why); /* a FIFO refused, not waited on */
        if (!in) {
            nb_say(stderr, "nbstage classify: %s: %s", file, why);
            rc = EXIT_USAGE;
        } else {
            rc = run_lines(m, jobs, in, file);
            fclose(in);
        }
    } else rc = run_file(m, argv[optind], as_json, quiet);
    model_free(m);
    return rc;
}
