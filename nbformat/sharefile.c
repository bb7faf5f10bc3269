/* sharefile.c — share/NAME beside the running program (see sharefile.h). */
#include "nbformat/sharefile.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int share_file_find(const char *name, char *out, size_t cap)
{
    static const char *const rel[] = {"share/", "../share/", "../share/nbstage/",
                                      "../../share/", "../../../share/",
                                      "../../../../share/"};
    if (cap) out[0] = 0;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return -1;
    *slash = 0;
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char p[PATH_MAX + 64], resolved[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s%s", exe, rel[i], name);
        if (access(p, R_OK) != 0 || !realpath(p, resolved)) continue;
        if (strlen(resolved) >= cap) return -1;
        memcpy(out, resolved, strlen(resolved) + 1);
        return 0;
    }
    return -1;
}
