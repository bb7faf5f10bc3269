/* kernelspec.h — writing and removing the stage kernel's kernelspec.
 *
 * Owns: where a kernelspec goes (the user's Jupyter data dir, the environment's
 * prefix, or a given prefix, as `jupyter kernelspec install` puts them), the
 * kernel.json the stage kernel is started from and the resources copied beside it
 * (kernel.js, kernel.css, logo-*), and removing a spec again (only one
 * this module wrote: its kernel.json carries metadata.nbstage; its whole folder, as
 * Jupyter removes one).  Finding the kernel
 * to wrap is kernel/kernelspec_find.h's job.
 */
#ifndef NBSTAGE_KERNELSPEC_H
#define NBSTAGE_KERNELSPEC_H

#include <jansson.h>
#include <stddef.h>

enum kernelspec_scope {
    KS_USER,       /* JUPYTER_DATA_DIR, $XDG_DATA_HOME/jupyter or ~/.local/share/jupyter */
    KS_SYS_PREFIX, /* $VIRTUAL_ENV, $CONDA_PREFIX, else /usr (Debian's sys.prefix) */
    KS_PREFIX      /* PREFIX/share/jupyter */
};

struct kernelspec_spec {
    const char *name;         /* the folder name: letters, digits, '.', '_', '-' */
    const char *display_name; /* shown in Jupyter's kernel menu */
    const char *language;     /* the wrapped kernel's language */
    const char *interrupt_mode; /* the wrapped kernel's: "message", or "signal" (NULL) */
    const json_t *metadata;   /* the wrapped kernel's metadata (e.g. "debugger"), or NULL */
    const char *kernel_path;  /* absolute path of the nbstage-kernel program */
    const char *wrap;         /* the wrapped kernelspec's name */
    const char *const *options; /* more nbstage-kernel arguments, NULL-terminated, or NULL */
    const char *resource_dir; /* the wrapped spec's folder: its kernel.js, kernel.css and
                                 logo-* files are copied, or NULL */
};

/* 1 when NAME is a usable kernel name (jupyter_client's rule: [a-zA-Z0-9._-]+). */
int kernelspec_name_ok(const char *name);

/* The kernels/ folder for SCOPE (PREFIX for KS_PREFIX) into OUT; -1 with a reason. */
int kernelspec_kernels_dir(enum kernelspec_scope scope, const char *prefix, char *out,
                           size_t cap, char *err, size_t errlen);

/* kernel.json's content for SPEC.  New reference; NULL when out of memory. */
json_t *kernelspec_json(const struct kernelspec_spec *spec);

/* Creates KERNELS_DIR/NAME (and its parents) and writes kernel.json atomically, plus
 * the resources (only those of RESOURCE_DIR: none left from an earlier install).  Replaces an earlier nbstage spec of that name; refuses to overwrite a
 * kernelspec it did not write.  0 and the spec's folder in DIR_OUT, or -1 with a
 * reason in ERR. */
int kernelspec_install(const char *kernels_dir, const struct kernelspec_spec *spec,
                       char *dir_out, size_t dir_cap, char *err, size_t errlen);

/* What kernelspec_remove removed besides the spec's own files. */
struct kernelspec_removal {
    int link;          /* the spec's folder was a symbolic link: the link alone went */
    int n_others;      /* how many other files or folders its folder held, removed with it */
    int n_listed;      /* how many of them OTHERS names (the first, as many as fit) */
    char others[1024]; /* "" or their names: "notes.txt, old/" (a folder's ends in '/') */
};

/* Removes KERNELS_DIR/NAME when it is an nbstage spec (its kernel.json is ours), as
 * `jupyter kernelspec remove` removes a kernelspec: the whole folder, whatever else it
 * holds (said in R->others), never following a symbolic link in it nor emptying a
 * folder mounted in or at it (a bind mount of the same file system too); a folder that is
 * itself a symbolic link is removed as the link alone (R->link).  kernel.json goes
 * last: a folder that cannot be emptied stays a kernelspec.  R may be NULL.  0 when
 * removed, 1 when there was none, -1 with a reason: a mount in it, folders nested too
 * deep, or anything the walk ahead of the removal cannot read, and nothing is removed;
 * or a file would not go, and R says what went before it stopped. */
int kernelspec_remove(const char *kernels_dir, const char *name, struct kernelspec_removal *r, char *err,
                      size_t errlen);

#endif
