/* tagging.c — stage tags in a notebook tree (see tagging.h). */
#include "model/tagging.h"

#include <stdlib.h>
#include <string.h>

#include "model/stage_output.h"
#include "model/classcache.h"
#include "model/context.h"
#include "nbformat/notebook.h"
#include "nbformat/pysrc.h"

double tag_round(double p) { return stage_confidence(p); }

static int is_stage_tag(const json_t *t)
{
    return json_is_string(t) && !strncmp(json_string_value(t), TAG_PREFIX, strlen(TAG_PREFIX));
}

/* The stage a "stage:<key>" tag names; -2 for an unknown key. */
static int stage_of_tag(const json_t *t)
{
    return stage_from_key(json_string_value(t) + strlen(TAG_PREFIX));
}

static json_t *cell_meta(const json_t *cell)
{
    json_t *m = json_object_get(cell, "metadata");
    return json_is_object(m) ? m : NULL;
}

int tag_current(const json_t *cell, double *conf)
{
    if (conf) *conf = -1;
    json_t *meta = cell_meta(cell);
    if (!meta) return STAGE_NONE;
    json_t *ws = json_object_get(meta, "workflow_stage");
    if (json_is_object(ws)) {
        int s = stage_from_key(json_string_value(json_object_get(ws, "stage")));
        json_t *c = json_object_get(ws, "confidence");
        if (s >= 0) { /* (a confidence beside no stage is nobody's: not the tags') */
            if (conf && json_is_number(c)) *conf = json_number_value(c);
            return s;
        }
    }
    json_t *tags = json_object_get(meta, "tags");
    size_t i;
    json_t *t;
    if (json_is_array(tags)) json_array_foreach(tags, i, t) {
            if (!is_stage_tag(t)) continue;
            int s = stage_of_tag(t);
            if (s >= 0) return s;
        }
    return STAGE_NONE;
}

/* 1 when WS is exactly {"confidence": C, "model": M, "stage": KEY}.  C may be written 1
 * for 1.0: JavaScript writes it so (the kernel's tag in Notebook 6), and JSON has one
 * kind of number. */
static int ws_matches(const json_t *ws, const struct cell_tag *want)
{
    if (!json_is_object(ws) || json_object_size(ws) != 3) return 0;
    json_t *s = json_object_get(ws, "stage"), *c = json_object_get(ws, "confidence"),
           *m = json_object_get(ws, "model");
    return json_is_string(s) && !strcmp(json_string_value(s), stage_key[want->stage]) &&
           json_is_number(c) && json_number_value(c) == want->confidence && json_is_string(m) &&
           !strcmp(json_string_value(m), want->model);
}

enum tag_change tag_compare(const json_t *cell, const struct cell_tag *want)
{
    if (want->stage == TAG_KEEP) return TAG_SAME;
    json_t *meta = cell_meta(cell);
    json_t *ws = meta ? json_object_get(meta, "workflow_stage") : NULL;
    json_t *tags = meta ? json_object_get(meta, "tags") : NULL;
    size_t n_stage_tags = 0, i;
    int tag_stage = STAGE_NONE;
    json_t *t;
    if (json_is_array(tags)) json_array_foreach(tags, i, t) {
            if (!is_stage_tag(t)) continue;
            if (n_stage_tags++ == 0) tag_stage = stage_of_tag(t);
        }
    if (want->stage == STAGE_NONE)
        return (ws || n_stage_tags) ? TAG_REMOVE : TAG_SAME;
    if (!ws && !n_stage_tags) return TAG_MISSING;
    /* Both halves must name the wanted stage, once. */
    const json_t *wstage = json_is_object(ws) ? json_object_get(ws, "stage") : NULL;
    if (n_stage_tags != 1 || tag_stage != want->stage || !json_is_string(wstage) ||
        strcmp(json_string_value(wstage), stage_key[want->stage]))
        return TAG_STALE;
    return ws_matches(ws, want) ? TAG_SAME : TAG_REFRESH;
}

