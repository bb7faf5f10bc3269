/* kernelspec_find.c — resolving the wrapped kernel's kernelspec (see kernelspec_find.h). */
#include "kernel/kernelspec_find.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbformat/notebook.h" /* nb_json_reason */
#include "nbformat/jsonload.h"

/* the kernel jupyter_client provides when no kernelspec of that name is installed */
#define NATIVE_KERNEL_NAME "python3"

/* OUT = A + B when it fits in CAP; -1 otherwise (overlong paths are skipped, not cut). */
static int join(char *out, size_t cap, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la + lb + 1 > cap) return -1;
    memcpy(out, a, la);
    memcpy(out + la, b, lb + 1);
    return 0;
}

/* ARG0 of process PID made absolute, in place, as the system found it: a path with a
 * slash from PID's working folder (`venv/bin/python -m notebook`), a bare name from the
 * PATH (ours is the server's: `python -m notebook` in an activated venv), the first
 * entry whose file is PID's program (a venv's python is a symlink to it; a relative or
 * empty entry is PID's working folder's, as its shell read it).  0 when done. */
static int absolute_arg0(long pid, char *arg0, size_t cap)
{
    char full[4096], link[64], cwd[4096];
    snprintf(link, sizeof link, "/proc/%ld/cwd", pid);
    ssize_t k = readlink(link, cwd, sizeof cwd - 1);
    cwd[k > 0 ? k : 0] = 0;
    if (strchr(arg0, '/')) {
        if (!cwd[0] || snprintf(full, sizeof full, "%s/%s", cwd, arg0) >= (int)sizeof full) return -1;
    } else {
        struct stat exe, st;
        snprintf(link, sizeof link, "/proc/%ld/exe", pid);
        if (stat(link, &exe)) return -1;
        const char *path = getenv("PATH");
        int found = 0;
        while (path && !found) {
            const char *colon = strchr(path, ':');
            int len = colon ? (int)(colon - path) : (int)strlen(path);
            while (len > 1 && path[len - 1] == '/') len--; /* "~/venv/bin/" */
            int rel = len == 0 || path[0] != '/';
            if ((!rel || cwd[0]) &&
                snprintf(full, sizeof full, "%s%s%.*s%s%s", rel ? cwd : "", rel ? "/" : "", len, path,
                         len ? "/" : "", arg0) < (int)sizeof full &&
                stat(full, &st) == 0 && st.st_dev == exe.st_dev && st.st_ino == exe.st_ino)
                found = 1;
            path = colon ? colon + 1 : NULL;
        }
        if (!found) return -1;
    }
    if (strlen(full) >= cap) return -1;
    strcpy(arg0, full);
    return 0;
}

/* Jupyter's sys.executable: the program of the Python that started us, when
 * JPY_PARENT_PID names it (as jupyter_client does) and its command line starts with a
 * path to a python, made absolute (absolute_arg0).  A venv's python is a symlink out
 * of it, so the path as written, not /proc's exe, is the one Python took for
 * sys.executable.  VERSION gets its "3.11" ("" when neither that path's name nor the
 * program's real name tells it).  0 when found.
 * JPY_PARENT_PID counts only when it is our parent (getppid(), the process ipykernel's
 * ParentPollerUnix watches): the variable is inherited, so a kernel jupyter_client
 * started with independent=True (which sets none) or from a shell that has one from
 * an earlier kernel would take another process's program, and that process's prefix
 * for the data folders (parent_python_prefix), for Jupyter's.  Then it is as with no
 * JPY_PARENT_PID: no Python that started us. */
