/* labelmodel.c — Dawid–Skene EM over a histogram of vote patterns (see labelmodel.h).
 *
 * One EM iteration is one pass over the distinct patterns: the E step of a pattern is
 * immediately folded into the M step's counts, so a pass needs no per-item storage
 * beyond the pattern table.  Passes split the patterns across threads; each thread
 * keeps its own counts, added in thread order, so a fit is reproducible.
 */
#include "labeling/labelmodel.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NO (LM_K + 1) /* outcomes: abstain + K classes */

void lm_options_default(struct lm_options *o)
{
    o->max_iter = 100;
    o->tol = 1e-5;
    o->threads = 1;
    o->no_abstain_evidence = NULL;
}

/* ---- the pattern histogram ---- */

int lm_stats_init(struct lm_stats *s, int m)
{
    memset(s, 0, sizeof *s);
    if (m <= 0) return -1;
    s->m = m;
    s->cap = 1024;
    s->slot = malloc(s->cap * sizeof *s->slot);
    if (!s->slot) return -1;
    for (size_t i = 0; i < s->cap; i++) s->slot[i] = -1;
    return 0;
}

void lm_stats_free(struct lm_stats *s)
{
    free(s->pat);
    free(s->count);
    free(s->hash);
    free(s->slot);
    memset(s, 0, sizeof *s);
}

