/* jsonload.c — jansson's parser, with its allocation failures seen (jsonload.h). */
#include "nbformat/jsonload.h"

#include <stdlib.h>
#include <string.h>

/* Set by a failed allocation of jansson's in this thread (jansson allocates in the
 * thread that calls it); cleared as each parse starts. */
static _Thread_local int alloc_failed;

static void *watched_malloc(size_t n)
{
    void *p = malloc(n);
    if (!p && n) alloc_failed = 1;
    return p;
}

/* Before main, so before any thread and any jansson value: jansson's allocation
 * functions are one process-wide setting, to be set before it allocates.  (A value
 * made before would still be freed right: the free function stays free.)  Every
 * program that parses JSON links this file, through the functions below. */
__attribute__((constructor)) static void watch_jansson(void)
{
    json_set_alloc_funcs(watched_malloc, free);
}

void nb_json_error_set_memory(json_error_t *error)
{
    memset(error, 0, sizeof *error);
    error->line = error->column = -1;
    strcpy(error->text, "out of memory");
    error->text[JSON_ERROR_TEXT_LENGTH - 1] = (char)json_error_out_of_memory;
}

static json_t *checked(json_t *v, json_error_t *error)
{
    if (!alloc_failed) return v;
    json_decref(v);
    if (error) nb_json_error_set_memory(error);
    return NULL;
}

json_t *nb_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *error)
{
    alloc_failed = 0;
    return checked(json_loadb(buf, len, flags, error), error);
}

json_t *nb_json_loads(const char *text, size_t flags, json_error_t *error)
{
    alloc_failed = 0;
    return checked(json_loads(text, flags, error), error);
}

json_t *nb_json_loadf(FILE *f, size_t flags, json_error_t *error)
{
    alloc_failed = 0;
    return checked(json_loadf(f, flags, error), error);
}

json_t *nb_json_load_file(const char *path, size_t flags, json_error_t *error)
{
    alloc_failed = 0;
    return checked(json_load_file(path, flags, error), error);
}

int nb_json_error_is_memory(const json_error_t *error)
{
    return json_error_code(error) == json_error_out_of_memory;
}