static int parent_python(char *out, size_t cap, char *version, size_t vcap)
{
    const char *v = getenv("JPY_PARENT_PID");
    long pid = v ? strtol(v, NULL, 10) : 0;
    if (pid <= 1 || pid != (long)getppid()) return -1;
    char path[64], arg0[4096], real[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(arg0, 1, sizeof arg0 - 1, f);
    fclose(f);
    arg0[n] = 0; /* the first argument ends at its NUL */
    if (arg0[0] != '/' && absolute_arg0(pid, arg0, sizeof arg0)) return -1;
    const char *base = strrchr(arg0, '/');
    if (arg0[0] != '/' || !base || strncmp(base + 1, "python", 6) != 0) return -1;
    /* the version from the name run (python3.11), else from the program it is */
    unsigned major, minor;
    char tail;
    snprintf(path, sizeof path, "/proc/%ld/exe", pid);
    const char *named = base + 1, *exe = realpath(path, real) ? strrchr(real, '/') : NULL;
    if (sscanf(named, "python%u.%u%c", &major, &minor, &tail) != 2 && exe) named = exe + 1;
    if (sscanf(named, "python%u.%u%c", &major, &minor, &tail) == 2) snprintf(version, vcap, "%u.%u", major, minor);
    else if (vcap) version[0] = 0;
    return join(out, cap, arg0, "");
}

/* The sys.prefix of the Python that started us (parent_python): PREFIX/bin/pythonX ->
 * PREFIX, whose share/jupyter Jupyter searches (ENV_JUPYTER_PATH) even when its virtual
 * environment was never activated (no VIRTUAL_ENV: `venv/bin/jupyter notebook`, run
 * from its shebang).  0 when found. */
static int parent_python_prefix(char *out, size_t cap)
{
    char python[4096], version[16];
    if (parent_python(python, sizeof python, version, sizeof version)) return -1;
    *strrchr(python, '/') = 0;
    char *prefix_end = strrchr(python, '/');
    if (!prefix_end || strcmp(prefix_end, "/bin") != 0) return -1;
    *prefix_end = 0;
    if (!python[0]) return -1;
    return join(out, cap, python, "");
}

/* jupyter_client's format_kernel_cmd: a kernelspec whose program is "python",
 * "python3" or "python3.11" (its own version) runs Jupyter's own Python (its
 * sys.executable) instead.  ipykernel's wheel writes `"argv": ["python", "-m",
 * "ipykernel_launcher", ...]` into a venv, and a Jupyter started from an unactivated
 * venv (`venv/bin/jupyter notebook`) would otherwise run the PATH's python: another
 * environment, or none (Debian has no "python").  ARG0 replaced in place (malloc'd);
 * nothing done without a Python that started us. */
static int use_jupyters_python(char **arg0)
{
    char python[4096], version[16], name[32];
    if (parent_python(python, sizeof python, version, sizeof version)) return 0;
    const char *major_end = strchr(version, '.');
    int major_len = major_end ? (int)(major_end - version) : 1;
    int same = strcmp(*arg0, "python") == 0;
    snprintf(name, sizeof name, "python%.*s", major_len, version[0] ? version : "3");
    same = same || strcmp(*arg0, name) == 0;
    snprintf(name, sizeof name, "python%s", version);
    same = same || (version[0] && strcmp(*arg0, name) == 0);
    if (!same) return 0;
    char *copy = strdup(python);
    if (!copy) return -1;
    free(*arg0);
    *arg0 = copy;
    return 0;
}

/* jupyter_core's envset of a variable's value V: set unless no, n, false, off, 0, 0.0 */
static int env_set(const char *v)
{
    static const char *const no[] = {"no", "n", "false", "off", "0", "0.0"};
    if (!v) return 0;
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (strcasecmp(v, no[i]) == 0) return 0;
    return 1;
}

struct dir_list {
    char (*d)[4096];
    size_t n, cap;
};

/* Adds DIR unless it is empty, too long or already listed (Jupyter lists none twice
 * where it matters: the user site dir only when it is not the data dir). */
static void add_dir(struct dir_list *l, const char *a, const char *b)
{
    char dir[4096];
    if (!a || !a[0] || l->n == l->cap || join(dir, sizeof dir, a, b)) return;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->d[i], dir) == 0) return;
    memcpy(l->d[l->n++], dir, strlen(dir) + 1);
}

