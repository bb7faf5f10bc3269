/* kernelspec_find.h — finding the kernelspec the stage kernel wraps.
 *
 * Owns: resolving a kernel name ("python3") to its kernel.json the way jupyter_client
 * does, in jupyter_core's jupyter_path() order: JUPYTER_PATH entries; the user's (the
 * data dir: JUPYTER_DATA_DIR, $XDG_DATA_HOME/jupyter or ~/.local/share/jupyter; then
 * Python's user site, $PYTHONUSERBASE or ~/.local, + share/jupyter) and the
 * environment's (the prefix of the Python that started the kernel, JPY_PARENT_PID's
 * when that is the kernel's parent: Jupyter's sys.prefix, an unactivated venv's too;
 * then VIRTUAL_ENV, CONDA_PREFIX),
 * the environment's first when JUPYTER_PREFER_ENV_PATH is set; /usr/local/share/jupyter,
 * /usr/share/jupyter; names compare
 * case-insensitively, as jupyter_client lower-cases them, and a folder without a
 * kernel.json is passed over, as jupyter_client passes over it.  Reads argv, env and
 * language (by nbformat/nblang.h's rule), and tells from argv whether the kernel is
 * ipykernel.  Two more of jupyter_client's ways: a program named "python", "python3"
 * or "python3.X" (Jupyter's version) is Jupyter's own Python, and "python3" with no
 * kernelspec anywhere is ipykernel's built-in one, run by that Python.  (Writing kernelspecs is
 * kernel/kernelspec.h's job.)
 */
#ifndef NBSTAGE_KERNELSPEC_FIND_H
#define NBSTAGE_KERNELSPEC_FIND_H

#include <stddef.h>

#include "nbformat/nblang.h"

struct found_kernelspec {
    char dir[4096];   /* the kernelspec's folder (the {resource_dir}); "" when builtin */
    char origin[4400]; /* for messages: "DIR/kernel.json", or what the builtin one is */
    int builtin;      /* ipykernel's built-in python3 kernelspec: no folder, no kernel.json */
    char prefix[4096]; /* Jupyter's sys.prefix (the {prefix}), "" when not known */
    char **argv;      /* NULL-terminated, malloc'd */
    size_t argc;
    char **env;       /* "NAME=value" strings from the spec's "env", NULL-terminated */
    size_t n_env;
    struct nb_lang lang; /* its "language": Python, or none given, or another */
};

/* 0 and fills KS; -1 with a reason in ERR ("kernelspec \"x\" not found in ...",
 * "/p/kernel.json: argv is empty"). */
int kernelspec_find(const char *name, struct found_kernelspec *ks, char *err, size_t errlen);

/* 1 when KERNELS_DIR (an existing folder) is one of the kernels/ folders searched
 * above, the same folder by another path too; 0 otherwise.  Jupyter searches the same
 * ones: a kernelspec elsewhere is not listed. */
int kernelspec_dir_searched(const char *kernels_dir);

/* Appends ARGS[0..N) to KS's argv (copies): a frontend's extra arguments, which
 * jupyter_client puts after the kernelspec's argv.  0, or -1 when out of memory. */
int kernelspec_append_args(struct found_kernelspec *ks, const char *const *args, size_t n);

void kernelspec_found_free(struct found_kernelspec *ks);

/* 1 when KS starts ipykernel: an argv entry is the module ipykernel_launcher or
 * ipykernel (`python -m ipykernel_launcher -f {connection_file}`, as `python -m
 * ipykernel install` writes it) or a path to ipykernel_launcher.py; 0 otherwise. */
int kernelspec_runs_ipykernel(const struct found_kernelspec *ks);

#endif
