/* flowkept.c — which names a cell assigns that nothing after it reads, and which a
 * modelling cell reads (flow_mark_kept; see flow.h).
 *
 * Walks each notebook backwards, statement by statement, over the code view, with the
 * scanner of flowscan.h: a plain top-level assignment kills its targets, then the
 * names a statement reads come alive.
 */
#include "labeling/flow.h"

#include <stdlib.h>
#include <string.h>

#include "labeling/flowscan.h"
#include "nbformat/pysrc.h"

/* The names live after a point of a notebook: read by a later statement before any
 * statement rebinds them, and whether one of those readers is a modelling cell's
 * (feeds).  An open-addressing set of names copied into one buffer; a name rebound is
 * flagged dead, not removed.  Emptied between notebooks. */
struct liveset {
    size_t *slot;          /* [cap] 1 + entry, or 0 */
    size_t cap, n;
    size_t *off, *len;     /* [n] the entry's name in buf */
    unsigned char *live;   /* [n] */
    unsigned char *feeds;  /* [n] read, while live, by a statement of a modelling cell */
    size_t ecap;
    char *buf;
    size_t used, room;
};

static void liveset_clear(struct liveset *r)
{
    if (r->slot) memset(r->slot, 0, r->cap * sizeof *r->slot);
    r->n = r->used = 0;
}

static void liveset_free(struct liveset *r)
{
    free(r->slot);
    free(r->off);
    free(r->len);
    free(r->live);
    free(r->feeds);
    free(r->buf);
}

/* The entry of S[0..LEN), or -1. */
static long liveset_find(const struct liveset *r, const char *s, size_t len)
{
    if (!r->n) return -1;
    for (size_t i = flow_name_hash(s, len) & (r->cap - 1);; i = (i + 1) & (r->cap - 1)) {
        if (!r->slot[i]) return -1;
        size_t e = r->slot[i] - 1;
        if (r->len[e] == len && memcmp(r->buf + r->off[e], s, len) == 0) return (long)e;
    }
}

static int liveset_is_live(const struct liveset *r, const char *s, size_t len)
{
    long e = liveset_find(r, s, len);
    return e >= 0 && r->live[e];
}

static int liveset_feeds(const struct liveset *r, const char *s, size_t len)
{
    long e = liveset_find(r, s, len);
    return e >= 0 && r->live[e] && r->feeds[e];
}

/* Marks S[0..LEN) read (LIVE; by a modelling cell's statement: FEEDS) or rebound
 * (dead); a dead name not in the set stays out. */
static int liveset_mark(struct liveset *r, const char *s, size_t len, int live, int feeds)
{
    long f = liveset_find(r, s, len);
    if (f >= 0 || !live) {
        if (f >= 0) {
            r->feeds[f] = (unsigned char)(live && (feeds || (r->live[f] && r->feeds[f])));
            r->live[f] = (unsigned char)live;
        }
        return 0;
    }
    if (r->n == r->ecap) {
        size_t nc = r->ecap ? 2 * r->ecap : 256;
        size_t *o = realloc(r->off, nc * sizeof *o);
        if (o) r->off = o;
        size_t *l = o ? realloc(r->len, nc * sizeof *l) : NULL;
        if (l) r->len = l;
        unsigned char *v = l ? realloc(r->live, nc) : NULL;
        if (v) r->live = v;
        unsigned char *fd = v ? realloc(r->feeds, nc) : NULL;
        if (!fd) return -1;
        r->feeds = fd;
        r->ecap = nc;
    }
    if (2 * (r->n + 1) > r->cap) { /* grow to keep the table at most half full */
        size_t nc = r->cap ? 2 * r->cap : 512, *ns = calloc(nc, sizeof *ns);
        if (!ns) return -1;
        for (size_t e = 0; e < r->n; e++) {
            size_t k = flow_name_hash(r->buf + r->off[e], r->len[e]) & (nc - 1);
            while (ns[k]) k = (k + 1) & (nc - 1);
            ns[k] = e + 1;
        }
        free(r->slot);
        r->slot = ns;
        r->cap = nc;
    }
    if (r->used + len > r->room) {
        size_t nr = r->room ? 2 * r->room : 4096;
        while (nr < r->used + len) nr *= 2;
        char *nb = realloc(r->buf, nr);
        if (!nb) return -1;
        r->buf = nb;
        r->room = nr;
    }
    memcpy(r->buf + r->used, s, len);
    size_t e = r->n++;
    r->off[e] = r->used;
    r->len[e] = len;
    r->live[e] = 1;
    r->feeds[e] = (unsigned char)(feeds != 0);
    r->used += len;
    size_t k = flow_name_hash(s, len) & (r->cap - 1);
    while (r->slot[k]) k = (k + 1) & (r->cap - 1);
    r->slot[k] = e + 1;
    return 0;
}