/* The data directories, most specific first, in jupyter_core's jupyter_path() order:
 * JUPYTER_PATH's entries; the user's (the data dir, then Python's user site,
 * $PYTHONUSERBASE or ~/.local, + share/jupyter, unless PYTHONNOUSERSITE) and the
 * environment's (the prefix of the Python that started us; VIRTUAL_ENV, CONDA_PREFIX),
 * the environment's first when JUPYTER_PREFER_ENV_PATH is set; then the system's.  As
 * many as there are (a fixed 9 once left the system folders out after 6 JUPYTER_PATH
 * entries).  Malloc'd in L->d; -1 when out of memory. */
static int data_dirs(struct dir_list *l)
{
    const char *jp = getenv("JUPYTER_PATH");
    size_t entries = 1;
    for (const char *p = jp; p && *p; p++) entries += *p == ':';
    l->n = 0;
    l->cap = entries + 8;
    if (!(l->d = malloc(l->cap * sizeof *l->d))) return -1;
    while (jp && *jp) {
        const char *colon = strchr(jp, ':');
        size_t len = colon ? (size_t)(colon - jp) : strlen(jp);
        while (len > 1 && jp[len - 1] == '/') len--; /* Jupyter strips a trailing separator */
        char one[4096];
        if (len > 0 && len < sizeof one) {
            memcpy(one, jp, len);
            one[len] = 0;
            add_dir(l, one, "");
        }
        jp = colon ? colon + 1 : NULL;
    }
    const char *home = getenv("HOME"), *dd = getenv("JUPYTER_DATA_DIR"), *xdg = getenv("XDG_DATA_HOME"),
               *userbase = getenv("PYTHONUSERBASE"), *nousersite = getenv("PYTHONNOUSERSITE");
    char prefix[4096];
    int have_prefix = parent_python_prefix(prefix, sizeof prefix) == 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == env_set(getenv("JUPYTER_PREFER_ENV_PATH"))) { /* the user's */
            if (dd && *dd) add_dir(l, dd, "");
            else if (xdg && *xdg) add_dir(l, xdg, "/jupyter");
            else add_dir(l, home, "/.local/share/jupyter");
            if (!(nousersite && *nousersite)) {
                if (userbase && *userbase) add_dir(l, userbase, "/share/jupyter");
                else add_dir(l, home, "/.local/share/jupyter");
            }
        } else { /* the environment's, but for the system's below */
            const char *envs[3] = {have_prefix ? prefix : NULL, getenv("VIRTUAL_ENV"), getenv("CONDA_PREFIX")};
            for (int i = 0; i < 3; i++) {
                char dir[4096];
                if (!envs[i] || join(dir, sizeof dir, envs[i], "/share/jupyter")) continue;
                if (strcmp(dir, "/usr/local/share/jupyter") && strcmp(dir, "/usr/share/jupyter")) add_dir(l, dir, "");
            }
        }
    }
    add_dir(l, "/usr/local/share/jupyter", "");
    add_dir(l, "/usr/share/jupyter", "");
    return 0;
}

/* The entry of KDIR named NAME, compared case-insensitively, that is a kernelspec: a
 * folder holding a kernel.json file (jupyter_client's _is_kernel_dir: a folder without
 * one is passed over, for the next data dir's); 0 when found. */
static int find_entry(const char *kdir, const char *name, char *out, size_t outlen)
{
    DIR *d = opendir(kdir);
    if (!d) return -1;
    struct dirent *e;
    int rc = -1;
    while ((e = readdir(d))) {
        if (strcasecmp(e->d_name, name) == 0) {
            char sub[300], json[4096];
            struct stat st;
            if (join(sub, sizeof sub, "/", e->d_name) == 0 &&
                join(out, outlen, kdir, sub) == 0 && stat(out, &st) == 0 && S_ISDIR(st.st_mode) &&
                join(json, sizeof json, out, "/kernel.json") == 0 && stat(json, &st) == 0 &&
                S_ISREG(st.st_mode)) { rc = 0; break; }
        }
    }
    closedir(d);
    return rc;
}

