/* wire_json.c — a message's JSON frames read in place (see wire_json.h).
 *
 * Two walkers: a lenient one that skips values to find a member (the relay's hot path:
 * a value is skipped, not checked), and a strict one with Python's grammar
 * (wire_json_valid), run once on each execute_request before the proxy waits for it.
 */
#include "kernel/wire_json.h"

#include <string.h>

static size_t skip_ws(const unsigned char *d, size_t i, size_t n)
{
    while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r')) i++;
    return i;
}

/* Past the string that starts at D[I] (a quote); N + 1 when it does not end. */
static size_t skip_string(const unsigned char *d, size_t i, size_t n, int *escaped)
{
    for (i++; i < n; i++) {
        if (d[i] == '\\') { *escaped = 1; i++; continue; }
        if (d[i] == '"') return i + 1;
    }
    return n + 1;
}

/* Past the value that starts at D[I]; N + 1 when malformed.  Nested objects and arrays
 * are skipped by depth, strings by their quotes; scalars up to the next delimiter. */
static size_t skip_value(const unsigned char *d, size_t i, size_t n)
{
    int depth = 0, esc = 0;
    while (i < n) {
        unsigned char c = d[i];
        if (c == '"') {
            i = skip_string(d, i, n, &esc);
            if (i > n) return i;
        } else if (c == '{' || c == '[') {
            depth++, i++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) return i; /* the end of the enclosing object */
            depth--, i++;
        } else if (c == ',' && depth == 0) {
            return i;
        } else {
            i++;
        }
        if (depth == 0 && (c == '"' || c == '}' || c == ']')) return i;
    }
    return n + 1;
}

int wire_json_member(const struct wire_frame *f, const char *key, size_t *off, size_t *len)
{
    const unsigned char *d = f->data;
    size_t n = f->len, klen = strlen(key);
    size_t i = skip_ws(d, 0, n);
    if (i >= n || d[i] != '{') return -1;
    i = skip_ws(d, i + 1, n);
    if (i < n && d[i] == '}') return 0;
    /* A key given twice: the last one counts, as for jansson and Python's json (so the
     * proxy reads the same member the wrapped kernel acts on); hence the whole object
     * is walked. */
    int found = 0;
    while (i < n) {
        if (d[i] != '"') return -1;
        int esc = 0;
        size_t kend = skip_string(d, i, n, &esc);
        if (kend > n) return -1;
        if (esc) return -1; /* an escaped key may spell KEY ("co\u0064e"): a parser's job */
        int match = kend - i - 2 == klen && memcmp(d + i + 1, key, klen) == 0;
        i = skip_ws(d, kend, n);
        if (i >= n || d[i] != ':') return -1;
        i = skip_ws(d, i + 1, n);
        if (i >= n) return -1;
        size_t vstart = i;
        i = skip_value(d, i, n);
        if (i > n) return -1;
        if (match) {
            size_t vend = i; /* a scalar ends at the delimiter: without trailing blanks */
            while (vend > vstart && (d[vend - 1] == ' ' || d[vend - 1] == '\t' ||
                                     d[vend - 1] == '\n' || d[vend - 1] == '\r'))
                vend--;
            *off = vstart, *len = vend - vstart;
            found = 1;
        }
        i = skip_ws(d, i, n);
        if (i >= n) return -1;
        if (d[i] == '}') return found;
        if (d[i] != ',') return -1;
        i = skip_ws(d, i + 1, n);
    }
    return -1;
}

int wire_json_string(const struct wire_frame *f, const char *key, char *out, size_t cap)
{
    size_t off, len;
    out[0] = 0;
    int r = wire_json_member(f, key, &off, &len);
    if (r <= 0) return r;
    const unsigned char *v = f->data + off;
    if (v[0] != '"') return 0; /* not a string */
    if (memchr(v, '\\', len)) return -1;
    size_t m = len - 2 < cap - 1 ? len - 2 : cap - 1;
    memcpy(out, v + 1, m);
    out[m] = 0;
    return 1;
}

/* ---- wire_json_valid: Python's JSON grammar, in place ---- */

