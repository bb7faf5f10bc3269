/* ingest.c — notebooks to cell lines on worker threads, in order (see ingest.h).
 *
 * Each worker reads a notebook whole, takes its code cells from the byte scanner
 * (cellscan.c) or, when that declines, from the jansson reader, and formats its lines
 * into a buffer of its own.  The calling thread hands the buffers to the sink in item
 * order, so the output is the same whatever the number of threads; workers stay at
 * most WINDOW notebooks ahead, which bounds the memory held.
 */
#include "nbformat/ingest.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbformat/bytebuf.h"
#include "nbformat/cellscan.h"
#include "nbformat/jsonbytes.h"
#include "nbformat/notebook.h"
#include "nbformat/pysrc.h"

enum { WINDOW = 256 };

/* ---------------------------------------------------------------- a growing buffer */

/* A worker's buffers (a notebook's bytes, its cell lines) start at 64 KiB and stay
 * grown from notebook to notebook. */
enum { BUF_FIRST = 1 << 16 };

static char *room(struct bytebuf *b, size_t need) { return bytebuf_room(b, need, BUF_FIRST); }
static void put(struct bytebuf *b, const char *s, size_t n) { bytebuf_put(b, s, n, BUF_FIRST); }
static void puts_(struct bytebuf *b, const char *s) { put(b, s, strlen(s)); }

/* The opening quote and escaped body of a JSON string as Python's
 * json.dumps(ensure_ascii=False) writes it; the caller may add more and close it. */
static void put_string_open(struct bytebuf *b, const char *s, size_t n)
{
    char *d = room(b, 6 * n + 1); /* the worst case: every byte as \u00XX */
    if (!d) return;
    char *start = d;
    *d++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') { *d++ = (char)c; continue; }
        d = json_escape_byte(d, c);
    }
    b->n += (size_t)(d - start);
}

static void put_string(struct bytebuf *b, const char *s, size_t n)
{
    put_string_open(b, s, n);
    put(b, "\"", 1);
}

/* The opening quote and body of the JSON string of a file name's N bytes: lossless,
 * a byte that is not UTF-8 written \udcXX (nb_json_path). */
static void put_path_open(struct bytebuf *b, const char *s, size_t n)
{
    char *d = room(b, 6 * n + 1);
    if (!d) return;
    *d = '"';
    b->n += 1 + nb_json_path_body(d + 1, s, n);
}

/* ---------------------------------------------------------------- duplicates */

/* Exact duplicates are counted by a 64-bit hash per distinct source: with ~10^5
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

/* 1 when H was there already, 0 when added, -1 when out of memory. */
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

/* ---------------------------------------------------------------- one notebook */

struct result {
    char *lines;
    size_t len;
    char *error;       /* a bad notebook's reason */
    uint64_t *hashes;  /* of the kept sources, for the duplicate count */
    size_t nhashes;
    struct ingest_stats st;
    struct nb_lang lang;
    int not_python; /* skipped (st all 0 but bytes): LANG says which language */
    int done;
};

struct worker {
    struct pool *pool;
    pthread_t thread;
    struct cellscan scan; /* buffers reused from notebook to notebook */
    char why[PATH_MAX + 64]; /* the reason load gives when it is not a constant string */
    struct bytebuf file, out;
    uint64_t *hashes;
    size_t nhashes, hashes_cap;
};

static long count_lines(const char *s, size_t n)
{
    if (n == 0) return 0;
    long k = 0;
    for (const char *p = s, *end = s + n; (p = memchr(p, '\n', (size_t)(end - p))); p++) k++;
    return k + (s[n - 1] != '\n');
}

