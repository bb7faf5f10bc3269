/* nbv3.c — nbformat 3 to 4, in memory, for the commands that only read
 * (ingest, classify, summary; NB_ALLOW_V3), as nbformat.v4.convert.upgrade does.
 *
 * Owns: worksheets flattened, code cells' input/prompt_number/language, headings to
 * markdown, v3 outputs (pyout, pyerr, stream names, mime aliases).
 */
#include <stdlib.h>
#include <string.h>

#include "nbformat/nbinternal.h"
#include "nbformat/jsonload.h"

/* ---------------------------------------------------------------- v3 upgrade */

/* Set when a change below could not be made for want of memory: the upgrade then
 * fails, rather than go on with a cell's source, or a cell, lost in silence. */
static _Thread_local int short_of_memory;

static void put(json_t *obj, const char *key, json_t *v)
{
    if (json_object_set_new(obj, key, v)) short_of_memory = 1;
}

static void put_shared(json_t *obj, const char *key, json_t *v)
{
    if (json_object_set(obj, key, v)) short_of_memory = 1;
}

static const struct { const char *alias, *mime; } mime_map[] = {
    {"text", "text/plain"},       {"html", "text/html"},
    {"svg", "image/svg+xml"},     {"png", "image/png"},
    {"jpeg", "image/jpeg"},       {"latex", "text/latex"},
    {"json", "application/json"}, {"javascript", "application/javascript"},
};

static void to_mime_keys(json_t *d)
{
    if (!json_is_object(d)) return;
    for (size_t i = 0; i < sizeof mime_map / sizeof mime_map[0]; i++) {
        json_t *v = json_object_get(d, mime_map[i].alias);
        if (!v) continue;
        put_shared(d, mime_map[i].mime, v);
        json_object_del(d, mime_map[i].alias);
    }
}

/* Moves KEY of OBJ to NEWKEY (or sets NEWKEY to DEFLT when KEY is absent). */
static void rename_key(json_t *obj, const char *key, const char *newkey, json_t *deflt)
{
    json_t *v = json_object_get(obj, key);
    if (v) {
        json_incref(v);
        json_object_del(obj, key);
        put(obj, newkey, v);
        json_decref(deflt);
    } else {
        put(obj, newkey, deflt);
    }
}

static void upgrade_output(json_t *out)
{
    const char *ot = json_string_value(json_object_get(out, "output_type"));
    if (!ot) return;
    if (!strcmp(ot, "pyout") || !strcmp(ot, "display_data")) {
        if (!json_is_object(json_object_get(out, "metadata")))
            put(out, "metadata", json_object());
        if (!strcmp(ot, "pyout")) {
            put(out, "output_type", json_string("execute_result"));
            rename_key(out, "prompt_number", "execution_count", json_null());
        }
        json_t *data = json_object();
        const char *k;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(out, tmp, k, v) {
            if (!strcmp(k, "output_type") || !strcmp(k, "execution_count") ||
                !strcmp(k, "metadata"))
                continue;
            put_shared(data, k, v);
            json_object_del(out, k);
        }
        to_mime_keys(data);
        to_mime_keys(json_object_get(out, "metadata"));
        /* v3 kept application/json as a string of JSON */
        json_t *js = json_object_get(data, "application/json");
        if (json_is_string(js)) {
            json_t *parsed = nb_json_loadb(json_string_value(js), json_string_length(js),
                                        JSON_DECODE_ANY, NULL);
            if (parsed) put(data, "application/json", parsed);
        }
        put(out, "data", data);
    } else if (!strcmp(ot, "pyerr")) {
        put(out, "output_type", json_string("error"));
    } else if (!strcmp(ot, "stream")) {
        rename_key(out, "stream", "name", json_string("stdout"));
    }
}

/* Python's " ".join(s.splitlines()) for a v3 heading. */
static char *heading_line(const json_t *src)
{
    size_t n;
    char *s = nb_join_text(src, &n);
    if (!s) return NULL;
    char *o = malloc(n + 1);
    if (!o) { free(s); return NULL; }
    size_t on = 0;
    int pending_space = 0;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = nb_line_break_len(u, n, i);
        if (k) {
            i += k;
            if (i < n) pending_space = 1;
            continue;
        }
        if (pending_space) { o[on++] = ' '; pending_space = 0; }
        o[on++] = s[i++];
    }
    o[on] = 0;
    free(s);
    return o;
}

