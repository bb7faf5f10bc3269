/* summarylang.h — `nbstage summary` on a notebook that is not Python
 * (nbformat/nblang.h: R, Julia, ...).
 *
 * Owns: what summary says of it, the model reading Python only: without --saved, no
 * map, a note on stderr in its place (not an error, exit 0) and with --json a record
 * of its own among the maps, {"notebook": PATH, "language": LANG, "skipped": "not
 * Python"}; with --saved, the map of what is saved in it, the note before it.  Where
 * the language is found (the byte scanner's metadata or the tree) is summaryread.c's.
 */
#ifndef NBSTAGE_SUMMARYLANG_H
#define NBSTAGE_SUMMARYLANG_H

#include "model/summarycmd.h"
#include "model/summarywindow.h"
#include "nbformat/nblang.h"

/* E, the notebook NAME, is not Python: E's note (--saved) or its message in the map's
 * place.  -1 when out of memory. */
int summarylang_note(struct summary *s, struct summary_entry *e, const char *name,
                     const struct nb_lang *lang);

/* --json: E, a notebook that is not Python, as a line of its own among the maps.  -1
 * when out of memory. */
int summarylang_json(const struct summary_entry *e);

#endif
