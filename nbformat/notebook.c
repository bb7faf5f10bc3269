/* notebook.c — reading, validating, writing and atomically saving .ipynb files.
 *
 * Owns: the jansson-backed notebook (see notebook.h), the canonical writer that gives
 * the bytes of Python's `json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False)`,
 * Python's float repr, nbformat's split_lines and strip_transient, the v3 -> v4
 * upgrade, atomic save, and the sorted corpus walker.
 *
 * What jansson cannot hold exactly (integers beyond 64 bits, NaN/Infinity, reals that
 * overflow, lone surrogates, NUL in keys, duplicate keys) is refused with a reason
 * instead of being altered silently: a notebook we cannot write back byte for byte is
 * one we must not rewrite.
 */
#include "nbformat/notebook.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- errors */

static void set_err(nb_error *err, const char *fmt, ...)
{
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- growable buffer */

typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static int sb_grow(sbuf *b, size_t more)
{
    if (b->oom) return -1;
    if (b->n + more + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more + 1) {
        if (cap > SIZE_MAX / 2) { b->oom = 1; return -1; }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) { b->oom = 1; return -1; }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (sb_grow(b, n)) return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void sb_putc(sbuf *b, char c)
{
    if (sb_grow(b, 1)) return;
    b->p[b->n++] = c;
}

static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

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

/* ---------------------------------------------------------------- canonical writer */

/* Python's json escapes with ensure_ascii=False: the two-character forms for " \ \n
 * \r \t \b \f, \u00xx (lowercase) for other control characters, everything else raw. */
static void dump_string(sbuf *b, const char *s, size_t n)
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

static void newline_indent(sbuf *b, int level)
{
    if (sb_grow(b, (size_t)level + 1)) return;
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

static void dump_value(sbuf *b, const json_t *v, int level)
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
    sbuf b = {0};
    dump_value(&b, nb, 0);
    sb_putc(&b, '\n');
    if (b.oom) { free(b.p); return NULL; }
    b.p[b.n] = 0;
    if (len) *len = b.n;
    return b.p;
}

static char *join_text(const json_t *v, size_t *len);

/* ---------------------------------------------------------------- split_lines */

/* Python's str.splitlines(keepends=True) over UTF-8: the boundaries are \n, \r,
 * \r\n, \v, \f, \x1c, \x1d, \x1e, U+0085, U+2028 and U+2029. */
static size_t line_break_len(const unsigned char *s, size_t n, size_t i)
{
    unsigned char c = s[i];
    if (c == '\r') return (i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
    if (c == '\n' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e) return 1;
    if (c == 0xc2 && i + 1 < n && s[i + 1] == 0x85) return 2;
    if (c == 0xe2 && i + 2 < n && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
        return 3;
    return 0;
}

static json_t *splitlines(const json_t *str)
{
    const unsigned char *s = (const unsigned char *)json_string_value(str);
    size_t n = json_string_length(str), start = 0;
    json_t *arr = json_array();
    if (!arr) return NULL;
    for (size_t i = 0; i < n;) {
        size_t k = line_break_len(s, n, i);
        if (k) {
            i += k;
            json_array_append_new(arr, json_stringn((const char *)s + start, i - start));
            start = i;
        } else {
            i++;
        }
    }
    if (start < n) json_array_append_new(arr, json_stringn((const char *)s + start, n - start));
    return arr;
}

static void split_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) return;
    json_t *arr = splitlines(v);
    if (arr) json_object_set_new(obj, key, arr);
}

static void split_mimebundle(json_t *data)
{
    if (!json_is_object(data)) return;
    const char *key;
    json_t *val;
    void *tmp;
    json_object_foreach_safe(data, tmp, key, val) {
        if (json_is_string(val) && (!strncmp(key, "text/", 5) ||
                                    !strcmp(key, "application/javascript") ||
                                    !strcmp(key, "image/svg+xml")))
            split_field(data, key);
    }
}

void nb_split_lines(json_t *nb)
{
    json_t *cells = json_object_get(nb, "cells");
    size_t i;
    json_t *cell;
    json_array_foreach(cells, i, cell) {
        if (!json_is_object(cell)) continue;
        split_field(cell, "source");
        const char *k;
        json_t *att;
        json_object_foreach(json_object_get(cell, "attachments"), k, att) split_mimebundle(att);
        const char *type = json_string_value(json_object_get(cell, "cell_type"));
        if (!type || strcmp(type, "code")) continue;
        size_t j;
        json_t *out;
        json_array_foreach(json_object_get(cell, "outputs"), j, out) {
            const char *ot = json_string_value(json_object_get(out, "output_type"));
            if (!ot) continue;
            if (!strcmp(ot, "execute_result") || !strcmp(ot, "display_data"))
                split_mimebundle(json_object_get(out, "data"));
            else if (!strcmp(ot, "stream"))
                split_field(out, "text");
        }
    }
}

/* nbformat's _rejoin_mimebundle: lists of strings under non-JSON mime types. */
static int is_json_mime(const char *k)
{
    size_t n = strlen(k);
    return !strcmp(k, "application/json") ||
           (!strncmp(k, "application/", 12) && n >= 5 && !strcmp(k + n - 5, "+json"));
}

static int all_strings(const json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (!json_is_string(v)) return 0;
    return 1;
}

static void join_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_array(v) || !all_strings(v)) return;
    size_t n;
    char *s = join_text(v, &n);
    if (s) json_object_set_new(obj, key, json_stringn(s, n));
    free(s);
}

