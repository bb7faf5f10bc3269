/* checkpoint.c — a training run's state at an epoch's end, written and read back
 * (model/checkpoint.h). */
#include "model/checkpoint.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "model/modelfile.h"
#include "nbformat/notebook.h"
#include "nbformat/outfile.h"

#define CHECKPOINT_MAGIC "NBSCKPT\n"
#define CHECKPOINT_VERSION 1u
#define BYTE_ORDER_MARK 0x01020304u

void checkpoint_run_of(struct checkpoint_run *r, const struct train_config *cfg, const struct lstm_params *p,
                       const struct train_data *train, const struct train_data *val)
{
    memset(r, 0, sizeof *r);
    r->n_train = train->n;
    r->n_val = val ? val->n : 0;
    r->seq_len = train->seq_len;
    r->vocab = p->vocab; r->embed = p->embed; r->hidden = p->hidden; r->classes = p->classes;
    r->batch = cfg->batch; r->patience = cfg->patience;
    r->lr = cfg->lr;
    r->spatial_dropout = cfg->spatial_dropout; r->dropout = cfg->dropout;
    r->recurrent_dropout = cfg->recurrent_dropout;
    r->seed = cfg->seed;
    size_t T = (size_t)train->seq_len, C = (size_t)p->classes;
    r->data_crc[0] = modelfile_crc32c(train->tokens, (size_t)train->n * T * sizeof *train->tokens);
    r->data_crc[1] = modelfile_crc32c(train->targets, (size_t)train->n * C * sizeof *train->targets);
    if (r->n_val) {
        r->data_crc[2] = modelfile_crc32c(val->tokens, (size_t)val->n * T * sizeof *val->tokens);
        r->data_crc[3] = modelfile_crc32c(val->targets, (size_t)val->n * C * sizeof *val->targets);
    }
}

/* ---- the fields, in file order, for the writer and the reader alike ------------- */

/* The file a piece at a time: the writer writes each piece, the reader reads it in
 * place; both take it into the running checksum.  FAILED: a short read or write (the
 * pieces after it are skipped; stdio or outfile knows why). */
struct piece_io {
    FILE *f;
    int reading;
    uint32_t crc;
    int failed;
};

static void piece(struct piece_io *io, void *buf, size_t len)
{
    if (io->failed || len == 0) return;
    size_t got = io->reading ? fread(buf, 1, len, io->f) : fwrite(buf, 1, len, io->f);
    if (got != len) { io->failed = 1; return; }
    io->crc = modelfile_crc32c_more(io->crc, buf, len);
}

/* The running checksum as a piece of its own: written, or read and compared (0 when
 * it does not match). */
static int checksum_io(struct piece_io *io)
{
    uint32_t want = io->crc, crc = want;
    piece(io, &crc, sizeof crc);
    return io->failed || crc == want;
}

static void header_io(struct piece_io *io, char magic[8], uint32_t head[2])
{
    piece(io, magic, 8);
    piece(io, head, 2 * sizeof *head);
}

static void run_io(struct piece_io *io, struct checkpoint_run *r)
{
    int32_t *ints[] = {&r->n_train, &r->n_val, &r->seq_len, &r->vocab, &r->embed, &r->hidden,
                       &r->classes, &r->batch, &r->patience};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) piece(io, ints[i], sizeof *ints[i]);
    float *floats[] = {&r->lr, &r->spatial_dropout, &r->dropout, &r->recurrent_dropout};
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++) piece(io, floats[i], sizeof *floats[i]);
    piece(io, &r->seed, sizeof r->seed);
    piece(io, r->data_crc, sizeof r->data_crc);
}

static void numbers_io(struct piece_io *io, struct checkpoint_state *s)
{
    int32_t *ints[] = {&s->epoch, &s->wait, &s->have_best, &s->best_epoch, &s->threads};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) piece(io, ints[i], sizeof *ints[i]);
    piece(io, &s->adam_step, sizeof s->adam_step);
    double *doubles[] = {&s->best_score, &s->best_val_acc, &s->best_val_loss};
    for (size_t i = 0; i < sizeof doubles / sizeof *doubles; i++) piece(io, doubles[i], sizeof *doubles[i]);
    piece(io, s->rng, sizeof s->rng);
    piece(io, s->made_by, sizeof s->made_by);
    s->made_by[sizeof s->made_by - 1] = 0; /* read from a file made by hand, too */
}

/* S's arrays: its EPOCH curve points (EPOCH already checked to fit), the batch order,
 * the four parameter sets. */
