/* labelout.c — the files `nbstage label` writes, committed together (labelout.h). */
#include "labeling/labelout.h"

#include "nbformat/notebook.h"

FILE *labelout_open(struct outfile *of, const char *path, const char *what)
{
    nb_error e;
    if (outfile_open(of, path, &e) == 0) return of->f;
    nb_say(stderr, "nbstage label: cannot write the %s: %s", what, e.msg);
    return NULL;
}

static int close_out(struct outfile *of)
{
    nb_error e;
    if (outfile_commit(of, &e) == 0) return 0;
    nb_say(stderr, "nbstage label: %s", e.msg);
    return -1;
}

/* The outputs are committed together at the end of a run, the labels last: a report
 * or SVG that cannot be written (a full disk) used to fail the run after the labels
 * had replaced the old ones.  Hence each one's buffer flushed before any is committed
 * (a write error said through close_out, which also removes that temporary). */
int labelout_flush(struct outfile *of)
{
    if (!of->f || (fflush(of->f) == 0 && !ferror(of->f))) return 0;
    close_out(of); /* fails too, with the reason */
    return -1;
}

int labelout_commit(struct outfile *of)
{
    return of->f ? close_out(of) : 0;
}
