/* summarylang.c — `nbstage summary` on a notebook that is not Python (summarylang.h). */
#include "model/summarylang.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/summaryshow.h"
#include "nbformat/notebook.h"

/* E, the notebook NAME, is not Python (nbformat/nblang.h): the model's stages would
 * mean nothing, so no map, a note in its place (not an error).  With --saved the map
 * of what is saved is shown, the note before it.  -1 when out of memory. */
int summarylang_note(struct summary *s, struct summary_entry *e, const char *name,
                     const struct nb_lang *lang)
{
    static const char map[] = "%s: not Python (%s): no stage map (the model reads Python)";
    static const char saved[] = "%s: not Python (%s): the stages saved in it, as saved";
    const char *fmt = s->saved ? saved : map;
    size_t n = strlen(fmt) + strlen(name) + strlen(lang->name) + 1;
    char *m = malloc(n);
    if (!m) return -1;
    snprintf(m, n, fmt, name, lang->name);
    if (s->saved) {
        e->note = m;
    } else {
        e->message = m;
        e->not_python = 1;
        memcpy(e->lang, lang->name, sizeof e->lang);
    }
    return 0;
}

/* --json: E, a notebook that is not Python, as a line of its own among the maps:
 * {"notebook": PATH, "language": LANG, "skipped": "not Python"}.  -1 when out of
 * memory. */
int summarylang_json(const struct summary_entry *e)
{
    return summaryshow_json_line(e->path, json_pack("{s:s, s:s}", "language", e->lang, "skipped",
                                                    "not Python"), 0);
}
