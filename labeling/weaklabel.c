/* weaklabel.c — what a weak label is written as (weaklabel.h). */
#include "labeling/weaklabel.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "labeling/labelmodel.h"
#include "labeling/stage.h"

/* S[0..LEN) as a JSON string, escaped as Python's json.dumps(ensure_ascii=False) and
 * ingest (nbformat/ingest.c) escape it; a NUL inside (JSON's \u0000, which a source
 * may hold) is written as \u0000, not taken for the end: a statement's "source" was
 * cut there. */
static void put_json_mem(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    const unsigned char *p = (const unsigned char *)s, *e = p + len, *run = p;
    for (; p < e; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\') continue;
        fwrite(run, 1, (size_t)(p - run), f); /* the plain bytes before it, in one call */
        run = p + 1;
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default: fprintf(f, "\\u%04x", *p);
        }
    }
    fwrite(run, 1, (size_t)(p - run), f);
    fputc('"', f);
}

static void put_json_string(FILE *f, const char *s)
{
    put_json_mem(f, s, strlen(s));
}

uint64_t weak_source_digest(const char *src, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)src[i]) * 0x100000001b3u;
    return h;
}

void weak_write_cell(FILE *f, const struct label_cell *c, const struct lfset *lfs,
                     const signed char *votes, int stage, int voted, const double *proba)
{
    fputs("{\"id\": ", f);
    put_json_string(f, c->id);
    if (c->notebook) { fputs(", \"notebook\": ", f); put_json_string(f, c->notebook); }
    if (c->index >= 0) fprintf(f, ", \"index\": %d", c->index);
    if (c->statement) { fputs(", \"source\": ", f); put_json_mem(f, c->src, c->src_len); }
    else fprintf(f, ", \"source_digest\": \"%016" PRIx64 "\"", weak_source_digest(c->src, c->src_len));
    if (stage >= 0) fprintf(f, ", \"stage\": \"%s\", \"probabilities\": {", stage_key[stage]);
    else fputs(", \"stage\": null, \"probabilities\": {", f);
    if (voted)
        for (int k = 0; k < N_STAGES; k++) {
            char num[8];
            num[weak_fmt4(num, proba[k])] = 0;
            fprintf(f, "%s\"%s\": %s", k ? ", " : "", stage_key[k], num);
        }
    fputs("}, \"votes\": {", f);
    int first = 1;
    for (int j = 0; j < lfs->n; j++) {
        if (votes[j] < 0) continue;
        fprintf(f, "%s\"%s\": \"%s\"", first ? "" : ", ", lfs->name[j], stage_key[(int)votes[j]]);
        first = 0;
    }
    fputs("}}\n", f);
}

int weak_is_distribution(const double *p)
{
    double sum = 0;
    for (int k = 0; k < LM_K; k++) {
        if (!(p[k] >= 0 && p[k] <= 1)) return 0; /* also NaN */
        sum += p[k];
    }
    return fabs(sum - 1) < 1e-6;
}

int weak_top_tied(const double *p, int best)
{
    for (int k = 0; k < LM_K; k++)
        if (k != best && p[best] - p[k] < 1e-5) return 1;
    return 0;
}

int weak_label(const double *p, int best, double min_conf)
{
    return best >= 0 && p[best] >= min_conf && !weak_top_tied(p, best) ? best : -1;
}
