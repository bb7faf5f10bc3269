/* tagfast.c — stage tags spliced into a canonical notebook's bytes (see tagfast.h).
 *
 * Why splicing is exact: canonscan accepted the file, so the file is nb_dumps of its
 * own tree, and in that layout a value's bytes depend only on the value and its
 * indent level.  tag_apply changes nothing but a code cell's metadata object, which
 * keeps its place and level; so the new file is the old bytes around it and the new
 * object written as nb_dumps writes it: members in key order, the untouched ones
 * copied as they were (same level, same bytes), workflow_stage and tags written out.
 */
#include "model/tagfast.h"
#include "model/context.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "model/classcache.h"
#include "nbformat/nbinternal.h"
#include "nbformat/pysrc.h"

/* ---------------------------------------------------------------- output buffer */

/* 64 KiB first: one buffer per thread, grown to the largest notebook and kept. */
static int put(struct tagfast *tf, const void *p, size_t n)
{
    return bytebuf_put(&tf->out, p, n, 1 << 16);
}

static int puts_(struct tagfast *tf, const char *s) { return put(tf, s, strlen(s)); }

static int put_indent(struct tagfast *tf, int level)
{
    static const char spaces[] = "\n                                ";
    if ((size_t)level + 1 < sizeof spaces) return put(tf, spaces, (size_t)level + 1);
    if (put(tf, "\n", 1)) return -1;
    for (int i = 0; i < level; i++)
        if (put(tf, " ", 1)) return -1;
    return 0;
}

/* ---------------------------------------------------------------- a cell's metadata */

/* What tagging.c reads from a code cell's metadata, found in canonscan's items. */
struct view {
    const char *buf;
    const struct canon_item *ws, *tags;   /* the members, NULL when absent */
    const struct canon_item *parts;       /* ws's members, when ws is an object */
    size_t nparts;
    const struct canon_item *elems;       /* the tags, when tags is a list */
    size_t nelems;
};

static int key_is(const char *buf, const struct canon_item *it, const char *name)
{
    size_t n = strlen(name);
    return it->key_len == n && !memcmp(buf + it->key_off, name, n);
}

/* strcmp order of a member's key against NAME (neither holds a NUL). */
static int key_cmp(const char *buf, const struct canon_item *it, const char *name)
{
    size_t n = strlen(name), m = it->key_len < n ? it->key_len : n;
    int c = memcmp(buf + it->key_off, name, m);
    if (c) return c;
    return (it->key_len > n) - (it->key_len < n);
}

/* A string value's bytes without the quotes (never escaped: view() made sure). */
static const char *str_of(const char *buf, const struct canon_item *it, size_t *n)
{
    *n = it->val_end - it->val_off - 2;
    return buf + it->val_off + 1;
}

static int str_is(const char *buf, const struct canon_item *it, const char *s)
{
    size_t n;
    const char *p = str_of(buf, it, &n);
    return it->kind == CANON_STRING && n == strlen(s) && !memcmp(p, s, n);
}

/* stage_from_key of a string's bytes. */
static int stage_of(const char *p, size_t n)
{
    char k[32];
    if (n >= sizeof k) return -2; /* longer than any key */
    memcpy(k, p, n);
    k[n] = 0;
    return stage_from_key(k);
}

static const struct canon_item *member(const char *buf, const struct canon_item *v, size_t n,
                                       const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (key_is(buf, &v[i], name)) return &v[i];
    return NULL;
}

#define TAG_PREFIX_LEN (sizeof TAG_PREFIX - 1)

static int is_stage_tag(const char *buf, const struct canon_item *it)
{
    size_t n;
    const char *p = str_of(buf, it, &n);
    return it->kind == CANON_STRING && n >= TAG_PREFIX_LEN && !memcmp(p, TAG_PREFIX, TAG_PREFIX_LEN);
}

