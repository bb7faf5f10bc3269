/* cellscan.c — code cells straight from a notebook's bytes (see cellscan.h).
 *
 * A recursive-descent pass with jansson's rules (RFC 8259 grammar, strict UTF-8, no
 * control characters in strings, paired surrogate escapes, no duplicate keys, 64-bit
 * integers, finite reals) and nb_read_mem's structure checks.  Wherever matching
 * jansson exactly would take more code than the case is worth (escaped keys, numbers
 * near the limits, deep nesting, nbformat 3, any error at all), it returns -1 and the
 * caller takes the slow, exact path.  Building no tree is what makes ingest fast:
 * jansson spends most of its time allocating values nobody reads.
 */
#include "nbformat/cellscan.h"

#include <stdlib.h>
#include <string.h>

#include "nbformat/jsonbytes.h"

typedef const unsigned char uc;

typedef struct {
    uc *p, *end;
    struct cellscan *s;
    int depth;
} scanner;

enum { MAX_DEPTH = 512 }; /* well inside jansson's 2048 */

#define TRY(x) do { if ((x) < 0) return -1; } while (0)

static void skip_ws(scanner *q)
{
    while (q->p < q->end && (*q->p == ' ' || *q->p == '\n' || *q->p == '\r' || *q->p == '\t'))
        q->p++;
}

static int expect(scanner *q, unsigned char c)
{
    skip_ws(q);
    if (q->p >= q->end || *q->p != c) return -1;
    q->p++;
    skip_ws(q);
    return 0;
}

/* ---------------------------------------------------------------- text buffer */

/* The sources' first capacity: a worker's text grows once and stays. */
enum { TEXT_FIRST = 65536 };

static int text_put(struct cellscan *s, const void *b, size_t n)
{
    return bytebuf_put(&s->text, b, n, TEXT_FIRST);
}

/* ---------------------------------------------------------------- strings */

static int put_utf8(struct cellscan *s, unsigned cp)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) { b[0] = (unsigned char)cp; n = 1; }
    else if (cp < 0x800) { b[0] = (unsigned char)(0xc0 | cp >> 6); b[1] = (unsigned char)(0x80 | (cp & 0x3f)); n = 2; }
    else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xe0 | cp >> 12); b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp & 0x3f)); n = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | cp >> 18); b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)); b[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return text_put(s, b, n);
}

/* The string whose opening quote is at q->p.  DECODE appends its value to s->text.
 * RAW and RAWN: the bytes between the quotes; ESC: whether a backslash was seen. */
static int string(scanner *q, int decode, uc **raw, size_t *rawn, int *esc)
{
    uc *p = q->p + 1, *end = q->end, *start = p, *run = p;
    struct cellscan *s = q->s;
    int had_esc = 0;
    for (;;) {
        p = json_scan_unescaped(p, end);
        if (!p) return -1;
        if (*p == '"') break;
        /* a backslash */
        had_esc = 1;
        if (decode) TRY(text_put(s, run, (size_t)(p - run)));
        if (++p >= end) return -1;
        unsigned char ch;
        switch (*p) {
        case '"': ch = '"'; break;
        case '\\': ch = '\\'; break;
        case '/': ch = '/'; break;
        case 'b': ch = '\b'; break;
        case 'f': ch = '\f'; break;
        case 'n': ch = '\n'; break;
        case 'r': ch = '\r'; break;
        case 't': ch = '\t'; break;
        case 'u': {
            unsigned cp;
            TRY(json_hex4(p + 1, end, &cp));
            p += 5;
            if (cp >= 0xdc00 && cp <= 0xdfff) return -1; /* lone low surrogate */
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return -1;
                TRY(json_hex4(p + 2, end, &lo));
                if (lo < 0xdc00 || lo > 0xdfff) return -1;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
            if (decode) TRY(put_utf8(s, cp));
            run = p;
            continue;
        }
        default: return -1;
        }
        if (decode) TRY(text_put(s, &ch, 1));
        run = ++p;
    }
    if (decode) TRY(text_put(s, run, (size_t)(p - run)));
    if (raw) { *raw = start; *rawn = (size_t)(p - start); }
    if (esc) *esc = had_esc;
    q->p = p + 1;
    return 0;
}

/* ---------------------------------------------------------------- keys */

static int key_cmp(const void *a, const void *b)
{
    const struct { const char *p; size_t n; } *x = a, *y = b;
    if (x->n != y->n) return x->n < y->n ? -1 : 1;
    return memcmp(x->p, y->p, x->n);
}

/* Reads a key and the ':' after it; escaped keys are left to jansson. */
static int key(scanner *q, uc **k, size_t *kn)
{
    if (q->p >= q->end || *q->p != '"') return -1;
    int esc;
    TRY(string(q, 0, k, kn, &esc));
    if (esc) return -1;
    struct cellscan *s = q->s;
    if (s->nkeys == s->keys_cap) {
        size_t cap = s->keys_cap ? s->keys_cap * 2 : 256;
        void *t = realloc(s->keys, cap * sizeof *s->keys);
        if (!t) return -1;
        s->keys = t;
        s->keys_cap = cap;
    }
    s->keys[s->nkeys].p = (const char *)*k;
    s->keys[s->nkeys].n = *kn;
    s->nkeys++;
    return expect(q, ':');
}

