/* cmd_ingest.c — `nbstage ingest`: notebooks -> one JSON line per code cell.
 *
 * Owns: the cell id scheme (`<path relative to the PATH given>#<k>`, k counting every
 * code cell of the notebook from 0, dropped ones included, so ids stay stable whatever
 * the dropping rules), dropping empty and comment-only cells, and the corpus
 * statistics of the reference study's section 2, printed to stderr.  Bad notebooks
 * are listed with their reason and skipped: one broken file never stops a corpus.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "model/commands.h"
#include "nbformat/cellscan.h"
#include "nbformat/notebook.h"
#include "nbformat/progress.h"
#include "nbformat/pysrc.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: nbstage ingest [-o cells.jsonl] [-q] PATH...\n\n"
            "Walks each PATH (a notebook or a folder, recursively, in name order, skipping\n"
            ".ipynb_checkpoints and hidden folders) and writes one JSON line per code cell:\n"
            "  {\"id\": \"<path relative to PATH>#<k>\", \"notebook\": \"<path relative to PATH>\",\n"
            "   \"index\": k, \"execution_count\": n|null, \"source\": \"...\"}\n"
            "k counts the notebook's code cells from 0.  Empty and comment-only cells are\n"
            "dropped (and counted).  nbformat 4 and 3 are read.\n\n"
            "Statistics go to stderr: notebooks, groups (top-level folders under PATH),\n"
            "cells, means, dropped and duplicate cells, and each bad notebook with its\n"
            "reason (bad notebooks are skipped, never fatal).\n\n"
            "options:\n"
            "  -o, --output FILE  write the lines to FILE (atomically) instead of stdout\n"
            "  -q, --quiet        no statistics (bad notebooks are still listed)\n"
            "  -h, --help         this help\n\n"
            "exit: 0 done (even with bad notebooks), 2 usage or I/O error (a missing PATH,\n"
            "an unwritable output).\n");
}

/* ---------------------------------------------------------------- the work list */

struct item {
    char *path, *rel;
    int arg;          /* which PATH it came from: groups are per PATH */
};

struct walk_ctx {
    struct item *items;
    size_t n, cap;
    int arg;
    int io_errors;
};

static int collect(const char *path, const char *rel, void *vctx)
{
    struct walk_ctx *c = vctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        struct item *p = realloc(c->items, cap * sizeof *p);
        if (!p) { fprintf(stderr, "nbstage ingest: out of memory\n"); return -1; }
        c->items = p;
        c->cap = cap;
    }
    struct item *it = &c->items[c->n];
    it->path = strdup(path);
    it->rel = strdup(rel);
    it->arg = c->arg;
    if (!it->path || !it->rel) { fprintf(stderr, "nbstage ingest: out of memory\n"); return -1; }
    c->n++;
    return 0;
}

static void walk_error(const char *path, const char *reason, void *vctx)
{
    struct walk_ctx *c = vctx;
    fprintf(stderr, "nbstage ingest: %s: %s\n", path, reason);
    c->io_errors++;
}

/* ---------------------------------------------------------------- JSON output */

/* Output collected in memory and written in large blocks: stdio per escaped run
 * was a quarter of ingest's time. */
struct outbuf {
    FILE *f;
    char *p;
    size_t n, cap;
    int err; /* a write failed (errno kept in err_no) */
    int err_no;
};

enum { OUT_BLOCK = 1 << 20 };

static void out_flush(struct outbuf *o)
{
    if (o->n && !o->err && fwrite(o->p, 1, o->n, o->f) != o->n) { o->err = 1; o->err_no = errno; }
    o->n = 0;
}

static char *out_room(struct outbuf *o, size_t need)
{
    if (o->n + need > o->cap) {
        out_flush(o);
        if (need > o->cap) {
            size_t cap = o->cap ? o->cap : OUT_BLOCK;
            while (cap < need) cap *= 2;
            char *p = realloc(o->p, cap);
            if (!p) { o->err = 1; o->err_no = ENOMEM; return NULL; }
            o->p = p;
            o->cap = cap;
        }
    }
    return o->p + o->n;
}

static void out_put(struct outbuf *o, const char *s, size_t n)
{
    char *d = out_room(o, n);
    if (!d) return;
    memcpy(d, s, n);
    o->n += n;
}

static void out_puts(struct outbuf *o, const char *s) { out_put(o, s, strlen(s)); }

/* The opening quote and escaped body of a JSON string, as Python's
 * json.dumps(ensure_ascii=False) writes it; the caller may add more and close it. */