static void rejoin_mimebundle(json_t *data)
{
    if (!json_is_object(data)) return;
    const char *key;
    json_t *val;
    void *tmp;
    json_object_foreach_safe(data, tmp, key, val) if (!is_json_mime(key)) join_field(data, key);
}

void nb_rejoin_lines(json_t *nb)
{
    size_t i;
    json_t *cell;
    json_array_foreach(json_object_get(nb, "cells"), i, cell) {
        if (!json_is_object(cell)) continue;
        join_field(cell, "source");
        const char *k;
        json_t *att;
        json_object_foreach(json_object_get(cell, "attachments"), k, att) rejoin_mimebundle(att);
        const char *type = json_string_value(json_object_get(cell, "cell_type"));
        if (!type || strcmp(type, "code")) continue;
        size_t j;
        json_t *out;
        json_array_foreach(json_object_get(cell, "outputs"), j, out) {
            const char *ot = json_string_value(json_object_get(out, "output_type"));
            if (!ot || !*ot) continue;
            if (!strcmp(ot, "execute_result") || !strcmp(ot, "display_data"))
                rejoin_mimebundle(json_object_get(out, "data"));
            else
                join_field(out, "text");
        }
    }
}

void nb_strip_transient(json_t *nb)
{
    json_t *md = json_object_get(nb, "metadata");
    if (json_is_object(md)) {
        json_object_del(md, "orig_nbformat");
        json_object_del(md, "orig_nbformat_minor");
        json_object_del(md, "signature");
    }
    size_t i;
    json_t *cell;
    json_array_foreach(json_object_get(nb, "cells"), i, cell) {
        json_t *cmd = json_object_get(cell, "metadata");
        if (json_is_object(cmd)) json_object_del(cmd, "trusted");
    }
}

/* ---------------------------------------------------------------- cells */

size_t nb_cell_count(const json_t *nb)
{
    return json_array_size(json_object_get(nb, "cells"));
}

json_t *nb_cell(const json_t *nb, size_t i)
{
    return json_array_get(json_object_get(nb, "cells"), i);
}

const char *nb_cell_type(const json_t *cell)
{
    const char *t = json_string_value(json_object_get(cell, "cell_type"));
    if (!t) return NULL;
    if (!strcmp(t, "code")) return "code";
    if (!strcmp(t, "markdown")) return "markdown";
    if (!strcmp(t, "raw")) return "raw";
    return NULL;
}

