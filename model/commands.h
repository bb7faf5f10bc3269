/* commands.h — the subcommands of the `nbstage` program.
 *
 * Each module owns the commands over its data: nbformat/ ingest and fmt, labeling/
 * label, model/ train, eval, classify, tag and summary, kernel/ install-kernel.
 * Every command takes (argc, argv) with argv[0] "nbstage CMD" (getopt
 * names it in its errors, as every message of the command begins), prints its
 * own --help, and returns an exit code below.  A usage error says its reason in one
 * line, then only the usage lines and where the rest is (cmd_usage_error), as GNU
 * tools and git do; --help prints the whole text on stdout.
 */
#ifndef NBSTAGE_COMMANDS_H
#define NBSTAGE_COMMANDS_H

#include <stdio.h>

enum { EXIT_OK = 0, EXIT_FINDINGS = 1, EXIT_USAGE = 2 }; /* 2 also for I/O errors */

/* After a usage error's reason (said already): HELP's usage lines (its "usage: ..."
 * line and the indented lines that continue it) and "Try 'PROG --help' for more.", on
 * stderr.  PROG is the command's argv[0] ("nbstage tag").  Returns EXIT_USAGE.
 * _fn: the help is printed by HELP(FILE *). */
int cmd_usage_error(const char *prog, const char *help);
int cmd_usage_error_fn(const char *prog, void (*help)(FILE *));

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