/* Removes from ARR every element DROP holds true, the others kept in order, in one
 * pass: json_array_remove moves the whole tail each time, and a cell with 400,000
 * stage: tags (a tool that appended one a run) took 15 s to tag, quadratic.  Returns
 * the index of the first one removed, (size_t)-1 for none; *N the number removed.
 * json_array_set allocates nothing: it cannot fail half-way. */
static size_t drop_where(json_t *arr, int (*drop)(const json_t *), size_t *n)
{
    size_t size = json_array_size(arr), w = 0, first = (size_t)-1;
    for (size_t i = 0; i < size; i++) {
        json_t *v = json_array_get(arr, i);
        if (drop(v)) {
            if (first == (size_t)-1) first = i;
            continue;
        }
        if (w != i) json_array_set(arr, w, v); /* (its slot at i still holds a reference) */
        w++;
    }
    for (size_t k = size; k > w; k--) json_array_remove(arr, k - 1); /* the last: no move */
    if (n) *n = size - w;
    return first;
}

/* Removes every stage: tag from TAGS; returns the index of the first one removed
 * (where the new tag goes), or the array's size when there was none. */
static size_t drop_stage_tags(json_t *tags)
{
    size_t first = drop_where(tags, is_stage_tag, NULL);
    return first == (size_t)-1 ? json_array_size(tags) : first;
}

int tag_apply(json_t *cell, const struct cell_tag *want)
{
    if (want->stage == TAG_KEEP) return 0;
    json_t *meta = cell_meta(cell);
    if (!meta) {
        if (want->stage == STAGE_NONE) return 0;
        meta = json_object();
        if (!meta || json_object_set_new(cell, "metadata", meta)) return -1;
    }
    json_t *tags = json_object_get(meta, "tags");
    if (want->stage == STAGE_NONE) {
        json_object_del(meta, "workflow_stage");
        if (json_is_array(tags) && json_array_size(tags)) {
            drop_stage_tags(tags);
            if (!json_array_size(tags)) json_object_del(meta, "tags");
        }
        return 0;
    }
    if (tags && !json_is_array(tags)) return -1; /* the user's: never replaced (tag_tags_not_a_list_of_strings) */
    json_t *ws = json_pack("{s:s, s:f, s:s}", "stage", stage_key[want->stage], "confidence",
                           want->confidence, "model", want->model);
    if (!ws || json_object_set_new(meta, "workflow_stage", ws)) return -1;
    if (!tags) {
        tags = json_array();
        if (!tags || json_object_set_new(meta, "tags", tags)) return -1;
    }
    size_t at = drop_stage_tags(tags);
    char buf[64];
    snprintf(buf, sizeof buf, TAG_PREFIX "%s", stage_key[want->stage]);
    return json_array_insert_new(tags, at, json_string(buf));
}

/* 1 when OUTPUT carries the stage kernel's marks: a display output (a stream cannot
 * carry them) with the payload's MIME type in its data or "nbstage" in its metadata.
 * Nothing else writes either, so such an output is a tag output even when its payload
 * cannot be read (hand-edited, truncated, a stage that does not exist). */
static int has_stage_marks(const json_t *output)
{
    const char *type = json_string_value(json_object_get(output, "output_type"));
    if (!type || (strcmp(type, "display_data") && strcmp(type, "execute_result"))) return 0;
    return json_object_get(json_object_get(output, "data"), STAGE_MIME) ||
           json_object_get(json_object_get(output, "metadata"), "nbstage");
}

/* The model named in a stage output's payload (metadata first, as the kernel's
 * parser reads it), or NULL. */
static const char *output_model(const json_t *output)
{
    const json_t *where[2] = {
        json_object_get(json_object_get(output, "metadata"), "nbstage"),
        json_object_get(json_object_get(output, "data"), STAGE_MIME),
    };
    for (int i = 0; i < 2; i++) {
        const char *m = json_string_value(json_object_get(where[i], "model"));
        if (m && *m) return m;
    }
    return NULL;
}