static void put_json_string_open(struct outbuf *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *d = out_room(o, 6 * n + 1); /* the worst case: every byte as \u00XX */
    if (!d) return;
    char *start = d;
    *d++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') { *d++ = (char)c; continue; }
        *d++ = '\\';
        switch (c) {
        case '"': *d++ = '"'; break;
        case '\\': *d++ = '\\'; break;
        case '\n': *d++ = 'n'; break;
        case '\r': *d++ = 'r'; break;
        case '\t': *d++ = 't'; break;
        case '\b': *d++ = 'b'; break;
        case '\f': *d++ = 'f'; break;
        default: *d++ = 'u'; *d++ = '0'; *d++ = '0'; *d++ = hex[c >> 4]; *d++ = hex[c & 15];
        }
    }
    o->n += (size_t)(d - start);
}

static void put_json_string(struct outbuf *o, const char *s, size_t n)
{
    put_json_string_open(o, s, n);
    out_put(o, "\"", 1);
}

/* ---------------------------------------------------------------- statistics */

/* Exact-duplicate detection keeps a 64-bit hash per distinct source: with ~10^5
 * cells a false match has odds around 10^-10, far below anything the count shows. */
struct hashset {
    uint64_t *slot; /* 0 = empty */
    size_t cap, n;
};

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

/* Eight bytes a step, each word mixed in (murmur3's finaliser), the length last. */
static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = mix(h ^ w) + 0x9e3779b97f4a7c15ULL;
    }
    uint64_t w = 0;
    memcpy(&w, s + i, n - i);
    h = mix(h ^ w ^ ((uint64_t)n << 56));
    return h ? h : 1;
}

/* 1 when H was there already; -1 when out of memory. */
static int hashset_add(struct hashset *hs, uint64_t h)
{
    if ((hs->n + 1) * 2 > hs->cap) {
        size_t cap = hs->cap ? hs->cap * 2 : 4096;
        uint64_t *s = calloc(cap, sizeof *s);
        if (!s) return -1;
        for (size_t i = 0; i < hs->cap; i++) {
            if (!hs->slot[i]) continue;
            size_t j = hs->slot[i] & (cap - 1);
            while (s[j]) j = (j + 1) & (cap - 1);
            s[j] = hs->slot[i];
        }
        free(hs->slot);
        hs->slot = s;
        hs->cap = cap;
    }
    size_t j = h & (hs->cap - 1);
    while (hs->slot[j]) {
        if (hs->slot[j] == h) return 1;
        j = (j + 1) & (hs->cap - 1);
    }
    hs->slot[j] = h;
    hs->n++;
    return 0;
}

struct stats {
    long notebooks, bad, code_cells, kept, dropped_empty, dropped_comment, duplicates;
    long one_cell_notebooks, empty_notebooks, lines;
    long long bytes;
    long groups;
};

static int is_whitespace(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(" \t\n\r\f\v", s[i])) return 0;
    return 1;
}

static long count_lines(const char *s, size_t n)
{
    if (n == 0) return 0;
    long k = 0;
    for (const char *p = s, *end = s + n; (p = memchr(p, '\n', (size_t)(end - p))); p++) k++;
    return k + (s[n - 1] != '\n');
}

/* The group of a notebook: its top-level folder under the PATH given ("." for a
 * notebook directly in it). */
static size_t group_len(const char *rel)
{
    const char *slash = strchr(rel, '/');
    return slash ? (size_t)(slash - rel) : 0;
}

/* Counts distinct (PATH, top folder) pairs; items arrive sorted within each PATH, so
 * a group is new exactly when it differs from the previous item's. */
static long count_groups(const struct item *items, size_t n)
{
    long g = 0;
    for (size_t i = 0; i < n; i++) {
        size_t gl = group_len(items[i].rel);
        if (i == 0 || items[i].arg != items[i - 1].arg) { g++; continue; }
        size_t pl = group_len(items[i - 1].rel);
        if (gl != pl || memcmp(items[i].rel, items[i - 1].rel, gl)) g++;
    }
    return g;
}

/* ---------------------------------------------------------------- one notebook */

struct ingest {
    struct outbuf out;
    struct stats st;
    struct hashset seen;
    struct cellscan scan; /* reused: its buffers grow once */
    char *buf;            /* the file being read, reused likewise */
    size_t buf_cap;
};

