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

/* The end of the magic or shell line starting at I: its newline, or LEN.  A line that
 * ends in a backslash goes on to the next, as IPython joins it before running it
 * (`!pip install a \` then `    -U b` is one command). */
static size_t magic_line_end(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] != '\n' || s[i - 1] == '\\' || (s[i - 1] == '\r' && s[i - 2] == '\\'))) i++;
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

/* The blanks [I, J) of the source, as the code view keeps them: at most
 * PYVIEW_BLANK_RUN of a run (pytoken.h says why). */
static size_t blank_run(size_t i, size_t j) { return j - i > PYVIEW_BLANK_RUN ? PYVIEW_BLANK_RUN : j - i; }

/* The body [*A, *Z) of the literal whose opening quote is at Q and which ends at END:
 * inside its quotes, single or triple (an unterminated one runs to END). */
static void literal_body(const char *s, size_t q, size_t end, size_t *a, size_t *z)
{
    char qc = s[q];
    int triple = q + 2 < end && s[q + 1] == qc && s[q + 2] == qc;
    *a = q + (triple ? 3 : 1);
    *z = end;
    if (*z > *a && s[*z - 1] == qc) *z -= triple ? 3 : 1; /* terminated: drop the closing quote(s) */
    if (*z < *a) *z = *a;
}

/* Appends the contents of the literal whose opening quote is at Q and which ends at
 * END to the strings view, newlines flattened, one literal per line. */
static int put_string_contents(struct buf *b, const char *s, size_t q, size_t end)
{
    size_t a, z;
    literal_body(s, q, end, &a, &z);
    for (size_t k = a; k < z; k++)
        if (putc1(b, (s[k] == '\n' || s[k] == '\r') ? ' ' : s[k]) < 0) return -1;
    return putc1(b, '\n');
}

static int build_views(struct pyview *v, const char *s, size_t len, int expr);

/* 1 when the literal starting at I (prefix) with its quote at Q is an f-string. */
static int is_fstring(const char *s, size_t i, size_t q)
{
    for (size_t k = i; k < q; k++)
        if (s[k] == 'f' || s[k] == 'F') return 1;
    return 0;
}

/* The end of an f-string replacement field's expression that starts at K (after its
 * '{'), within [K, Z): the index of the '}', '!' (not "!=") or ':' that ends it at
 * bracket depth 0; *CLOSE gets the index of the field's closing '}' (past any format
 * spec, whose own nested fields are skipped), or Z when unterminated. */
static size_t fstring_field_end(const char *s, size_t k, size_t z, size_t *close)
{
    size_t j = k, q, e = z;
    int depth = 0;
    while (j < z) {
        char c = s[j];
        if ((c == '"' || c == '\'') && pysrc_string_start(s, z, j, &q)) {
            j = pysrc_skip_string(s, z, q);
            continue;
        }
        if (c == '(' || c == '[' || c == '{') depth++;
        else if ((c == ')' || c == ']') && depth > 0) depth--;
        else if (c == '}' && depth > 0) depth--;
        else if (depth == 0 && (c == '}' || c == ':' || (c == '!' && !(j + 1 < z && s[j + 1] == '=')))) {
            e = j;
            break;
        }
        j++;
    }
    /* the field closes at the first '}' at depth 0 after the expression */
    for (depth = 0; j < z; j++) {
        if (s[j] == '{') depth++;
        else if (s[j] == '}' && depth-- == 0) break;
    }
    *close = j;
    return e;
}

/* Appends the replacement fields of the f-string whose opening quote is at Q and which
 * ends at END to FIELDS, each as "{" + the expression's own code view + "}".  The
 * expressions are code, so `f"{accuracy_score(y, p)}"` is evidence like any call; the
 * literal itself still reads "" where it stands (patterns such as `df[""] =` keep
 * matching), and the text between fields stays in the strings view only. */
