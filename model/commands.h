/* commands.h — the subcommands of the `nbstage` program.
 *
 * Each module owns the commands over its data: nbformat/ ingest and fmt, labeling/
 * label, model/ train, eval, classify, tag and summary, kernel/ install-kernel.
 * Every command takes (argc, argv) with argv[0] "nbstage CMD" (getopt
 * names it in its errors, as every message of the command begins), prints its
 * own --help, and returns an exit code below.
 */
#ifndef NBSTAGE_COMMANDS_H
#define NBSTAGE_COMMANDS_H

enum { EXIT_OK = 0, EXIT_FINDINGS = 1, EXIT_USAGE = 2 }; /* 2 also for I/O errors */

int cmd_ingest(int argc, char **argv);
int cmd_fmt(int argc, char **argv);
int cmd_label(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_tag(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_install_kernel(int argc, char **argv);

#endif
