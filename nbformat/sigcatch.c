/* sigcatch.c — catching a signal unless it is ignored (see sigcatch.h). */
#include "nbformat/sigcatch.h"

void sig_catch_unless_ignored(int sig, const struct sigaction *sa, struct sigaction *old)
{
    if (sigaction(sig, NULL, old)) {
        *old = (struct sigaction){.sa_handler = SIG_DFL};
        sigemptyset(&old->sa_mask);
    }
    /* (with SA_SIGINFO the handler is a function, whatever sa_handler reads) */
    if ((old->sa_flags & SA_SIGINFO) || old->sa_handler != SIG_IGN) sigaction(sig, sa, NULL);
}
