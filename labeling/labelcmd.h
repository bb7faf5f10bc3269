/* labelcmd.h — what `nbstage label` (cmd_label.c: its options, their checks and the
 * dispatch) hands its two modes: labelcells.c, the cells through the LFs and the
 * label model, and labelmatrix.c, `--votes`, the label model alone on a matrix.
 *
 * Owns: the options as parsed and checked (the outputs checked writable and distinct
 * from each other and from the inputs, --min-confidence's default for the mode set).
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


#endif