static void cell_line(struct worker *w, struct ingest_stats *st, const char *rel, long index,
                      const char *src, size_t len, int has_count, long long count)
{
    if (pysrc_is_blank(src, len)) {
        /* empty: white space alone, as Python's str.isspace() has it (a full-width
         * space is no comment) */
        if (!memchr(src, '#', len)) st->dropped_empty++;
        else st->dropped_comment++;
        return;
    }
    st->kept++;
    st->lines += count_lines(src, len);
    if (w->nhashes == w->hashes_cap) {
        size_t cap = w->hashes_cap ? w->hashes_cap * 2 : 256;
        uint64_t *h = realloc(w->hashes, cap * sizeof *h);
        if (!h) { w->out.oom = 1; return; }
        w->hashes = h;
        w->hashes_cap = cap;
    }
    w->hashes[w->nhashes++] = hash_bytes(src, len);

    struct bytebuf *b = &w->out;
    size_t rl = strlen(rel);
    char num[64];
    /* the id is the notebook's path plus "#k", escaped as one string */
    puts_(b, "{\"id\": ");
    put_path_open(b, rel, rl);
    put(b, num, (size_t)snprintf(num, sizeof num, "#%ld", index));
    puts_(b, "\", \"notebook\": ");
    put_path_open(b, rel, rl);
    put(b, "\"", 1);
    put(b, num, (size_t)snprintf(num, sizeof num, ", \"index\": %ld, \"execution_count\": ", index));
    if (has_count) put(b, num, (size_t)snprintf(num, sizeof num, "%lld", count));
    else puts_(b, "null");
    puts_(b, ", \"source\": ");
    put_string(b, src, len);
    puts_(b, "}\n");
}

/* Reads PATH ("-": standard input) whole into w->file; NULL or the reason it could
 * not. */
static const char *load(struct worker *w, const char *path)
{
    int is_stdin = !strcmp(path, "-");
    FILE *f = stdin;
    if (!is_stdin) { /* a FIFO put in its place since the walk is refused, not waited on */
        struct stat st;
        int fd = nb_open_regular(path, &st, w->why, sizeof w->why);
        if (fd < 0) return w->why;
        if (!(f = fdopen(fd, "rb"))) {
            snprintf(w->why, sizeof w->why, "%s", strerror(errno)); /* before close can change errno */
            close(fd);
            return w->why;
        }
    }
    w->file.n = 0;
    errno = 0; /* fread's, if it fails */
    for (;;) {
        char *d = room(&w->file, 1 << 16);
        if (!d) {
            if (!is_stdin) fclose(f); /* standard input stays open, as below */
            w->file.oom = 0; /* the next notebook may fit */
            return "out of memory";
        }
        size_t r = fread(d, 1, w->file.cap - w->file.n, f);
        w->file.n += r;
        if (r == 0) break;
    }
    int bad = ferror(f), e = errno;
    if (!is_stdin) fclose(f);
    if (bad) return strerror(e ? e : EIO);
    if (w->file.n == 0) return "empty file";
    return NULL;
}

static char *error_text(const char *path, const char *reason)
{
    size_t n = strlen(path) + strlen(reason) + 3;
    char *e = malloc(n);
    if (e) snprintf(e, n, "%s: %s", path, reason);
    return e;
}

/* An item as messages name it. */
static const char *item_name(const struct ingest_item *it)
{
    return strcmp(it->path, "-") ? it->path : "<stdin>";
}

/* How far a reader took a notebook. */
enum cells_read {
    CELLS_READ,       /* its code cells are cell_line'd */
    CELLS_NOT_PYTHON, /* not training data for a Python model */
    CELLS_BAD,        /* the notebook is bad: R's error says why */
    CELLS_UNSCANNED,  /* the byte scanner cannot take it: the jansson reader will */
};

/* The code cells of w->file by the byte scanner, *K of them.  UNSCANNED when the
 * scanner cannot tell (the language unknown, out of memory): the notebook is then
 * read whole, by tree_cells. */
static enum cells_read scan_cells(struct worker *w, const struct ingest_item *it, struct result *r, long *k)
{
    if (cellscan_run(&w->scan, w->file.p, w->file.n) != 0 ||
        nb_lang_of_metadata(w->file.p + w->scan.meta_off, w->scan.meta_end - w->scan.meta_off, &r->lang) != 0)
        return CELLS_UNSCANNED;
    if (!r->lang.python) return CELLS_NOT_PYTHON;
    long n = 0;
    for (size_t i = 0; i < w->scan.n; i++) {
        const struct cellscan_cell *c = &w->scan.cells[i];
        cell_line(w, &r->st, it->rel, n++, w->scan.text.p + c->off, c->len, c->has_count, c->count);
    }
    *k = n;
    return CELLS_READ;
}

