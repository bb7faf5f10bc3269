/* labelcmd.h — what `nbstage label` (cmd_label.c: its options, their checks and the
 * dispatch) hands its two modes: labelcells.c, the cells through the LFs and the
 * label model, and labelmatrix.c, `--votes`, the label model alone on a matrix.
 *
 * Owns: the options as parsed and checked (the outputs checked writable and distinct
 * from each other and from the inputs, --min-confidence's default for the mode set),
 * and the label model's fit as both modes run it (label_fit, in cmd_label.c).
 * (The timing lines of the LF analysis read nbformat/clock.h.)
 */
#ifndef NBSTAGE_LABELCMD_H
#define NBSTAGE_LABELCMD_H

struct label_opts {
    const char *rules[16];
    int n_rules, no_default, quiet, jobs, statements, profile;
    const char *gold, *report, *svg, *output, *votes, *truth, *input; /* NULL: not given (-o, input: stdio) */
    double min_conf;
};

/* The cells mode, and --votes: each returns the exit code (model/commands.h). */
int label_cells(const struct label_opts *o);
int label_matrix(const struct label_opts *o);

struct label_model;
struct lm_stats;
struct lm_options;
/* Both modes' fit: lm_fit, and on stderr (even with -q; the exit code stays) one line
 * when EM stopped at its iteration limit still moving, with its last change: the
 * labels are then the last iteration's, not a converged fit's.  -1 said when out of
 * memory. */
int label_fit(struct label_model *model, const struct lm_stats *s, const struct lm_options *lo);


#endif
