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
    long long size;
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
    struct stat st;
    struct item *it = &c->items[c->n];
    it->path = strdup(path);
    it->rel = strdup(rel);
    it->arg = c->arg;
    it->size = stat(path, &st) == 0 ? (long long)st.st_size : 0;
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

/* A JSON string as Python's json.dumps(ensure_ascii=False) writes it. */
static void put_json_string(FILE *f, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    putc('"', f);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        fwrite(s + run, 1, i - run, f);
        run = i + 1;
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default: fprintf(f, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
        }
    }
    fwrite(s + run, 1, n - run, f);
    putc('"', f);
}

/* ---------------------------------------------------------------- statistics */

/* Exact-duplicate detection keeps a 64-bit hash per distinct source: with ~10^5
 * cells a false match has odds around 10^-10, far below anything the count shows. */
struct hashset {
    uint64_t *slot; /* 0 = empty */
    size_t cap, n;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a final mix */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL; h ^= h >> 33;
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
    for (size_t i = 0; i < n; i++) k += s[i] == '\n';
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

/* Writes the notebook's kept cells; 0, or -1 (with ERR) when the notebook is bad. */
static int ingest_one(const struct item *it, FILE *out, struct stats *st, struct hashset *seen,
                      nb_error *err)
{
    json_t *nb = nb_read_file(it->path, NB_ALLOW_V3, err);
    if (!nb) return -1;
    long k = 0, kept = 0;
    size_t n = nb_cell_count(nb);
    for (size_t i = 0; i < n; i++) {
        json_t *cell = nb_cell(nb, i);
        const char *type = nb_cell_type(cell);
        if (!type || strcmp(type, "code")) continue;
        long index = k++;
        size_t len;
        char *src = nb_cell_source(cell, &len);
        if (!src) {
            snprintf(err->msg, sizeof err->msg, "%s: out of memory", it->path);
            json_decref(nb);
            return -1;
        }
        if (pysrc_is_blank(src, len)) {
            if (is_whitespace(src, len)) st->dropped_empty++;
            else st->dropped_comment++;
            free(src);
            continue;
        }
        kept++;
        st->lines += count_lines(src, len);
        if (hashset_add(seen, hash_bytes(src, len)) == 1) st->duplicates++;
        fputs("{\"id\": ", out);
        size_t rl = strlen(it->rel);
        char idx[32];
        int il = snprintf(idx, sizeof idx, "#%ld", index);
        char *id = malloc(rl + (size_t)il + 1);
        if (id) {
            memcpy(id, it->rel, rl);
            memcpy(id + rl, idx, (size_t)il + 1);
            put_json_string(out, id, rl + (size_t)il);
            free(id);
        }
        fputs(", \"notebook\": ", out);
        put_json_string(out, it->rel, rl);
        fprintf(out, ", \"index\": %ld, \"execution_count\": ", index);
        json_t *ec = json_object_get(cell, "execution_count");
        if (json_is_integer(ec)) fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(ec));
        else fputs("null", out);
        fputs(", \"source\": ", out);
        put_json_string(out, src, len);
        fputs("}\n", out);
        free(src);
    }
    json_decref(nb);
    st->notebooks++;
    st->code_cells += k;
    st->kept += kept;
    if (kept == 0) st->empty_notebooks++;
    if (kept == 1) st->one_cell_notebooks++;
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

    struct stats st = {0};
    struct hashset seen = {0};
    struct progress pb;
    progress_start(&pb, "ingest", (long)wc.n);
    char **bad = NULL;
    size_t nbad = 0;
    for (size_t i = 0; i < wc.n; i++) {
        nb_error err;
        st.bytes += wc.items[i].size;
        if (ingest_one(&wc.items[i], out, &st, &seen, &err)) {
            st.bad++;
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
    st.groups = count_groups(wc.items, wc.n);

    int rc = wc.io_errors ? EXIT_USAGE : EXIT_OK;
    if (fflush(out) || ferror(out)) {
        fprintf(stderr, "nbstage ingest: %s: write error: %s\n", outpath ? outpath : "stdout",
                strerror(errno));
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
    if (!quiet) print_stats(&st, now() - t0);
    free(seen.slot);
    for (size_t i = 0; i < wc.n; i++) { free(wc.items[i].path); free(wc.items[i].rel); }
    free(wc.items);
    return rc;
}
