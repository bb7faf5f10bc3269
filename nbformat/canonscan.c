/* canonscan.c — a canonical v4 notebook straight from its bytes (see canonscan.h).
 *
 * A recursive-descent pass that knows the only layout it accepts, so white space is
 * compared rather than skipped: after '{' or '[' and after ',' comes "\n" and the
 * next level's indent, before '}' or ']' "\n" and this level's, "{}" and "[]" when
 * empty, ": " after a key.  Keys must be strictly increasing (that also rules out
 * duplicates, which jansson would refuse).  Strings: strict UTF-8 (jansson's rules,
 * jsonbytes.h) and only the escapes Python's json.dumps writes with
 * ensure_ascii=False.  Numbers: integers as "%lld" prints them (no "-0", at most 18
 * digits so they surely fit), reals only when Python's repr of the double gives the
 * same text (nb_float_repr, the writer's own).  A refusal is never an error message:
 * the caller's jansson path says what is wrong, if anything is.
 */
#include "nbformat/canonscan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nbformat/jsonbytes.h"
#include "nbformat/nbinternal.h"

typedef const unsigned char uc;

enum { MAX_DEPTH = 512 }; /* well inside jansson's 2048 */
enum { REC_NONE, REC_META, REC_SUB };

typedef struct {
    uc *p, *end, *base;
    struct canonscan *s;
    struct canon_cell *cell; /* the code cell being read, for REC_META */
    int depth;
} scanner;

#define TRY(x) do { if ((x) < 0) return -1; } while (0)

/* "\n" and LEVEL spaces. */
static int indent(scanner *q, int level)
{
    uc *p = q->p;
    if (q->end - p < level + 1 || *p != '\n') return -1;
    for (int i = 1; i <= level; i++)
        if (p[i] != ' ') return -1;
    q->p = p + level + 1;
    return 0;
}

/* After a member or element of a container at indent LEVEL: 1 when a ',' follows (eaten),
 * 0 when "\n", LEVEL's indent and CLOSE do (eaten), else -1. */
static inline int next_member(scanner *q, int level, unsigned char close)
{
    if (q->p < q->end && *q->p == ',') { q->p++; return 1; }
    TRY(indent(q, level));
    if (q->p >= q->end || *q->p != close) return -1;
    q->p++;
    return 0;
}

/* ---------------------------------------------------------------- growable pools */

static int grow(void **v, size_t *cap, size_t need, size_t size, size_t first)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : first;
    while (c < need) c *= 2;
    void *p = realloc(*v, c * size);
    if (!p) return -1;
    *v = p;
    *cap = c;
    return 0;
}

/* The sources' first capacity: a worker's text grows once and stays. */
enum { TEXT_FIRST = 65536 };

static int item_add(struct canon_item **v, size_t *n, size_t *cap, const struct canon_item *it)
{
    if (grow((void **)v, cap, *n + 1, sizeof **v, 64)) return -1;
    (*v)[(*n)++] = *it;
    return 0;
}

/* ---------------------------------------------------------------- strings */

static int hexval(unsigned c)
{
    if (c >= '0' && c <= '9') return (int)(c - '0');
    if (c >= 'a' && c <= 'f') return (int)(c - 'a' + 10); /* Python writes lowercase */
    return -1;
}

/* The escape at P (P[0] == '\\'), in Python's escaping: \" \\ \n \r \t \b \f and \u00xx
 * for the other control characters, nothing else.  Its value in *CH; returns its
 * length in bytes, or -1. */
static int unescape(uc *p, uc *end, unsigned char *ch)
{
    if (end - p < 2) return -1;
    switch (p[1]) {
    case '"': *ch = '"'; return 2;
    case '\\': *ch = '\\'; return 2;
    case 'n': *ch = '\n'; return 2;
    case 'r': *ch = '\r'; return 2;
    case 't': *ch = '\t'; return 2;
    case 'b': *ch = '\b'; return 2;
    case 'f': *ch = '\f'; return 2;
    case 'u': {
        if (end - p < 6 || p[2] != '0' || p[3] != '0') return -1;
        int hi = hexval(p[4]), lo = hexval(p[5]);
        if (hi < 0 || hi > 1 || lo < 0) return -1;
        *ch = (unsigned char)(hi * 16 + lo);
        /* the five with a short form are never written as \u00xx */
        if (*ch == '\n' || *ch == '\r' || *ch == '\t' || *ch == '\b' || *ch == '\f') return -1;
        return 6;
    }
    default: return -1; /* \/ and \u for anything else: not Python's */
    }
}

