/* fuzz_nbformat.c — libFuzzer target for the notebook reader and writer.
 *
 * Owns: the properties no input may break: no crash, leak or sanitizer report;
 * whatever nb_read_mem accepts dumps to bytes that read back and dump identically
 * (the writer is a fixed point); fmt's transformations hold up; and ingest's byte
 * scanner (cellscan) never accepts what the jansson reader refuses, nor reads
 * different code cells from it; nor does tag's canonical scanner (canonscan), which
 * also must take only what nb_dumps writes back byte for byte; and the notebook's
 * language read from either scanner's metadata bytes is the one its tree gives.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbformat/canonscan.h"
#include "nbformat/cellscan.h"
#include "nbformat/nblang.h"
#include "nbformat/notebook.h"

static struct cellscan scan;

/* The language read from the metadata's bytes (walked, not parsed) is the tree's. */
static void check_language_agrees(const char *meta, size_t len, const json_t *nb, const char *by)
{
    struct nb_lang tree, bytes;
    nb_lang_of_tree(nb, &tree);
    nb_lang_of_metadata(meta, len, &bytes);
    if (tree.python != bytes.python || strcmp(tree.name, bytes.name)) {
        fprintf(stderr, "%s: the language from the bytes differs from the tree's\n", by);
        abort();
    }
}

static void check_scanner_agrees(const char *buf, size_t len, const json_t *nb)
{
    if (cellscan_run(&scan, buf, len)) return; /* it fell back: nothing to compare */
    if (!nb) { fprintf(stderr, "cellscan accepted what nb_read_mem refuses\n"); abort(); }
    size_t k = 0, n = nb_cell_count(nb);
    for (size_t i = 0; i < n; i++) {
        json_t *cell = nb_cell(nb, i);
        const char *t = nb_cell_type(cell);
        if (!t || strcmp(t, "code")) continue;
        if (k >= scan.n) { fprintf(stderr, "cellscan: too few code cells\n"); abort(); }
        size_t sl;
        char *src = nb_cell_source(cell, &sl);
        const struct cellscan_cell *c = &scan.cells[k++];
        json_t *ec = json_object_get(cell, "execution_count");
        if (!src || c->len != sl || memcmp(scan.text.p + c->off, src, sl) ||
            c->has_count != json_is_integer(ec) ||
            (c->has_count && c->count != json_integer_value(ec))) {
            fprintf(stderr, "cellscan: code cell %zu differs\n", k - 1);
            abort();
        }
        free(src);
    }
    if (k != scan.n) { fprintf(stderr, "cellscan: too many code cells\n"); abort(); }
    check_language_agrees(buf + scan.meta_off, scan.meta_end - scan.meta_off, nb, "cellscan");
}

static struct canonscan canon;

/* canonscan's promise: accepted => jansson reads it (flags 0, as tag does), nb_dumps
 * gives the same bytes, and the code cells' sources are the same. */
static void check_canonical_agrees(const char *buf, size_t len)
{
    if (canonscan_run(&canon, buf, len)) return;
    nb_error err;
    json_t *nb = nb_read_mem(buf, len, "canon", 0, &err);
    if (!nb) { fprintf(stderr, "canonscan accepted what nb_read_mem refuses\n"); abort(); }
    size_t n;
    char *out = nb_dumps(nb, &n);
    if (!out || n != len || memcmp(out, buf, len)) {
        fprintf(stderr, "canonscan accepted a notebook nb_dumps writes differently\n");
        abort();
    }
    size_t k = 0, cells = nb_cell_count(nb);
    for (size_t i = 0; i < cells; i++) {
        json_t *cell = nb_cell(nb, i);
        const char *t = nb_cell_type(cell);
        if (!t || strcmp(t, "code")) continue;
        size_t sl;
        char *src = nb_cell_source(cell, &sl);
        if (k >= canon.n || !src || canon.cells[k].src_len != sl ||
            memcmp(canon.text.p + canon.cells[k].src_off, src, sl)) {
            fprintf(stderr, "canonscan: code cell %zu differs\n", k);
            abort();
        }
        free(src);
        k++;
    }
    if (k != canon.n) { fprintf(stderr, "canonscan: too many code cells\n"); abort(); }
    check_language_agrees(buf + canon.meta_off, canon.meta_end - canon.meta_off, nb, "canonscan");
    free(out);
    json_decref(nb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    nb_error err;
    json_t *nb = nb_read_mem(buf, size, "fuzz", NB_ALLOW_V3, &err);
    check_scanner_agrees(buf, size, nb);
    check_canonical_agrees(buf, size);
    if (!nb) return 0;

    size_t n1, n2;
    char *out1 = nb_dumps(nb, &n1);
    if (!out1) abort();
    check_canonical_agrees(out1, n1); /* the canonical form: where canonscan says yes */
    json_t *again = nb_read_mem(out1, n1, "dump", 0, &err);
    if (!again) { fprintf(stderr, "our own output does not read back: %s\n", err.msg); abort(); }
    char *out2 = nb_dumps(again, &n2);
    if (!out2 || n1 != n2 || memcmp(out1, out2, n1)) { fprintf(stderr, "dump is not a fixed point\n"); abort(); }

    /* fmt's path, and the accessors every command uses */
    nb_rejoin_lines(again);
    nb_strip_transient(again);
    nb_split_lines(again);
    char *out3 = nb_dumps(again, &n2);
    if (!out3) abort();
    for (size_t i = 0; i < nb_cell_count(nb); i++) {
        json_t *cell = nb_cell(nb, i);
        (void)nb_cell_type(cell);
        free(nb_cell_source(cell, NULL));
    }
    free(out1);
    free(out2);
    free(out3);
    json_decref(again);
    json_decref(nb);
    return 0;
}