static int tag_stage_of(const char *buf, const struct canon_item *it)
{
    size_t n;
    const char *p = str_of(buf, it, &n);
    return stage_of(p + TAG_PREFIX_LEN, n - TAG_PREFIX_LEN);
}

/* Fills V for cell C; -1 when an escaped string there would need decoding (the
 * jansson path compares decoded strings with strcmp, NULs and all), or when "tags" is
 * not a list of strings (the jansson path refuses the notebook:
 * tag_tags_not_a_list_of_strings). */
static int view(const struct canonscan *s, const char *buf, const struct canon_cell *c,
                struct view *v)
{
    memset(v, 0, sizeof *v);
    v->buf = buf;
    if (!c->has_meta) return 0;
    const struct canon_item *m = c->meta_n ? s->items + c->meta_first : NULL;
    v->ws = member(buf, m, c->meta_n, "workflow_stage");
    v->tags = member(buf, m, c->meta_n, "tags");
    /* (no pointer into an empty pool: s->subs may still be NULL) */
    if (v->ws && v->ws->kind == CANON_OBJECT && c->ws_n) {
        v->parts = s->subs + c->ws_first;
        v->nparts = c->ws_n;
    }
    if (v->tags && v->tags->kind != CANON_ARRAY) return -1;
    if (v->tags && c->tags_n) {
        v->elems = s->subs + c->tags_first;
        v->nelems = c->tags_n;
    }
    for (size_t i = 0; i < v->nparts; i++)
        if (v->parts[i].esc) return -1;
    for (size_t i = 0; i < v->nelems; i++)
        if (v->elems[i].esc || v->elems[i].kind != CANON_STRING) return -1;
    return 0;
}

/* tag_current, on the view. */
static int current(const struct view *v, double *conf)
{
    *conf = -1;
    if (v->parts) {
        const struct canon_item *st = member(v->buf, v->parts, v->nparts, "stage");
        const struct canon_item *cf = member(v->buf, v->parts, v->nparts, "confidence");
        if (st && st->kind == CANON_STRING) {
            size_t n;
            const char *p = str_of(v->buf, st, &n);
            int s = stage_of(p, n);
            if (s >= 0) { /* (as tag_current: a confidence beside no stage is none) */
                if (cf && (cf->kind == CANON_INT || cf->kind == CANON_REAL))
                    *conf = strtod(v->buf + cf->val_off, NULL); /* stops at the token's end */
                return s;
            }
        }
    }
    for (size_t i = 0; i < v->nelems; i++) {
        if (!is_stage_tag(v->buf, &v->elems[i])) continue;
        int s = tag_stage_of(v->buf, &v->elems[i]);
        if (s >= 0) return s;
    }
    return STAGE_NONE;
}

/* tag_compare, on the view. */
static enum tag_change compare(const struct view *v, const struct cell_tag *want)
{
    size_t n_stage_tags = 0;
    int tag_stage = STAGE_NONE;
    for (size_t i = 0; i < v->nelems; i++) {
        if (!is_stage_tag(v->buf, &v->elems[i])) continue;
        if (n_stage_tags++ == 0) tag_stage = tag_stage_of(v->buf, &v->elems[i]);
    }
    if (want->stage == STAGE_NONE) return (v->ws || n_stage_tags) ? TAG_REMOVE : TAG_SAME;
    if (!v->ws && !n_stage_tags) return TAG_MISSING;
    const struct canon_item *st = v->parts ? member(v->buf, v->parts, v->nparts, "stage") : NULL;
    const char *key = stage_key[want->stage];
    if (n_stage_tags != 1 || tag_stage != want->stage || !st || !str_is(v->buf, st, key))
        return TAG_STALE;
    /* ws_matches: exactly {"confidence": <number C>, "model": M, "stage": KEY} */
    const struct canon_item *cf = member(v->buf, v->parts, v->nparts, "confidence");
    const struct canon_item *md = member(v->buf, v->parts, v->nparts, "model");
    int same = v->nparts == 3 && cf && (cf->kind == CANON_REAL || cf->kind == CANON_INT) &&
               strtod(v->buf + cf->val_off, NULL) == want->confidence && md &&
               str_is(v->buf, md, want->model);
    return same ? TAG_SAME : TAG_REFRESH;
}