static void arrays_io(struct piece_io *io, struct checkpoint_state *s, int n_train)
{
    for (int e = 0; e < s->epoch; e++) {
        struct curve_point *c = &s->curve[e];
        int32_t epoch = c->epoch;
        piece(io, &epoch, sizeof epoch);
        c->epoch = epoch;
        double *d[] = {&c->loss, &c->acc, &c->val_loss, &c->val_acc, &c->seconds};
        for (size_t i = 0; i < sizeof d / sizeof *d; i++) piece(io, d[i], sizeof *d[i]);
    }
    piece(io, s->order, (size_t)n_train * sizeof *s->order);
    struct lstm_params *sets[] = {s->p, s->m, s->v, s->best};
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
        struct lstm_params *p = sets[i];
        size_t G = lstm_gates(p);
        piece(io, p->E, (size_t)p->vocab * p->embed * sizeof *p->E);
        piece(io, p->Wx, (size_t)p->embed * G * sizeof *p->Wx);
        piece(io, p->Wh, (size_t)p->hidden * G * sizeof *p->Wh);
        piece(io, p->b, G * sizeof *p->b);
        piece(io, p->Wd, (size_t)p->hidden * p->classes * sizeof *p->Wd);
        piece(io, p->bd, (size_t)p->classes * sizeof *p->bd);
    }
}

/* ---- writing ------------------------------------------------------------------ */

int checkpoint_write(const char *path, const struct checkpoint_run *r, const struct checkpoint_state *s,
                     char *err, size_t errlen)
{
    struct outfile o;
    nb_error e;
    if (outfile_open(&o, path, &e) < 0) { snprintf(err, errlen, "%s", e.msg); return -1; }
    struct piece_io io = {.f = o.f};
    char magic[8];
    memcpy(magic, CHECKPOINT_MAGIC, sizeof magic);
    uint32_t head[2] = {CHECKPOINT_VERSION, BYTE_ORDER_MARK};
    /* copies: the io functions take what the reader fills, not const */
    struct checkpoint_run run = *r;
    struct checkpoint_state st = *s;
    header_io(&io, magic, head);
    run_io(&io, &run);
    numbers_io(&io, &st);
    checksum_io(&io);
    arrays_io(&io, &st, r->n_train);
    checksum_io(&io);
    if (io.failed) { /* ENOSPC, EFBIG...: the older checkpoint stays */
        int why = o.werr ? o.werr : errno;
        outfile_abort(&o);
        snprintf(err, errlen, "%s: write error: %s", path, strerror(why));
        return -1;
    }
    if (outfile_commit(&o, &e) < 0) { snprintf(err, errlen, "%s", e.msg); return -1; }
    return 0;
}

/* ---- reading ------------------------------------------------------------------ */

/* The first setting in which A (the checkpoint's) and B (this run's) differ, as
 * "NAME A there, B here" in BUF; 0 when none does. */
static int run_differs(const struct checkpoint_run *a, const struct checkpoint_run *b, char *buf, size_t len)
{
    const struct { const char *name; long x, y; } ints[] = {
        {"training cells", a->n_train, b->n_train}, {"validation cells", a->n_val, b->n_val},
        {"--seq-len", a->seq_len, b->seq_len}, {"vocabulary rows", a->vocab, b->vocab},
        {"--embed", a->embed, b->embed}, {"--hidden", a->hidden, b->hidden},
        {"classes", a->classes, b->classes}, {"--batch", a->batch, b->batch},
        {"--patience", a->patience, b->patience},
    };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        if (ints[i].x != ints[i].y) { snprintf(buf, len, "%s %ld there, %ld here", ints[i].name, ints[i].x, ints[i].y); return 1; }
    const struct { const char *name; float x, y; } floats[] = {
        {"--lr", a->lr, b->lr}, {"--spatial-dropout", a->spatial_dropout, b->spatial_dropout},
        {"--dropout", a->dropout, b->dropout}, {"--recurrent-dropout", a->recurrent_dropout, b->recurrent_dropout},
    };
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++)
        if (memcmp(&floats[i].x, &floats[i].y, sizeof(float))) {
            snprintf(buf, len, "%s %g there, %g here", floats[i].name, floats[i].x, floats[i].y);
            return 1;
        }
    if (a->seed != b->seed) {
        snprintf(buf, len, "--seed %llu there, %llu here", (unsigned long long)a->seed, (unsigned long long)b->seed);
        return 1;
    }
    if (memcmp(a->data_crc, b->data_crc, 2 * sizeof *a->data_crc)) {
        snprintf(buf, len, "other training cells or targets: other weak labels or cells, or another --cap, "
                           "--val-split, --vocab, --seq-len, --targets, --min-confidence...");
        return 1;
    }
    if (memcmp(a->data_crc + 2, b->data_crc + 2, 2 * sizeof *a->data_crc)) {
        snprintf(buf, len, "other validation cells or targets: other weak labels or cells, or another "
                           "--val-split, --vocab, --seq-len, --targets...");
        return 1;
    }
    return 0;
}

