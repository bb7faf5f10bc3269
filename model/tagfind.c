/* tagfind.c — the notebooks a `nbstage tag` run is given (see tagfind.h). */
#include "model/tagfind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nbformat/notebook.h"

static int push(struct tagfind *f, const char *path)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        char **p = realloc(f->path, cap * sizeof *p);
        if (!p) return -1;
        f->path = p;
        f->cap = cap;
    }
    if (!(f->path[f->n] = strdup(path))) return -1;
    f->n++;
    return 0;
}

/* PATH listed, unless it is a file listed already (nbformat/fileonce.h). */
static int add_path(const char *path, const char *rel, void *vfind)
{
    (void)rel;
    struct tagfind *f = vfind;
    f->found++;
    int met = fileonce_met(&f->met, path);
    if (met) return met < 0 ? -1 : 0; /* out of memory, or met again */
    return push(f, path);
}

static void walk_error(const char *path, const char *reason, void *vfind)
{
    struct tagfind *f = vfind;
    nb_say(stderr, "nbstage tag: %s: %s", path, reason); /* a name's control characters escaped */
    /* a folder is said as one, not counted as a notebook that failed (the walk knows:
     * one that cannot even be stat'd, its parent listed but not searchable, too) */
    if (nb_walk_error_is_folder()) f->folders_failed++;
    else f->failed++;
}

int tagfind_add(struct tagfind *f, const char *arg)
{
    struct stat st;
    if (!strcmp(arg, "-")) return push(f, arg); /* (given once: cmd_tag.c) */
    /* A folder named like a notebook (in any case, as the walk tells one) is a mistake
     * worth reporting, not walking. */
    if (nb_is_notebook_name(arg) && stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
        return add_path(arg, arg, f);
    long found = f->found, failed = f->failed + f->folders_failed;
    if (nb_walk(arg, add_path, walk_error, f)) return -1;
    if (f->found == found && f->failed + f->folders_failed == failed && stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
        nb_say(stderr, "nbstage tag: %s: no notebooks (.ipynb) found%s", arg, nb_walk_unfollowed());
    return 0;
}

void tagfind_free(struct tagfind *f)
{
    for (size_t i = 0; i < f->n; i++) free(f->path[i]);
    free(f->path);
    f->path = NULL;
    f->n = f->cap = 0;
    fileonce_free(&f->met);
}