/* A string or a list of strings joined; NULL only when out of memory. */
static char *join_text(const json_t *v, size_t *len)
{
    size_t n = 0;
    if (json_is_string(v)) {
        n = json_string_length(v);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *line;
        json_array_foreach(v, i, line) n += json_string_length(line); /* 0 if not a string */
    }
    char *s = malloc(n + 1);
    if (!s) return NULL;
    if (json_is_string(v)) {
        memcpy(s, json_string_value(v), n);
    } else if (json_is_array(v)) {
        size_t i, off = 0;
        json_t *line;
        json_array_foreach(v, i, line) {
            if (!json_is_string(line)) continue;
            memcpy(s + off, json_string_value(line), json_string_length(line));
            off += json_string_length(line);
        }
    }
    s[n] = 0;
    if (len) *len = n;
    return s;
}

char *nb_cell_source(const json_t *cell, size_t *len)
{
    return join_text(json_object_get(cell, "source"), len);
}

/* ---------------------------------------------------------------- v3 upgrade */

static const struct { const char *alias, *mime; } mime_map[] = {
    {"text", "text/plain"},       {"html", "text/html"},
    {"svg", "image/svg+xml"},     {"png", "image/png"},
    {"jpeg", "image/jpeg"},       {"latex", "text/latex"},
    {"json", "application/json"}, {"javascript", "application/javascript"},
};

static void to_mime_keys(json_t *d)
{
    if (!json_is_object(d)) return;
    for (size_t i = 0; i < sizeof mime_map / sizeof mime_map[0]; i++) {
        json_t *v = json_object_get(d, mime_map[i].alias);
        if (!v) continue;
        json_object_set(d, mime_map[i].mime, v);
        json_object_del(d, mime_map[i].alias);
    }
}

/* Moves KEY of OBJ to NEWKEY (or sets NEWKEY to DEFLT when KEY is absent). */
static void rename_key(json_t *obj, const char *key, const char *newkey, json_t *deflt)
{
    json_t *v = json_object_get(obj, key);
    if (v) {
        json_incref(v);
        json_object_del(obj, key);
        json_object_set_new(obj, newkey, v);
        json_decref(deflt);
    } else {
        json_object_set_new(obj, newkey, deflt);
    }
}

static void upgrade_output(json_t *out)
{
    const char *ot = json_string_value(json_object_get(out, "output_type"));
    if (!ot) return;
    if (!strcmp(ot, "pyout") || !strcmp(ot, "display_data")) {
        if (!json_is_object(json_object_get(out, "metadata")))
            json_object_set_new(out, "metadata", json_object());
        if (!strcmp(ot, "pyout")) {
            json_object_set_new(out, "output_type", json_string("execute_result"));
            rename_key(out, "prompt_number", "execution_count", json_null());
        }
        json_t *data = json_object();
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(out, tmp, k, v) {
            if (!strcmp(k, "output_type") || !strcmp(k, "execution_count") ||
                !strcmp(k, "metadata"))
                continue;
            json_object_set(data, k, v);
            json_object_del(out, k);
        }
        to_mime_keys(data);
        to_mime_keys(json_object_get(out, "metadata"));
        /* v3 kept application/json as a string of JSON */
        json_t *js = json_object_get(data, "application/json");
        if (json_is_string(js)) {
            json_t *parsed = json_loadb(json_string_value(js), json_string_length(js),
                                        JSON_DECODE_ANY, NULL);
            if (parsed) json_object_set_new(data, "application/json", parsed);
        }
        json_object_set_new(out, "data", data);
    } else if (!strcmp(ot, "pyerr")) {
        json_object_set_new(out, "output_type", json_string("error"));
    } else if (!strcmp(ot, "stream")) {
        rename_key(out, "stream", "name", json_string("stdout"));
    }
}

