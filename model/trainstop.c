/* trainstop.c — Ctrl-C, SIGTERM and SIGHUP during `nbstage train`'s epochs (trainstop.h). */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>

#include "model/trainstop.h"
#include "nbformat/outfile.h"
#include "nbformat/sigcatch.h"

/* An atomic, not a volatile sig_atomic_t: the signal may be taken by any thread
 * (OpenBLAS's among them) and the training loop reads it on another.  Lock-free, so
 * safe in a handler. */
static atomic_int stop_flag;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_int must be lock-free to be set in a signal handler");
/* The first signal asks for a stop; SA_RESETHAND has put the default action back for
 * the second, which ends the program.  A file being written then (the checkpoint,
 * ~70 MB, written after every epoch; the curves) was opened while this handler was
 * set, so outfile set none of its own: set now, the second signal also removes the
 * file's temporary. */
static void on_stop(int sig)
{
    (void)sig;
    int saved = errno;
    atomic_store_explicit(&stop_flag, 1, memory_order_relaxed);
    outfile_catch_end_signals();
    errno = saved;
}

atomic_int *trainstop_catch(struct trainstop *ts)
{
    atomic_store(&stop_flag, 0);
    /* SIGTERM too: a batch scheduler's time limit should keep the best epoch as
     * Ctrl-C does; and SIGHUP, a closed terminal or a dropped ssh session, as tag
     * ends on it.  A second signal acts as usual (SA_RESETHAND). */
    struct sigaction sa = {.sa_handler = on_stop, .sa_flags = SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    sig_catch_unless_ignored(SIGINT, &sa, &ts->old_int);
    sig_catch_unless_ignored(SIGTERM, &sa, &ts->old_term);
    sig_catch_unless_ignored(SIGHUP, &sa, &ts->old_hup);
    return &stop_flag;
}

void trainstop_release(const struct trainstop *ts)
{
    sigaction(SIGINT, &ts->old_int, NULL);
    sigaction(SIGTERM, &ts->old_term, NULL);
    sigaction(SIGHUP, &ts->old_hup, NULL);
}