/* ---------------------------------------------------------------- the new metadata */

static int put_member_head(struct tagfast *tf, int *count, int level, const char *key)
{
    if ((*count)++ && put(tf, ",", 1)) return -1;
    if (put_indent(tf, level) || put(tf, "\"", 1) || puts_(tf, key) || put(tf, "\": ", 3))
        return -1;
    return 0;
}

/* The reprs of the 1001 confidences tag_round gives, made once: repr's search by
 * snprintf and strtod costs more than all the rest of a cell's splice. */
static char conf_repr[1001][8];
static double conf_value[1001];
static pthread_once_t conf_once = PTHREAD_ONCE_INIT;

static void conf_table(void)
{
    for (int k = 0; k <= 1000; k++) {
        conf_value[k] = (double)k / 1000.0; /* tag_round's own arithmetic */
        nb_float_repr(conf_value[k], conf_repr[k], sizeof conf_repr[k]);
    }
}

static void put_conf_repr(double c, char *num, size_t size)
{
    pthread_once(&conf_once, conf_table);
    double k = c * 1000.0 + 0.5;
    if (k >= 0 && k < 1001 && conf_value[(int)k] == c) {
        memcpy(num, conf_repr[(int)k], sizeof conf_repr[0]);
        return;
    }
    nb_float_repr(c, num, size); /* not one of tag_round's: the long way */
}

/* {"confidence": C, "model": M, "stage": KEY} at LEVEL, as nb_dumps writes it. */
static int put_ws(struct tagfast *tf, int level, const struct cell_tag *want)
{
    char num[40];
    put_conf_repr(want->confidence, num, sizeof num);
    int count = 0;
    if (put(tf, "{", 1) || put_member_head(tf, &count, level + 1, "confidence") ||
        puts_(tf, num) || put_member_head(tf, &count, level + 1, "model") ||
        put(tf, "\"", 1) || puts_(tf, want->model) || put(tf, "\"", 1) ||
        put_member_head(tf, &count, level + 1, "stage") || put(tf, "\"", 1) ||
        puts_(tf, stage_key[want->stage]) || put(tf, "\"", 1) || put_indent(tf, level) ||
        put(tf, "}", 1))
        return -1;
    return 0;
}

/* The tags list at LEVEL: the old elements but stage tags, and with WANT a stage the
 * new tag where the first stage tag stood (else at the end). */
static int put_tags(struct tagfast *tf, int level, const struct view *v,
                    const struct cell_tag *want)
{
    int count = 0, placed = want->stage < 0;
    if (put(tf, "[", 1)) return -1;
    for (size_t i = 0; i <= v->nelems; i++) {
        int stage_tag = i < v->nelems && is_stage_tag(v->buf, &v->elems[i]);
        if (!placed && (stage_tag || i == v->nelems)) {
            if ((count++ && put(tf, ",", 1)) || put_indent(tf, level + 1) ||
                put(tf, "\"" TAG_PREFIX, TAG_PREFIX_LEN + 1) || puts_(tf, stage_key[want->stage]) ||
                put(tf, "\"", 1))
                return -1;
            placed = 1;
        }
        if (i == v->nelems || stage_tag) continue;
        if ((count++ && put(tf, ",", 1)) || put_indent(tf, level + 1) ||
            put(tf, v->buf + v->elems[i].val_off, v->elems[i].val_end - v->elems[i].val_off))
            return -1;
    }
    if (put_indent(tf, level) || put(tf, "]", 1)) return -1;
    return 0;
}

