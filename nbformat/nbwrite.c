/* nbwrite.c — the canonical writer: the bytes of Python's
 * `json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"` for any JSON
 * tree, floats in Python's shortest repr.
 *
 * Owns: nb_dumps, Python's float repr and string escaping.  Integers and reals stay
 * as jansson read them (1 stays 1, 1.0 stays 1.0), so a file read and written back
 * unmodified keeps its bytes when they were canonical.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbformat/bytebuf.h"
#include "nbformat/nbinternal.h"

/* ---------------------------------------------------------------- growable buffer */

/* 4 KiB first: nb_dumps builds each file in a fresh buffer.  The NUL room kept after
 * the bytes is the terminator nb_dumps returns with. */
enum { SB_FIRST = 4096 };

static void sb_put(struct bytebuf *b, const char *s, size_t n) { bytebuf_putz(b, s, n, SB_FIRST); }
static void sb_putc(struct bytebuf *b, char c) { bytebuf_putz(b, &c, 1, SB_FIRST); }
static void sb_puts(struct bytebuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* ---------------------------------------------------------------- Python float repr */

/* Builds the repr from a decimal mantissa M (no trailing zeros needed) and exponent Q,
 * x = M * 10^Q, following CPython's format_float_short for 'r': exponent form when
 * the decimal point position is <= -4 or > 16, ".0" added to integral values. */
static void repr_from_digits(char *out, size_t outsz, int neg, unsigned long long m, int q)
{
    char d[32];
    while (m && m % 10 == 0) { m /= 10; q++; }
    int nd = snprintf(d, sizeof d, "%llu", m);
    int decpt = nd + q;
    char *o = out;
    size_t left = outsz;
#define EMIT(...) do { int k_ = snprintf(o, left, __VA_ARGS__); o += k_; left -= (size_t)k_; } while (0)
    if (neg) EMIT("-");
    if (decpt <= -4 || decpt > 16) {
        EMIT("%c", d[0]);
        if (nd > 1) EMIT(".%s", d + 1);
        int e = decpt - 1;
        EMIT("e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (decpt <= 0) {
        EMIT("0.");
        for (int i = 0; i < -decpt; i++) EMIT("0");
        EMIT("%s", d);
    } else if (decpt >= nd) {
        EMIT("%s", d);
        for (int i = 0; i < decpt - nd; i++) EMIT("0");
        EMIT(".0");
    } else {
        EMIT("%.*s.%s", decpt, d, d + decpt);
    }
#undef EMIT
}

/* Python's repr(float): the shortest decimal that reads back as X, nearest to X
 * when several of that length do.  glibc's printf rounds correctly, so the
 * correctly rounded P-digit form is tried first; its two neighbours cover the
 * asymmetric rounding interval at powers of two. */
static void py_float_repr(double x, char *out, size_t outsz)
{
    if (isnan(x)) { snprintf(out, outsz, "NaN"); return; }
    if (isinf(x)) { snprintf(out, outsz, x < 0 ? "-Infinity" : "Infinity"); return; }
    int neg = signbit(x) != 0;
    double ax = fabs(x);
    if (ax == 0) { snprintf(out, outsz, neg ? "-0.0" : "0.0"); return; }
    char buf[64];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, ax);
        /* buf = d[.ddd]e±XX */
        unsigned long long m = 0;
        const char *s = buf;
        for (; *s && *s != 'e'; s++)
            if (*s >= '0' && *s <= '9') m = m * 10 + (unsigned)(*s - '0');
        int e = atoi(s + 1);
        int q = e - (p - 1);
        if (strtod(buf, NULL) == ax) { repr_from_digits(out, outsz, neg, m, q); return; }
        unsigned long long cand[2] = {m + 1, m - 1};
        for (int c = 0; c < 2; c++) {
            if (cand[c] == 0) continue;
            char t[64];
            snprintf(t, sizeof t, "%llue%d", cand[c], q);
            if (strtod(t, NULL) == ax) { repr_from_digits(out, outsz, neg, cand[c], q); return; }
        }
    }
    snprintf(out, outsz, "%.17g", x); /* unreachable: 17 digits always round-trip */
}

void nb_float_repr(double x, char *out, size_t outsz) { py_float_repr(x, out, outsz); }

/* ---------------------------------------------------------------- canonical writer */

/* Python's json escapes with ensure_ascii=False: the two-character forms for " \ \n
 * \r \t \b \f, \u00xx (lowercase) for other control characters, everything else raw. */
static void dump_string(struct bytebuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    sb_putc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c < 0x20) {
            switch (c) {
            case '\n': esc = "\\n"; break;
            case '\r': esc = "\\r"; break;
            case '\t': esc = "\\t"; break;
            case '\b': esc = "\\b"; break;
            case '\f': esc = "\\f"; break;
            default:
                u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
                u[4] = hex[c >> 4]; u[5] = hex[c & 15]; u[6] = 0;
                esc = u;
            }
        }
        if (esc) {
            sb_put(b, s + run, i - run);
            sb_puts(b, esc);
            run = i + 1;
        }
    }
    sb_put(b, s + run, n - run);
    sb_putc(b, '"');
}

static void newline_indent(struct bytebuf *b, int level)
{
    if (!bytebuf_room(b, (size_t)level + 2, SB_FIRST)) return; /* and the NUL's */
    b->p[b->n++] = '\n';
    memset(b->p + b->n, ' ', (size_t)level);
    b->n += (size_t)level;
}

static int cmp_keys(const void *a, const void *b)
{
    /* strcmp compares as unsigned char: UTF-8 byte order is code point order, which
     * is Python's sort order for str keys. */
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void dump_value(struct bytebuf *b, const json_t *v, int level)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v);
        if (n == 0) { sb_puts(b, "{}"); return; }
        const char **keys = malloc(n * sizeof *keys);
        if (!keys) { b->oom = 1; return; }
        size_t k = 0;
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val) keys[k++] = key;
        qsort(keys, k, sizeof *keys, cmp_keys);
        sb_putc(b, '{');
        for (size_t i = 0; i < k; i++) {
            if (i) sb_putc(b, ',');
            newline_indent(b, level + 1);
            dump_string(b, keys[i], strlen(keys[i]));
            sb_put(b, ": ", 2);
            dump_value(b, json_object_get(v, keys[i]), level + 1);
        }
        newline_indent(b, level);
        sb_putc(b, '}');
        free(keys);
        return;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (n == 0) { sb_puts(b, "[]"); return; }
        sb_putc(b, '[');
        for (size_t i = 0; i < n; i++) {
            if (i) sb_putc(b, ',');
            newline_indent(b, level + 1);
            dump_value(b, json_array_get(v, i), level + 1);
        }
        newline_indent(b, level);
        sb_putc(b, ']');
        return;
    }
    case JSON_STRING:
        dump_string(b, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        sb_puts(b, num);
        return;
    case JSON_REAL:
        py_float_repr(json_real_value(v), num, sizeof num);
        sb_puts(b, num);
        return;
    case JSON_TRUE: sb_puts(b, "true"); return;
    case JSON_FALSE: sb_puts(b, "false"); return;
    case JSON_NULL: sb_puts(b, "null"); return;
    }
}

char *nb_dumps(const json_t *nb, size_t *len)
{
    if (!nb) return NULL;
    struct bytebuf b = {0};
    dump_value(&b, nb, 0);
    sb_putc(&b, '\n');
    if (b.oom) { free(b.p); return NULL; }
    b.p[b.n] = 0;
    if (len) *len = b.n;
    return b.p;
}