static void emit(struct ingest *g, const struct item *it, long index, const char *src, size_t len,
                 int has_count, long long count, long *kept)
{
    if (pysrc_is_blank(src, len)) {
        if (is_whitespace(src, len)) g->st.dropped_empty++;
        else g->st.dropped_comment++;
        return;
    }
    (*kept)++;
    g->st.lines += count_lines(src, len);
    if (hashset_add(&g->seen, hash_bytes(src, len)) == 1) g->st.duplicates++;
    struct outbuf *out = &g->out;
    size_t rl = strlen(it->rel);
    char num[64];
    int nl = snprintf(num, sizeof num, "#%ld", index);
    /* the id is the notebook's path plus "#k", escaped as one string */
    out_puts(out, "{\"id\": ");
    put_json_string_open(out, it->rel, rl);
    out_put(out, num, (size_t)nl);
    out_puts(out, "\", \"notebook\": ");
    put_json_string(out, it->rel, rl);
    nl = snprintf(num, sizeof num, ", \"index\": %ld, \"execution_count\": ", index);
    out_put(out, num, (size_t)nl);
    if (has_count) {
        nl = snprintf(num, sizeof num, "%lld", count);
        out_put(out, num, (size_t)nl);
    } else {
        out_puts(out, "null");
    }
    out_puts(out, ", \"source\": ");
    put_json_string(out, src, len);
    out_puts(out, "}\n");
}

/* Reads the whole file into g->buf; -1 with ERR. */
static int load(struct ingest *g, const char *path, size_t *len, nb_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err->msg, sizeof err->msg, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = 0;
    for (;;) {
        if (n == g->buf_cap) {
            size_t cap = g->buf_cap ? g->buf_cap * 2 : 1 << 20;
            char *b = realloc(g->buf, cap);
            if (!b) { fclose(f); snprintf(err->msg, sizeof err->msg, "%s: out of memory", path); return -1; }
            g->buf = b;
            g->buf_cap = cap;
        }
        size_t r = fread(g->buf + n, 1, g->buf_cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        snprintf(err->msg, sizeof err->msg, "%s: read error", path);
        return -1;
    }
    if (n == 0) {
        snprintf(err->msg, sizeof err->msg, "%s: empty file", path);
        return -1;
    }
    *len = n;
    return 0;
}

/* Writes the notebook's kept cells; 0, or -1 (with ERR) when the notebook is bad.
 * The byte scanner takes nearly every notebook; the jansson reader the rest (nbformat
 * 3, odd corners) and gives the reason for a bad one. */
static int ingest_one(struct ingest *g, const struct item *it, nb_error *err)
{
    size_t len;
    if (load(g, it->path, &len, err)) return -1;
    g->st.bytes += (long long)len;
    long k = 0, kept = 0;
    if (cellscan_run(&g->scan, g->buf, len) == 0) {
        for (size_t i = 0; i < g->scan.n; i++) {
            const struct cellscan_cell *c = &g->scan.cells[i];
            emit(g, it, k++, g->scan.text + c->off, c->len, c->has_count, c->count, &kept);
        }
    } else {
        json_t *nb = nb_read_mem(g->buf, len, it->path, NB_ALLOW_V3, err);
        if (!nb) return -1;
        size_t n = nb_cell_count(nb);
        for (size_t i = 0; i < n; i++) {
            json_t *cell = nb_cell(nb, i);
            const char *type = nb_cell_type(cell);
            if (!type || strcmp(type, "code")) continue;
            size_t sl;
            char *src = nb_cell_source(cell, &sl);
            if (!src) {
                snprintf(err->msg, sizeof err->msg, "%s: out of memory", it->path);
                json_decref(nb);
                return -1;
            }
            json_t *ec = json_object_get(cell, "execution_count");
            emit(g, it, k++, src, sl, json_is_integer(ec), json_integer_value(ec), &kept);
            free(src);
        }
        json_decref(nb);
    }
    g->st.notebooks++;
    g->st.code_cells += k;
    g->st.kept += kept;
    if (kept == 0) g->st.empty_notebooks++;
    if (kept == 1) g->st.one_cell_notebooks++;
    return 0;
}

/* ---------------------------------------------------------------- the command */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0; }