static char **string_array(json_t *arr, size_t *n)
{
    *n = json_array_size(arr);
    char **out = calloc(*n + 1, sizeof *out);
    if (!out) return NULL;
    for (size_t i = 0; i < *n; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (!s || !(out[i] = strdup(s))) {
            for (size_t j = 0; j < i; j++) free(out[j]);
            free(out);
            return NULL;
        }
    }
    return out;
}

static int load_spec(const char *dir, struct found_kernelspec *ks, char *err, size_t errlen)
{
    char path[4096];
    if (join(path, sizeof path, dir, "/kernel.json")) {
        snprintf(err, errlen, "%.200s...: path too long", dir);
        return -1;
    }
    json_error_t je;
    json_t *root = nb_json_load_file(path, 0, &je);
    if (!root) {
        nb_json_reason(&je); /* one line, no escapes */
        snprintf(err, errlen, "%s: %s", path, je.text);
        return -1;
    }
    int rc = -1;
    json_t *argv = json_object_get(root, "argv"), *env = json_object_get(root, "env");
    if (!json_is_array(argv) || json_array_size(argv) == 0) {
        snprintf(err, errlen, "%s: \"argv\" is not a non-empty array", path);
        goto out;
    }
    if (!(ks->argv = string_array(argv, &ks->argc))) {
        snprintf(err, errlen, "%s: \"argv\" has a non-string entry", path);
        goto out;
    }
    if (use_jupyters_python(&ks->argv[0])) { snprintf(err, errlen, "%s: out of memory", path); goto out; }
    ks->env = calloc(json_object_size(env) + 1, sizeof *ks->env);
    if (!ks->env) { snprintf(err, errlen, "%s: out of memory", path); goto out; }
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v) {
        if (!json_is_string(v)) continue;
        size_t len = strlen(k) + json_string_length(v) + 2;
        char *kv = malloc(len);
        if (!kv) { snprintf(err, errlen, "%s: out of memory", path); goto out; }
        snprintf(kv, len, "%s=%s", k, json_string_value(v));
        ks->env[ks->n_env++] = kv;
    }
    const json_t *lang = json_object_get(root, "language");
    nb_lang_of_name(json_string_value(lang), json_string_length(lang), &ks->lang);
    join(ks->dir, sizeof ks->dir, dir, ""); /* fits: dir + "/kernel.json" did */
    join(ks->origin, sizeof ks->origin, path, "");
    if (parent_python_prefix(ks->prefix, sizeof ks->prefix)) ks->prefix[0] = 0;
    rc = 0;
out:
    json_decref(root);
    if (rc) kernelspec_found_free(ks);
    return rc;
}

/* jupyter_client's native kernel: with no "python3" kernelspec in any data folder, it
 * lists ipykernel's own (KernelSpecManager.ensure_native_kernel), whose argv is its
 * sys.executable -m ipykernel_launcher (ipykernel.kernelspec.get_kernel_dict).  So
 * does the stage kernel, with Jupyter's Python (parent_python), or the PATH's python3
 * when no Python started it.  SEARCHED names the folders in the messages. */