/* The string whose opening quote is at q->p (see unescape).  *ESC: whether it holds
 * an escape. */
static int string(scanner *q, int *esc)
{
    uc *p = q->p + 1, *end = q->end;
    int had_esc = 0;
    for (;;) {
        p = json_scan_unescaped(p, end);
        if (!p) return -1;
        if (*p == '"') break;
        had_esc = 1;
        unsigned char ch;
        int n = unescape(p, end, &ch);
        if (n < 0) return -1;
        p += n;
    }
    if (esc) *esc = had_esc;
    q->p = p + 1;
    return 0;
}

/* string(), appending its value to s->text: a code cell's source line.  The appends
 * are inline, room made once per run of plain bytes, and a closing quote right after
 * an escape (a line's usual end, "...\n") ends it without another search: the source
 * lines were most of the scan's time (a call and a capacity check per piece, two
 * searches per line). */
static int string_decode(scanner *q)
{
    struct canonscan *s = q->s;
    uc *p = q->p + 1, *end = q->end, *run = p;
    for (;;) {
        p = json_scan_unescaped(p, end);
        if (!p) return -1;
        size_t n = (size_t)(p - run);
        char *d = bytebuf_room(&s->text, n + 1, TEXT_FIRST); /* the run and an escape's byte */
        if (!d) return -1;
        memcpy(d, run, n);
        s->text.n += n;
        if (*p == '"') break;
        unsigned char ch;
        int k = unescape(p, end, &ch);
        if (k < 0) return -1;
        s->text.p[s->text.n++] = (char)ch;
        p += k;
        run = p;
        if (p < end && *p == '"') break;
    }
    q->p = p + 1;
    return 0;
}

/* A key (never escaped: canonical keys with escapes are rare enough to leave to
 * jansson), strictly after the previous one, and the ": " after it. */
static int key(scanner *q, uc **prev, size_t *prevn, uc **k, size_t *kn)
{
    if (q->p >= q->end || *q->p != '"') return -1;
    uc *start = q->p + 1;
    int esc;
    TRY(string(q, &esc));
    if (esc) return -1;
    *k = start;
    *kn = (size_t)(q->p - 1 - start);
    if (*prev) { /* strcmp order: bytes, then the shorter first */
        size_t m = *prevn < *kn ? *prevn : *kn;
        int c = memcmp(*prev, *k, m);
        if (c > 0 || (c == 0 && *prevn >= *kn)) return -1;
    }
    *prev = *k;
    *prevn = *kn;
    if (q->end - q->p < 2 || q->p[0] != ':' || q->p[1] != ' ') return -1;
    q->p += 2;
    return 0;
}

static int is_key(uc *k, size_t kn, const char *name)
{
    return kn == strlen(name) && !memcmp(k, name, kn);
}

/* ---------------------------------------------------------------- values */

/* Whether the real [P, END), written without an exponent, is Python's repr of its
 * value, decided without strtod: 1 yes, 0 no, -1 not sure (ask nb_float_repr).
 * With at most 15 significant digits (DBL_DIG) no other decimal of that length or
 * shorter reads as the same double, so repr's digits are the text's own and only the
 * form is left to check: fixed notation while the decimal point sits between -3 and
 * 16 places from the first digit, no trailing zero but the one in "12.0". */
static int fixed_real_canonical(uc *p, uc *end)
{
    if (*p == '-') p++;
    uc *dot = memchr(p, '.', (size_t)(end - p));
    if (!dot) return -1;
    for (uc *e = dot; e < end; e++)
        if (*e == 'e' || *e == 'E') return -1;
    uc *first = NULL, *last = NULL; /* the significant digits */
    for (uc *d = p; d < end; d++)
        if (*d >= '1' && *d <= '9') {
            if (!first) first = d;
            last = d;
        }
    if (!first) return end - dot == 2; /* zero: "0.0" (or "-0.0") only */
    long nd = (long)(last - first) + 1 - (first < dot && last > dot);
    if (nd > 15) return -1;
    long decpt = first < dot ? (long)(dot - first) : -(long)(first - dot - 1);
    if (decpt <= -4 || decpt > 16) return 0; /* repr uses an exponent there */
    if (last < dot) return end - dot == 2;   /* integral: "120.0", one zero */
    return end[-1] != '0';                   /* no trailing zeros */
}

