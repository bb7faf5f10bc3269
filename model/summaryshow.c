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

/* --json: J, one record, printed as a line of its own (compact, its keys in the order
 * packed) and released; J NULL (its packing ran out of memory) or no room to dump it:
 * nothing printed, -1. */
int summaryshow_json_line(json_t *j)
{
    char *line = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (line) puts(line);
    free(line);
    json_decref(j);
    return line ? 0 : -1;
}

/* --json: E, an error, as a line of its own among the maps, so that a script reading
 * stdout knows which notebooks are missing from it and why: {"notebook": PATH,
 * "error": REASON}.  -1 when out of memory. */
int summaryshow_error_json(const struct summary_entry *e)
{
    char *path = nb_utf8_lossy(e->path), *reason = nb_utf8_lossy(e->message + e->reason);
    int r = summaryshow_json_line(
        path && reason ? json_pack("{s:s, s:s}", "notebook", path, "error", reason) : NULL);
    free(path);
    free(reason);
    return r;
}

/* Shows M as the options say and keeps it for --svg (M taken); -1 when out of memory. */
int summaryshow_map(struct summary *s, struct stagemap *m)
{
    if (s->svg_only) {
        /* nothing printed: the maps are kept for the picture */
    } else if (s->json) {
        json_t *j = stagemap_json(m);
        char *line = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                           JSON_REAL_PRECISION(6))
                       : NULL;
        json_decref(j);
        if (!line) {
            fprintf(stderr, "nbstage summary: %s: out of memory\n", m->name);
            stagemap_free(m);
            return -1;
        }
        puts(line);
        free(line);
    } else {
        if (s->n) putchar('\n');
        /* a name's control characters (an escape sequence in a crawled file's name)
         * shown as '?' on a terminal, as ls shows them, not obeyed by it */
        char *name = m->name, *shown = s->tty ? strdup(name) : NULL;
        if (shown) {
            shown[nb_unctrl(shown, strlen(shown), 0)] = '\0';
            m->name = shown;
        }
        stagemap_print_text(stdout, m, s->color, s->columns);
        m->name = name;
        free(shown);
    }
    return summarysvg_keep(s, m);
}