/* Python's " ".join(s.splitlines()) for a v3 heading. */
static char *heading_line(const json_t *src)
{
    size_t n;
    char *s = join_text(src, &n);
    if (!s) return NULL;
    char *o = malloc(n + 1);
    if (!o) { free(s); return NULL; }
    size_t on = 0;
    int pending_space = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = line_break_len(u, n, i);
        if (k) {
            i += k;
            if (i < n) pending_space = 1;
            continue;
        }
        if (pending_space) { o[on++] = ' '; pending_space = 0; }
        o[on++] = s[i++];
    }
    o[on] = 0;
    free(s);
    return o;
}

static void upgrade_cell(json_t *cell)
{
    if (!json_is_object(json_object_get(cell, "metadata")))
        json_object_set_new(cell, "metadata", json_object());
    const char *t = json_string_value(json_object_get(cell, "cell_type"));
    if (!t) return;
    if (!strcmp(t, "code")) {
        json_object_del(cell, "language");
        json_t *collapsed = json_object_get(cell, "collapsed");
        if (collapsed) {
            json_object_set(json_object_get(cell, "metadata"), "collapsed", collapsed);
            json_object_del(cell, "collapsed");
        }
        rename_key(cell, "input", "source", json_string(""));
        rename_key(cell, "prompt_number", "execution_count", json_null());
        json_t *outs = json_object_get(cell, "outputs");
        if (!json_is_array(outs)) json_object_set_new(cell, "outputs", json_array());
        size_t i;
        json_t *o;
        json_array_foreach(json_object_get(cell, "outputs"), i, o) upgrade_output(o);
    } else if (!strcmp(t, "heading")) {
        json_t *lv = json_object_get(cell, "level");
        json_int_t level = json_is_integer(lv) ? json_integer_value(lv) : 1;
        if (level < 0) level = 0;
        if (level > 64) level = 64; /* a heading deeper than this is nonsense, not data */
        char *line = heading_line(json_object_get(cell, "source"));
        if (!line) return;
        size_t n = strlen(line);
        char *src = malloc((size_t)level + n + 2);
        if (src) {
            memset(src, '#', (size_t)level);
            src[level] = ' ';
            memcpy(src + level + 1, line, n + 1);
            json_object_set_new(cell, "source", json_string(src));
        }
        free(src);
        free(line);
        json_object_set_new(cell, "cell_type", json_string("markdown"));
        json_object_del(cell, "level");
    } else if (!strcmp(t, "html")) {
        json_object_set_new(cell, "cell_type", json_string("markdown"));
    }
}

/* nbformat.v4.convert.upgrade from 3, in memory.  Unlike Python it gives no random
 * cell ids (ingest must be reproducible), so the result is marked 4.4, the last minor
 * without ids. */
static int upgrade_v3(json_t *nb, const char *name, nb_error *err)
{
    json_t *ws = json_object_get(nb, "worksheets");
    if (ws && !json_is_array(ws)) {
        set_err(err, "%s: nbformat 3: worksheets is not a list", name);
        return -1;
    }
    json_t *md = json_object_get(nb, "metadata");
    if (!json_is_object(md)) {
        md = json_object();
        json_object_set_new(nb, "metadata", md);
    }
    /* Python: orig_nbformat or 3, orig_nbformat_minor or 0 */
    json_t *on = json_object_get(nb, "orig_nbformat");
    json_t *onm = json_object_get(nb, "orig_nbformat_minor");
    json_object_set_new(md, "orig_nbformat", json_is_integer(on) && json_integer_value(on)
                                                 ? json_incref(on) : json_integer(3));
    json_object_set_new(md, "orig_nbformat_minor", json_is_integer(onm) && json_integer_value(onm)
                                                       ? json_incref(onm) : json_integer(0));
    json_object_del(nb, "orig_nbformat");
    json_object_del(nb, "orig_nbformat_minor");
    json_object_set_new(nb, "nbformat", json_integer(4));
    json_object_set_new(nb, "nbformat_minor", json_integer(4));
    json_t *cells = json_array();
    size_t i, j;
    json_t *w, *cell;
    json_array_foreach(ws, i, w) {
        json_t *wc = json_object_get(w, "cells");
        if (!json_is_array(wc)) {
            set_err(err, "%s: nbformat 3: worksheets[%zu].cells is not a list", name, i);
            json_decref(cells);
            return -1;
        }
        json_array_foreach(wc, j, cell) {
            if (!json_is_object(cell)) {
                set_err(err, "%s: nbformat 3: worksheets[%zu].cells[%zu] is not an object",
                        name, i, j);
                json_decref(cells);
                return -1;
            }
            upgrade_cell(cell);
            json_array_append(cells, cell);
        }
    }
    json_object_set_new(nb, "cells", cells);
    json_object_del(nb, "worksheets");
    json_object_del(md, "name");
    json_object_del(md, "signature");
    return 0;
}