/* Opens PATH to read a checkpoint and reads its header: 1 and *F (with IO over it)
 * when it is one; 0 when there is no file; -1 and ERR otherwise. */
static int open_checkpoint(const char *path, FILE **f, struct piece_io *io, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: %s, not a checkpoint (a regular file, written after each epoch and read back)",
                 path, S_ISDIR(st.st_mode) ? "a folder" : "a device, FIFO or socket");
        return -1;
    }
    /* a FIFO put there since the stat is refused, not waited on */
    char why[PATH_MAX + 64];
    if (!(*f = nb_fopen_input(path, "a checkpoint", why, sizeof why))) {
        snprintf(err, errlen, "%s: %s", path, why);
        return -1;
    }
    *io = (struct piece_io){.f = *f, .reading = 1};
    char magic[8];
    uint32_t head[2];
    header_io(io, magic, head);
    if (io->failed || memcmp(magic, CHECKPOINT_MAGIC, 8))
        snprintf(err, errlen, "%s: not an nbstage training checkpoint", path);
    else if (head[1] != BYTE_ORDER_MARK)
        snprintf(err, errlen, "%s: written on a machine of the other byte order", path);
    else if (head[0] != CHECKPOINT_VERSION)
        snprintf(err, errlen, "%s: checkpoint format version %u, this nbstage reads %u", path, head[0],
                 CHECKPOINT_VERSION);
    else return 1;
    fclose(*f);
    return -1;
}

int checkpoint_peek(const char *path, char *err, size_t errlen)
{
    FILE *f;
    struct piece_io io;
    int got = open_checkpoint(path, &f, &io, err, errlen);
    if (got == 1) fclose(f);
    return got < 0 ? -1 : 0;
}

/* Whether S's numbers can be a run's at its end of epoch S->epoch (checked by the
 * head checksum already: this is for a file made by hand). */
static int numbers_valid(const struct checkpoint_state *s)
{
    return s->epoch >= 1 && s->wait >= 0 && s->wait < s->epoch && (s->have_best == 0 || s->have_best == 1) &&
           s->best_epoch >= 0 && s->best_epoch <= s->epoch && s->threads >= 0 && s->adam_step >= 0;
}

int checkpoint_read(const char *path, const struct checkpoint_run *r, int max_epochs,
                    struct checkpoint_state *s, char *err, size_t errlen)
{
    FILE *f;
    struct piece_io io;
    int got = open_checkpoint(path, &f, &io, err, errlen);
    if (got < 1) return got;
    struct checkpoint_run theirs;
    char what[256];
    int rc = -1;
    run_io(&io, &theirs);
    numbers_io(&io, s);
    if (!checksum_io(&io)) { snprintf(err, errlen, "%s: checksum mismatch (corrupted file)", path); goto out; }
    if (io.failed) goto short_file;
    if (run_differs(&theirs, r, what, sizeof what)) {
        snprintf(err, errlen, "%s: another run's checkpoint (%s): give that run's inputs and options to resume "
                              "it, or remove the file to start over", path, what);
        goto out;
    }
    if (!numbers_valid(s)) { snprintf(err, errlen, "%s: corrupted (the state's numbers)", path); goto out; }
    if (s->epoch > max_epochs) {
        snprintf(err, errlen, "%s: the run is at epoch %d, past --epochs %d: give --epochs %d or more to resume it",
                 path, s->epoch, max_epochs, s->epoch);
        goto out;
    }
    arrays_io(&io, s, r->n_train);
    int whole = checksum_io(&io);
    if (io.failed) goto short_file;
    if (!whole) { snprintf(err, errlen, "%s: checksum mismatch (corrupted file)", path); goto out; }
    if (fgetc(f) != EOF) { snprintf(err, errlen, "%s: corrupted (bytes after its end)", path); goto out; }
    for (int i = 0; i < r->n_train; i++)
        if (s->order[i] < 0 || s->order[i] >= r->n_train) {
            snprintf(err, errlen, "%s: corrupted (batch order)", path);
            goto out;
        }
    rc = 1;
    goto out;
short_file:
    /* fread's errno is kept only when the stream says it failed */
    if (ferror(f)) snprintf(err, errlen, "%s: read error", path);
    else snprintf(err, errlen, "%s: truncated", path);
out:
    fclose(f);
    return rc;
}