static void print_stats(const struct stats *st, double secs)
{
    fprintf(stderr,
            "ingest: %ld notebooks in %ld groups (%.1f notebooks per group), %ld bad\n"
            "ingest: %ld code cells, %ld kept: %.1f cells per notebook, %.1f lines per cell\n"
            "ingest: dropped %ld empty and %ld comment-only cells\n"
            "ingest: %ld exact-duplicate cells (%.1f%% of kept); %ld one-cell notebooks, "
            "%ld with no cell kept\n"
            "ingest: %.1f MB in %.2f s: %.0f notebooks/s, %.1f MB/s\n",
            st->notebooks, st->groups, ratio((double)st->notebooks, (double)st->groups),
            st->bad, st->code_cells, st->kept, ratio((double)st->kept, (double)st->notebooks),
            ratio((double)st->lines, (double)st->kept), st->dropped_empty,
            st->dropped_comment, st->duplicates,
            100.0 * ratio((double)st->duplicates, (double)st->kept), st->one_cell_notebooks,
            st->empty_notebooks, (double)st->bytes / 1e6, secs,
            ratio((double)(st->notebooks + st->bad), secs),
            ratio((double)st->bytes / 1e6, secs));
}

int cmd_ingest(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *outpath = NULL;
    int quiet = 0, c;
    optind = 0; /* glibc: a full re-initialisation, so tests may call us twice */
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': outpath = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "nbstage ingest: no PATH given\n");
        usage(stderr);
        return EXIT_USAGE;
    }

    double t0 = now();
    struct walk_ctx wc = {0};
    for (int a = optind; a < argc; a++) {
        wc.arg = a;
        if (nb_walk(argv[a], collect, walk_error, &wc)) {
            for (size_t i = 0; i < wc.n; i++) { free(wc.items[i].path); free(wc.items[i].rel); }
            free(wc.items);
            return EXIT_USAGE;
        }
    }

    /* The output goes to a temporary file renamed at the end: a failed run never
     * leaves a half-written cells.jsonl behind. */
    FILE *out = stdout;
    char *tmp = NULL;
    if (outpath) {
        size_t tn = strlen(outpath) + 16;
        tmp = malloc(tn);
        int fd = -1;
        if (tmp) {
            snprintf(tmp, tn, "%s.tmp-XXXXXX", outpath);
            fd = mkstemp(tmp);
        }
        if (fd < 0 || !(out = fdopen(fd, "w"))) {
            fprintf(stderr, "nbstage ingest: %s: %s\n", outpath, strerror(errno));
            if (fd >= 0) { close(fd); unlink(tmp); }
            free(tmp);
            for (size_t i = 0; i < wc.n; i++) { free(wc.items[i].path); free(wc.items[i].rel); }
            free(wc.items);
            return EXIT_USAGE;
        }
        fchmod(fd, 0644);
    }

    struct ingest g = {.out = {.f = out}};
    struct progress pb;
    progress_start(&pb, "ingest", (long)wc.n);
    char **bad = NULL;
    size_t nbad = 0;
    for (size_t i = 0; i < wc.n; i++) {
        nb_error err;
        if (ingest_one(&g, &wc.items[i], &err)) {
            g.st.bad++;
            char **p = realloc(bad, (nbad + 1) * sizeof *p);
            if (p) {
                bad = p;
                bad[nbad] = strdup(err.msg);
                if (bad[nbad]) nbad++;
            }
        }
        progress_update(&pb, (long)i + 1);
    }
    progress_end(&pb);
    g.st.groups = count_groups(wc.items, wc.n);

    int rc = wc.io_errors ? EXIT_USAGE : EXIT_OK;
    out_flush(&g.out);
    if (!g.out.err && (fflush(out) || ferror(out))) { g.out.err = 1; g.out.err_no = errno; }
    if (g.out.err) {
        fprintf(stderr, "nbstage ingest: %s: write error: %s\n", outpath ? outpath : "stdout",
                strerror(g.out.err_no));
        rc = EXIT_USAGE;
    }
    if (outpath) {
        if (fsync(fileno(out)) && rc == EXIT_OK) {
            fprintf(stderr, "nbstage ingest: %s: %s\n", outpath, strerror(errno));
            rc = EXIT_USAGE;
        }
        fclose(out);
        if (rc == EXIT_OK && rename(tmp, outpath)) {
            fprintf(stderr, "nbstage ingest: %s: %s\n", outpath, strerror(errno));
            rc = EXIT_USAGE;
        }
        if (rc != EXIT_OK) unlink(tmp);
        free(tmp);
    }

    for (size_t i = 0; i < nbad; i++) {
        fprintf(stderr, "ingest: bad notebook skipped: %s\n", bad[i]);
        free(bad[i]);
    }
    free(bad);
    if (!quiet) print_stats(&g.st, now() - t0);
    free(g.seen.slot);
    free(g.buf);
    free(g.out.p);
    cellscan_free(&g.scan);
    for (size_t i = 0; i < wc.n; i++) { free(wc.items[i].path); free(wc.items[i].rel); }
    free(wc.items);
    return rc;
}