/* Handles a plot keeps (`fig, ax = plt.subplots()`, `g = sns.FacetGrid(...)`): not
 * data, so not a change kept or not. */
static int plot_handle(const char *s, size_t len)
{
    static const char *const handles[] = { "_", "f", "g", "p", "plt", "axs", "axes", NULL };
    for (const char *const *h = handles; *h; h++)
        if (strlen(*h) == len && memcmp(*h, s, len) == 0) return 1;
    return (len >= 3 && memcmp(s, "fig", 3) == 0) || (len >= 2 && memcmp(s, "ax", 2) == 0 &&
            (len == 2 || is_digit((unsigned char)s[2]) || s[2] == '_'));
}

/* Calls EACH(ARG, name, len, plain) for every name that starts a target of the
 * assignment S[A..OP) (`a`, `a, b`, `(a, b)`, `a[i]`, `a.b`), until one returns
 * nonzero, which is returned; PLAIN when the target is the name itself (rebound), not
 * its subscript or attribute. */
static int each_target(void *arg, const char *s, size_t a, size_t op,
                       int (*each)(void *, const char *, size_t, int))
{
    int depth = 0;
    for (size_t k = a; k < op;) {
        char c = s[k];
        if (c == '(' || c == '[') { depth++; k++; continue; }
        if (c == ')' || c == ']') { if (depth > 0) depth--; k++; continue; }
        if (!name_start((unsigned char)c) || (k > a && (name_char((unsigned char)s[k - 1]) || s[k - 1] == '.'))) {
            k++;
            continue;
        }
        size_t e = k;
        while (e < op && name_char((unsigned char)s[e])) e++;
        size_t q = e;
        while (q < op && (s[q] == ' ' || s[q] == '\t')) q++;
        int plain = q >= op || s[q] == ',' || s[q] == ')' || s[q] == ']';
        struct word w = { s + k, e - k, 0, 0, 0 };
        if (depth <= 1 && !word_in(&w, flow_keywords)) {
            int rc = each(arg, s + k, e - k, plain);
            if (rc) return rc;
        }
        /* past this target's subscripts and attributes */
        int d = 0;
        k = e;
        while (k < op && (d > 0 || (s[k] != ',' && s[k] != ')' && s[k] != ']'))) {
            if (s[k] == '(' || s[k] == '[') d++;
            else if ((s[k] == ')' || s[k] == ']') && d > 0) d--;
            k++;
        }
    }
    return 0;
}

struct assigned {
    const struct liveset *live;
    const char *end;        /* the code view's end */
    int any;                /* a name assigned that is not live */
    int columns;            /* a live frame's column set by name (`df['r'] = ...`) */
};

/* Whether S[0..LEN), a target's name, is followed (up to END) by one subscript that
 * is a string literal alone and then by the assignment's `=`: a column set by its
 * name (`df['ratio'] = a / b`, in the code view `df[''] = a / b`). */
static int column_target(const char *s, size_t len, const char *end)
{
    const char *p = s + len;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (p >= end || *p++ != '[') return 0;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (end - p < 2 || (p[0] != '"' && p[0] != '\'') || p[1] != p[0]) return 0;
    p += 2;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (p >= end || *p++ != ']') return 0;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    return p < end && *p == '=' && (p + 1 >= end || p[1] != '=');
}

/* 1 (stop) when the target is live after the cell: a change kept.  A live frame's
 * column set by name is left to columns_unread (the frame lives on, the column may
 * not). */