static int put_fstring_fields(struct buf *fields, struct buf *str, const char *s, size_t q, size_t end)
{
    size_t a, z;
    literal_body(s, q, end, &a, &z);
    for (size_t k = a; k < z; k++) {
        if (s[k] != '{') continue;
        if (k + 1 < z && s[k + 1] == '{') { k++; continue; } /* "{{" is a literal brace */
        size_t close, e = fstring_field_end(s, k + 1, z, &close);
        size_t x = k + 1;
        /* the "=" of a self-documenting field, f"{x=}", is no assignment */
        while (e > x && (s[e - 1] == ' ' || s[e - 1] == '\t')) e--;
        /* (memchr: strchr would take a NUL byte before the '=' for its terminator) */
        if (e > x && s[e - 1] == '=' && !(e > x + 1 && memchr("=!<>", s[e - 2], 4))) e--;
        struct pyview f;
        memset(&f, 0, sizeof f);
        if (build_views(&f, s + x, e - x, 1) < 0) return -1;
        int rc = putc1(fields, '{');
        for (size_t t = 0; rc == 0 && t < f.code_len; t++)
            rc = putc1(fields, (f.code[t] == '\n' || f.code[t] == '\r') ? ' ' : f.code[t]);
        if (rc == 0) rc = putc1(fields, '}');
        if (rc == 0 && f.strings_len) rc = put(str, f.strings, f.strings_len);
        free(f.code);
        free(f.strings);
        if (rc < 0) return -1;
        k = close;
    }
    return 0;
}

/* Ends the logical line with the f-string fields it held, as a statement of their own
 * on the next line at the line's indentation: `print(f"{X.shape}")` reads
 * `print("")` + newline + `{X.shape}`, so that a banner print stays a banner and a
 * shape printed in an f-string is a look at the data. */
static int flush_fields(struct buf *code, struct buf *fields, const char *s, size_t ind, size_t ind_len)
{
    if (fields->n == 0) return 0;
    if (putc1(code, '\n') < 0 || put(code, s + ind, ind_len) < 0 || put(code, fields->p, fields->n) < 0) return -1;
    fields->n = 0;
    return 0;
}

/* EXPR: S is an f-string field's expression, not statements (a string in it is a
 * value, not disabled code). */
static int build_views(struct pyview *v, const char *s, size_t len, int expr)
{
    struct buf code = {0}, str = {0}, fields = {0};
    int depth = 0, at_stmt = !expr;
    size_t i = 0, q, ind = 0, ind_len = 0; /* the logical line's indentation */
    /* empty buffers still need a terminating NUL */
    if (put(&code, "", 0) < 0 || put(&str, "", 0) < 0) goto oom;
    while (i < len) {
        char c = s[i];
        if (at_stmt) {
            size_t j = skip_blank(s, len, i);
            int line_start = i == 0 || s[i - 1] == '\n';
            if (line_start) { ind = i; ind_len = blank_run(i, j); }
            if (j > i) { if (put(&code, s + i, blank_run(i, j)) < 0) goto oom; i = j; continue; }
            if (c == '%' || c == '!') { /* magic or shell line: code, verbatim to the line's end */
                size_t e = magic_line_end(s, len, i);
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
            if (is_fstring(s, i, q) && put_fstring_fields(&fields, &str, s, q, end) < 0) goto oom;
            i = end;
        } else if (c == ' ' || c == '\t') {
            size_t j = skip_blank(s, len, i);
            if (put(&code, s + i, blank_run(i, j)) < 0) goto oom;
            i = j;
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
            if (depth == 0 && c == '\n' && flush_fields(&code, &fields, s, ind, ind_len) < 0) goto oom;
            /* after "if x:" a one-line body may follow; treat it as a statement too */
            if (putc1(&code, c) < 0) goto oom;
            i++;
        }
    }
    if (flush_fields(&code, &fields, s, ind, ind_len) < 0) goto oom;
    free(fields.p);
    v->code = code.p; v->code_len = code.n;
    v->strings = str.p; v->strings_len = str.n;
    return 0;
oom:
    free(code.p);
    free(str.p);
    free(fields.p);
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
                size_t e = magic_line_end(s, len, j);
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
    if (build_views(v, src, len, 0) < 0 || split_statements(v) < 0) {
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
