/* cmd_install_kernel.c — placeholder until its issue lands. */
#include <stdio.h>
#include "model/commands.h"

int cmd_install_kernel(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "nbstage %s: not built yet\n", argv[0]);
    return EXIT_USAGE;
}
