/* replay.c — runs a fuzz target's LLVMFuzzerTestOneInput on given files, without
 * libFuzzer.
 *
 * `make fuzz` needs clang's libFuzzer and runs for minutes, so `make test` leaves it out;
 * the targets and their oracles (the wire scanner against jansson, tag's fast path
 * against its jansson path, the rules and the model files refused or used) then rotted
 * unseen once.  Linked with one target and the library (tests/integration's
 * test_fuzz_replay.py builds each with the system's cc), this replays the committed
 * seeds: each target must build against today's code and hold its checks on them.
 *
 * Usage: replay FILE|FOLDER...  (a folder: its files, in name order).  Exit 0 when
 * every input ran (a failed CHECK aborts); the last line says how many.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* A custom mutator's call into libFuzzer (fuzz_modelfile.c); never called on replay. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max)
{
    (void)data;
    (void)max;
    return size;
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return -1; }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0, r;
    uint8_t chunk[65536];
    while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (n + r > cap) {
            cap = (n + r) * 2;
            uint8_t *p = realloc(buf, cap);
            if (!p) { free(buf); fclose(f); fprintf(stderr, "%s: out of memory\n", path); return -1; }
            buf = p;
        }
        memcpy(buf + n, chunk, r);
        n += r;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); fprintf(stderr, "%s: read error\n", path); return -1; }
    /* libFuzzer hands over a buffer of exactly SIZE bytes: a copy of that size, so
     * that ASan sees a read past the end */
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) { free(buf); return -1; }
    if (n) memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    long ran = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st)) { perror(argv[i]); return 2; }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i])) return 2;
            ran++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) { perror(argv[i]); return 2; }
        char **names = NULL;
        size_t n = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char **p = realloc(names, (n + 1) * sizeof *p);
            if (!p || asprintf(&p[n], "%s/%s", argv[i], e->d_name) < 0) { closedir(d); return 2; }
            names = p;
            n++;
        }
        closedir(d);
        if (n) qsort(names, n, sizeof *names, by_name);
        for (size_t k = 0; k < n; k++) {
            if (run_file(names[k])) return 2;
            ran++;
            free(names[k]);
        }
        free(names);
    }
    printf("replay: %ld inputs\n", ran);
    return 0;
}
