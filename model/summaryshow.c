/* summaryshow.c — what `nbstage summary` writes on stdout (summaryshow.h). */
#include "model/summaryshow.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/summarysvg.h"
#include "nbformat/notebook.h"

/* The width of the terminal on stdout (COLUMNS, as the shell sets it, else the
 * terminal's own), or 0 when stdout is no terminal: piped text keeps its rows of 60
 * and its one-line sequence whatever the width. */
int summaryshow_columns(void)
{
    if (!isatty(STDOUT_FILENO)) return 0;
    int c = nb_env_columns();
    return c ? c : nb_tty_columns(STDOUT_FILENO);
}

/* --json: J (taken), one record, printed as a line of its own: "notebook": PATH first,
 * then J's other keys in the order packed, compact (FLAGS: jansson's, for the rest).
 * PATH is written by nb_json_path, which loses nothing (a byte of a file name that is
 * not UTF-8 is \udcXX, as Python's json writes os.fsdecode's), where jansson, which
 * holds UTF-8 only, would have needed U+FFFD.  J NULL (its packing ran out of memory)
 * or no room to dump it: nothing printed, -1. */
int summaryshow_json_line(const char *path, json_t *j, size_t flags)
{
    char *rest = NULL, *name = NULL;
    if (j) {
        json_object_del(j, "notebook"); /* (stagemap_json's, U+FFFD for such a byte) */
        rest = json_dumps(j, flags | JSON_COMPACT | JSON_PRESERVE_ORDER);
        name = nb_json_path(path);
    }
    int ok = rest && name;
    if (ok) printf("{\"notebook\":%s%s%s\n", name, rest[1] == '}' ? "" : ",", rest + 1);
    free(rest);
    free(name);
    json_decref(j);
    return ok ? 0 : -1;
}

/* --json: E, an error, as a line of its own among the maps, so that a script reading
 * stdout knows which notebooks are missing from it and why: {"notebook": PATH,
 * "error": REASON}.  -1 when out of memory. */
int summaryshow_error_json(const struct summary_entry *e)
{
    char *reason = nb_utf8_lossy(e->message + e->reason);
    int r = summaryshow_json_line(e->path, reason ? json_pack("{s:s}", "error", reason) : NULL, 0);
    free(reason);
    return r;
}

/* Shows M as the options say and keeps it for --svg (M taken); -1 when out of memory. */
int summaryshow_map(struct summary *s, struct stagemap *m)
{
    if (s->svg_only) {
        /* nothing printed: the maps are kept for the picture */
    } else if (s->json) {
        if (summaryshow_json_line(m->name, stagemap_json(m), JSON_REAL_PRECISION(6))) {
            nb_say(stderr, "nbstage summary: %s: out of memory", m->name);
            stagemap_free(m);
            return -1;
        }
    } else {
        if (s->n) putchar('\n');
        /* a name's control characters (an escape sequence in a crawled file's name, a
         * newline) escaped, as every message shows them (nb_shown): not obeyed by a
         * terminal, not splitting the map's first line */
        char *name = m->name, buf[NB_SHOWN_MAX];
        m->name = (char *)nb_shown(name, buf, sizeof buf);
        stagemap_print_text(stdout, m, s->color, s->columns);
        m->name = name;
    }
    return summarysvg_keep(s, m);
}
