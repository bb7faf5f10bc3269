/* flowscan.c — the scanner, name set and threaded pass the flow analyses share
 * (flowscan.h). */
#include "labeling/flowscan.h"

#include <pthread.h>
#include <stdlib.h>

#include "nbformat/pysrc.h"

/* ---------------------------------------------------------------- scanning names */

/* The next name of S[*I..END) into W; 0 at the end.  Numbers (`1e5`, `0x1f`) are
 * skipped whole, so their letters are not names. */
int flow_next_word(const char *s, size_t *i, size_t end, struct word *w)
{
    size_t k = *i;
    while (k < end) {
        unsigned char c = (unsigned char)s[k];
        if (is_digit(c)) { /* a number, letters and all */
            while (k < end && (name_char((unsigned char)s[k]) || s[k] == '.')) k++;
            continue;
        }
        if (!name_start(c)) { k++; continue; }
        size_t a = k;
        while (k < end && name_char((unsigned char)s[k])) k++;
        size_t p = a;
        while (p > 0 && (s[p - 1] == ' ' || s[p - 1] == '\t')) p--;
        size_t q = k;
        while (q < end && (s[q] == ' ' || s[q] == '\t')) q++;
        *w = (struct word){ s + a, k - a, p > 0 && s[p - 1] == '.', q < end && s[q] == '(',
                            q < end && s[q] == '=' && (q + 1 >= end || s[q + 1] != '=') };
        *i = k;
        return 1;
    }
    *i = end;
    return 0;
}

const char *const flow_keywords[] = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
    "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
    "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
    "return", "try", "while", "with", "yield", "self", "cls", NULL,
};

/* ---------------------------------------------------------------- the name set */

void flow_init(struct flow *f) { memset(f, 0, sizeof *f); }

void flow_clear(struct flow *f)
{
    for (size_t i = 0; i < f->n; i++) free(f->names[i]);
    f->n = 0;
}

void flow_free(struct flow *f)
{
    flow_clear(f);
    free(f->names);
    free(f->len);
    free(f->hash);
    free(f->kind);
    memset(f, 0, sizeof *f);
}

unsigned flow_name_hash(const char *s, size_t len)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static long flow_find_hashed(const struct flow *f, const char *s, size_t len, unsigned h)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->hash[i] == h && f->len[i] == len && memcmp(f->names[i], s, len) == 0) return (long)i;
    return -1;
}

long flow_find(const struct flow *f, const char *s, size_t len)
{
    return f->n ? flow_find_hashed(f, s, len, flow_name_hash(s, len)) : -1;
}

/* Adds S[0..LEN) as holding KIND (FLOW_RESULTS, FLOW_TRAINED); a name held already
 * holds both. */
int flow_add(struct flow *f, const char *s, size_t len, int kind)
{
    unsigned h = flow_name_hash(s, len);
    long at = flow_find_hashed(f, s, len, h);
    if (at >= 0) {
        f->kind[at] |= (unsigned char)kind;
        return 0;
    }
    if (f->n == FLOW_MAX_NAMES) return 0;
    if (f->n == f->cap) {
        size_t nc = f->cap ? 2 * f->cap : 8;
        char **p = realloc(f->names, nc * sizeof *p);
        if (p) f->names = p;
        size_t *l = p ? realloc(f->len, nc * sizeof *l) : NULL;
        if (l) f->len = l;
        unsigned *hh = l ? realloc(f->hash, nc * sizeof *hh) : NULL;
        if (hh) f->hash = hh;
        unsigned char *k = hh ? realloc(f->kind, nc) : NULL;
        if (!k) return -1;
        f->kind = k;
        f->cap = nc;
    }
    char *c = malloc(len + 1);
    if (!c) return -1;
    memcpy(c, s, len);
    c[len] = 0;
    f->names[f->n] = c;
    f->len[f->n] = len;
    f->kind[f->n] = (unsigned char)kind;
    f->hash[f->n++] = h;
    return 0;
}

void flow_drop(struct flow *f, const char *s, size_t len)
{
    long i = flow_find(f, s, len);
    if (i < 0) return;
    free(f->names[i]);
    f->n--;
    f->names[i] = f->names[f->n];
    f->len[i] = f->len[f->n];
    f->hash[i] = f->hash[f->n];
    f->kind[i] = f->kind[f->n];
}

int flow_copy(struct flow *dst, const struct flow *src)
{
    flow_clear(dst);
    for (size_t i = 0; i < src->n; i++)
        if (flow_add(dst, src->names[i], src->len[i], src->kind[i]) < 0) return -1;
    return 0;
}

/* The first '=' of a plain assignment S[A..Z) (not `+=` and the like), or 0. */
size_t flow_plain_assignment(const char *s, size_t a, size_t z)
{
    size_t eq;
    if (pysrc_assignments(s + a, z - a, &eq, 1) == 0) return 0;
    size_t op = a + eq;
    return op > a && !strchr("+-*/%&|^<>@:", s[op - 1]) ? op : 0;
}

/* ---------------------------------------------------------------- a whole input */

struct thread_job {
    struct flow_job job;
    flow_range_fn range;
    int rc;
};

static void *run_job(void *arg)
{
    struct thread_job *t = arg;
    t->rc = t->range(&t->job);
    return NULL;
}

/* The first row of CELLS[N..TOTAL) whose parent is I or later (they are in their
 * parents' order). */
static size_t first_statement_of(const struct label_cell *cells, size_t n, size_t total, size_t i)
{
    size_t a = n, b = total;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (cells[m].parent < i) a = m + 1;
        else b = m;
    }
    return a;
}

int flow_mark_all(const struct label_cell *cells, size_t n, size_t total, int jobs, unsigned char *out,
                  flow_range_fn range, const unsigned char *in)
{
    enum { MAX_JOBS = 8 };
    struct thread_job jb[MAX_JOBS];
    pthread_t th[MAX_JOBS];
    int started[MAX_JOBS] = {0};
    if (jobs < 1) jobs = 1;
    if (jobs > MAX_JOBS) jobs = MAX_JOBS;
    /* a block of about n / jobs cells per thread, each moved on to a notebook's first
     * cell: the names flow within a notebook, so a notebook stays on one thread */
    size_t per = (n + (size_t)jobs - 1) / (size_t)jobs, lo = 0;
    for (int t = 0; t < jobs; t++) {
        size_t hi = t + 1 == jobs ? n : per * (size_t)(t + 1);
        if (hi < lo) hi = lo;
        if (hi > n) hi = n;
        while (hi > lo && hi < n && cells_same_notebook(&cells[hi], &cells[hi - 1])) hi++;
        jb[t] = (struct thread_job){{cells, lo, hi, first_statement_of(cells, n, total, lo),
                                     first_statement_of(cells, n, total, hi), out, in}, range, 0};
        lo = hi;
    }
    /* (statements always follow their cells; a row that does not is left unread) */
    for (size_t st = first_statement_of(cells, n, total, n); st < total; st++) out[st] = 0;
    for (int t = 1; t < jobs; t++)
        if (jb[t].job.lo < jb[t].job.hi && pthread_create(&th[t], NULL, run_job, &jb[t]) == 0) started[t] = 1;
        else run_job(&jb[t]);
    run_job(&jb[0]);
    int rc = jb[0].rc;
    for (int t = 1; t < jobs; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        if (jb[t].rc < 0) rc = -1;
    }
    return rc;
}