/* ---------------------------------------------------------------- reading */

static int is_text(const json_t *v)
{
    if (json_is_string(v)) return 1;
    if (!json_is_array(v)) return 0;
    size_t i;
    json_t *line;
    json_array_foreach(v, i, line) if (!json_is_string(line)) return 0;
    return 1;
}

/* The structure every reader of the notebook relies on; everything else is kept
 * as it is, unknown fields and cell types included. */
static int validate_v4(const json_t *nb, const char *name, nb_error *err)
{
    json_t *cells = json_object_get(nb, "cells");
    if (!json_is_array(cells)) {
        set_err(err, "%s: not a notebook: %s", name,
                cells ? "\"cells\" is not a list" : "no \"cells\" list");
        return -1;
    }
    json_t *md = json_object_get(nb, "metadata");
    if (md && !json_is_object(md)) {
        set_err(err, "%s: \"metadata\" is not an object", name);
        return -1;
    }
    size_t i;
    json_t *cell;
    json_array_foreach(cells, i, cell) {
        if (!json_is_object(cell)) {
            set_err(err, "%s: cells[%zu] is not an object", name, i);
            return -1;
        }
        if (!json_is_string(json_object_get(cell, "cell_type"))) {
            set_err(err, "%s: cells[%zu] has no cell_type string", name, i);
            return -1;
        }
        /* null is kept: Python writes it back and it reads as an empty source */
        json_t *src = json_object_get(cell, "source");
        if (src && !json_is_null(src) && !is_text(src)) {
            set_err(err, "%s: cells[%zu].source is neither a string nor a list of strings",
                    name, i);
            return -1;
        }
        json_t *cmd = json_object_get(cell, "metadata");
        if (cmd && !json_is_object(cmd)) {
            set_err(err, "%s: cells[%zu].metadata is not an object", name, i);
            return -1;
        }
        json_t *outs = json_object_get(cell, "outputs");
        if (outs && !json_is_array(outs)) {
            set_err(err, "%s: cells[%zu].outputs is not a list", name, i);
            return -1;
        }
    }
    return 0;
}

/* A clearer reason than jansson's for what Python would read but we cannot keep. */
static const char *explain(const json_error_t *je, const char *buf, size_t len)
{
    if (strstr(je->text, "too big integer"))
        return "integer beyond 64 bits: cannot be kept exactly";
    if (strstr(je->text, "real number overflow"))
        return "number too large for a double (Python would turn it into Infinity)";
    if (strstr(je->text, "duplicate object key"))
        return "duplicate object key (a rewrite would drop one of the values)";
    if (strstr(je->text, "invalid Unicode"))
        return "lone UTF-16 surrogate escape: not representable in UTF-8";
    if (strstr(je->text, "unable to decode byte") || strstr(je->text, "invalid UTF-8"))
        return "invalid UTF-8";
    if (strstr(je->text, "NUL byte in object key"))
        return "\\u0000 in an object key is not supported";
    if (strstr(je->text, "invalid token") || strstr(je->text, "unexpected token")) {
        size_t p = (size_t)je->position;
        size_t from = p > 12 ? p - 12 : 0;
        for (size_t i = from; i < len && i < p + 2; i++) {
            if ((len - i >= 3 && !memcmp(buf + i, "NaN", 3)) ||
                (len - i >= 8 && !memcmp(buf + i, "Infinity", 8)))
                return "NaN/Infinity are not JSON and cannot be kept";
        }
    }
    return NULL;
}