/* 8 bytes per step: the patterns are short, and this is the hot loop of counting. */
static unsigned long long hash_votes(const signed char *v, int m)
{
    unsigned long long h = 1469598103934665603ULL ^ (unsigned long long)m;
    int i = 0;
    for (; i + 8 <= m; i += 8) {
        unsigned long long w;
        memcpy(&w, v + i, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
        h ^= h >> 29;
    }
    for (; i < m; i++) h = (h ^ (unsigned char)v[i]) * 1099511628211ULL;
    return h ^ (h >> 32);
}

static int grow_slots(struct lm_stats *s)
{
    size_t cap = s->cap * 2;
    long *slot = malloc(cap * sizeof *slot);
    if (!slot) return -1;
    for (size_t i = 0; i < cap; i++) slot[i] = -1;
    for (size_t p = 0; p < s->n; p++) {
        size_t i = (size_t)s->hash[p] & (cap - 1);
        while (slot[i] >= 0) i = (i + 1) & (cap - 1);
        slot[i] = (long)p;
    }
    free(s->slot);
    s->slot = slot;
    s->cap = cap;
    return 0;
}

long lm_stats_add(struct lm_stats *s, const signed char *votes, double count)
{
    signed char stackbuf[256];
    signed char *v = s->m <= 256 ? stackbuf : malloc((size_t)s->m);
    if (!v) return -1;
    for (int j = 0; j < s->m; j++)
        v[j] = (votes[j] >= 0 && votes[j] < LM_K) ? votes[j] : -1;
    unsigned long long h = hash_votes(v, s->m);
    size_t i = (size_t)h & (s->cap - 1);
    long found = -1;
    for (; s->slot[i] >= 0; i = (i + 1) & (s->cap - 1)) {
        long p = s->slot[i];
        if (s->hash[p] == h && memcmp(s->pat + (size_t)p * s->m, v, (size_t)s->m) == 0) { found = p; break; }
    }
    if (found < 0) {
        if (s->n == s->pcap) {
            size_t pc = s->pcap ? 2 * s->pcap : 1024;
            signed char *pat = realloc(s->pat, pc * (size_t)s->m);
            if (pat) s->pat = pat;
            double *cnt = realloc(s->count, pc * sizeof *cnt);
            if (cnt) s->count = cnt;
            unsigned long long *hh = realloc(s->hash, pc * sizeof *hh);
            if (hh) s->hash = hh;
            if (!pat || !cnt || !hh) goto oom;
            s->pcap = pc;
        }
        found = (long)s->n++;
        memcpy(s->pat + (size_t)found * s->m, v, (size_t)s->m);
        s->count[found] = 0;
        s->hash[found] = h;
        s->slot[i] = found;
        if (2 * s->n > s->cap && grow_slots(s) < 0) { s->n--; s->slot[i] = -1; goto oom; }
    }
    s->count[found] += count;
    if (v != stackbuf) free(v);
    return found;
oom:
    if (v != stackbuf) free(v);
    return -1;
}

int lm_stats_merge(struct lm_stats *into, const struct lm_stats *from)
{
    if (into->m != from->m) return -1;
    for (size_t p = 0; p < from->n; p++)
        if (lm_stats_add(into, from->pat + p * (size_t)from->m, from->count[p]) < 0) return -1;
    return 0;
}

/* ---- EM ---- */

struct em {
    const struct lm_stats *s;
    size_t *off;            /* [P+1] into ent */
    int *ent;               /* j * LM_K + c for each vote of each pattern */
    double *delta;          /* [m][LM_K (c)][LM_K (y)]: log mu[y][1+c] - log mu[y][0] */
    double base[LM_K];      /* log pi[y] + sum_j log mu[j][y][abstain] */
    int voted[LM_K];        /* some LF votes class y somewhere in the data */
    int any_vote;           /* some LF votes somewhere */
    const unsigned char *silent; /* [m] or NULL: one-stage LFs whose abstains weigh nothing */
};

struct pass {
    const struct em *em;
    size_t lo, hi;
    int init;               /* 1: soft majority vote instead of the E step */
    double *acc;            /* [m][LM_K (c)][LM_K (y)] sum of count * q(y) over votes c */
    double w[LM_K];         /* sum of count * q(y) */
    double loglik, items;
};

static void *run_pass(void *arg)
{
    struct pass *ps = arg;
    const struct em *em = ps->em;
    int m = em->s->m;
    memset(ps->acc, 0, (size_t)m * LM_K * LM_K * sizeof *ps->acc);
    memset(ps->w, 0, sizeof ps->w);
    ps->loglik = ps->items = 0;
    for (size_t k = ps->lo; k < ps->hi; k++) {
        size_t p = k;
        double c = em->s->count[p], q[LM_K];
        if (ps->init) {
            /* the majority vote's soft label; an item with no vote: spread over the
             * classes voted anywhere (the others have prior 0) */
            double tot = 0;
            int none = em->off[p] == em->off[p + 1];
            for (int y = 0; y < LM_K; y++) q[y] = none ? em->voted[y] || !em->any_vote : 0.01;
            for (size_t e = em->off[p]; e < em->off[p + 1]; e++) q[em->ent[e] % LM_K] += 1.0;
            for (int y = 0; y < LM_K; y++) tot += q[y];
            for (int y = 0; y < LM_K; y++) q[y] /= tot;
        } else {
            double mx = -INFINITY, z = 0;
            for (int y = 0; y < LM_K; y++) q[y] = em->base[y];
            for (size_t e = em->off[p]; e < em->off[p + 1]; e++) {
                const double *d = em->delta + (size_t)em->ent[e] * LM_K;
                for (int y = 0; y < LM_K; y++) q[y] += d[y];
            }
            for (int y = 0; y < LM_K; y++) if (q[y] > mx) mx = q[y];
            /* exp(-40) is below a double's resolution next to the 1 of the max */
            for (int y = 0; y < LM_K; y++) { q[y] = q[y] - mx < -40 ? 0.0 : exp(q[y] - mx); z += q[y]; }
            for (int y = 0; y < LM_K; y++) q[y] /= z;
            ps->loglik += c * (mx + log(z));
        }
        ps->items += c;
        for (int y = 0; y < LM_K; y++) ps->w[y] += c * q[y];
        for (size_t e = em->off[p]; e < em->off[p + 1]; e++) {
            double *a = ps->acc + (size_t)em->ent[e] * LM_K;
            for (int y = 0; y < LM_K; y++) a[y] += c * q[y];
        }
    }
    return NULL;
}

/* One pass over all patterns on T threads; sums into ACC/W, returns mean loglik. */
static double pass_all(struct em *em, struct pass *ps, int t, int init, double *acc, double *w)
{
    size_t np = em->s->n;
    size_t per = (np + (size_t)t - 1) / (size_t)t;
    pthread_t th[64];
    int started[64] = {0};
    for (int i = 0; i < t; i++) {
        ps[i].em = em;
        ps[i].lo = per * (size_t)i < np ? per * (size_t)i : np;
        ps[i].hi = ps[i].lo + per < np ? ps[i].lo + per : np;
        ps[i].init = init;
        if (i > 0 && pthread_create(&th[i], NULL, run_pass, &ps[i]) == 0) started[i] = 1;
        else if (i > 0) run_pass(&ps[i]); /* no thread to be had: do it here */
    }
    run_pass(&ps[0]);
    for (int i = 1; i < t; i++) if (started[i]) pthread_join(th[i], NULL);
    int m = em->s->m;
    size_t na = (size_t)m * LM_K * LM_K;
    memset(acc, 0, na * sizeof *acc);
    memset(w, 0, LM_K * sizeof *w);
    double ll = 0, items = 0;
    for (int i = 0; i < t; i++) {
        for (size_t k = 0; k < na; k++) acc[k] += ps[i].acc[k];
        for (int y = 0; y < LM_K; y++) w[y] += ps[i].w[y];
        ll += ps[i].loglik;
        items += ps[i].items;
    }
    return items > 0 ? ll / items : 0;
}

/* The M step: pi and mu from the expected counts, into MODEL and EM's tables.
 *
 * A one-stage LF j (it only ever votes stage s) has two parameters: a = P(votes s |
 * y = s) and b = P(votes s | y != s), with Beta pseudo-counts (1 fire, 1 abstain for
 * a; 0.1 fire, 1 abstain for b) and a kept at least b: an LF is never read as
 * evidence against its own stage, which keeps the classes from trading places.  An LF
 * that votes several stages (a context LF) fires regardless of the class, so its
 * abstains say nothing; when it fires, it has a confusion row per class, P(votes c |
 * y), with Dirichlet pseudo-counts 2 on the diagonal and 0.2 elsewhere. */
static void m_step(struct label_model *model, struct em *em, const double *acc, const double *w)
{
    int m = model->m, kv = 0;
    double tot = 0;
    for (int y = 0; y < LM_K; y++) { tot += w[y]; kv += em->voted[y]; }
    /* A class no LF ever votes is never the answer: nothing can speak against it
     * either (its LFs' abstains weigh nothing), so with a prior above zero it drew
     * the items whose evidence is thin, on a small corpus even against every vote.
     * When no LF votes anything anywhere, no class has more to say for it than
     * another: every class is kept, the prior uniform (w is all 0).  Prior 0 for all
     * was no distribution at all: a vector with a vote (a statement of --statements,
     * predicted by the model fitted on its cells) came out NaN everywhere. */
    for (int y = 0; y < LM_K; y++) {
        model->log_prior[y] = em->voted[y] || !kv ? log((w[y] + 1.0) / (tot + (kv ? kv : LM_K))) : -INFINITY;
        em->base[y] = model->log_prior[y];
    }
    const double never = log(1e-9);
    for (int j = 0; j < m; j++) {
        double *lm = model->log_mu + (size_t)j * LM_K * NO;
        int s = model->lf_stage[j];
        if (s >= 0) {
            double fin = 0, fout = 0;
            for (int y = 0; y < LM_K; y++) {
                double x = acc[((size_t)j * LM_K + s) * LM_K + y];
                if (y == s) fin += x; else fout += x;
            }
            double a = (fin + 1.0) / (w[s] + 2.0), b = (fout + 0.1) / (tot - w[s] + 1.1);
            if (a < b) a = b;
            /* a silent LF: its firing still says a/b for its stage, its abstaining
             * nothing (a likelihood ratio, not a distribution over its outcomes) */
            int silent = em->silent && em->silent[j];
            for (int y = 0; y < LM_K; y++) {
                double p = y == s ? a : b;
                for (int k = 0; k < NO; k++) lm[y * NO + k] = never;
                lm[y * NO + 0] = silent ? 0.0 : log(1.0 - p);
                lm[y * NO + 1 + s] = log(p);
                em->base[y] += lm[y * NO + 0];
            }
        } else {
            for (int y = 0; y < LM_K; y++) {
                double num[LM_K], den = 0;
                for (int c = 0; c < LM_K; c++) {
                    num[c] = acc[((size_t)j * LM_K + c) * LM_K + y] + (c == y ? 2.0 : 0.2);
                    den += num[c];
                }
                lm[y * NO + 0] = 0.0; /* abstaining is no evidence */
                for (int c = 0; c < LM_K; c++) lm[y * NO + 1 + c] = log(num[c] / den);
            }
        }
        for (int y = 0; y < LM_K; y++)
            for (int c = 0; c < LM_K; c++)
                em->delta[((size_t)j * LM_K + c) * LM_K + y] = lm[y * NO + 1 + c] - lm[y * NO + 0];
    }
}

void lm_free(struct label_model *model)
{
    free(model->log_mu);
    free(model->lf_stage);
    free(model->delta);
    memset(model, 0, sizeof *model);
}

int lm_fit(struct label_model *model, const struct lm_stats *s, const struct lm_options *opt)
{
    struct lm_options def;
    if (!opt) { lm_options_default(&def); opt = &def; }
    memset(model, 0, sizeof *model);
    int m = s->m;
    if (m <= 0) return -1;
    model->m = m;
    int t = opt->threads < 1 ? 1 : opt->threads > 64 ? 64 : opt->threads;
    struct em em = { .s = s };
    size_t nvotes = 0;
    for (size_t p = 0; p < s->n * (size_t)m; p++) nvotes += s->pat[p] >= 0;
    size_t na = (size_t)m * LM_K * LM_K;
    model->log_mu = malloc((size_t)m * LM_K * NO * sizeof *model->log_mu);
    model->lf_stage = malloc((size_t)m * sizeof *model->lf_stage);
    em.off = malloc((s->n + 1) * sizeof *em.off);
    em.ent = malloc((nvotes ? nvotes : 1) * sizeof *em.ent);
    em.delta = malloc(na * sizeof *em.delta);
    double *acc = malloc(na * sizeof *acc), w[LM_K];
    struct pass *ps = calloc((size_t)t, sizeof *ps);
    int rc = -1;
    if (!model->log_mu || !model->lf_stage || !em.off || !em.ent || !em.delta || !acc || !ps) goto out;
    for (int i = 0; i < t; i++)
        if (!(ps[i].acc = malloc(na * sizeof *ps[i].acc))) goto out;
    /* Every pattern is fitted, the one of no vote too: a one-stage LF's abstain is
     * evidence (1 - a for its stage), and fitting the voted items alone (as until
     * 2026-12-06) drove a towards 1 where coverage is low. */
    size_t e = 0;
    for (size_t p = 0; p < s->n; p++) {
        em.off[p] = e;
        const signed char *v = s->pat + p * (size_t)m;
        for (int j = 0; j < m; j++)
            if (v[j] >= 0) em.ent[e++] = j * LM_K + v[j];
    }
    for (size_t k = 0; k < e; k++) em.voted[em.ent[k] % LM_K] = 1;
    em.any_vote = e > 0;
    em.off[s->n] = e;
    /* which LFs only ever vote one stage (-2: never voted yet, -1: several) */
    for (int j = 0; j < m; j++) model->lf_stage[j] = -2;
    for (size_t p = 0; p < s->n; p++)
        for (int j = 0; j < m; j++) {
            int v = s->pat[p * (size_t)m + j];
            if (v < 0) continue;
            if (model->lf_stage[j] == -2) model->lf_stage[j] = v;
            else if (model->lf_stage[j] != v) model->lf_stage[j] = -1;
        }
    for (int j = 0; j < m; j++) if (model->lf_stage[j] == -2) model->lf_stage[j] = -1;
    em.silent = opt->no_abstain_evidence;

    pass_all(&em, ps, t, 1, acc, w);
    double prev = -INFINITY;
    model->last_change = INFINITY;
    for (int it = 0; it < opt->max_iter; it++) {
        m_step(model, &em, acc, w);
        double ll = pass_all(&em, ps, t, 0, acc, w);
        model->iterations = it + 1;
        model->loglik = ll;
        model->last_change = fabs(ll - prev);
        if (model->last_change < opt->tol) { model->converged = 1; break; }
        prev = ll;
    }
    m_step(model, &em, acc, w); /* the parameters that go with the last posteriors */
    memcpy(model->base, em.base, sizeof model->base);
    model->delta = em.delta; /* kept for lm_predict */
    em.delta = NULL;
    rc = 0;
out:
    if (ps) for (int i = 0; i < t; i++) free(ps[i].acc);
    free(ps);
    free(acc);
    free(em.off);
    free(em.ent);
    free(em.delta);
    if (rc < 0) lm_free(model);
    return rc;
}

/* An item none of whose votes names a class the fit saw voted (a statement of
 * --statements whose one vote is imports, the cells it was fitted on voted only load)
 * is not labeled: those classes have prior 0, so the posterior could only be a class
 * no vote names, with probability 1 -- the model contradicting every vote on no
 * evidence but the absence of the item's own classes from the fit. */
int lm_predict(const struct label_model *model, const signed char *votes, double *proba)
{
    int any = 0, known = 0;
    double l[LM_K];
    for (int y = 0; y < LM_K; y++) {
        l[y] = model->base[y];
        proba[y] = 0;
    }
    for (int j = 0; j < model->m; j++) {
        int v = votes[j];
        if (v < 0 || v >= LM_K) continue;
        any = 1;
        known |= model->log_prior[v] > -INFINITY;
        const double *d = model->delta + ((size_t)j * LM_K + v) * LM_K;
        for (int y = 0; y < LM_K; y++) l[y] += d[y];
    }
    if (!any || !known) return -1;
    double mx = l[0], z = 0;
    int best = 0;
    for (int y = 1; y < LM_K; y++) if (l[y] > mx) { mx = l[y]; best = y; }
    for (int y = 0; y < LM_K; y++) { proba[y] = l[y] - mx < -40 ? 0.0 : exp(l[y] - mx); z += proba[y]; }
    for (int y = 0; y < LM_K; y++) proba[y] /= z;
    return best;
}

double lm_prob_vote(const struct label_model *model, int j, int y, int c)
{
    if (j < 0 || j >= model->m || y < 0 || y >= LM_K || c < -1 || c >= LM_K) return 0;
    return exp(model->log_mu[((size_t)j * LM_K + y) * NO + (c + 1)]);
}

double lm_lf_accuracy(const struct label_model *model, int j)
{
    if (j < 0 || j >= model->m) return 0;
    double num = 0, den = 0;
    for (int y = 0; y < LM_K; y++) {
        double py = exp(model->log_prior[y]), fire = 0;
        for (int c = 0; c < LM_K; c++) fire += lm_prob_vote(model, j, y, c);
        num += py * lm_prob_vote(model, j, y, y);
        den += py * fire;
    }
    return den > 0 ? num / den : 0;
}

int lm_majority_vote(const signed char *votes, int m)
{
    int count[LM_K] = {0}, best = -1, tie = 0;
    for (int j = 0; j < m; j++)
        if (votes[j] >= 0 && votes[j] < LM_K) count[(int)votes[j]]++;
    for (int y = 0; y < LM_K; y++) {
        if (!count[y]) continue;
        if (best < 0 || count[y] > count[best]) { best = y; tie = 0; }
        else if (count[y] == count[best]) tie = 1;
    }
    return tie ? -1 : best;
}
