/* main_nbstage.c — the `nbstage` program: dispatches to a subcommand.
 *
 * Owns: the command table and the top-level --help, --version and `nbstage help CMD`,
 * and what an unknown command is told (the close command, or where options go);
 * a command runs with argv[0] "nbstage CMD" (model/commands.h).  Before dispatching,
 * `train` re-executes itself with OPENBLAS_CORETYPE when needed and every other
 * command stops OpenBLAS's idle threads (model/blas_core.h).
 *
 * Also SIGXFSZ ignored: a write past the file size limit (`ulimit -f`) is then an
 * EFBIG every writer reports as it does ENOSPC (that file left as it was, its
 * temporary removed), not the end of the program in the middle of a save (its
 * temporary left, `tag`'s other notebooks not done).
 *
 * And the last word on stdout: output a command (or --help, --version) could not
 * write, to a full disk or a closed stdout, is said and is exit 2, as coreutils'
 * close_stdout does, unless the command said it already (it returned 2).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "model/blas_core.h"
#include "model/commands.h"
#include "model/version.h"
#include "nbformat/notebook.h"

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *what;
} commands[] = {
    {"ingest", cmd_ingest, "notebooks -> one JSON line per code cell, corpus statistics"},
    {"fmt", cmd_fmt, "rewrite notebooks in nbformat's canonical layout"},
    {"label", cmd_label, "weak labels from labeling functions and the label model"},
    {"train", cmd_train, "train the LSTM stage classifier on weak labels"},
    {"eval", cmd_eval, "score a model against hand labels"},
    {"classify", cmd_classify, "stage of each cell (JSON Lines) or of one file"},
    {"tag", cmd_tag, "write stage tags into saved notebooks' cell metadata"},
    {"summary", cmd_summary, "a notebook's stage map"},
    {"install-kernel", cmd_install_kernel, "install the stage kernel's kernelspec"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *to)
{
    fprintf(to, "usage: nbstage COMMAND [OPTIONS] [ARGS]\n\n"
                "Tells which workflow stage each code cell of a notebook belongs to.\n\n"
                "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(to, "  %-15s %s\n", commands[i].name, commands[i].what);
    fprintf(to, "\n'nbstage COMMAND --help' tells more; 'nbstage --version' the version.\n"
                "Exit codes: 0 ok, 1 findings, 2 usage or I/O error.\n");
}

/* The optimal string alignment distance between A and B (edits: insert, delete,
 * substitute, swap two neighbours), at most 32 bytes each; 99 beyond. */
static int distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 32 || m > 32) return 99;
    int d[33][33];
    for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

/* An unknown command ARG said, with the command meant when one is close (a typo, as
 * git suggests one, or the start of one name: `install`), or, for an option before
 * the command (`nbstage -q tag`), where options go; then the usage. */
static void unknown_command(const char *arg)
{
    if (arg[0] == '-' && arg[1]) {
        nb_say(stderr, "nbstage: unknown option '%s' (a command's options go after it: "
                       "nbstage COMMAND [OPTIONS])", arg);
    } else {
        const char *best = NULL;
        int best_d = 99, ties = 0;
        size_t n = strlen(arg);
        for (size_t i = 0; i < N_COMMANDS; i++) {
            const char *name = commands[i].name;
            /* one edit in a short name, two in a longer one; a start of 3 bytes or more */
            int d = distance(arg, name), limit = n <= 4 ? 1 : 2;
            if (d > limit) d = n >= 3 && !strncmp(arg, name, n) ? limit : 99;
            if (d < best_d) best = name, best_d = d, ties = 0;
            else if (d == best_d) ties++;
        }
        if (best && best_d < 99 && !ties)
            nb_say(stderr, "nbstage: unknown command '%s'; did you mean '%s'?", arg, best);
        else
            nb_say(stderr, "nbstage: unknown command '%s'", arg);
    }
    usage(stderr);
}

/* RC, or EXIT_USAGE when stdout could not be written (said as WHO's, unless the
 * command said it already: it returned EXIT_USAGE). */
static int stdout_checked(const char *who, int rc)
{
    if (rc == EXIT_USAGE) {
        fflush(stdout); /* said already, or a usage error: its reason is on stderr */
        return rc;
    }
    return nb_stdout_flush(who) ? EXIT_USAGE : rc;
}

int main(int argc, char **argv)
{
    nb_hold_std_fds(); /* before any file is opened (nbformat/notebook.h) */
    /* first: OpenBLAS's threads, started before main, can hang even the exit */
    blas_core_reexec(argv, argc > 1 && !strcmp(argv[1], "train"));
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) { usage(stderr); return EXIT_USAGE; }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("nbstage %s\n", NBSTAGE_VERSION);
        return stdout_checked("nbstage", EXIT_OK);
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        if (argc < 3 || strcmp(argv[1], "help")) {
            usage(stdout);
            return stdout_checked("nbstage", EXIT_OK);
        }
        /* `nbstage help CMD` is `nbstage CMD --help`, as git's */
        for (size_t i = 0; i < N_COMMANDS; i++)
            if (!strcmp(argv[2], commands[i].name)) {
                char name[64];
                snprintf(name, sizeof name, "nbstage %s", commands[i].name);
                char *args[] = {name, "--help", NULL};
                return stdout_checked(name, commands[i].run(2, args));
            }
        unknown_command(argv[2]);
        return EXIT_USAGE;
    }
    /* Only training multiplies matrices through OpenBLAS (inference has its own step). */
    if (strcmp(argv[1], "train")) blas_threads_stop();
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            /* getopt names argv[0] in its errors: "nbstage tag: unrecognized option",
             * as every other message of the command begins */
            char name[64];
            snprintf(name, sizeof name, "nbstage %s", commands[i].name);
            argv[1] = name;
            nb_save_say_as(name); /* a save's sweep says what it removed as the command */
            return stdout_checked(name, commands[i].run(argc - 1, argv + 1));
        }
    unknown_command(argv[1]);
    return EXIT_USAGE;
}