static int number(scanner *q)
{
    uc *start = q->p, *p = q->p, *end = q->end;
    int real = 0;
    if (p < end && *p == '-') p++;
    if (p >= end) return -1;
    uc *digits = p;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') p++;
    } else {
        return -1;
    }
    if (p < end && *p == '.') {
        real = 1;
        p++;
        if (p >= end || *p < '0' || *p > '9') return -1;
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || *p < '0' || *p > '9') return -1;
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    q->p = p;
    size_t n = (size_t)(p - start);
    if (!real) {
        if (p - digits > 18) return -1;                   /* may not fit 64 bits */
        if (n == 2 && start[0] == '-' && start[1] == '0') return -1; /* jansson: 0 */
        return CANON_INT;
    }
    int quick = fixed_real_canonical(start, p);
    if (quick >= 0) return quick ? CANON_REAL : -1;
    /* canonical only when it is Python's repr of the double it reads as (this also
     * refuses what overflows or underflows, and exponents in another form) */
    char tmp[40], repr[40];
    if (n >= sizeof tmp) return -1;
    memcpy(tmp, start, n);
    tmp[n] = 0;
    char *e;
    double x = strtod(tmp, &e);
    if (*e) return -1;
    nb_float_repr(x, repr, sizeof repr);
    if (strcmp(repr, tmp)) return -1;
    return CANON_REAL;
}

static int value(scanner *q, int level, int rec, int *esc);

/* The object at q->p, at indent LEVEL (its members at LEVEL + 1).  REC_META records
 * the members (a code cell's metadata) in s->items, REC_SUB in s->subs. */
static int object(scanner *q, int level, int rec)
{
    if (++q->depth > MAX_DEPTH) return -1;
    struct canonscan *s = q->s;
    q->p++;
    if (q->p < q->end && *q->p == '}') { q->p++; q->depth--; return CANON_OBJECT; }
    uc *prev = NULL;
    size_t prevn = 0;
    for (;;) {
        TRY(indent(q, level + 1));
        uc *k;
        size_t kn;
        TRY(key(q, &prev, &prevn, &k, &kn));
        struct canon_item it = {(size_t)(k - q->base), kn, (size_t)(q->p - q->base), 0, 0, 0};
        int sub = REC_NONE;
        if (rec == REC_META && q->p < q->end) {
            /* the two members tagging reads: their parts too */
            if (is_key(k, kn, "workflow_stage") && *q->p == '{') {
                sub = REC_SUB;
                q->cell->ws_first = s->nsubs;
            } else if (is_key(k, kn, "tags") && *q->p == '[') {
                sub = REC_SUB;
                q->cell->tags_first = s->nsubs;
            }
        }
        int kind = value(q, level + 1, sub, &it.esc);
        TRY(kind);
        it.kind = kind;
        it.val_end = (size_t)(q->p - q->base);
        if (sub == REC_SUB) {
            if (kind == CANON_OBJECT) q->cell->ws_n = s->nsubs - q->cell->ws_first;
            else q->cell->tags_n = s->nsubs - q->cell->tags_first;
        }
        if (rec == REC_META) TRY(item_add(&s->items, &s->nitems, &s->items_cap, &it));
        else if (rec == REC_SUB) TRY(item_add(&s->subs, &s->nsubs, &s->subs_cap, &it));
        int more = next_member(q, level, '}');
        TRY(more);
        if (!more) break;
    }
    q->depth--;
    return CANON_OBJECT;
}

