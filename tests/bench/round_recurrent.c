/* round_recurrent.c — a model file's recurrent weights (Wh) rounded to bf16 values, the
 * rest byte for byte as it was (the checksum made right): what `nbstage train
 * --round-recurrent` writes, for a model trained before that option.  Not installed;
 * `make bench` builds it.  It made share/default.nbsm of 2026-12-06 from the one of
 * 2026-12-04 22:33 (share/default.nbsm.txt).  The provenance line inside the file is
 * left as it was: the layout puts the strings before the weights.
 *
 * usage: round_recurrent IN.nbsm OUT.nbsm
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/modelfile.h"
#include "nbformat/notebook.h"

int main(int argc, char **argv)
{
    if (argc != 3) { fprintf(stderr, "usage: round_recurrent IN.nbsm OUT.nbsm\n"); return 2; }
    struct modelfile mf;
    char err[512];
    if (modelfile_read(argv[1], &mf, err, sizeof err)) { fprintf(stderr, "round_recurrent: %s\n", err); return 2; }
    unsigned char *buf = malloc(mf.size);
    if (!buf) { fprintf(stderr, "round_recurrent: out of memory\n"); return 2; }
    memcpy(buf, mf.mem, mf.size);
    size_t n = (size_t)mf.hidden * 4 * mf.hidden;
    float *wh = (float *)(void *)(buf + ((const unsigned char *)mf.Wh - (const unsigned char *)mf.mem));
    modelfile_round_bf16(wh, n);
    uint32_t crc = modelfile_crc32c(buf, mf.size - 4);
    for (int i = 0; i < 4; i++) buf[mf.size - 4 + i] = (unsigned char)(crc >> (8 * i)); /* little-endian */
    nb_error e;
    int rc = nb_save_atomic(argv[2], (const char *)buf, mf.size, &e);
    if (rc) fprintf(stderr, "round_recurrent: %s\n", e.msg);
    else {
        struct modelfile check;
        if (modelfile_read(argv[2], &check, err, sizeof err)) { fprintf(stderr, "round_recurrent: %s\n", err); rc = 1; }
        else {
            printf("%s: %zu recurrent weights rounded to bf16\n", argv[2], n);
            modelfile_free(&check);
        }
    }
    free(buf);
    modelfile_free(&mf);
    return rc ? 1 : 0;
}
