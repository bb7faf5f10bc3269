/* summarysvg.h — `nbstage summary --svg FILE`: the maps kept, then the picture.
 *
 * Owns: the maps kept for the picture as they are shown (with no --svg each is freed
 * once shown; S->n counts the maps shown either way), and the picture written once at
 * the end (model/stagemap.h draws it): into FILE atomically through nbformat/outfile.h
 * (a write error leaves the old FILE; a device or a FIFO, /dev/stdout, written
 * straight), or onto stdout for FILE '-', checked with the rest of stdout at the end.
 * The checks before the run (a notebook's name refused, FILE writable, --json with
 * --svg -) and leaving FILE alone when no notebook could be read are cmd_summary.c's.
 */
#ifndef NBSTAGE_SUMMARYSVG_H
#define NBSTAGE_SUMMARYSVG_H

#include "model/stagemap.h"
#include "model/summarycmd.h"

/* M, just shown: kept for the picture (--svg), else freed; counted in S->n (M taken).
 * -1 when out of memory (M freed, said). */
int summarysvg_keep(struct summary *s, struct stagemap *m);

/* The kept maps' picture into PATH ('-': stdout).  0, or -1 with the reason said. */
int summarysvg_write(const char *path, const struct summary *s);

/* Frees the kept maps. */
void summarysvg_free(struct summary *s);

#endif
