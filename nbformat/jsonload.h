/* jsonload.h — every JSON text nbstage reads (notebooks, JSON Lines, kernelspecs,
 * connection files, the kernel's messages) is parsed through these, not through
 * jansson's json_load* directly.
 *
 * Why: jansson's parser takes an allocation that fails while it collects a string or
 * a number for a byte it need not keep (its lexer ignores strbuffer_append_byte's
 * result), and returns a value with that byte missing as if the input said so: a
 * notebook read without memory came back with a character dropped from a cell, and
 * `tag` would have saved it so.  jansson's allocations are watched here (installed
 * before main, see jsonload.c); a parse during which any failed returns NULL with the
 * error "out of memory" (json_error_out_of_memory), whatever jansson made of it.
 *
 * Not mended: in a number, or just after a backslash in a string, the same failure
 * trips one of jansson's assertions instead: an abort, which loses nothing written
 * (every write is atomic), where the dropped byte would have been saved.  Elsewhere
 * too jansson 2.14 does not survive every failed allocation: reading an nbformat 3
 * notebook, one crashed json_loadb (SIGSEGV, under ASan) and another corrupted the
 * heap (glibc's abort at the thread's exit), found by test_ingest's allocation-failure
 * test, which therefore leaves jansson's allocations alone. */
#ifndef NBSTAGE_JSONLOAD_H
#define NBSTAGE_JSONLOAD_H
#include <jansson.h>
#include <stdio.h>

json_t *nb_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *error);
json_t *nb_json_loads(const char *text, size_t flags, json_error_t *error);
json_t *nb_json_loadf(FILE *f, size_t flags, json_error_t *error);
json_t *nb_json_load_file(const char *path, size_t flags, json_error_t *error);

/* 1 when ERROR (filled by one of these, or by jansson) says memory ran out. */
int nb_json_error_is_memory(const json_error_t *error);
/* Fills ERROR as these do when memory ran out. */
void nb_json_error_set_memory(json_error_t *error);

#endif