json_t *nb_read_mem(const char *buf, size_t len, const char *name, int flags, nb_error *err)
{
    if (!name) name = "<memory>";
    if (err) err->msg[0] = 0;
    if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
        set_err(err, "%s:1:1: starts with a UTF-8 byte-order mark (nbformat refuses it too)",
                name);
        return NULL;
    }
    json_error_t je;
    json_t *nb = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
    if (!nb) {
        const char *why = explain(&je, buf, len);
        if (je.line > 0)
            set_err(err, "%s:%d:%d: %s%s%s%s", name, je.line, je.column,
                    why ? why : je.text, why ? " (" : "", why ? je.text : "", why ? ")" : "");
        else
            set_err(err, "%s: %s", name, je.text);
        return NULL;
    }
    if (!json_is_object(nb)) {
        set_err(err, "%s: not a notebook: the top level is not an object", name);
        json_decref(nb);
        return NULL;
    }
    json_t *major = json_object_get(nb, "nbformat");
    if (!json_is_integer(major)) {
        set_err(err, "%s: not a notebook: %s", name,
                major ? "\"nbformat\" is not an integer" : "no \"nbformat\" field");
        json_decref(nb);
        return NULL;
    }
    json_int_t v = json_integer_value(major);
    if (v == 3 && (flags & NB_ALLOW_V3)) {
        if (upgrade_v3(nb, name, err)) { json_decref(nb); return NULL; }
    } else if (v != 4) {
        set_err(err, "%s: nbformat %" JSON_INTEGER_FORMAT " is not supported (%s)", name, v,
                v == 3 ? "only 4.x here; ingest reads v3" : "only 4.x, and 3 for ingest");
        json_decref(nb);
        return NULL;
    }
    if (validate_v4(nb, name, err)) { json_decref(nb); return NULL; }
    return nb;
}