static const unsigned char *py_ws(const unsigned char *p, const unsigned char *e)
{
    return p + skip_ws(p, 0, (size_t)(e - p)); /* JSON's four, as Python's */
}

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* P at a '"': just past the string's closing quote, or NULL. */
static const unsigned char *py_string(const unsigned char *p, const unsigned char *e)
{
    for (p++; p < e; p++) {
        if (*p == '"') return p + 1;
        if (*p < 0x20) return NULL; /* strict: a raw control character */
        if (*p != '\\') continue;
        if (++p >= e) return NULL;
        if (*p == 'u') {
            if (e - p < 5 || !is_hex(p[1]) || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4])) return NULL;
            p += 4; /* a lone surrogate is still a string to Python */
        } else if (!memchr("\"\\/bfnrt", *p, 8)) {
            return NULL;
        }
    }
    return NULL;
}

static const unsigned char *py_digits(const unsigned char *p, const unsigned char *e)
{
    const unsigned char *s = p;
    while (p < e && *p >= '0' && *p <= '9') p++;
    return p > s ? p : NULL;
}

static const unsigned char *py_word(const unsigned char *p, const unsigned char *e, const char *w)
{
    size_t n = strlen(w);
    return (size_t)(e - p) >= n && memcmp(p, w, n) == 0 ? p + n : NULL;
}

/* P at a scalar: just past it, or NULL. */
static const unsigned char *py_scalar(const unsigned char *p, const unsigned char *e)
{
    if (*p == '"') return py_string(p, e);
    if (*p == 't') return py_word(p, e, "true");
    if (*p == 'f') return py_word(p, e, "false");
    if (*p == 'n') return py_word(p, e, "null");
    if (*p == 'N') return py_word(p, e, "NaN");
    if (*p == 'I') return py_word(p, e, "Infinity");
    if (*p == '-') {
        if (++p < e && *p == 'I') return py_word(p, e, "Infinity");
    }
    if (p >= e) return NULL;
    if (*p == '0') p++;
    else if (!(p = py_digits(p, e))) return NULL;
    if (p < e && *p == '.' && !(p = py_digits(p + 1, e))) return NULL;
    if (p < e && (*p == 'e' || *p == 'E')) {
        if (++p < e && (*p == '+' || *p == '-')) p++;
        if (!(p = py_digits(p, e))) return NULL;
    }
    return p;
}

int wire_json_valid(const struct wire_frame *f)
{
    const unsigned char *p = f->data, *e = p + f->len;
    unsigned char open[WIRE_JSON_DEPTH]; /* '{' or '[' of each container open */
    size_t depth = 0;
    for (;;) {
        /* a value */
        p = py_ws(p, e);
        if (p >= e) return 0;
        if (*p == '{' || *p == '[') {
            if (depth == WIRE_JSON_DEPTH) return 0;
            unsigned char c = *p;
            open[depth++] = c;
            p = py_ws(p + 1, e);
            if (p < e && *p == (c == '{' ? '}' : ']')) {
                p++, depth--; /* empty */
            } else {
                if (c == '{') { /* the first key */
                    if (p >= e || *p != '"' || !(p = py_string(p, e))) return 0;
                    p = py_ws(p, e);
                    if (p >= e || *p++ != ':') return 0;
                }
                continue;
            }
        } else if (!(p = py_scalar(p, e))) {
            return 0;
        }
        /* after a value: the containers it ends, then the next member or element */
        for (;;) {
            p = py_ws(p, e);
            if (depth == 0) return p == e;
            if (p >= e) return 0;
            unsigned char c = open[depth - 1];
            if (*p == (c == '{' ? '}' : ']')) {
                p++, depth--;
                continue;
            }
            if (*p++ != ',') return 0;
            if (c == '{') {
                p = py_ws(p, e);
                if (p >= e || *p != '"' || !(p = py_string(p, e))) return 0;
                p = py_ws(p, e);
                if (p >= e || *p++ != ':') return 0;
            }
            break;
        }
    }
}

int wire_text_ends_line(const struct wire_frame *f)
{
    size_t off, len;
    if (wire_json_member(f, "text", &off, &len) != 1 || len < 3 || f->data[off] != '"')
        return -1;
    /* back from the end of the raw string: an escape \n, \r or \u is an 'n', 'r' or 'u'
     * after an odd run of backslashes (a \u escape might be either: not read here;
     * Python's json never writes one for them) */
    const unsigned char *v = f->data + off + 1;
    size_t n = len - 2;
    for (size_t i = n; i-- > 0;) {
        if (v[i] != 'n' && v[i] != 'r' && v[i] != 'u') continue;
        size_t b = 0;
        while (b < i && v[i - 1 - b] == '\\') b++;
        if (b % 2 == 0) continue; /* the letter itself */
        if (v[i] == 'u') return -1;
        return v[i] == 'r' || i == n - 1;
    }
    return 0;
}