/* The code cells of w->file by the jansson reader (nbformat 3, odd corners), *K of
 * them; BAD, with R's error, when the notebook is bad. */
static enum cells_read tree_cells(struct worker *w, const struct ingest_item *it, const char *name,
                                  struct result *r, long *k)
{
    nb_error err;
    /* ingest only reads: duplicate keys, NaN, huge numbers and lone surrogates are
     * taken as Python's json takes them (the last key wins; null, U+FFFD) */
    json_t *nb = nb_read_mem(w->file.p, w->file.n, name,
                             NB_ALLOW_V3 | NB_DUP_KEYS | NB_LENIENT, &err);
    if (!nb) {
        r->error = strdup(err.msg);
        r->st = (struct ingest_stats){.bad = 1, .bytes = (long long)w->file.n};
        return CELLS_BAD;
    }
    nb_lang_of_tree(nb, &r->lang);
    if (!r->lang.python) {
        json_decref(nb);
        return CELLS_NOT_PYTHON;
    }
    long m = 0;
    size_t n = nb_cell_count(nb);
    for (size_t i = 0; i < n; i++) {
        json_t *cell = nb_cell(nb, i);
        const char *type = nb_cell_type(cell);
        if (!type || strcmp(type, "code")) continue;
        size_t sl;
        char *src = nb_cell_source(cell, &sl);
        if (!src) { w->out.oom = 1; break; }
        json_t *ec = json_object_get(cell, "execution_count");
        cell_line(w, &r->st, it->rel, m++, src, sl, json_is_integer(ec), json_integer_value(ec));
        free(src);
    }
    json_decref(nb);
    *k = m;
    return CELLS_READ;
}

/* R's lines and hashes: exact-size copies of the worker's, whose buffers stay for the
 * next notebook.  Out of memory makes R an error. */
static void hand_over(struct worker *w, const char *name, struct result *r)
{
    if (w->out.n && (r->lines = malloc(w->out.n))) {
        memcpy(r->lines, w->out.p, w->out.n);
        r->len = w->out.n;
    }
    if (w->nhashes && (r->hashes = malloc(w->nhashes * sizeof *r->hashes))) {
        memcpy(r->hashes, w->hashes, w->nhashes * sizeof *r->hashes);
        r->nhashes = w->nhashes;
    }
    if ((w->out.n && !r->lines) || (w->nhashes && !r->hashes)) {
        free(r->lines);
        free(r->hashes);
        *r = (struct result){.error = error_text(name, "out of memory"),
                             .st = {.bad = 1, .bytes = (long long)w->file.n}};
    }
}

/* One notebook into R: read, its code cells by the byte scanner (nearly all) or the
 * jansson reader (the rest, and why a bad one is bad), then its counts and lines. */
static void process(struct worker *w, const struct ingest_item *it, struct result *r)
{
    memset(r, 0, sizeof *r);
    w->out.n = 0;
    w->nhashes = 0;
    const char *name = item_name(it);
    const char *why = it->why ? it->why : load(w, it->path);
    if (why) {
        r->error = error_text(name, why);
        r->st.bad = 1;
        return;
    }
    r->st.bytes = (long long)w->file.n;
    long k = 0;
    enum cells_read got = scan_cells(w, it, r, &k);
    if (got == CELLS_UNSCANNED) got = tree_cells(w, it, name, r, &k);
    if (got == CELLS_NOT_PYTHON) r->not_python = 1;
    if (got != CELLS_READ) return;
    if (w->out.oom) {
        r->error = error_text(name, "out of memory");
        r->st = (struct ingest_stats){.bad = 1, .bytes = (long long)w->file.n};
        w->out.oom = 0;
        return;
    }
    r->st.notebooks = 1;
    r->st.code_cells = k;
    r->st.empty_notebooks = r->st.kept == 0;
    r->st.one_cell_notebooks = r->st.kept == 1;
    hand_over(w, name, r);
}

/* ---------------------------------------------------------------- the pool */

