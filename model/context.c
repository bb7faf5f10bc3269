/* context.c — the text a context model reads for a cell (see context.h). */
#include "model/context.h"

#include <stdlib.h>
#include <string.h>

#include "nbformat/pysrc.h"

/* Python's str.strip() white space, ASCII part (the training data's definition). */
static int white(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

int context_counts(const char *src, size_t len) { return !pysrc_is_blank(src, len); }

/* 1 when LINE[0..N) is a code line: a non-white character, not '#' first. */
static int code_line(const char *line, size_t n)
{
    size_t i = 0;
    while (i < n && white((unsigned char)line[i])) i++;
    return i < n && line[i] != '#';
}

/* PREV's last CONTEXT_LINES code lines: returns how many there are (k), their
 * [start, end) in the last k rows of AT, in order. */
static int tail_lines(const char *prev, size_t plen, size_t at[CONTEXT_LINES][2])
{
    int k = 0;
    size_t end = plen;
    while (k < CONTEXT_LINES) {
        size_t start = end;
        while (start > 0 && !pysrc_ends_line(prev, start - 1, plen)) start--;
        if (code_line(prev + start, end - start)) {
            k++;
            at[CONTEXT_LINES - k][0] = start;
            at[CONTEXT_LINES - k][1] = end;
        }
        if (start == 0) break;
        end = start - 1; /* before the line end */
    }
    return k;
}

static int grow(char **buf, size_t *cap, size_t need)
{
    if (*buf && *cap >= need) return 0;
    size_t n = *cap ? *cap : 256;
    while (n < need) n *= 2;
    char *p = realloc(*buf, n);
    if (!p) return -1;
    *buf = p;
    *cap = n;
    return 0;
}

size_t context_plan(struct context_plan *pl, const char *prev, size_t plen, const char *src, size_t len)
{
    pl->k = 0;
    pl->blank = pysrc_is_blank(src, len);
    if (prev && !pl->blank) pl->k = tail_lines(prev, plen, pl->at);
    if (pl->blank) return len;
    size_t n = len + sizeof CONTEXT_WORD; /* the word and its '\n' */
    for (int i = CONTEXT_LINES - pl->k; i < CONTEXT_LINES; i++) n += pl->at[i][1] - pl->at[i][0] + 1;
    if (prev && pl->k == 0) n++;
    return n;
}

void context_plan_put(const struct context_plan *pl, char *dst, const char *prev, const char *src,
                      size_t len)
{
    char *p = dst;
    if (!pl->blank) {
        /* Python's "\n".join(lines) + "\n" + word + "\n" + src: each line and its '\n';
         * a PREV without code lines still gives the one '\n' */
        for (int i = CONTEXT_LINES - pl->k; i < CONTEXT_LINES; i++) {
            size_t n = pl->at[i][1] - pl->at[i][0];
            memcpy(p, prev + pl->at[i][0], n);
            p += n;
            *p++ = '\n';
        }
        if (prev && pl->k == 0) *p++ = '\n';
        memcpy(p, CONTEXT_WORD "\n", sizeof CONTEXT_WORD);
        p += sizeof CONTEXT_WORD;
    }
    memcpy(p, src, len);
    p[len] = 0;
}

size_t context_text(const char *prev, size_t plen, const char *src, size_t len, char **buf, size_t *cap)
{
    struct context_plan pl;
    size_t n = context_plan(&pl, prev, plen, src, len);
    if (grow(buf, cap, n + 1)) return (size_t)-1;
    context_plan_put(&pl, *buf, prev, src, len);
    return n;
}

void context_next(struct context_cursor *cur, const char *src, size_t len, const char **prev, size_t *plen)
{
    *prev = cur->prev;
    *plen = cur->plen;
    if (context_counts(src, len)) cur->prev = src, cur->plen = len;
}

int context_trail_next(struct context_trail *t, uint64_t group, const char *src, size_t len,
                       const char **prev, size_t *plen)
{
    if (!group || group != t->group) t->have = 0;
    t->group = group;
    *prev = t->have ? t->buf[t->which] : NULL;
    *plen = t->have ? t->len[t->which] : 0;
    if (!context_counts(src, len)) return 0;
    int w = !t->which; /* the other buffer: *PREV stays as it is */
    if (grow(&t->buf[w], &t->cap[w], len + 1)) return -1;
    memcpy(t->buf[w], src, len);
    t->buf[w][len] = 0;
    t->len[w] = len;
    t->which = w;
    t->have = 1;
    return 0;
}

void context_trail_free(struct context_trail *t)
{
    free(t->buf[0]), free(t->buf[1]);
    *t = (struct context_trail){0};
}
