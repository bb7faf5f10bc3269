/* fileonce.c — one file once: a notebook met again under another name (fileonce.h). */
#include "nbformat/fileonce.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A file met, by the device and inode its path gave then; REAL its realpath, had only
 * when another path gives the same inode. */
struct fileonce_slot {
    dev_t dev;
    ino_t ino;
    char *path, *real;
};

static size_t slot_of(const struct fileonce *o, dev_t dev, ino_t ino)
{
    uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15u) ^ ((uint64_t)ino * 0xff51afd7ed558ccdu);
    return (size_t)(h ^ (h >> 29)) & (o->cap - 1);
}

static int grow(struct fileonce *o)
{
    size_t cap = o->cap ? o->cap * 2 : 1024;
    struct fileonce_slot *old = o->slot, *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    size_t oldcap = o->cap;
    o->slot = t;
    o->cap = cap;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].path) continue;
        size_t k = slot_of(o, old[i].dev, old[i].ino);
        while (t[k].path) k = (k + 1) & (cap - 1);
        t[k] = old[i];
    }
    free(old);
    return 0;
}

void fileonce_free(struct fileonce *o)
{
    for (size_t i = 0; i < o->cap; i++) {
        free(o->slot[i].path);
        free(o->slot[i].real);
    }
    free(o->slot);
    *o = (struct fileonce){0};
}

/* One directory entry under two names: equal realpaths, or the same last name in
 * folders that are one folder (a bind mount shows a folder at a second path, with
 * the same device and inode; a hard link is another entry, and so another file). */
static int same_entry(const char *a, const char *b)
{
    if (!strcmp(a, b)) return 1;
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    if (!sa || !sb || strcmp(sa, sb)) return 0;
    char *da = strndup(a, (size_t)(sa - a) + (sa == a)), *db = strndup(b, (size_t)(sb - b) + (sb == b));
    struct stat x, y;
    int same = da && db && stat(da, &x) == 0 && stat(db, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
    free(da);
    free(db);
    return same;
}

int fileonce_met(struct fileonce *o, const char *path)
{
    struct stat st;
    if (stat(path, &st)) return 0;
    if ((o->n + 1) * 2 > o->cap && grow(o)) return -1;
    char *real = NULL;
    size_t k = slot_of(o, st.st_dev, st.st_ino);
    for (; o->slot[k].path; k = (k + 1) & (o->cap - 1)) {
        struct fileonce_slot *d = &o->slot[k];
        if (d->dev != st.st_dev || d->ino != st.st_ino) continue;
        if (!real && !(real = realpath(path, NULL)) && !(real = strdup(path))) return -1;
        if (!d->real && !(d->real = realpath(d->path, NULL)) && !(d->real = strdup(d->path))) {
            free(real);
            return -1;
        }
        if (same_entry(real, d->real)) {
            free(real);
            return 1;
        }
    }
    if (!(o->slot[k].path = strdup(path))) {
        free(real);
        return -1;
    }
    o->slot[k].dev = st.st_dev;
    o->slot[k].ino = st.st_ino;
    o->slot[k].real = real;
    o->n++;
    return 0;
}
