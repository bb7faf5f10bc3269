/* labeldoubt.c — accuracy by the hand labels' own doubt (see labeldoubt.h). */
#include "labeling/labeldoubt.h"

#include <string.h>

#include "labeling/stage.h"
#include "nbformat/notebook.h"

void label_doubt_add(struct label_doubt *d, const struct gold_row *row, int pred)
{
    const char *levels = "hml", *k = row->confidence ? strchr(levels, row->confidence) : NULL;
    if (k) {
        d->n[k - levels]++;
        d->right[k - levels] += pred == row->label;
    }
    d->either += pred == row->label || (row->secondary != STAGE_NONE && pred == row->secondary);
    d->with_secondary += row->secondary != STAGE_NONE;
}

void label_doubt_print(FILE *to, const struct label_doubt *d, long scored, const char *prefix)
{
    static const char *const level_name[3] = {"h (sure)", "m", "l"};
    if (d->n[0] + d->n[1] + d->n[2] > 0) {
        fprintf(to, "%sby the labels' confidence:", prefix);
        for (int k = 0; k < 3; k++)
            if (d->n[k]) fprintf(to, "%s %s %.4f over %ld", k ? "," : "", level_name[k],
                                 (double)d->right[k] / (double)d->n[k], d->n[k]);
        fprintf(to, " cells\n");
    }
    if (d->with_secondary && scored > 0)
        nb_say(to, "%sthe label or its secondary: accuracy %.4f (%ld of %ld cells name a secondary stage)",
               prefix, (double)d->either / (double)scored, d->with_secondary, scored);
}