int tag_from_outputs(const json_t *cell, struct cell_tag *want)
{
    json_t *outs = json_object_get(cell, "outputs");
    size_t i;
    json_t *o;
    int found = 0, marked = 0, s;
    double c;
    if (json_is_array(outs)) json_array_foreach(outs, i, o) {
            if (!has_stage_marks(o)) continue;
            marked = 1;
            /* (model/stage_output.c reads the payload) */
            if (stage_output_parse(o, &s, &c)) continue;
            /* the last one wins: the latest classification */
            const char *m = output_model(o);
            *want = (struct cell_tag){s, tag_round(c), m ? m : "nbstage-kernel"};
            found = 1;
        }
    return found ? 0 : marked ? -2 : -1;
}

int tag_strip_outputs(json_t *cell)
{
    json_t *outs = json_object_get(cell, "outputs");
    if (!json_is_array(outs)) return 0;
    size_t n;
    drop_where(outs, has_stage_marks, &n);
    return (int)n;
}

long tag_code_lines(const char *src, size_t len)
{
    size_t n;
    char *code = pysrc_strip_comments(src, len, &n);
    if (!code) return 0;
    long lines = 0;
    int seen = 0;
    /* white space as pysrc_is_blank sees it (U+00A0, U+3000 too): a line of it is no
     * more code than a cell of it, which is blank */
    for (size_t i = 0, w; i <= n; i += w) {
        w = 1;
        if (i == n || pysrc_ends_line(code, i, n)) {
            lines += seen;
            seen = 0;
        } else if (!(w = pysrc_space_len(code + i, n - i))) {
            seen = 1;
            w = 1;
        }
    }
    free(code);
    return lines;
}

/* ---------------------------------------------------------------- one notebook */

int tag_result_add(struct tag_result *res, int record, size_t cell, enum tag_change kind,
                   int old_stage, double old_conf, const struct cell_tag *want)
{
    switch (kind) {
    case TAG_MISSING: res->missing++; break;
    case TAG_STALE: res->stale++; break;
    case TAG_REMOVE: res->removed++; break;
    case TAG_REFRESH: res->refreshed++; break;
    case TAG_SAME: return 0;
    }
    if (!record) return 0;
    struct tag_cell_change *p = realloc(res->changes, (res->n_changes + 1) * sizeof *p);
    if (!p) return -1;
    res->changes = p;
    p[res->n_changes++] = (struct tag_cell_change){
        .cell = cell,
        .kind = kind,
        .old_stage = old_stage,
        .new_stage = want->stage,
        .old_conf = old_conf,
        .new_conf = want->stage >= 0 ? want->confidence : -1,
    };
    return 0;
}

/* What CELL (a code cell) should carry; its lines of code in *LINES.  TRAIL: the
 * notebook's cells so far, for a model that reads each after its predecessor. */
static int wanted(const json_t *cell, const struct tag_options *opt, struct context_trail *trail,
                  struct cell_tag *want, long *lines, int *unreadable)
{
    size_t len;
    int rc;
    char *src = nb_cell_source(cell, &len);
    if (!src) return -1;
    *lines = 0;
    *unreadable = 0;
    if (!opt->from_outputs) {
        const char *prev = NULL;
        size_t plen = 0;
        if (model_reads_context(opt->model) && context_trail_next(trail, 1, src, len, &prev, &plen)) {
            free(src);
            return -1;
        }
        /* model_classify says STAGE_NONE exactly for blank cells (it runs the same
         * pysrc_is_blank): no second pass over the source here */
        float probs[N_STAGES], p = 0;
        int s = opt->cache ? classcache_classify_after(opt->cache, prev, plen, src, len, &p)
                           : model_classify_after(opt->model, prev, plen, src, len, probs);
        if (s == MODEL_NO_MEMORY) { /* not a blank cell: the notebook fails, untouched */
            free(src);
            return -1;
        }
        if (s >= 0 && !opt->cache) p = probs[s];
        if (s >= 0)
            *want = (struct cell_tag){s, tag_round(p), model_name(opt->model)};
        else
            *want = (struct cell_tag){.stage = STAGE_NONE};
    } else if (pysrc_is_blank(src, len)) {
        *want = (struct cell_tag){.stage = STAGE_NONE};
    } else if ((rc = tag_from_outputs(cell, want))) {
        *want = (struct cell_tag){.stage = TAG_KEEP};
        *unreadable = rc == -2;
    }
    if (want->stage != STAGE_NONE && opt->count_lines) *lines = tag_code_lines(src, len);
    free(src);
    return 0;
}

