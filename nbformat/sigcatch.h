/* sigcatch.h — how a command that stops cleanly on a signal catches it.
 *
 * Owns: setting a command's handler only where the signal is not ignored (tag on
 * SIGINT, SIGTERM, SIGHUP and SIGPIPE; train on SIGINT, SIGTERM and SIGHUP).  A signal
 * ignored when the program starts stays ignored: nohup ignores SIGHUP, and a
 * background job of a non-interactive shell (`nbstage train ... &` in a script)
 * starts with SIGINT ignored, so that a Ctrl-C meant for the foreground leaves it
 * alone.  (outfile.c's handlers, which only remove temporaries, are set only where
 * a signal has its default action.)
 */
#ifndef NBSTAGE_SIGCATCH_H
#define NBSTAGE_SIGCATCH_H

#include <signal.h>

/* Sets SA as SIG's action unless SIG is ignored; *OLD receives the action to restore
 * afterwards (SIG_DFL when it cannot be read). */
void sig_catch_unless_ignored(int sig, const struct sigaction *sa, struct sigaction *old);

#endif
