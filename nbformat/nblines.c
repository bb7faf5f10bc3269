/* nblines.c — nbformat's text layout passes: split_lines (what nbformat.write does
 * to multi-line strings), rejoin_lines (what its reader does), strip_transient.
 *
 * Owns: which fields are text (source, stream text, text mime data, attachments) and
 * Python's str.splitlines line breaks.
 */
#include <stdlib.h>
#include <string.h>

#include "nbformat/nbinternal.h"

/* ---------------------------------------------------------------- split_lines */

/* Python's str.splitlines(keepends=True) over UTF-8: the boundaries are \n, \r,
 * \r\n, \v, \f, \x1c, \x1d, \x1e, U+0085, U+2028 and U+2029. */
size_t nb_line_break_len(const unsigned char *s, size_t n, size_t i)
{
    unsigned char c = s[i];
    if (c == '\r') return (i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
    if (c == '\n' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e) return 1;
    if (c == 0xc2 && i + 1 < n && s[i + 1] == 0x85) return 2;
    if (c == 0xe2 && i + 2 < n && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
        return 3;
    return 0;
}

/* The lines of STR, or NULL when out of memory (a line left out would be text lost). */
static json_t *splitlines(const json_t *str)
{
    const unsigned char *s = (const unsigned char *)json_string_value(str);
    size_t n = json_string_length(str), start = 0;
    json_t *arr = json_array();
    int failed = !arr;
    for (size_t i = 0; !failed && i < n;) {
        size_t k = nb_line_break_len(s, n, i);
        if (k) {
            i += k;
            failed = json_array_append_new(arr, json_stringn((const char *)s + start, i - start));
            start = i;
        } else {
            i++;
        }
    }
    if (!failed && start < n) failed = json_array_append_new(arr, json_stringn((const char *)s + start, n - start));
    if (failed) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

/* The layout passes: -1 when out of memory (the field then as it was). */
static int split_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) return 0;
    json_t *arr = splitlines(v);
    return arr ? json_object_set_new(obj, key, arr) : -1;
}

static int split_mimebundle(json_t *data)
{
    if (!json_is_object(data)) return 0;
    const char *key;
    json_t *val;
    void *tmp;
    int rc = 0;
    json_object_foreach_safe(data, tmp, key, val) {
        if (json_is_string(val) && (!strncmp(key, "text/", 5) ||
                                    !strcmp(key, "application/javascript") ||
                                    !strcmp(key, "image/svg+xml")))
            rc |= split_field(data, key);
    }
    return rc;
}

/* nbformat's _rejoin_mimebundle: lists of strings under non-JSON mime types. */
static int is_json_mime(const char *k)
{
    size_t n = strlen(k);
    return !strcmp(k, "application/json") ||
           (!strncmp(k, "application/", 12) && n >= 5 && !strcmp(k + n - 5, "+json"));
}

static int all_strings(const json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (!json_is_string(v)) return 0;
    return 1;
}

static int join_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_array(v) || !all_strings(v)) return 0;
    size_t n;
    char *s = nb_join_text(v, &n);
    int rc = s ? json_object_set_new(obj, key, json_stringn(s, n)) : -1;
    free(s);
    return rc;
}

static int rejoin_mimebundle(json_t *data)
{
    if (!json_is_object(data)) return 0;
    const char *key;
    json_t *val;
    void *tmp;
    int rc = 0;
    json_object_foreach_safe(data, tmp, key, val) if (!is_json_mime(key)) rc |= join_field(data, key);
    return rc;
}

/* The text fields nbformat splits and rejoins: cell sources, attachments, rich output
 * data, and output text.  One walk serves both directions; as in nbformat, split_lines
 * touches only stream outputs' text while rejoin_lines joins any output's "text". */
struct text_ops {
    int (*field)(json_t *obj, const char *key);
    int (*bundle)(json_t *data);
    int any_output_text;
};

static int walk_text(json_t *nb, const struct text_ops *op)
{
    size_t i;
    json_t *cell;
    int rc = 0;
    json_array_foreach(json_object_get(nb, "cells"), i, cell) {
        if (!json_is_object(cell)) continue;
        rc |= op->field(cell, "source");
        const char *k;
        json_t *att;
        json_object_foreach(json_object_get(cell, "attachments"), k, att) rc |= op->bundle(att);
        const char *type = json_string_value(json_object_get(cell, "cell_type"));
        if (!type || strcmp(type, "code")) continue;
        size_t j;
        json_t *out;
        json_array_foreach(json_object_get(cell, "outputs"), j, out) {
            const char *ot = json_string_value(json_object_get(out, "output_type"));
            if (!ot || !*ot) continue;
            if (!strcmp(ot, "execute_result") || !strcmp(ot, "display_data"))
                rc |= op->bundle(json_object_get(out, "data"));
            else if (op->any_output_text || !strcmp(ot, "stream"))
                rc |= op->field(out, "text");
        }
    }
    return rc ? -1 : 0;
}

int nb_split_lines(json_t *nb)
{
    static const struct text_ops split = {split_field, split_mimebundle, 0};
    return walk_text(nb, &split);
}

int nb_rejoin_lines(json_t *nb)
{
    static const struct text_ops rejoin = {join_field, rejoin_mimebundle, 1};
    return walk_text(nb, &rejoin);
}

void nb_strip_transient(json_t *nb)
{
    json_t *md = json_object_get(nb, "metadata");
    if (json_is_object(md)) {
        json_object_del(md, "orig_nbformat");
        json_object_del(md, "orig_nbformat_minor");
        json_object_del(md, "signature");
    }
    size_t i;
    json_t *cell;
    json_array_foreach(json_object_get(nb, "cells"), i, cell) {
        json_t *cmd = json_object_get(cell, "metadata");
        if (json_is_object(cmd)) json_object_del(cmd, "trusted");
    }
}