/* The list at q->p, at indent LEVEL; REC_SUB records its elements in s->subs. */
static int array(scanner *q, int level, int rec)
{
    if (++q->depth > MAX_DEPTH) return -1;
    struct canonscan *s = q->s;
    q->p++;
    if (q->p < q->end && *q->p == ']') { q->p++; q->depth--; return CANON_ARRAY; }
    for (;;) {
        TRY(indent(q, level + 1));
        struct canon_item it = {0, 0, (size_t)(q->p - q->base), 0, 0, 0};
        int kind = value(q, level + 1, REC_NONE, &it.esc);
        TRY(kind);
        it.kind = kind;
        it.val_end = (size_t)(q->p - q->base);
        if (rec == REC_SUB) TRY(item_add(&s->subs, &s->nsubs, &s->subs_cap, &it));
        int more = next_member(q, level, ']');
        TRY(more);
        if (!more) break;
    }
    q->depth--;
    return CANON_ARRAY;
}

static int literal(scanner *q, const char *word, int kind)
{
    size_t n = strlen(word);
    if ((size_t)(q->end - q->p) < n || memcmp(q->p, word, n)) return -1;
    q->p += n;
    return kind;
}

/* Any value at q->p (no white space before it), at indent LEVEL; its kind, or -1. */
static int value(scanner *q, int level, int rec, int *esc)
{
    if (esc) *esc = 0;
    if (q->p >= q->end) return -1;
    switch (*q->p) {
    case '{': return object(q, level, rec);
    case '[': return array(q, level, rec);
    case '"': TRY(string(q, esc)); return CANON_STRING;
    case 't': return literal(q, "true", CANON_TRUE);
    case 'f': return literal(q, "false", CANON_FALSE);
    case 'n': return literal(q, "null", CANON_NULL);
    default: return number(q);
    }
}

/* ---------------------------------------------------------------- notebook structure */

/* source: null, a string or a list of strings; DECODE appends it to s->text. */
static int source(scanner *q, int level, int decode)
{
    if (q->p >= q->end) return -1;
    if (*q->p == '"') return decode ? string_decode(q) : string(q, NULL);
    if (*q->p == 'n') return literal(q, "null", CANON_NULL);
    if (*q->p != '[') return -1;
    q->p++;
    if (q->p < q->end && *q->p == ']') { q->p++; return 0; }
    for (;;) {
        TRY(indent(q, level + 1));
        if (q->p >= q->end || *q->p != '"') return -1;
        TRY(decode ? string_decode(q) : string(q, NULL));
        int more = next_member(q, level, ']');
        TRY(more);
        if (!more) return 0;
    }
}

/* One cell, an object at indent LEVEL; a code cell is added to s->cells.  Leaves
 * q->cell pointing at its own frame and q->depth one up: cell() puts both back. */
static int cell_members(scanner *q, int level)
{
    struct canonscan *s = q->s;
    struct canon_cell c = {.src_off = s->text.n, .meta_first = s->nitems};
    int is_code = -1;
    uc *prev = NULL;
    size_t prevn = 0;
    q->cell = &c;
    if (++q->depth > MAX_DEPTH) return -1;
    q->p++; /* '{' */
    if (q->p < q->end && *q->p == '}') return -1; /* no cell_type */
    for (;;) {
        TRY(indent(q, level + 1));
        uc *k;
        size_t kn;
        TRY(key(q, &prev, &prevn, &k, &kn));
        if (q->p >= q->end) return -1;
        /* "cell_type" sorts before "metadata" and "source": known when they come */
        if (is_key(k, kn, "cell_type")) {
            uc *t = q->p + 1;
            int esc;
            if (*q->p != '"') return -1;
            TRY(string(q, &esc));
            if (esc) return -1; /* "code\u0000x" is "code" to strcmp: leave it to jansson */
            is_code = is_key(t, (size_t)(q->p - 1 - t), "code");
        } else if (is_key(k, kn, "source")) {
            TRY(source(q, level + 1, is_code == 1));
        } else if (is_key(k, kn, "metadata")) {
            if (*q->p != '{') return -1;
            c.has_meta = 1;
            c.meta_level = level + 1;
            c.meta_off = (size_t)(q->p - q->base);
            TRY(object(q, level + 1, is_code == 1 ? REC_META : REC_NONE));
            c.meta_end = (size_t)(q->p - q->base);
        } else if (is_key(k, kn, "outputs")) {
            if (*q->p != '[') return -1;
            TRY(array(q, level + 1, REC_NONE));
        } else {
            TRY(value(q, level + 1, REC_NONE, NULL));
        }
        int more = next_member(q, level, '}');
        TRY(more);
        if (!more) break;
    }
    if (is_code < 0) return -1; /* no cell_type: nb_read_mem says why */
    if (!is_code) {
        const char *m = (const char *)q->base + c.meta_off;
        size_t mn = c.meta_end - c.meta_off;
        if (c.has_meta && (memmem(m, mn, "\"workflow_stage\"", 16) || memmem(m, mn, "\"stage:", 7)))
            s->noncode_stage = 1;
        s->text.n = c.src_off;
        s->nitems = c.meta_first;
        return 0;
    }
    c.src_len = s->text.n - c.src_off;
    c.meta_n = s->nitems - c.meta_first;
    TRY(bytebuf_put(&s->text, "", 1, TEXT_FIRST)); /* a NUL after each source (nb_cell_source's) */
    if (grow((void **)&s->cells, &s->cap, s->n + 1, sizeof *s->cells, 256)) return -1;
    s->cells[s->n++] = c;
    return 0;
}

