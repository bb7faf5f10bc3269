/* tagfind.c — the notebooks a `nbstage tag` run is given (see tagfind.h). */
#include "model/tagfind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nbformat/notebook.h"

static int add_path(const char *path, const char *rel, void *vfind)
{
    (void)rel;
    struct tagfind *f = vfind;
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

static void walk_error(const char *path, const char *reason, void *vfind)
{
    struct tagfind *f = vfind;
    fprintf(stderr, "nbstage tag: %s: %s\n", path, reason);
    f->failed++;
}

int tagfind_add(struct tagfind *f, const char *arg)
{
    struct stat st;
    if (!strcmp(arg, "-")) return add_path(arg, arg, f);
    /* A folder named like a notebook (in any case, as the walk tells one) is a mistake
     * worth reporting, not walking. */
    if (nb_is_notebook_name(arg) && stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
        return add_path(arg, arg, f);
    return nb_walk(arg, add_path, walk_error, f) ? -1 : 0;
}

struct keyed {
    char *key;
    size_t index;
};

static int cmp_keyed(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

struct ident {
    dev_t dev;
    ino_t ino;
    size_t index;
};

static int cmp_ident(const void *a, const void *b)
{
    const struct ident *x = a, *y = b;
    if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino) return x->ino < y->ino ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

/* Two mentions are one file when their realpaths are equal.  Found cheaply: paths
 * whose stat gives different files cannot have equal realpaths, so only mentions that
 * share a device and inode with another one (or any, if some stat fails) are compared
 * by realpath, whose readlink per path component was most of the serial start of a
 * run over the corpus. */
int tagfind_dedup(struct tagfind *f)
{
    if (f->n < 2) return 0;
    size_t n = f->n;
    struct keyed *k = calloc(n, sizeof *k);
    unsigned char *dup = calloc(n, 1), *suspect = calloc(n, 1);
    struct ident *id = calloc(n, sizeof *id);
    if (!k || !dup || !suspect || !id) { free(k); free(dup); free(suspect); free(id); return -1; }
    int all = 0;
    for (size_t i = 0; i < n && !all; i++) {
        struct stat st;
        if (stat(f->path[i], &st)) all = 1;
        else id[i] = (struct ident){st.st_dev, st.st_ino, i};
    }
    if (all) {
        memset(suspect, 1, n);
    } else {
        qsort(id, n, sizeof *id, cmp_ident);
        for (size_t i = 1; i < n; i++)
            if (id[i].dev == id[i - 1].dev && id[i].ino == id[i - 1].ino)
                suspect[id[i].index] = suspect[id[i - 1].index] = 1;
    }
    int rc = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!suspect[i]) continue;
        char *real = realpath(f->path[i], NULL);
        k[m] = (struct keyed){real ? real : strdup(f->path[i]), i};
        if (!k[m++].key) rc = -1;
    }
    if (!rc && m) {
        qsort(k, m, sizeof *k, cmp_keyed);
        for (size_t i = 1; i < m; i++)
            if (!strcmp(k[i].key, k[i - 1].key)) dup[k[i].index] = 1;
        size_t w = 0;
        for (size_t i = 0; i < n; i++) {
            if (dup[i]) free(f->path[i]);
            else f->path[w++] = f->path[i];
        }
        f->n = w;
    }
    for (size_t i = 0; i < m; i++) free(k[i].key);
    free(k);
    free(dup);
    free(suspect);
    free(id);
    return rc;
}

void tagfind_free(struct tagfind *f)
{
    for (size_t i = 0; i < f->n; i++) free(f->path[i]);
    free(f->path);
    f->path = NULL;
    f->n = f->cap = 0;
}