static void upgrade_cell(json_t *cell)
{
    if (!json_is_object(json_object_get(cell, "metadata")))
        put(cell, "metadata", json_object());
    const char *t = json_string_value(json_object_get(cell, "cell_type"));
    if (!t) return;
    if (!strcmp(t, "code")) {
        json_object_del(cell, "language");
        json_t *collapsed = json_object_get(cell, "collapsed");
        if (collapsed) {
            put_shared(json_object_get(cell, "metadata"), "collapsed", collapsed);
            json_object_del(cell, "collapsed");
        }
        rename_key(cell, "input", "source", json_string(""));
        rename_key(cell, "prompt_number", "execution_count", json_null());
        json_t *outs = json_object_get(cell, "outputs");
        if (!json_is_array(outs)) put(cell, "outputs", json_array());
        size_t i;
        json_t *o;
        json_array_foreach(json_object_get(cell, "outputs"), i, o) upgrade_output(o);
    } else if (!strcmp(t, "heading")) {
        json_t *lv = json_object_get(cell, "level");
        json_int_t level = json_is_integer(lv) ? json_integer_value(lv) : 1;
        if (level < 0) level = 0;
        if (level > 64) level = 64; /* a heading deeper than this is nonsense, not data */
        char *line = heading_line(json_object_get(cell, "source"));
        if (!line) return;
        size_t n = strlen(line);
        char *src = malloc((size_t)level + n + 2);
        if (!src) short_of_memory = 1;
        if (src) {
            memset(src, '#', (size_t)level);
            src[level] = ' ';
            memcpy(src + level + 1, line, n + 1);
            put(cell, "source", json_string(src));
        }
        free(src);
        free(line);
        put(cell, "cell_type", json_string("markdown"));
        json_object_del(cell, "level");
    } else if (!strcmp(t, "html")) {
        put(cell, "cell_type", json_string("markdown"));
    }
}

/* nbformat.v4.convert.upgrade from 3, in memory.  Unlike Python it gives no random
 * cell ids (ingest must be reproducible), so the result is marked 4.4, the last minor
 * without ids. */
int nb_upgrade_v3(json_t *nb, const char *name, nb_error *err)
{
    short_of_memory = 0;
    json_t *ws = json_object_get(nb, "worksheets");
    if (!json_is_array(ws)) { /* none at all: not read as an empty notebook (nbformat refuses it) */
        nb_set_error(err, "%s: nbformat 3: %s", name, ws ? "worksheets is not a list" : "no \"worksheets\" list");
        return -1;
    }
    json_t *md = json_object_get(nb, "metadata");
    if (!json_is_object(md)) {
        md = json_object();
        put(nb, "metadata", md);
    }
    /* Python: orig_nbformat or 3, orig_nbformat_minor or 0 */
    json_t *on = json_object_get(nb, "orig_nbformat");
    json_t *onm = json_object_get(nb, "orig_nbformat_minor");
    put(md, "orig_nbformat", json_is_integer(on) && json_integer_value(on)
                                                 ? json_incref(on) : json_integer(3));
    put(md, "orig_nbformat_minor", json_is_integer(onm) && json_integer_value(onm)
                                                       ? json_incref(onm) : json_integer(0));
    json_object_del(nb, "orig_nbformat");
    json_object_del(nb, "orig_nbformat_minor");
    put(nb, "nbformat", json_integer(4));
    put(nb, "nbformat_minor", json_integer(4));
    json_t *cells = json_array();
    if (!cells) short_of_memory = 1;
    size_t i, j;
    json_t *w, *cell;
    json_array_foreach(ws, i, w) {
        json_t *wc = json_object_get(w, "cells");
        if (!json_is_array(wc)) {
            nb_set_error(err, "%s: nbformat 3: worksheets[%zu].cells is not a list", name, i);
            json_decref(cells);
            return -1;
        }
        json_array_foreach(wc, j, cell) {
            if (!json_is_object(cell)) {
                nb_set_error(err, "%s: nbformat 3: worksheets[%zu].cells[%zu] is not an object",
                        name, i, j);
                json_decref(cells);
                return -1;
            }
            upgrade_cell(cell);
            if (json_array_append(cells, cell)) short_of_memory = 1;
        }
    }
    put(nb, "cells", cells);
    json_object_del(nb, "worksheets");
    json_object_del(md, "name");
    json_object_del(md, "signature");
    if (short_of_memory) {
        nb_set_error(err, "%s: out of memory", name);
        return -1;
    }
    return 0;
}