static int tag_cells(json_t *nb, const struct tag_options *opt, struct tag_result *res,
                     struct context_trail *trail);

long tag_tags_not_a_list_of_strings(const json_t *nb, long *code)
{
    size_t n = nb_cell_count(nb);
    long k_code = -1;
    for (size_t i = 0; i < n; i++) {
        json_t *cell = nb_cell(nb, i);
        const char *type = nb_cell_type(cell);
        if (!type || strcmp(type, "code")) continue;
        k_code++;
        json_t *tags = json_object_get(cell_meta(cell), "tags");
        int bad = tags && !json_is_array(tags);
        for (size_t k = 0; !bad && k < json_array_size(tags); k++)
            bad = !json_is_string(json_array_get(tags, k));
        if (!bad) continue;
        if (code) *code = k_code;
        return (long)i;
    }
    return -1;
}

int tag_notebook(json_t *nb, const struct tag_options *opt, struct tag_result *res)
{
    struct context_trail trail = {0};
    int rc = tag_cells(nb, opt, res, &trail);
    context_trail_free(&trail);
    return rc;
}

/* 1 when CELL's metadata holds a workflow_stage or a stage: tag. */
static int carries_stage(const json_t *cell)
{
    json_t *meta = cell_meta(cell), *tags = json_object_get(meta, "tags");
    if (json_object_get(meta, "workflow_stage")) return 1;
    for (size_t i = 0; i < json_array_size(tags); i++)
        if (is_stage_tag(json_array_get(tags, i))) return 1;
    return 0;
}

static int tag_cells(json_t *nb, const struct tag_options *opt, struct tag_result *res,
                     struct context_trail *trail)
{
    memset(res, 0, sizeof *res);
    size_t n = nb_cell_count(nb);
    for (size_t i = 0; i < n; i++) {
        json_t *cell = nb_cell(nb, i);
        const char *type = nb_cell_type(cell);
        if (!type || strcmp(type, "code")) {
            /* A code cell made markdown or raw after it ran keeps its metadata (Notebook
             * 6 copies it over): its stage would be there for good, shown in the tags
             * toolbar and read by tools that act on tags.  Only code cells have one. */
            if (carries_stage(cell)) {
                res->noncode_cleared++;
                if (tag_apply(cell, &(struct cell_tag){.stage = STAGE_NONE})) return -1;
            }
            continue;
        }
        res->code_cells++;
        struct cell_tag want;
        long lines;
        int unreadable;
        if (wanted(cell, opt, trail, &want, &lines, &unreadable)) return -1;
        if (unreadable) { /* said by the caller, with the cell's id */
            size_t *u = realloc(res->unreadable, (res->n_unreadable + 1) * sizeof *u);
            if (!u) return -1;
            res->unreadable = u;
            u[res->n_unreadable++] = (size_t)res->code_cells - 1;
        }
        double old_conf;
        int old_stage = tag_current(cell, &old_conf);
        enum tag_change kind = tag_compare(cell, &want);
        if (tag_result_add(res, opt->record, (size_t)res->code_cells - 1, kind, old_stage, old_conf, &want))
            return -1;
        if (kind != TAG_SAME && tag_apply(cell, &want)) return -1;
        /* only now: with from_outputs, WANT.model points into the output */
        if (opt->strip_outputs) res->outputs_stripped += tag_strip_outputs(cell);
        if (want.stage == STAGE_NONE) {
            res->blank++;
            continue;
        }
        if (want.stage == TAG_KEEP) {
            res->kept++;
            want.stage = old_stage; /* counted as what it carries */
            if (want.stage < 0) continue;
        }
        res->tagged++;
        res->per_stage[want.stage]++;
        res->lines[want.stage] += lines;
    }
    return 0;
}

void tag_result_free(struct tag_result *res)
{
    free(res->changes);
    res->changes = NULL;
    res->n_changes = 0;
    free(res->unreadable);
    res->unreadable = NULL;
    res->n_unreadable = 0;
}

long tag_findings(const struct tag_result *res)
{
    return res->missing + res->stale + res->removed + res->noncode_cleared;
}
