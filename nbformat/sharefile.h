/* sharefile.h — finding the files nbstage ships in share/ (the default model, the
 * default rules) from where the running program is.
 *
 * Owns: the one rule by which `nbstage`, `nbstage-kernel` and every build of them find
 * share/NAME, relative to the program's own folder:
 *   ../share/nbstage/NAME   an installation: a program in PREFIX/bin (not a source
 *                           tree's root that happens to be named bin), beside
 *                           PREFIX/share/nbstage (`make install`; the tree can be moved
 *                           as a whole);
 *   DIR/share/NAME          else, for the program's folder and the four above it, the
 *                           nearest DIR that is an nbstage source tree: the programs in
 *                           the repository root (plain `make`), BIN= a folder down, the
 *                           sanitizer build (build/san), a parallel work tree's
 *                           (build/<tree>/san) and its unit tests (build/<tree>/san/tests);
 *   ../share/nbstage/NAME   last, for a program not in a folder named bin (a copy of an
 *                           installation's binaries put elsewhere).
 * A checkout's program never takes its parent folder's share/nbstage (an earlier
 * `make install PREFIX=$HOME` beside the checkout).
 * Why a source tree must be recognised (by its own nbformat/sharefile.h): an installed
 * program in /usr/local/bin would otherwise take any /usr/local/share/rules.txt or
 * /usr/share/default.nbsm that some other package left there.
 * The caller's environment override (NBSTAGE_MODEL, NBSTAGE_RULES) comes before all of
 * these and is the caller's business.
 * Also owns what the commands say when a shipped file is missing there: how to put it
 * back depends on which of these places it was looked for in (share_file_missing).
 */
#ifndef NBSTAGE_SHAREFILE_H
#define NBSTAGE_SHAREFILE_H

#include <stddef.h>

/* The absolute, resolved path of share/NAME beside the program into OUT (CAP bytes):
 * 0, or -1 when the place above has no readable one (OUT is then ""). */
int share_file_find(const char *name, char *out, size_t cap);

/* Where share_file_find looks for NAME (found or not), into OUT; OUT.  For the
 * message when it is missing: an installation's PREFIX/share/nbstage/NAME, a source
 * tree's share/NAME. */
const char *share_file_expected(const char *name, char *out, size_t cap);

/* The message for a share/NAME that is missing, into OUT; OUT: "WHERE is missing (HOW,
 * ALSO)", WHERE share_file_expected's, HOW what puts it back where it was looked for:
 * in a source tree "`git checkout share/NAME` in the source tree" (for the model "...
 * or `make model`", which rebuilds it), else "reinstall nbstage"; ALSO the caller's
 * other ways ("or give --model FILE or set NBSTAGE_MODEL").  One wording for every
 * command that needs the shipped model or rules. */
const char *share_file_missing(const char *name, const char *also, char *out, size_t cap);

#endif