static int target_live(void *arg, const char *s, size_t len, int plain)
{
    struct assigned *t = arg;
    (void)plain;
    if (plot_handle(s, len)) return 0;
    if (liveset_is_live(t->live, s, len)) {
        if (plain || !column_target(s, len, t->end)) return 1;
        t->columns = 1;
        return 0;
    }
    t->any = 1;
    return 0;
}

static int target_rebound(void *arg, const char *s, size_t len, int plain)
{
    return plain ? liveset_mark(arg, s, len, 0, 0) : 0;
}

/* Whether V's top-level statements assign at least one name (not a plot's handle),
 * none that is live after V, and change nothing in place: 1; 2 when the only live
 * targets are columns set by name (`df['r'] = ...` of a frame read later), for
 * columns_unread to judge; else 0.  `df.loc[m, 'r'] = ...` assigns df: the frame is
 * what is kept. */
static int assigns_only_dead(const struct pyview *v, const struct liveset *r)
{
    struct assigned t = { r, v->code + v->code_len, 0, 0 };
    for (size_t i = 0; i < v->n_stmts; i++) {
        if (v->stmts[i].indent != 0) continue;
        const char *s = v->code;
        size_t a = v->stmts[i].start, z = v->stmts[i].end;
        if (memmem(s + a, z - a, "inplace", 7)) return 0; /* `df.drop(c, inplace=True)` keeps */
        size_t op = flow_plain_assignment(s, a, z);
        if (!op) continue;
        if (each_target(&t, s, a, op, target_live)) return 0;
    }
    return t.columns ? 2 : t.any;
}

/* Whether SRC[0..LEN) names the column NAME[0..N): quoted whole (`'ratio'`, `"ratio"`)
 * or as an attribute (`df.ratio`, not `df.ratios` nor the method `s.str.len()`). */
static int names_column(const char *src, size_t len, const char *name, size_t n)
{
    for (const char *p = src, *end = src + len; p < end;) {
        const char *q = memmem(p, (size_t)(end - p), name, n);
        if (!q) return 0;
        const char *e = q + n;
        if (q > src && (q[-1] == '\'' || q[-1] == '"') && e < end && *e == q[-1]) return 1;
        if (q > src && q[-1] == '.' && (e >= end || (!name_char((unsigned char)*e) && *e != '('))) return 1;
        p = q + 1;
    }
    return 0;
}

/* Whether every column cell I sets by name at top level in its source (lines
 * `df['ratio'] = ...` at column 0) is new, named by no earlier cell of the notebook
 * CELLS[LO, HI), and read by no later one: columns made only for what the cell itself
 * does with them (the guide's rule 2, a change not kept; `df['len'] = df.text.str.len()`
 * then `sns.histplot(df['len'])`).  A column named before or rewritten from itself
 * (`df['x'] = df['x'].astype(int)`), or named after, is kept; a cell where none is found is too. */
static int columns_unread(const struct label_cell *cells, size_t lo, size_t hi, size_t i)
{
    const char *s = cells[i].src, *end = s + cells[i].src_len;
    int found = 0;
    for (const char *ln = s; ln < end;) {
        const char *nl = memchr(ln, '\n', (size_t)(end - ln));
        const char *le = nl ? nl : end, *p = ln;
        if (p < le && name_start((unsigned char)*p)) {
            while (p < le && name_char((unsigned char)*p)) p++;
            while (p < le && (*p == ' ' || *p == '\t')) p++;
            if (p < le && *p == '[') {
                p++;
                while (p < le && (*p == ' ' || *p == '\t')) p++;
                char quote = p < le ? *p : 0;
                if (quote != '\'' && quote != '"') quote = 0;
                const char *c = quote ? p + 1 : p, *ce = c;
                if (quote)
                    while (ce < le && *ce != quote && *ce != '\\') ce++;
                const char *q = ce < le ? ce + 1 : le;
                while (q < le && (*q == ' ' || *q == '\t')) q++;
                if (quote && ce < le && *ce == quote && ce > c && q < le && *q == ']') {
                    q++;
                    while (q < le && (*q == ' ' || *q == '\t')) q++;
                    if (q < le && *q == '=' && (q + 1 >= le || q[1] != '=')) {
                        size_t n = (size_t)(ce - c);
                        /* the column rewritten from itself (`df['x'] = df['x'].astype(int)`) was there before */
                        if (names_column(q + 1, (size_t)(le - q - 1), c, n)) return 0;
                        for (size_t j = lo; j < hi; j++)
                            if (j != i && names_column(cells[j].src, cells[j].src_len, c, n)) return 0;
                        found = 1;
                    }
                }
            }
        }
        ln = nl ? nl + 1 : end;
    }
    return found;
}

