/* nblang.c — a notebook's language (see nblang.h). */
#include "nbformat/nblang.h"

#include <string.h>

#include "nbformat/jsonbytes.h"
#include "nbformat/jsonload.h"
#include "nbformat/notebook.h" /* nb_put_shown */

static int is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static unsigned char lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

/* S (N bytes) without white space, in lower case, is one of Python's names. */
static int python_name(const char *s, size_t n)
{
    char k[NB_LANG_NAME];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_space(c)) continue;
        if (m + 1 >= sizeof k) return 0; /* longer than any of them */
        k[m++] = (char)lower(c);
    }
    k[m] = 0;
    /* sparkmagic's PySpark kernel says "pyspark": its cells are Python */
    if (!strcmp(k, "ipython") || !strcmp(k, "pyspark")) return 1;
    if (strncmp(k, "python", 6)) return 0;
    for (const char *p = k + 6; *p; p++) /* a version: "python3", "python3.11" */
        if (!is_digit((unsigned char)*p) && !(*p == '.' && p > k + 6)) return 0;
    return 1;
}

/* V when it is a string with more than white space in it (its bytes, *N long), else
 * NULL. */
static const char *given(const json_t *v, size_t *n)
{
    if (!json_is_string(v)) return NULL;
    const char *s = json_string_value(v);
    *n = json_string_length(v);
    for (size_t i = 0; i < *n; i++)
        if (!is_space((unsigned char)s[i])) return s;
    return NULL;
}

