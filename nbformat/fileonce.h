/* fileonce.h — one file once: a notebook met again under another name.
 *
 * Owns: the one rule tag (model/tagfind.c), fmt, summary and ingest share for "the
 * same file" while they walk their PATHs (a folder may hold a notebook and a symlink
 * to it; `cmd dir dir/a.ipynb` names one twice; a bind mount shows a folder twice):
 * one directory entry, its realpaths equal or its last name the same in folders of
 * one device and inode, looked for only among paths whose stat gives a device and
 * inode met before, so that a walk pays one stat per file and a realpath only for
 * such pairs.  A hard link shares an inode but is another entry, another name to a
 * rename, and so another file to all of them.  A path that cannot
 * be stat'd is no file yet: each mention is kept, and each read says why.  The first
 * name met is the one kept, so the order is the walk's.
 */
#ifndef NBSTAGE_FILEONCE_H
#define NBSTAGE_FILEONCE_H

#include <stddef.h>
#include <sys/types.h>

/* {0} is an empty set. */
struct fileonce {
    struct fileonce_slot *slot; /* a hash table on (dev, ino), and on entries */
    size_t n, cap;              /* cap: a power of two, or 0 */
};

/* 1 when PATH is a file met before in O (to be passed over), else 0 and PATH noted as
 * met (a PATH that cannot be stat'd is never "met": its read says why); -1 out of
 * memory.  Called again for a PATH just replaced by a new file (a new inode: fmt's
 * rename), it notes the new one, so that a symlink to it later is still the same file. */
int fileonce_met(struct fileonce *o, const char *path);

void fileonce_free(struct fileonce *o);

#endif