/* cell_members, then q->cell cleared and q->depth restored, whatever it returned: a
 * scanner that failed is thrown away today, but must not keep a pointer into a dead
 * frame. */
static int cell(scanner *q, int level)
{
    int depth = q->depth;
    int r = cell_members(q, level);
    q->cell = NULL;
    q->depth = depth;
    return r;
}

static int cells(scanner *q, int level)
{
    if (q->p >= q->end || *q->p != '[') return -1;
    q->p++;
    if (q->p < q->end && *q->p == ']') { q->p++; return 0; }
    for (;;) {
        TRY(indent(q, level + 1));
        if (q->p >= q->end || *q->p != '{') return -1;
        TRY(cell(q, level + 1));
        int more = next_member(q, level, ']');
        TRY(more);
        if (!more) return 0;
    }
}

int canonscan_run(struct canonscan *s, const char *buf, size_t len)
{
    scanner q = {(uc *)buf, (uc *)buf + len, (uc *)buf, s, NULL, 1};
    s->text.n = s->n = s->nitems = s->nsubs = s->meta_off = s->meta_end = 0;
    s->text.oom = 0; /* a notebook that ran out before: this one may fit */
    s->noncode_stage = 0;
    int have_cells = 0, major = -1;
    uc *prev = NULL;
    size_t prevn = 0;
    if (len < 3 || buf[0] != '{' || buf[1] != '\n') return -1; /* "{}\n" has no nbformat */
    q.p++;
    for (;;) {
        TRY(indent(&q, 1));
        uc *k;
        size_t kn;
        TRY(key(&q, &prev, &prevn, &k, &kn));
        if (q.p >= q.end) return -1;
        if (is_key(k, kn, "cells")) {
            TRY(cells(&q, 1));
            have_cells = 1;
        } else if (is_key(k, kn, "nbformat")) {
            uc *v = q.p;
            if (value(&q, 1, REC_NONE, NULL) != CANON_INT) return -1;
            major = q.p - v == 1 && *v == '4' ? 4 : 0;
        } else if (is_key(k, kn, "nbformat_minor")) {
            if (value(&q, 1, REC_NONE, NULL) != CANON_INT) return -1; /* nb_read_mem's to refuse */
        } else if (is_key(k, kn, "metadata")) {
            if (*q.p != '{') return -1;
            s->meta_off = (size_t)(q.p - q.base);
            TRY(object(&q, 1, REC_NONE));
            s->meta_end = (size_t)(q.p - q.base);
        } else {
            TRY(value(&q, 1, REC_NONE, NULL));
        }
        int more = next_member(&q, 0, '}');
        TRY(more);
        if (!more) break;
    }
    if (q.end - q.p != 1 || *q.p != '\n') return -1;
    /* nbformat 3 and every refusal belong to nb_read_mem */
    return major == 4 && have_cells ? 0 : -1;
}

void canonscan_free(struct canonscan *s)
{
    free(s->text.p);
    free(s->cells);
    free(s->items);
    free(s->subs);
    memset(s, 0, sizeof *s);
}