void nb_lang_of_name(const char *s, size_t n, struct nb_lang *out)
{
    out->python = 1;
    out->name[0] = 0;
    if (!s) return; /* no language given: taken as Python */
    /* the name to show: trimmed, lower case, printable ASCII */
    size_t a = 0, b = n, m = 0;
    while (a < b && is_space((unsigned char)s[a])) a++;
    while (b > a && is_space((unsigned char)s[b - 1])) b--;
    if (a == b) return; /* only white space: none given */
    out->python = python_name(s, n);
    for (size_t i = a; i < b && m + 1 < sizeof out->name; i++) {
        unsigned char c = lower((unsigned char)s[i]);
        out->name[m++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    out->name[m] = 0;
}

/* The rule, from language_info.name and kernelspec.language (each NULL if absent). */
static void decide(const json_t *info_name, const json_t *spec_language, struct nb_lang *out)
{
    size_t n = 0;
    const char *s = given(info_name, &n);
    if (!s) s = given(spec_language, &n);
    nb_lang_of_name(s, n, out);
}

static const json_t *member(const json_t *obj, const char *key)
{
    return json_is_object(obj) ? json_object_get(obj, key) : NULL;
}

static void decide_tree(const json_t *meta, struct nb_lang *out)
{
    decide(member(member(meta, "language_info"), "name"),
           member(member(meta, "kernelspec"), "language"), out);
}

void nb_lang_of_tree(const json_t *nb, struct nb_lang *out)
{
    decide_tree(member(nb, "metadata"), out);
}

/* The metadata's bytes are JSON (the scanners checked them), so they are walked, not
 * parsed: values are skipped by counting brackets outside strings, and only the two
 * strings that may name the language are decoded, by jansson, as tokens of their own.
 * Parsing the whole object was 6% of a `tag` run: metadata may carry megabytes of
 * widget state.  Anything the walk does not expect (an escaped key: the scanners take
 * none today) sends the notebook to jansson whole, which is the definition. */

static const char *ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Past the string token at P ('"'), or NULL: long strings (widget state, images) are
 * run over 16 bytes at a time. */
static const char *string_end(const char *p, const char *e)
{
    const unsigned char *q = (const unsigned char *)p + 1, *end = (const unsigned char *)e;
    for (;;) {
        q = json_skip_plain(q, end);
        if (q >= end) return NULL;
        if (*q == '"') return (const char *)q + 1;
        if (*q == '\\' && end - q < 2) return NULL; /* (cut after its backslash) */
        q += *q == '\\' ? 2 : 1; /* an escape's second byte, or a byte beyond ASCII */
    }
}

/* Past the value at P, or NULL. */
static const char *value_end(const char *p, const char *e)
{
    if (p >= e) return NULL;
    if (*p == '"') return string_end(p, e);
    if (*p != '{' && *p != '[') { /* a number, true, false or null */
        while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
               *p != '\n' && *p != '\r')
            p++;
        return p;
    }
    int depth = 0;
    for (; p < e; p++) {
        if (*p == '"') {
            if (!(p = string_end(p, e))) return NULL;
            p--;
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if ((*p == '}' || *p == ']') && --depth == 0) {
            return p + 1;
        }
    }
    return NULL;
}

/* The members of the object at [P, E): for each key K[i] (plain ASCII), the span of its
 * value (the last one, as jansson keeps the last of duplicate keys), V[i] NULL when
 * absent.  0, or -1 when the walk met what it does not expect. */
static int members(const char *p, const char *e, const char *const *k, int nk,
                   const char **v, const char **ve)
{
    for (int i = 0; i < nk; i++) v[i] = ve[i] = NULL;
    p = ws(p, e);
    if (p >= e || *p != '{') return -1;
    p = ws(p + 1, e);
    if (p < e && *p == '}') return 0;
    for (;;) {
        if (p >= e || *p != '"') return -1;
        const char *key = p + 1, *kend = string_end(p, e);
        if (!kend || memchr(key, '\\', (size_t)(kend - 1 - key))) return -1;
        p = ws(kend, e);
        if (p >= e || *p != ':') return -1;
        const char *val = ws(p + 1, e), *vend = value_end(val, e);
        if (!vend) return -1;
        size_t klen = (size_t)(kend - 1 - key);
        for (int i = 0; i < nk; i++)
            if (strlen(k[i]) == klen && !memcmp(key, k[i], klen)) v[i] = val, ve[i] = vend;
        p = ws(vend, e);
        if (p < e && *p == ',') {
            p = ws(p + 1, e);
            continue;
        }
        return p < e && *p == '}' ? 0 : -1;
    }
}

/* The string that member KEY of the object at P (its value's span [P, E), P NULL when
 * there is none) gives, decoded by jansson as a token of its own, into *S (NULL when
 * absent or not a string; the caller decrefs it).  0, or -1 as above. */
static int string_member(const char *p, const char *e, const char *key, json_t **s)
{
    const char *k[1] = {key}, *v, *ve;
    *s = NULL;
    if (!p || *p != '{') return 0; /* absent, or not an object: nothing here */
    if (members(p, e, k, 1, &v, &ve)) return -1;
    if (!v || *v != '"') return 0;
    *s = nb_json_loadb(v, (size_t)(ve - v), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    return *s ? 0 : -1;
}

int nb_lang_of_metadata(const char *meta, size_t len, struct nb_lang *out)
{
    out->python = 1;
    out->name[0] = 0;
    /* Neither key in it (the scanners take no escaped key): no language. */
    if (!len || !memmem(meta, len, "\"language", 9)) return 0;
    const char *e = meta + len, *k[2] = {"language_info", "kernelspec"}, *v[2], *ve[2];
    json_t *name = NULL, *language = NULL;
    int rc = 0;
    if (!members(meta, e, k, 2, v, ve) && !string_member(v[0], ve[0], "name", &name) &&
        !string_member(v[1], ve[1], "language", &language)) {
        decide(name, language, out);
    } else {
        json_t *m = nb_json_loadb(meta, len, JSON_ALLOW_NUL, NULL);
        if (m) decide_tree(m, out);
        else rc = -1; /* JSON, as said: out of memory */
        json_decref(m);
    }
    json_decref(name);
    json_decref(language);
    return rc;
}

void nb_lang_tally_add(struct nb_lang_tally *t, const struct nb_lang *l)
{
    t->total++;
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->kind[i].name, l->name)) {
            t->kind[i].count++;
            return;
        }
    if (t->n == NB_LANG_KINDS) {
        t->other++;
        return;
    }
    memcpy(t->kind[t->n].name, l->name, sizeof l->name);
    t->kind[t->n++].count = 1;
}

void nb_lang_tally_print(FILE *to, const struct nb_lang_tally *t)
{
    int done[NB_LANG_KINDS] = {0};
    for (size_t k = 0; k < t->n; k++) {
        size_t best = t->n;
        for (size_t i = 0; i < t->n; i++) /* the most frequent left, the first met of those */
            if (!done[i] && (best == t->n || t->kind[i].count > t->kind[best].count)) best = i;
        done[best] = 1;
        fputs(k ? ", " : "", to);
        nb_put_shown(to, t->kind[best].name, strlen(t->kind[best].name)); /* as nb_say shows it */
        fprintf(to, " %ld", t->kind[best].count);
    }
    if (t->other) fprintf(to, "%sother %ld", t->n ? ", " : "", t->other);
}