/* Closes an object whose keys start at FIRST: -1 on a duplicate key. */
static int keys_close(struct cellscan *s, size_t first)
{
    size_t n = s->nkeys - first;
    if (n <= 16) {
        for (size_t i = first; i < s->nkeys; i++)
            for (size_t j = i + 1; j < s->nkeys; j++)
                if (!key_cmp(&s->keys[i], &s->keys[j])) return -1;
    } else {
        qsort(s->keys + first, n, sizeof *s->keys, key_cmp);
        for (size_t i = first + 1; i < s->nkeys; i++)
            if (!key_cmp(&s->keys[i - 1], &s->keys[i])) return -1;
    }
    s->nkeys = first;
    return 0;
}

/* After a member or element: 1 when another follows (the ',' eaten), 0 at CLOSE. */
static int next_member(scanner *q, unsigned char close)
{
    skip_ws(q);
    if (q->p >= q->end) return -1;
    if (*q->p == ',') { q->p++; skip_ws(q); return 1; }
    if (*q->p == close) { q->p++; return 0; }
    return -1;
}

static int is_key(uc *k, size_t kn, const char *name)
{
    return kn == strlen(name) && !memcmp(k, name, kn);
}

/* ---------------------------------------------------------------- values */

enum { V_OBJECT, V_ARRAY, V_STRING, V_INT, V_REAL, V_LITERAL, V_NULL };

static int number(scanner *q, long long *ival)
{
    uc *p = q->p, *end = q->end;
    int neg = 0, real = 0;
    if (p < end && *p == '-') { neg = 1; p++; }
    if (p >= end) return -1;
    uc *digits = p;
    if (*p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9') return -1;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') p++;
    } else {
        return -1;
    }
    long intdigits = p - digits;
    if (p < end && *p == '.') {
        real = 1;
        p++;
        if (p >= end || *p < '0' || *p > '9') return -1;
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    long e = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;
        int eneg = 0;
        if (p < end && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        if (p >= end || *p < '0' || *p > '9') return -1;
        while (p < end && *p >= '0' && *p <= '9') {
            if (e < 100000) e = e * 10 + (*p - '0');
            p++;
        }
        if (eneg) e = -e;
    }
    q->p = p;
    if (real) {
        /* far from overflow (jansson refuses reals that overflow): no strtod needed */
        if (intdigits + e > 300 || e < -300) return -1;
        return V_REAL;
    }
    if (intdigits > 18) return -1; /* may not fit 64 bits: let jansson decide */
    long long v = 0;
    for (uc *d = digits; d < p; d++) v = v * 10 + (*d - '0');
    if (ival) *ival = neg ? -v : v;
    return V_INT;
}

static int value(scanner *q, long long *ival);

static int object(scanner *q)
{
    if (++q->depth > MAX_DEPTH) return -1;
    size_t first = q->s->nkeys;
    q->p++;
    skip_ws(q);
    if (q->p < q->end && *q->p == '}') { q->p++; q->depth--; return V_OBJECT; }
    for (;;) {
        uc *k;
        size_t kn;
        TRY(key(q, &k, &kn));
        TRY(value(q, NULL));
        int more = next_member(q, '}');
        TRY(more);
        if (!more) break;
    }
    TRY(keys_close(q->s, first));
    q->depth--;
    return V_OBJECT;
}

static int array(scanner *q)
{
    if (++q->depth > MAX_DEPTH) return -1;
    q->p++;
    skip_ws(q);
    if (q->p < q->end && *q->p == ']') { q->p++; q->depth--; return V_ARRAY; }
    for (;;) {
        TRY(value(q, NULL));
        int more = next_member(q, ']');
        TRY(more);
        if (!more) break;
    }
    q->depth--;
    return V_ARRAY;
}

static int literal(scanner *q, const char *word, int kind)
{
    size_t n = strlen(word);
    if ((size_t)(q->end - q->p) < n || memcmp(q->p, word, n)) return -1;
    q->p += n;
    return kind;
}

/* Any value, checked and skipped; its kind, or -1. */
static int value(scanner *q, long long *ival)
{
    skip_ws(q);
    if (q->p >= q->end) return -1;
    switch (*q->p) {
    case '{': return object(q);
    case '[': return array(q);
    case '"': TRY(string(q, 0, NULL, NULL, NULL)); return V_STRING;
    case 't': return literal(q, "true", V_LITERAL);
    case 'f': return literal(q, "false", V_LITERAL);
    case 'n': return literal(q, "null", V_NULL);
    default: return number(q, ival);
    }
}

/* ---------------------------------------------------------------- notebook structure */

