/* cmdusage.c — what a usage error prints after its reason (see model/commands.h).
 *
 * Owns: the short form GNU tools and git print: the command's usage lines, taken from
 * its --help text (the first line, "usage: ...", and the indented lines that continue
 * it: more options, or a second form), then "Try 'PROG --help' for more.".  The whole
 * help (50-60 lines for tag) buried the one line that said what was wrong.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/commands.h"
#include "nbformat/notebook.h"

int cmd_usage_error(const char *prog, const char *help)
{
    const char *line = help ? strstr(help, "usage:") : NULL;
    for (int first = 1; line && *line && (first || *line == ' '); first = 0) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        fprintf(stderr, "%.*s\n", (int)n, line);
        line = nl ? nl + 1 : NULL;
    }
    nb_say(stderr, "Try '%s --help' for more.", prog);
    return EXIT_USAGE;
}

int cmd_usage_error_fn(const char *prog, void (*help)(FILE *))
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (m) {
        help(m);
        if (fclose(m)) { free(text); text = NULL; } /* out of memory: the Try line alone */
    }
    cmd_usage_error(prog, text);
    free(text);
    return EXIT_USAGE;
}