struct pool {
    const struct ingest_item *items;
    size_t n;
    struct result *res;
    size_t next;     /* the next item a worker takes */
    size_t consumed; /* items handed to the sink */
    int stop;
    pthread_mutex_t lock;
    pthread_cond_t done, room;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct pool *p = w->pool;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->stop && p->next < p->n && p->next >= p->consumed + WINDOW)
            pthread_cond_wait(&p->room, &p->lock);
        if (p->stop || p->next >= p->n) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        size_t i = p->next++;
        pthread_mutex_unlock(&p->lock);
        struct result r;
        process(w, &p->items[i], &r);
        pthread_mutex_lock(&p->lock);
        p->res[i] = r;
        p->res[i].done = 1;
        pthread_cond_broadcast(&p->done);
        pthread_mutex_unlock(&p->lock);
    }
}

static void add_stats(struct ingest_stats *a, const struct ingest_stats *b)
{
    a->notebooks += b->notebooks;
    a->bad += b->bad;
    a->code_cells += b->code_cells;
    a->kept += b->kept;
    a->dropped_empty += b->dropped_empty;
    a->dropped_comment += b->dropped_comment;
    a->one_cell_notebooks += b->one_cell_notebooks;
    a->empty_notebooks += b->empty_notebooks;
    a->lines += b->lines;
    a->bytes += b->bytes;
}

int ingest_run(const struct ingest_item *items, size_t n, int jobs, ingest_sink sink, void *ctx,
               struct ingest_stats *st)
{
    memset(st, 0, sizeof *st);
    if (jobs < 1) jobs = 1;
    if ((size_t)jobs > n) jobs = n ? (int)n : 1;
    struct pool p = {.items = items, .n = n};
    p.res = calloc(n ? n : 1, sizeof *p.res);
    struct worker *w = calloc((size_t)jobs, sizeof *w);
    if (!p.res || !w) { free(p.res); free(w); return -1; }
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.done, NULL);
    pthread_cond_init(&p.room, NULL);
    int started = 0, rc = 0;
    for (; started < jobs; started++) {
        w[started].pool = &p;
        if (pthread_create(&w[started].thread, NULL, work, &w[started])) break;
    }
    if (started == 0) rc = -1;

    struct hashset seen = {0};
    for (size_t i = 0; i < n && rc == 0; i++) {
        pthread_mutex_lock(&p.lock);
        while (!p.res[i].done) pthread_cond_wait(&p.done, &p.lock);
        pthread_mutex_unlock(&p.lock);
        struct result *r = &p.res[i];
        add_stats(st, &r->st);
        if (r->not_python) nb_lang_tally_add(&st->not_python, &r->lang);
        for (size_t h = 0; h < r->nhashes; h++) {
            int dup = hashset_add(&seen, r->hashes[h]);
            if (dup < 0) { rc = -1; break; }
            st->duplicates += dup;
        }
        /* a bad notebook whose reason could not be copied (no memory) is still named */
        char lost[PATH_MAX + 64];
        const char *error = r->error;
        if (r->st.bad && !error) {
            snprintf(lost, sizeof lost, "%s: out of memory for the reason it could not be read",
                     item_name(&items[i]));
            error = lost;
        }
        int s = sink(i, r->lines ? r->lines : "", r->len, error, ctx);
        if (s && rc == 0) rc = s;
        free(r->lines);
        free(r->error);
        free(r->hashes);
        pthread_mutex_lock(&p.lock);
        p.consumed = i + 1;
        if (rc) p.stop = 1;
        pthread_cond_broadcast(&p.room);
        pthread_mutex_unlock(&p.lock);
    }
    for (int t = 0; t < started; t++) pthread_join(w[t].thread, NULL);
    /* after a stop, results made but never consumed */
    for (size_t i = 0; i < n; i++)
        if (p.res[i].done && (p.res[i].lines || p.res[i].error || p.res[i].hashes) && i >= p.consumed) {
            free(p.res[i].lines);
            free(p.res[i].error);
            free(p.res[i].hashes);
        }
    for (int t = 0; t < jobs; t++) {
        cellscan_free(&w[t].scan);
        free(w[t].file.p);
        free(w[t].out.p);
        free(w[t].hashes);
    }
    free(w);
    free(seen.slot);
    free(p.res);
    pthread_mutex_destroy(&p.lock);
    pthread_cond_destroy(&p.done);
    pthread_cond_destroy(&p.room);
    return rc;
}