/* 1 (stop) when the target, live after the cell, is read by a modelling cell. */
static int target_feeds(void *arg, const char *s, size_t len, int plain)
{
    (void)plain;
    return !plot_handle(s, len) && liveset_feeds(arg, s, len);
}

/* Whether one of V's top-level statements assigns a name (not a plot's handle) that a
 * modelling cell reads after V before anything rebinds it: a change kept for the
 * model. */
static int assigns_for_model(const struct pyview *v, const struct liveset *r)
{
    for (size_t i = 0; i < v->n_stmts; i++) {
        if (v->stmts[i].indent != 0) continue;
        size_t a = v->stmts[i].start, op = flow_plain_assignment(v->code, a, v->stmts[i].end);
        if (op && each_target((void *)r, v->code, a, op, target_feeds)) return 1;
    }
    return 0;
}

/* Takes V's top-level statements last to first (each with the indented ones under
 * it): the names a statement rebinds die, then the names it reads come alive, read by
 * a modelling cell when MODELLING. */
static int live_before(struct liveset *r, const struct pyview *v, int modelling)
{
    for (size_t hi = v->n_stmts; hi > 0;) {
        size_t lo = hi - 1;
        while (lo > 0 && v->stmts[lo].indent != 0) lo--;
        const char *s = v->code;
        size_t a = v->stmts[lo].start, z = v->stmts[hi - 1].end;
        size_t op = v->stmts[lo].indent == 0 ? flow_plain_assignment(s, a, v->stmts[lo].end) : 0;
        if (op && each_target(r, s, a, op, target_rebound) < 0) return -1;
        struct word w;
        for (size_t k = a; flow_next_word(s, &k, z, &w);)
            if (!w.attr && !w.assign && liveset_mark(r, w.s, w.len, 1, modelling) < 0) return -1;
        hi = lo;
    }
    return 0;
}

/* Cells [FROM, TO): whole notebooks. */
static int kept_range(const struct label_cell *cells, size_t from, size_t to,
                      const unsigned char *modelling, unsigned char *out)
{
    struct liveset r = {0};
    int rc = -1;
    for (size_t hi = to; hi > from;) {
        size_t lo = hi - 1; /* the notebook of cells [lo, hi) */
        while (lo > from && cells_same_notebook(&cells[lo - 1], &cells[hi - 1])) lo--;
        liveset_clear(&r);
        for (size_t i = hi; i-- > lo;) {
            /* a cell alone (no notebook, or a notebook of one cell) says nothing of
             * what is read after it */
            if (!cells[i].notebook || hi - lo == 1) { out[i] = 0; continue; }
            struct pyview v;
            if (pyview_make(&v, cells[i].src, cells[i].src_len) < 0) goto out;
            int dead = assigns_only_dead(&v, &r);
            if (dead == 2) dead = columns_unread(cells, lo, hi, i);
            out[i] = (unsigned char)(dead ? FLOW_UNKEPT
                                     : assigns_for_model(&v, &r) ? FLOW_FEEDS_MODEL : 0);
            int bad = live_before(&r, &v, modelling && modelling[i]);
            pyview_free(&v);
            if (bad < 0) goto out;
        }
        hi = lo;
    }
    rc = 0;
out:
    liveset_free(&r);
    return rc;
}

static int kept_job(const struct flow_job *j) { return kept_range(j->cells, j->lo, j->hi, j->in, j->out); }

int flow_mark_kept(const struct label_cell *cells, size_t n, const unsigned char *modelling, int jobs,
                   unsigned char *out)
{
    return flow_mark_all(cells, n, n, jobs, out, kept_job, modelling);
}
