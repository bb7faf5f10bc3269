/* sharefile.h — finding the files nbstage ships in share/ (the default model, the
 * default rules) from where the running program is.
 *
 * Owns: the one list of places a program looks, so that `nbstage`, `nbstage-kernel`
 * and every build of them agree.  Relative to the program's own folder:
 *   share/NAME              the programs in the repository root (plain `make`)
 *   ../share/NAME           BIN= one folder down
 *   ../share/nbstage/NAME   an installation: PREFIX/bin beside PREFIX/share/nbstage
 *   ../../share/NAME        two folders down (build/san, the sanitizer build)
 *   ../../../share/NAME     three down (build/<tree>/san, a parallel work tree's)
 *   ../../../../share/NAME  four down (its sanitizer unit tests, build/<tree>/san/tests)
 * The first readable one wins.  The caller's environment override (NBSTAGE_MODEL,
 * NBSTAGE_RULES) comes before all of these and is the caller's business.
 */
#ifndef NBSTAGE_SHAREFILE_H
#define NBSTAGE_SHAREFILE_H

#include <stddef.h>

/* The absolute, resolved path of share/NAME beside the program into OUT (CAP bytes):
 * 0, or -1 when none of the places above has a readable one (OUT is then ""). */
int share_file_find(const char *name, char *out, size_t cap);

#endif
