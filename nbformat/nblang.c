/* nblang.c — a notebook's language (see nblang.h). */
#include "nbformat/nblang.h"

#include <string.h>

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

/* OBJ's member KEY when it is a string with more than white space in it, else NULL. */
static const char *given(const json_t *obj, const char *key, size_t *n)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
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

static void decide(const json_t *meta, struct nb_lang *out)
{
    size_t n = 0;
    const char *s = given(json_is_object(meta) ? json_object_get(meta, "language_info") : NULL,
                          "name", &n);
    if (!s) s = given(json_is_object(meta) ? json_object_get(meta, "kernelspec") : NULL,
                      "language", &n);
    nb_lang_of_name(s, n, out);
}

void nb_lang_of_tree(const json_t *nb, struct nb_lang *out)
{
    decide(json_is_object(nb) ? json_object_get(nb, "metadata") : NULL, out);
}

void nb_lang_of_metadata(const char *meta, size_t len, struct nb_lang *out)
{
    out->python = 1;
    out->name[0] = 0;
    /* Neither key in it (the scanners take no escaped key): no language, and no need
     * to parse what may be megabytes of widget state. */
    if (!len || !memmem(meta, len, "\"language", 9)) return;
    json_t *m = json_loadb(meta, len, JSON_ALLOW_NUL, NULL);
    decide(m, out); /* (NULL, out of memory: Python) */
    json_decref(m);
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
        fprintf(to, "%s%s %ld", k ? ", " : "", t->kind[best].name, t->kind[best].count);
    }
    if (t->other) fprintf(to, "%sother %ld", t->n ? ", " : "", t->other);
}
