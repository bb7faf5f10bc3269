/* pytoken.c — the code / strings / statements views of a cell (see pytoken.h).
 *
 * One pass builds the code and strings views; a second pass over the code view,
 * where no quote or '#' can mislead it any more, finds the statements.
 */
#include "labeling/pytoken.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "nbformat/pysrc.h"

static int is_ident(int c) { return isalnum(c) || c == '_' || c >= 0x80; }

/* Index of the first character after spaces and tabs from I. */
static size_t skip_blank(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
    return i;
}

/* When a statement starting at I is nothing but string literals (implicitly
 * concatenated, possibly with a backslash continuation or parentheses-free), returns
 * the index where it ends; otherwise 0.  Such a statement is disabled code. */
static size_t bare_string_end(const char *s, size_t len, size_t i)
{
    size_t q, j = i;
    int seen = 0;
    for (;;) {
        j = skip_blank(s, len, j);
        if (j < len && s[j] == '\\' && j + 1 < len && s[j + 1] == '\n') { j += 2; continue; }
        if (j < len && pysrc_string_start(s, len, j, &q) && (j == i || !is_ident((unsigned char)s[j - 1]))) {
            j = pysrc_skip_string(s, len, q);
            seen = 1;
            continue;
        }
        break;
    }
    if (!seen) return 0;
    if (j >= len || s[j] == '\n' || s[j] == ';' || s[j] == '#' || s[j] == '\r') return j;
    return 0;
}

struct buf { char *p; size_t n, cap; };

static int put(struct buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->n + n + 1 > cap) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

static int putc1(struct buf *b, char c) { return put(b, &c, 1); }

/* Appends the contents of the literal whose opening quote is at Q and which ends at
 * END to the strings view, newlines flattened, one literal per line. */
static int put_string_contents(struct buf *b, const char *s, size_t q, size_t end)
{
    char qc = s[q];
    int triple = q + 2 < end && s[q + 1] == qc && s[q + 2] == qc;
    size_t a = q + (triple ? 3 : 1), z = end;
    if (z > a && s[z - 1] == qc) z -= triple ? 3 : 1; /* terminated: drop the closing quote(s) */
    if (z < a) z = a;
    for (size_t k = a; k < z; k++)
        if (putc1(b, (s[k] == '\n' || s[k] == '\r') ? ' ' : s[k]) < 0) return -1;
    return putc1(b, '\n');
}

static int build_views(struct pyview *v, const char *s, size_t len)
{
    struct buf code = {0}, str = {0};
    int depth = 0, at_stmt = 1;
    size_t i = 0, q;
    /* empty buffers still need a terminating NUL */
    if (put(&code, "", 0) < 0 || put(&str, "", 0) < 0) goto oom;
    while (i < len) {
        char c = s[i];
        if (at_stmt) {
            size_t j = skip_blank(s, len, i);
            if (j > i) { if (put(&code, s + i, j - i) < 0) goto oom; i = j; continue; }
            if (c == '%' || c == '!') { /* magic or shell line: code, verbatim to the line's end */
                size_t e = i;
                while (e < len && s[e] != '\n') e++;
                if (put(&code, s + i, e - i) < 0) goto oom;
                i = e;
                continue;
            }
            size_t e = bare_string_end(s, len, i);
            if (e) { i = e; at_stmt = 0; continue; } /* disabled code: gone */
            if (c != '\n' && c != '\r' && c != '\\') at_stmt = 0;
        }
        if (c == '#') {
            while (i < len && s[i] != '\n') i++;
        } else if (pysrc_string_start(s, len, i, &q)) {
            size_t end = pysrc_skip_string(s, len, q);
            if (end > len) end = len;
            char qq[2] = { s[q], s[q] };
            if (put(&code, qq, 2) < 0 || put_string_contents(&str, s, q, end) < 0) goto oom;
            i = end;
        } else if (is_ident((unsigned char)c)) {
            size_t e = i;
            while (e < len && is_ident((unsigned char)s[e])) e++;
            if (put(&code, s + i, e - i) < 0) goto oom;
            i = e;
        } else {
            if (c == '(' || c == '[' || c == '{') depth++;
            else if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
            else if (c == '\\' && i + 1 < len && s[i + 1] == '\n') {
                if (put(&code, "\\\n", 2) < 0) goto oom;
                i += 2;
                continue;
            }
            if (depth == 0 && (c == '\n' || c == ';')) at_stmt = 1;
            /* after "if x:" a one-line body may follow; treat it as a statement too */
            if (putc1(&code, c) < 0) goto oom;
            i++;
        }
    }
    v->code = code.p; v->code_len = code.n;
    v->strings = str.p; v->strings_len = str.n;
    return 0;
oom:
    free(code.p);
    free(str.p);
    return -1;
}

static int add_stmt(struct pyview *v, size_t *cap, const char *s, size_t a, size_t z, size_t line_start)
{
    while (a < z && isspace((unsigned char)s[a])) a++;
    while (z > a && isspace((unsigned char)s[z - 1])) z--;
    if (a == z) return 0;
    if (v->n_stmts == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        void *p = realloc(v->stmts, nc * sizeof *v->stmts);
        if (!p) return -1;
        v->stmts = p;
        *cap = nc;
    }
    int indent = 0;
    for (size_t k = line_start; k < a && (s[k] == ' ' || s[k] == '\t'); k++) indent++;
    v->stmts[v->n_stmts++] = (struct pystmt){ a, z, a >= line_start ? indent : 0 };
    return 0;
}

static int split_statements(struct pyview *v)
{
    const char *s = v->code;
    size_t len = v->code_len, cap = 0, start = 0, line_start = 0;
    int depth = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == start) {
            size_t j = skip_blank(s, len, i);
            if (j < len && (s[j] == '%' || s[j] == '!')) { /* a magic line is one statement */
                size_t e = j;
                while (e < len && s[e] != '\n') e++;
                if (add_stmt(v, &cap, s, j, e, line_start) < 0) return -1;
                i = e;
                start = e + 1;
                line_start = start;
                depth = 0;
                continue;
            }
        }
        char c = i < len ? s[i] : '\n';
        if (c == '(' || c == '[' || c == '{') depth++;
        else if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
        int cont = c == '\n' && i > 0 && s[i - 1] == '\\';
        if ((c == '\n' && depth == 0 && !cont) || (c == ';' && depth == 0) || i == len) {
            if (add_stmt(v, &cap, s, start, i, line_start) < 0) return -1;
            start = i + 1;
            if (c == '\n') line_start = start;
        }
    }
    return 0;
}

int pyview_make(struct pyview *v, const char *src, size_t len)
{
    memset(v, 0, sizeof *v);
    if (build_views(v, src, len) < 0 || split_statements(v) < 0) {
        pyview_free(v);
        return -1;
    }
    return 0;
}

void pyview_free(struct pyview *v)
{
    free(v->code);
    free(v->strings);
    free(v->stmts);
    memset(v, 0, sizeof *v);
}
