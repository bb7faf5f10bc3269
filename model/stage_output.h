/* stage_output.h — what the stage kernel shows for a classified cell (here in model/,
 * below the kernel, as `nbstage tag --from-outputs` reads it back too).
 *
 * Owns: the content of the iopub display_data that carries the live tag:
 *   data: text/plain ("stage: train (93%)"), text/html (a small coloured badge),
 *         application/vnd.nbstage.stage+json (the payload below), and
 *         application/javascript that draws the badge (trusted outputs show the script,
 *         not the HTML) and, in classic Notebook 6, when the output is live (not
 *         loaded from the saved notebook), writes the cell's
 *         metadata.workflow_stage (taken from the output's metadata) and its
 *         "stage:<key>" tag (replacing an older one) and marks the notebook dirty;
 *   metadata: {"nbstage": STAGE}
 * STAGE = {"stage": "train", "confidence": 0.93, "model": "<model_name>"}: what a cell's
 *         metadata.workflow_stage holds;
 * PAYLOAD = STAGE's members and "probabilities": {"load": p, ... six keys}; the
 *         confidence has 3 decimals (stage_confidence), the probabilities 4.
 * The message is sent and saved for every executed cell, so nothing in it is there twice
 * that need not be: the badge HTML is (the script cannot read the text/html), STAGE is.
 * `nbstage tag --from-outputs` reads STAGE (or else the payload) back from saved notebooks.
 */
#ifndef NBSTAGE_STAGE_OUTPUT_H
#define NBSTAGE_STAGE_OUTPUT_H

#include <jansson.h>

#include "labeling/stage.h"

#define STAGE_MIME "application/vnd.nbstage.stage+json"

struct stage_display_options {
    int position_top;       /* 1 (the kernel's default): badge above the cell's other
                               outputs; published early, and moved by the JS in Notebook 6 */
    int no_badge;           /* 1: no visible badge; metadata only where the frontend allows */
    double min_confidence;  /* below it, show nothing (0 = always show) */
};

/* The contents of every stage, prebuilt for one model name and set of options. */
struct stage_output;

/* NULL when out of memory.  OPT may be NULL (the defaults); it is copied. */
struct stage_output *stage_output_new(const char *model_name,
                                      const struct stage_display_options *opt);
void stage_output_free(struct stage_output *so);

/* The display_data *content* ({"data", "metadata", "transient"}) for one cell as
 * compact JSON text (malloc'd), or NULL when nothing is to be shown (confidence below
 * the minimum, or probabilities that are not probabilities). */
char *stage_output_text(const struct stage_output *so, int stage, const float probs[N_STAGES]);

/* The same content as a JSON tree, built from scratch (tests, one-off callers).
 * New reference. */
json_t *stage_output_content(int stage, const float probs[N_STAGES], const char *model_name,
                             const struct stage_display_options *opt);

/* A cell's confidence as STAGE holds it: P rounded to 3 decimals (0 and 1 at the ends,
 * 0 for NaN).  `nbstage tag` writes the same (tag_round), so a notebook the kernel tagged
 * in Notebook 6 is already tagged for `nbstage tag` with the same model. */
double stage_confidence(double p);

/* Reads a payload back from a saved output (an output object of a cell); 0 and fills
 * STAGE/CONFIDENCE when OUTPUT is a stage output, -1 otherwise. */
int stage_output_parse(const json_t *output, int *stage, double *confidence);

#endif
