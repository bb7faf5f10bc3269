/* summaryshow.h — what `nbstage summary` writes on stdout.
 *
 * Owns: each map shown as the options say: as text (model/stagemap.h draws it; a blank
 * line between maps; the name's control characters escaped, nb_shown), or as
 * one JSON line (--json, JSON Lines), or nothing (--svg -, the picture alone); the
 * --json record of a notebook, folder or PATH that could not be read, in its map's
 * place, and the printing of any --json record as one line; and the width that text
 * fits (COLUMNS, else the terminal's; 0 into a pipe).  What the record of a notebook
 * that is not Python holds is summarylang.c's, the picture summarysvg.c's.
 */
#ifndef NBSTAGE_SUMMARYSHOW_H
#define NBSTAGE_SUMMARYSHOW_H

#include <jansson.h>

#include "model/stagemap.h"
#include "model/summarycmd.h"
#include "model/summarywindow.h"

/* The width of the terminal on stdout, or 0 when stdout is no terminal. */
int summaryshow_columns(void);

/* Shows M as the options say and keeps it for --svg (M taken); -1 when out of memory. */
int summaryshow_map(struct summary *s, struct stagemap *m);

/* --json: J, one record (taken; NULL when packing it ran out of memory), as a line of
 * its own among the maps, "notebook": PATH first, written losslessly (nb_json_path:
 * a byte that is not UTF-8 as \udcXX) in the place of any "notebook" J holds; FLAGS
 * are jansson's for the rest.  -1 when out of memory. */
int summaryshow_json_line(const char *path, json_t *j, size_t flags);

/* --json: E, an error, as a line of its own among the maps.  -1 when out of memory. */
int summaryshow_error_json(const struct summary_entry *e);

#endif
