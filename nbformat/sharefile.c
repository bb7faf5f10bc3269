/* sharefile.c — share/NAME beside the running program (see sharefile.h). */
#include "nbformat/sharefile.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* DIR/REL/NAME resolved into OUT when readable: 0, else -1.  With ANY, written into
 * OUT whether it is there or not (its folder resolved when it exists): the place it
 * was looked for, for a message. */
static int take(const char *dir, const char *rel, const char *name, char *out, size_t cap, int any)
{
    char p[PATH_MAX + 64], resolved[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s%s", dir, rel, name);
    if (access(p, R_OK) == 0 && realpath(p, resolved) && strlen(resolved) < cap) {
        memcpy(out, resolved, strlen(resolved) + 1);
        return 0;
    }
    if (any) { /* DIR and REL's leading "../" resolved (they exist), the rest as given */
        char up[PATH_MAX + 64];
        size_t k = 0;
        while (!strncmp(rel + k, "../", 3)) k += 3;
        snprintf(up, sizeof up, "%s/%.*s", dir, (int)k, rel);
        if (realpath(up, resolved)) snprintf(out, cap, "%s/%s%s", resolved, rel + k, name);
        else snprintf(out, cap, "%s", p);
    }
    return -1;
}

/* share_file_find's search; with ANY, OUT says where NAME was looked for last.  *TREE
 * (when given) is 1 when that place is a source tree's share/, else 0. */
static int locate(const char *name, char *out, size_t cap, int any, int *tree)
{
    if (cap) out[0] = 0;
    if (tree) *tree = 0;
    char dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0) return -1;
    dir[n] = 0;
    char *slash = strrchr(dir, '/');
    if (!slash) return -1;
    *slash = 0;
    /* An installation's programs are in PREFIX/bin.  Only there does ../share/nbstage
     * come first: a checkout's ./nbstage (in the tree's root) took the parent folder's
     * share/nbstage, an earlier `make install PREFIX=$HOME`, over its own share/. */
    const char *base = strrchr(dir, '/');
    char own_marker[PATH_MAX + 32];
    snprintf(own_marker, sizeof own_marker, "%s/nbformat/sharefile.h", dir);
    /* (a checkout in a folder named bin is a checkout) */
    int in_bin = strcmp(base ? base + 1 : dir, "bin") == 0 && access(own_marker, F_OK) != 0;
    if (in_bin && take(dir, "../share/nbstage/", name, out, cap, 0) == 0) return 0;
    static const char *const up[] = {"", "../", "../../", "../../../", "../../../../"};
    for (size_t i = 0; i < sizeof up / sizeof up[0]; i++) {
        char marker[PATH_MAX + 64];
        snprintf(marker, sizeof marker, "%s/%snbformat/sharefile.h", dir, up[i]);
        if (access(marker, F_OK) != 0) continue;
        char rel[32];
        snprintf(rel, sizeof rel, "%sshare/", up[i]);
        if (tree) *tree = 1;
        return take(dir, rel, name, out, cap, any);
    }
    return take(dir, "../share/nbstage/", name, out, cap, any);
}

int share_file_find(const char *name, char *out, size_t cap)
{
    int rc = locate(name, out, cap, 0, NULL);
    if (rc && cap) out[0] = 0;
    return rc;
}

/* share_file_expected's, and *TREE as locate's. */
static const char *expected(const char *name, char *out, size_t cap, int *tree)
{
    if (locate(name, out, cap, 1, tree) && cap && !out[0]) snprintf(out, cap, "share/%s beside the program", name);
    return out;
}

const char *share_file_expected(const char *name, char *out, size_t cap)
{
    return expected(name, out, cap, NULL);
}

const char *share_file_missing(const char *name, const char *also, char *out, size_t cap)
{
    char where[PATH_MAX + 64];
    int tree;
    expected(name, where, sizeof where, &tree);
    /* A checkout's share/ files are in git, and the model is rebuilt by `make model`:
     * "reinstall nbstage" would send a developer to an installation they do not use. */
    if (!tree)
        snprintf(out, cap, "%s is missing (reinstall nbstage, %s)", where, also);
    else
        snprintf(out, cap, "%s is missing (`git checkout share/%s`%s in the source tree, %s)", where, name,
                 strcmp(name, "default.nbsm") ? "" : " or `make model`", also);
    return out;
}