/* source: null, a string or a list of strings, appended to s->text. */
static int source(scanner *q)
{
    skip_ws(q);
    if (q->p >= q->end) return -1;
    if (*q->p == '"') return string(q, 1, NULL, NULL, NULL);
    if (*q->p == 'n') return literal(q, "null", V_NULL);
    if (*q->p != '[') return -1;
    q->p++;
    skip_ws(q);
    if (q->p < q->end && *q->p == ']') { q->p++; return 0; }
    for (;;) {
        if (q->p >= q->end || *q->p != '"') return -1;
        TRY(string(q, 1, NULL, NULL, NULL));
        int more = next_member(q, ']');
        TRY(more);
        if (!more) return 0;
    }
}

static int cell(scanner *q)
{
    struct cellscan *s = q->s;
    size_t first = s->nkeys, text_start = s->text.n;
    int is_code = -1, has_count = 0;
    long long count = 0;
    q->p++; /* '{' */
    skip_ws(q);
    if (q->p < q->end && *q->p == '}') return -1; /* no cell_type */
    for (;;) {
        uc *k;
        size_t kn;
        TRY(key(q, &k, &kn));
        skip_ws(q);
        if (q->p >= q->end) return -1;
        if (is_key(k, kn, "cell_type")) {
            uc *t;
            size_t tn;
            int esc;
            if (*q->p != '"') return -1;
            TRY(string(q, 0, &t, &tn, &esc));
            if (esc) return -1;
            is_code = is_key(t, tn, "code");
        } else if (is_key(k, kn, "source")) {
            TRY(source(q));
        } else if (is_key(k, kn, "execution_count")) {
            long long v = 0;
            int kind = value(q, &v);
            TRY(kind);
            has_count = kind == V_INT;
            count = v;
        } else if (is_key(k, kn, "metadata")) {
            if (*q->p != '{') return -1;
            TRY(object(q));
        } else if (is_key(k, kn, "outputs")) {
            if (*q->p != '[') return -1;
            TRY(array(q));
        } else {
            TRY(value(q, NULL));
        }
        int more = next_member(q, '}');
        TRY(more);
        if (!more) break;
    }
    TRY(keys_close(s, first));
    if (is_code < 0) return -1; /* no cell_type: nb_read_mem says why */
    if (!is_code) { s->text.n = text_start; return 0; }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        struct cellscan_cell *c = realloc(s->cells, cap * sizeof *c);
        if (!c) return -1;
        s->cells = c;
        s->cap = cap;
    }
    s->cells[s->n++] = (struct cellscan_cell){text_start, s->text.n - text_start,
                                              has_count ? count : 0, has_count};
    return 0;
}

static int cells(scanner *q)
{
    if (q->p >= q->end || *q->p != '[') return -1;
    q->p++;
    skip_ws(q);
    if (q->p < q->end && *q->p == ']') { q->p++; return 0; }
    for (;;) {
        if (q->p >= q->end || *q->p != '{') return -1;
        TRY(cell(q));
        int more = next_member(q, ']');
        TRY(more);
        if (!more) return 0;
    }
}

int cellscan_run(struct cellscan *s, const char *buf, size_t len)
{
    scanner q = {(uc *)buf, (uc *)buf + len, s, 1};
    s->text.n = s->n = s->nkeys = s->meta_off = s->meta_end = 0;
    s->text.oom = 0; /* a notebook that ran out before: this one may fit */
    int have_cells = 0, major = -1;
    skip_ws(&q);
    if (q.p >= q.end || *q.p != '{') return -1;
    q.p++;
    skip_ws(&q);
    if (q.p < q.end && *q.p == '}') return -1; /* no nbformat */
    for (;;) {
        uc *k;
        size_t kn;
        TRY(key(&q, &k, &kn));
        skip_ws(&q);
        if (is_key(k, kn, "cells")) {
            TRY(cells(&q));
            have_cells = 1;
        } else if (is_key(k, kn, "nbformat")) {
            long long v = 0;
            if (value(&q, &v) != V_INT) return -1;
            major = v == 4 ? 4 : 0;
        } else if (is_key(k, kn, "nbformat_minor")) {
            if (value(&q, NULL) != V_INT) return -1; /* nb_read_mem's to refuse */
        } else if (is_key(k, kn, "metadata")) {
            if (q.p >= q.end || *q.p != '{') return -1;
            s->meta_off = (size_t)(q.p - (uc *)buf);
            TRY(object(&q));
            s->meta_end = (size_t)(q.p - (uc *)buf);
        } else {
            TRY(value(&q, NULL));
        }
        int more = next_member(&q, '}');
        TRY(more);
        if (!more) break;
    }
    TRY(keys_close(s, 0));
    skip_ws(&q);
    if (q.p != q.end) return -1;
    /* nbformat 3 (upgrade) and every refusal belong to nb_read_mem */
    return major == 4 && have_cells ? 0 : -1;
}

void cellscan_free(struct cellscan *s)
{
    free(s->text.p);
    free(s->cells);
    free(s->keys);
    memset(s, 0, sizeof *s);
}