/* The whole file in memory; NULL with ERR on failure. */
static char *slurp(const char *path, size_t *len, nb_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { set_err(err, "%s: %s", path, strerror(errno)); return NULL; }
    struct stat st;
    if (fstat(fd, &st)) {
        set_err(err, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        set_err(err, "%s: not a regular file", path);
        close(fd);
        return NULL;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) { set_err(err, "%s: out of memory", path); close(fd); return NULL; }
    for (;;) {
        if (n + 1 >= cap) { /* the file grew while we read it */
            char *p = realloc(buf, cap * 2);
            if (!p) { set_err(err, "%s: out of memory", path); free(buf); close(fd); return NULL; }
            buf = p;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            set_err(err, "%s: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return NULL;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *len = n;
    return buf;
}

json_t *nb_read_file(const char *path, int flags, nb_error *err)
{
    size_t len;
    char *buf = slurp(path, &len, err);
    if (!buf) return NULL;
    if (len == 0) {
        set_err(err, "%s: empty file", path);
        free(buf);
        return NULL;
    }
    json_t *nb = nb_read_mem(buf, len, path, flags, err);
    free(buf);
    return nb;
}

/* ---------------------------------------------------------------- atomic save */

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

int nb_save_atomic(const char *path, const char *buf, size_t len, nb_error *err)
{
    /* Write through a symlink to its target, so the link survives the rename. */
    char *real = realpath(path, NULL);
    const char *target = real ? real : path;
    struct stat st;
    mode_t mode;
    if (stat(target, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            set_err(err, "%s: not a regular file", path);
            free(real);
            return -1;
        }
        mode = st.st_mode & 07777;
    } else if (errno == ENOENT) {
        mode_t um = umask(0);
        umask(um);
        mode = 0666 & ~um;
    } else {
        set_err(err, "%s: %s", path, strerror(errno));
        free(real);
        return -1;
    }
    char *dcopy = strdup(target), *bcopy = strdup(target);
    char *tmp = NULL;
    int fd = -1, rc = -1;
    if (!dcopy || !bcopy) { set_err(err, "%s: out of memory", path); goto out; }
    const char *dir = dirname(dcopy), *base = basename(bcopy);
    size_t tn = strlen(dir) + strlen(base) + 32;
    tmp = malloc(tn);
    if (!tmp) { set_err(err, "%s: out of memory", path); goto out; }
    snprintf(tmp, tn, "%s/.%s.nbstage-XXXXXX", dir, base);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        set_err(err, "%s: cannot create a temporary file in %s: %s", path, dir, strerror(errno));
        goto out;
    }
    if (write_all(fd, buf, len) || fchmod(fd, mode) || fsync(fd)) {
        set_err(err, "%s: writing %s: %s", path, tmp, strerror(errno));
        goto fail;
    }
    if (close(fd)) {
        fd = -1;
        set_err(err, "%s: writing %s: %s", path, tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, target)) {
        set_err(err, "%s: rename: %s", path, strerror(errno));
        goto fail;
    }
    /* The rename itself is durable only once the folder is synced. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { fsync(dfd); close(dfd); }
    rc = 0;
    goto out;
fail:
    if (fd >= 0) close(fd);
    unlink(tmp);
out:
    free(tmp);
    free(dcopy);
    free(bcopy);
    free(real);
    return rc;
}

/* ---------------------------------------------------------------- walker */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static char *join_path(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    int slash = na > 0 && a[na - 1] != '/';
    char *p = malloc(na + nb + 2);
    if (!p) return NULL;
    memcpy(p, a, na);
    if (slash) p[na++] = '/';
    memcpy(p + na, b, nb + 1);
    return p;
}

static int walk_dir(const char *path, const char *rel, nb_walk_fn fn,
                    nb_walk_error_fn on_error, void *ctx)
{
    DIR *d = opendir(path);
    if (!d) {
        if (on_error) on_error(path, strerror(errno), ctx);
        return 0;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    errno = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **p = realloc(names, cap * sizeof *names);
            if (!p) break;
            names = p;
        }
        if (!(names[n] = strdup(de->d_name))) break;
        n++;
    }
    if (errno && on_error) on_error(path, strerror(errno), ctx);
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n && !rc; i++) {
        char *full = join_path(path, names[i]);
        char *r = rel[0] ? join_path(rel, names[i]) : strdup(names[i]);
        struct stat lst, st;
        if (!full || !r) {
            if (on_error) on_error(path, "out of memory", ctx);
        } else if (lstat(full, &lst)) {
            if (on_error) on_error(full, strerror(errno), ctx);
        } else if (S_ISDIR(lst.st_mode)) {
            /* symlinked folders are not followed: no loops, no duplicates */
            if (names[i][0] != '.') rc = walk_dir(full, r, fn, on_error, ctx);
        } else if (ends_with(names[i], ".ipynb")) {
            if (stat(full, &st)) {
                if (on_error) on_error(full, strerror(errno), ctx);
            } else if (S_ISREG(st.st_mode)) {
                rc = fn(full, r, ctx);
            }
        }
        free(full);
        free(r);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

int nb_walk(const char *path, nb_walk_fn fn, nb_walk_error_fn on_error, void *ctx)
{
    struct stat st;
    if (stat(path, &st)) {
        if (on_error) on_error(path, strerror(errno), ctx);
        return 0;
    }
    if (S_ISDIR(st.st_mode)) return walk_dir(path, "", fn, on_error, ctx);
    if (!S_ISREG(st.st_mode)) {
        if (on_error) on_error(path, "not a regular file or folder", ctx);
        return 0;
    }
    char *copy = strdup(path);
    if (!copy) {
        if (on_error) on_error(path, "out of memory", ctx);
        return 0;
    }
    int rc = fn(path, basename(copy), ctx);
    free(copy);
    return rc;
}
