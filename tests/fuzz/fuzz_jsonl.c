/* fuzz_jsonl.c — libFuzzer target: any bytes as the JSON Lines files users hand to
 * `nbstage label` (labeling/cellread.c: cells.jsonl) and `nbstage train`
 * (model/trainread.c: --cells, and the weak labels joined to them by id).
 *
 * Owns: the property those readers may not break: whatever the bytes, each reader
 * reads them or refuses them, and every line it says on stderr names the file and a
 * line of it ("user.jsonl:LINE: reason", or "user.jsonl:A and B: ..." for one id with
 * two sources), or the file alone for a read error; no sanitizer report, no leak.
 * The input is one file (a memfd, read through /proc/self/fd as a path): cells_read
 * reads it as label's cells, and cells_add_statements splits them (label
 * --statements); trainread_sources reads it as train's --cells, and trainread_weak
 * reads it as the weak labels, joined to those sources (and alone), soft and hard,
 * with and without --min-confidence.  What the readers say goes to a second memfd
 * (stderr redirected), then checked line by line; sanitizer reports keep the real
 * stderr (__sanitizer_set_report_fd).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#include "labeling/cellread.h"
#include "model/trainread.h"
/* CHECK writes to the real stderr: the target reads what the readers say on fd 2 */
#define FUZZ_CHECK_FD real_stderr
#include "tests/fuzz/fuzz.h"

static int real_stderr = -1, said = -1, input = -1;
static char input_path[64];
static const char *name; /* the path as the readers name it */

/* stderr into SAID, emptied */
static void capture(void)
{
    fflush(stderr);
    CHECK(ftruncate(said, 0) == 0 && lseek(said, 0, SEEK_SET) == 0);
    CHECK(dup2(said, 2) == 2);
}

/* stderr back; every line said names the file (PROG: NAME:LINE[ and LINE]: ..., LINE
 * in 1..MAXLINE, or PROG: NAME: ...) or is out of memory. */
static void check_said(const char *prog, size_t maxline)
{
    fflush(stderr);
    CHECK(dup2(real_stderr, 2) == 2);
    off_t n = lseek(said, 0, SEEK_END);
    CHECK(n >= 0);
    char *buf = malloc((size_t)n + 1);
    CHECK(buf && pread(said, buf, (size_t)n, 0) == n);
    buf[n] = 0;
    if (getenv("FUZZ_SAY")) dprintf(real_stderr, "%s", buf);
    size_t plen = strlen(prog), nlen = strlen(name);
    for (char *line = buf, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        CHECK(nl); /* whole lines */
        *nl = 0;
        CHECK(strncmp(line, prog, plen) == 0 && line[plen] == ':' && line[plen + 1] == ' ');
        const char *p = line + plen + 2;
        if (strcmp(p, "out of memory") == 0) continue;
        CHECK(strncmp(p, name, nlen) == 0 && p[nlen] == ':');
        p += nlen + 1;
        if (*p == ' ') continue; /* the file as a whole */
        char *end;
        unsigned long a = strtoul(p, &end, 10);
        CHECK(end > p && a >= 1 && a <= maxline);
        if (strncmp(end, " and ", 5) == 0) {
            p = end + 5;
            unsigned long b = strtoul(p, &end, 10);
            CHECK(end > p && b > a && b <= maxline);
        }
        CHECK(end[0] == ':' && end[1] == ' ' && end[2]);
    }
    free(buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    real_stderr = dup(2);
    said = memfd_create("fuzz_jsonl.stderr", MFD_CLOEXEC);
    input = memfd_create("fuzz_jsonl.input", MFD_CLOEXEC);
    if (real_stderr < 0 || said < 0 || input < 0) abort();
    __sanitizer_set_report_fd((void *)(intptr_t)real_stderr);
    snprintf(input_path, sizeof input_path, "/proc/self/fd/%d", input);
    name = input_path;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) lines += data[i] == '\n';
    CHECK(ftruncate(input, 0) == 0 && pwrite(input, data, size, 0) == (ssize_t)size);

    /* label: cells, then --statements */
    capture();
    FILE *f = fopen(input_path, "r");
    CHECK(f);
    struct label_cell *cells = NULL;
    size_t n = 0, skipped = 0, n_sub = 0;
    int rc = cells_read(f, name, &cells, &n, &skipped);
    fclose(f);
    if (rc == 0) CHECK(cells_add_statements(&cells, n, &n_sub) == 0);
    check_said("nbstage label", lines);
    CHECK(rc == 0 && n + skipped <= lines);
    for (size_t i = 0; i < n + n_sub; i++) {
        CHECK(cells[i].id && cells[i].src && cells[i].src[cells[i].src_len] == 0);
        CHECK(cells[i].statement == (i >= n) && (i < n || cells[i].parent < n));
        if (i > 0 && cells[i - 1].notebook) (void)cells_same_notebook(&cells[i - 1], &cells[i]);
    }
    cells_free(cells, n + n_sub);

    /* train: --cells, then the weak labels joined to them, and alone */
    capture();
    struct train_srcmap map = {0};
    int src_rc = trainread_sources(name, &map);
    check_said("nbstage train", lines);
    for (size_t i = 0; i < map.n; i++) CHECK(map.v[i].id && map.v[i].src && map.v[i].line <= lines);
    struct train_srcmap none = {0};
    const struct train_srcmap *maps[2] = {src_rc == 0 ? &map : &none, &none};
    for (int k = 0; k < 8; k++) { /* min-confidence, soft, with --cells, --context */
        struct train_cells out = {0};
        struct weak_stats st = {0};
        capture();
        int wrc = trainread_weak(name, k & 1 ? 0.5 : 0.0, (k & 3) < 2, k >= 4, maps[(k & 3) / 2], &out, &st);
        check_said("nbstage train", lines);
        CHECK(st.lines <= lines && out.n <= st.lines);
        CHECK(wrc == 0 || wrc == -1);
        for (size_t i = 0; i < out.n; i++) {
            const struct train_cell *c = &out.v[i];
            CHECK(c->id && c->src && c->stage >= 0 && c->stage < N_STAGES);
            double sum = 0;
            for (int s = 0; s < N_STAGES; s++) {
                CHECK(c->target[s] >= 0 && c->target[s] <= 1.0001f);
                sum += c->target[s];
            }
            CHECK(sum > 0.999 && sum < 1.001);
        }
        trainread_free(out.v, out.n);
        for (size_t i = 0; i < sizeof st.missing / sizeof *st.missing; i++) free(st.missing[i]);
    }
    trainread_free(map.v, map.n);
    return 0;
}
