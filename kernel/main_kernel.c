/* main_kernel.c — placeholder until the kernel issue lands. */
#include <stdio.h>
int main(void) { fprintf(stderr, "nbstage-kernel: not built yet\n"); return 2; }
