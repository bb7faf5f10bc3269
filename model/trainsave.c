/* trainsave.c — the model file `nbstage train` writes, with its provenance (trainsave.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/modelfile.h"
#include "model/trainsave.h"
#include "nbformat/notebook.h"

int trainsave_model(const struct train_opts *o, const struct lstm_params *p, const struct vocab *v,
                    size_t ntrain, size_t nval, const struct train_result *res, FILE *log)
{
    /* room for the weak file's path whole (an open succeeded: at most PATH_MAX) and the
     * settings after it: 1,024 bytes cut a long path's settings off (epochs, val_acc,
     * dropout, seed), and could cut a character in two */
    char info[PATH_MAX + 1024], when[32], vacc[64];
    time_t now = o->have_sde ? o->sde_time : time(NULL);
    struct tm tm_now;
    if (!gmtime_r(&now, &tm_now)) memset(&tm_now, 0, sizeof tm_now); /* a clock past year 2^31 */
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm_now);
    /* without validation cells (--val-split 0, one notebook) there is no val_acc */
    if (nval) snprintf(vacc, sizeof vacc, "val_acc %.4f", res->best_val_acc);
    else snprintf(vacc, sizeof vacc, "no validation set");
    snprintf(info, sizeof info,
             "nbstage train %s: %zu train / %zu validation cells from %s; %s targets; epochs %d of %d "
             "(best %d, %s); dropout %.2f/%.2f/%.2f, batch %d, lr %g, cap %d, seed %lu%s%s%s%s",
             when, ntrain, nval, o->weak, o->soft ? "soft" : "hard", res->epochs_run, o->cfg.max_epochs,
             res->best_epoch, vacc, o->cfg.spatial_dropout, o->cfg.dropout, o->cfg.recurrent_dropout,
             o->cfg.batch, o->cfg.lr, o->cap, o->cfg.seed, o->assign_words ? "; assignment words" : "",
             o->oov_word ? "; out-of-vocabulary word" : "", o->context ? "; context" : "",
             res->interrupted ? "; interrupted" : res->diverged ? "; diverged" : "");
    if (o->round_recurrent) strncat(info, "; recurrent weights rounded to bf16", sizeof info - strlen(info) - 1);
    char err[NB_ERROR_MAX];
    /* --round-recurrent: a rounded copy of Wh is written; P (the weights training goes
     * on from, or keeps as its best) is left as it is */
    struct lstm_params rounded = *p;
    size_t nwh = (size_t)p->hidden * 4 * (size_t)p->hidden;
    if (o->round_recurrent) {
        rounded.Wh = malloc(nwh * sizeof *rounded.Wh);
        if (!rounded.Wh) { fprintf(stderr, "nbstage train: out of memory\n"); return -1; }
        memcpy(rounded.Wh, p->Wh, nwh * sizeof *rounded.Wh);
        modelfile_round_bf16(rounded.Wh, nwh);
    }
    int bad = modelfile_write(o->out, &rounded, v, o->seq_len, info, err, sizeof err);
    if (o->round_recurrent) free(rounded.Wh);
    if (bad) {
        nb_say(stderr, "nbstage train: %s", err);
        return -1;
    }
    if (log) nb_say(log, "nbstage train: wrote %s (best epoch %d, %s%s)", o->out, res->best_epoch, vacc,
                    res->interrupted ? ", interrupted" : res->diverged ? ", training diverged after it" : "");
    return 0;
}