/* tag_apply's result for cell C: its whole metadata object, written at its level. */
static int put_meta(struct tagfast *tf, const struct canonscan *s, const struct canon_cell *c,
                    const struct view *v, const struct cell_tag *want)
{
    const char *buf = v->buf;
    int level = c->meta_level, count = 0;
    int has_stage = want->stage >= 0;
    int with_ws = has_stage;
    /* tags: written anew (1), kept as they are (0), or dropped (-1) */
    int tags_new;
    if (has_stage) {
        tags_new = 1;
    } else if (v->tags && v->tags->kind == CANON_ARRAY && v->nelems) {
        size_t left = 0;
        for (size_t i = 0; i < v->nelems; i++) left += !is_stage_tag(buf, &v->elems[i]);
        tags_new = left ? 1 : -1;
    } else {
        tags_new = 0;
    }
    int tags_pending = tags_new == 1 && !v->tags, ws_pending = with_ws && !v->ws;
    if (put(tf, "{", 1)) return -1;
    const struct canon_item *m = c->meta_n ? s->items + c->meta_first : NULL;
    for (size_t i = 0; i <= c->meta_n; i++) {
        const struct canon_item *it = i < c->meta_n ? &m[i] : NULL;
        /* members new to the object go where the key order puts them */
        if (tags_pending && (!it || key_cmp(buf, it, "tags") > 0)) {
            if (put_member_head(tf, &count, level + 1, "tags") || put_tags(tf, level + 1, v, want))
                return -1;
            tags_pending = 0;
        }
        if (ws_pending && (!it || key_cmp(buf, it, "workflow_stage") > 0)) {
            if (put_member_head(tf, &count, level + 1, "workflow_stage") ||
                put_ws(tf, level + 1, want))
                return -1;
            ws_pending = 0;
        }
        if (!it) break;
        if (it == v->ws) {
            if (!with_ws) continue;
            if (put_member_head(tf, &count, level + 1, "workflow_stage") ||
                put_ws(tf, level + 1, want))
                return -1;
            continue;
        }
        if (it == v->tags && tags_new) {
            if (tags_new < 0) continue;
            if (put_member_head(tf, &count, level + 1, "tags") || put_tags(tf, level + 1, v, want))
                return -1;
            continue;
        }
        /* any other member (and tags kept): its bytes as they were */
        if ((count++ && put(tf, ",", 1)) || put_indent(tf, level + 1) ||
            put(tf, buf + it->key_off - 1, it->val_end - (it->key_off - 1)))
            return -1;
    }
    if (count && put_indent(tf, level)) return -1;
    return put(tf, "}", 1);
}

/* ---------------------------------------------------------------- one notebook */

/* A model name nb_dumps would write as it is (no character to escape). */
static int plain_name(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\') return 0;
    return 1;
}

int tagfast_scan(struct canonscan *s, const char *buf, size_t len, const struct tag_options *opt)
{
    if (opt->from_outputs || opt->strip_outputs || !opt->model) return 1;
    if (!plain_name(model_name(opt->model))) return 1;
    if (canonscan_run(s, buf, len) || s->noncode_stage) return 1;
    struct view v;
    for (size_t i = 0; i < s->n; i++) /* before any work: all or nothing */
        if (view(s, buf, &s->cells[i], &v)) return 1;
    return 0;
}

