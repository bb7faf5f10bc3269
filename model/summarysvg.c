/* summarysvg.c — `nbstage summary --svg`: the maps kept, then the picture
 * (summarysvg.h). */
#include "model/summarysvg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbformat/notebook.h"
#include "nbformat/outfile.h"

int summarysvg_keep(struct summary *s, struct stagemap *m)
{
    if (!s->keep) {
        stagemap_free(m);
        s->n++;
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct stagemap *p = realloc(s->maps, cap * sizeof *p);
        if (!p) {
            stagemap_free(m);
            fprintf(stderr, "nbstage summary: out of memory\n");
            return -1;
        }
        s->maps = p;
        s->cap = cap;
    }
    s->maps[s->n++] = *m;
    return 0;
}

/* --svg: written atomically (outfile, nbformat/outfile.h); into a device or a FIFO
 * (/dev/stdout) straight. */
int summarysvg_write(const char *path, const struct summary *s)
{
    if (!strcmp(path, "-")) { /* stdout, checked with the rest of it at the end */
        stagemap_write_svg(stdout, s->maps, s->n);
        return 0;
    }
    struct outfile o;
    nb_error err;
    int rc = outfile_open(&o, path, &err);
    if (rc == 0) {
        stagemap_write_svg(o.f, s->maps, s->n); /* a write error: found by the commit */
        rc = outfile_commit(&o, &err);
    }
    if (rc) nb_say(stderr, "nbstage summary: %s", err.msg);
    return rc;
}

void summarysvg_free(struct summary *s)
{
    for (size_t i = 0; s->keep && i < s->n; i++) stagemap_free(&s->maps[i]);
    free(s->maps);
}
