/* cellchain.c — which cell the kernel reads each executed cell after (see cellchain.h).
 *
 * Two snapshots: the last cell asked (what the next request is read after) and the
 * last cell that started (what the chain goes back to when the requests after it are
 * aborted).  Each is a cell's code, the code it was read after, and its cell id.
 */
#include "kernel/cellchain.h"

#include <stdlib.h>
#include <string.h>

struct snap {
    char *code, *before;
    size_t len, blen, ccap, bcap;
    int have, have_before; /* a cell at all; one it was read after */
    char cell_id[128];
};

struct chain_cell {
    struct snap s;
    unsigned long serial; /* 0 once started */
};

struct cellchain {
    struct snap asked, ran;
    unsigned long serial, asked_serial; /* the record of the last cell asked */
};

static int grow(char **buf, size_t *cap, size_t n)
{
    if (n <= *cap) return 0;
    char *p = realloc(*buf, n);
    if (!p) return -1;
    *buf = p, *cap = n;
    return 0;
}

/* DST := the cell CODE[0..LEN) read after BEFORE[0..BLEN) (NULL: nothing), id CELL_ID;
 * -1 when out of memory, and DST is then as it was. */
static int snap_set(struct snap *dst, const char *code, size_t len, const char *before,
                    size_t blen, const char *cell_id)
{
    if (grow(&dst->code, &dst->ccap, len + 1) || (before && grow(&dst->before, &dst->bcap, blen + 1)))
        return -1;
    memcpy(dst->code, code, len);
    dst->code[len] = 0;
    dst->len = len;
    if (before) {
        memcpy(dst->before, before, blen);
        dst->before[blen] = 0;
    }
    dst->blen = before ? blen : 0;
    dst->have_before = before != NULL;
    dst->have = 1;
    size_t n = strnlen(cell_id, sizeof dst->cell_id - 1);
    memcpy(dst->cell_id, cell_id, n);
    dst->cell_id[n] = 0;
    return 0;
}

/* DST := SRC (SRC empty: DST empty); -1 when out of memory (DST is then empty). */
static int snap_copy(struct snap *dst, const struct snap *src)
{
    if (!src->have) { dst->have = 0; return 0; }
    if (snap_set(dst, src->code, src->len, src->have_before ? src->before : NULL, src->blen,
                 src->cell_id) == 0)
        return 0;
    dst->have = 0;
    return -1;
}

static void snap_free(struct snap *s)
{
    free(s->code);
    free(s->before);
}

struct cellchain *cellchain_new(void) { return calloc(1, sizeof(struct cellchain)); }

void cellchain_free(struct cellchain *c)
{
    if (!c) return;
    snap_free(&c->asked);
    snap_free(&c->ran);
    free(c);
}

/* 1 when the cell of CELL_ID and CODE is the one S holds run again: by the frontend's
 * ids when both have one, else by the code. */
static int same_cell(const struct snap *s, const char *cell_id, const char *code, size_t len)
{
    if (!s->have) return 0;
    if (cell_id[0] && s->cell_id[0]) return strcmp(cell_id, s->cell_id) == 0;
    return s->len == len && memcmp(s->code, code, len) == 0;
}

struct chain_cell *cellchain_ask(struct cellchain *c, const char *cell_id, const char *code,
                                 size_t len, const char **before, size_t *blen)
{
    const struct snap *a = &c->asked;
    if (same_cell(a, cell_id, code, len)) /* run again: as it was read the last time */
        *before = a->have_before ? a->before : NULL, *blen = a->blen;
    else
        *before = a->have ? a->code : NULL, *blen = a->have ? a->len : 0;
    struct chain_cell *cell = calloc(1, sizeof *cell);
    if (!cell || snap_set(&cell->s, code, len, *before, *blen, cell_id)) {
        chain_cell_free(cell);
        return NULL;
    }
    /* the chain moves on: the next request is read after this one, and *BEFORE points
     * into the new snapshot (the old one's buffers are rewritten) */
    if (snap_copy(&c->asked, &cell->s)) {
        chain_cell_free(cell);
        *before = NULL, *blen = 0; /* the asked cell is lost: read alone */
        return NULL;
    }
    *before = c->asked.have_before ? c->asked.before : NULL;
    *blen = c->asked.blen;
    cell->serial = ++c->serial;
    c->asked_serial = cell->serial;
    return cell;
}

void cellchain_last(const struct cellchain *c, const char **code, size_t *len)
{
    *code = c->asked.have ? c->asked.code : NULL;
    *len = c->asked.have ? c->asked.len : 0;
}

void cellchain_started(struct cellchain *c, struct chain_cell *cell)
{
    if (!cell->serial) return; /* started already */
    struct snap t = c->ran; /* a swap: the record keeps the old buffers, to be freed */
    c->ran = cell->s;
    cell->s = t;
    cell->serial = 0;
}

void cellchain_aborted(struct cellchain *c, const struct chain_cell *cell)
{
    if (!cell->serial || cell->serial != c->asked_serial) return;
    snap_copy(&c->asked, &c->ran); /* out of memory: nothing asked, the next cell alone */
    c->asked_serial = 0;
}

void chain_cell_free(struct chain_cell *cell)
{
    if (!cell) return;
    snap_free(&cell->s);
    free(cell);
}