int tagfast_splice(struct tagfast *tf, const struct canonscan *s, const char *buf, size_t len,
                   const struct tag_options *opt, const int *stage, const float *prob,
                   int want_bytes, struct tag_result *res, int *changed)
{
    memset(res, 0, sizeof *res);
    *changed = 0;
    for (size_t i = 0; i < s->n; i++)
        if (stage[i] == MODEL_NO_MEMORY) return -1; /* no answer, not a blank cell: untouched */
    const char *model = model_name(opt->model);
    struct view v;
    size_t copied = 0;
    tf->out.n = 0;
    tf->out.oom = 0; /* a notebook that failed before: this one may fit */
    for (size_t i = 0; i < s->n; i++) {
        const struct canon_cell *c = &s->cells[i];
        const char *src = s->text.p + c->src_off;
        res->code_cells++;
        struct cell_tag want = {.stage = STAGE_NONE};
        if (stage[i] >= 0) want = (struct cell_tag){stage[i], tag_round(prob[i]), model};
        view(s, buf, c, &v);
        double old_conf;
        int old_stage = current(&v, &old_conf);
        enum tag_change kind = compare(&v, &want);
        if (tag_result_add(res, opt->record, i, kind, old_stage, old_conf, &want)) return -1;
        if (kind != TAG_SAME) {
            /* a cell without metadata would need one added: rare, left to jansson */
            if (!c->has_meta) { tag_result_free(res); memset(res, 0, sizeof *res); return 1; }
            if (want_bytes) {
                if (put(tf, buf + copied, c->meta_off - copied) || put_meta(tf, s, c, &v, &want))
                    return -1;
                copied = c->meta_end;
            }
            *changed = 1;
        }
        if (want.stage == STAGE_NONE) {
            res->blank++;
            continue;
        }
        res->tagged++;
        res->per_stage[want.stage]++;
        if (opt->count_lines) res->lines[want.stage] += tag_code_lines(src, c->src_len);
    }
    if (*changed && want_bytes && put(tf, buf + copied, len - copied)) return -1;
    return 0;
}

int tag_answers_room(struct tag_answers *a, size_t n)
{
    if (n <= a->cap) return 0;
    size_t cap = n < 64 ? 64 : n;
    int *st = realloc(a->stage, cap * sizeof *st);
    if (st) a->stage = st;
    float *pr = realloc(a->prob, cap * sizeof *pr);
    if (pr) a->prob = pr;
    if (!st || !pr) return -1;
    a->cap = cap;
    return 0;
}

void tag_answers_free(struct tag_answers *a)
{
    free(a->stage);
    free(a->prob);
    *a = (struct tag_answers){0};
}

int tagfast_notebook(struct tagfast *tf, const char *buf, size_t len,
                     const struct tag_options *opt, int want_bytes, struct tag_result *res,
                     int *changed)
{
    memset(res, 0, sizeof *res);
    *changed = 0;
    if (tagfast_scan(&tf->scan, buf, len, opt)) return 1;
    return tagfast_classify(tf, buf, len, opt, want_bytes, res, changed);
}

int tagfast_classify(struct tagfast *tf, const char *buf, size_t len, const struct tag_options *opt,
                     int want_bytes, struct tag_result *res, int *changed)
{
    memset(res, 0, sizeof *res);
    *changed = 0;
    struct canonscan *s = &tf->scan;
    if (tag_answers_room(&tf->ans, s->n)) return -1;
    struct context_cursor cur = {0}; /* each cell after its predecessor, for a context model */
    for (size_t i = 0; i < s->n; i++) {
        const struct canon_cell *c = &s->cells[i];
        const char *src = s->text.p + c->src_off, *prev;
        size_t plen;
        context_next(&cur, src, c->src_len, &prev, &plen);
        float p = 0, probs[N_STAGES];
        int st = opt->cache ? classcache_classify_after(opt->cache, prev, plen, src, c->src_len, &p)
                            : model_classify_after(opt->model, prev, plen, src, c->src_len, probs);
        if (st >= 0 && !opt->cache) p = probs[st];
        tf->ans.stage[i] = st;
        tf->ans.prob[i] = p;
    }
    return tagfast_splice(tf, s, buf, len, opt, tf->ans.stage, tf->ans.prob, want_bytes, res, changed);
}

void tagfast_free(struct tagfast *tf)
{
    canonscan_free(&tf->scan);
    free(tf->out.p);
    tag_answers_free(&tf->ans);
    memset(tf, 0, sizeof *tf);
}