static int native_spec(struct found_kernelspec *ks, const char *searched, char *err, size_t errlen)
{
    char python[4096], version[16];
    static const char *const rest[] = {"-m", "ipykernel_launcher", "-f", "{connection_file}"};
    const char *program = parent_python(python, sizeof python, version, sizeof version) ? "python3" : python;
    ks->argc = 1 + sizeof rest / sizeof *rest;
    ks->argv = calloc(ks->argc + 1, sizeof *ks->argv);
    ks->env = calloc(1, sizeof *ks->env);
    int ok = ks->argv && ks->env && (ks->argv[0] = strdup(program));
    for (size_t i = 1; ok && i < ks->argc; i++) ok = (ks->argv[i] = strdup(rest[i - 1])) != NULL;
    if (!ok) {
        kernelspec_found_free(ks);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    nb_lang_of_name("python", 6, &ks->lang);
    ks->builtin = 1;
    snprintf(ks->origin, sizeof ks->origin, "ipykernel's built-in python3 kernelspec (none in %s)", searched);
    if (parent_python_prefix(ks->prefix, sizeof ks->prefix)) ks->prefix[0] = 0;
    return 0;
}

int kernelspec_find(const char *name, struct found_kernelspec *ks, char *err, size_t errlen)
{
    memset(ks, 0, sizeof *ks);
    if (!name[0] || strchr(name, '/')) {
        snprintf(err, errlen, "kernelspec name \"%s\" is not valid", name);
        return -1;
    }
    struct dir_list dirs;
    if (data_dirs(&dirs)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char searched[2048] = "";
    for (size_t i = 0; i < dirs.n; i++) {
        char kdir[4096], dir[4096];
        if (join(kdir, sizeof kdir, dirs.d[i], "/kernels")) continue;
        if (find_entry(kdir, name, dir, sizeof dir) == 0) {
            free(dirs.d);
            return load_spec(dir, ks, err, errlen);
        }
        size_t used = strlen(searched);
        if (used + strlen(kdir) + 3 < sizeof searched)
            snprintf(searched + used, sizeof searched - used, "%s%.*s", used ? ", " : "",
                     (int)(sizeof searched - used - 3), kdir);
    }
    free(dirs.d);
    /* in lower case only: jupyter_client finds the folder by the name lower-cased but
     * builds the built-in spec for "python3" as spelled (_get_kernel_spec_by_name), and
     * for "Python3" reads ipykernel's resources/kernel.json, which is not there */
    if (strcmp(name, NATIVE_KERNEL_NAME) == 0) return native_spec(ks, searched, err, errlen);
    snprintf(err, errlen, "kernelspec \"%s\" not found in %s", name, searched);
    return -1;
}

int kernelspec_dir_searched(const char *kernels_dir)
{
    /* by realpath: "pfx/share/jupyter/kernels" is "/home/me/pfx/..." on JUPYTER_PATH */
    char want[PATH_MAX];
    if (!realpath(kernels_dir, want)) return 0;
    struct dir_list dirs;
    if (data_dirs(&dirs)) return 0;
    int found = 0;
    for (size_t i = 0; i < dirs.n && !found; i++) {
        char kdir[4096], real[PATH_MAX];
        found = join(kdir, sizeof kdir, dirs.d[i], "/kernels") == 0 && realpath(kdir, real) &&
                strcmp(real, want) == 0;
    }
    free(dirs.d);
    return found;
}

int kernelspec_runs_ipykernel(const struct found_kernelspec *ks)
{
    for (size_t i = 0; i < ks->argc; i++) {
        const char *a = ks->argv[i], *base = strrchr(a, '/');
        base = base ? base + 1 : a;
        if (strcmp(a, "ipykernel_launcher") == 0 || strcmp(a, "ipykernel") == 0 ||
            strcmp(base, "ipykernel_launcher.py") == 0)
            return 1;
    }
    return 0;
}

int kernelspec_append_args(struct found_kernelspec *ks, const char *const *args, size_t n)
{
    if (!n) return 0;
    char **argv = realloc(ks->argv, (ks->argc + n + 1) * sizeof *argv);
    if (!argv) return -1;
    ks->argv = argv;
    for (size_t i = 0; i < n; i++) {
        if (!(argv[ks->argc] = strdup(args[i]))) return -1;
        argv[++ks->argc] = NULL;
    }
    return 0;
}

void kernelspec_found_free(struct found_kernelspec *ks)
{
    for (size_t i = 0; ks->argv && i < ks->argc; i++) free(ks->argv[i]);
    for (size_t i = 0; ks->env && i < ks->n_env; i++) free(ks->env[i]);
    free(ks->argv);
    free(ks->env);
    ks->argv = ks->env = NULL;
    ks->argc = ks->n_env = 0;
}
