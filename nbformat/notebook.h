/* notebook.h — reading, writing and atomically saving .ipynb files.
 *
 * Owns: the notebook as a jansson tree (json_t *), so every field, known or not,
 * survives a round trip; the canonical writer (byte for byte what Python's
 * `json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"` gives, floats
 * in Python's shortest repr); validation of nbformat 4.x and in-memory upgrade of v3;
 * atomic save; the walker; messages naming paths with their control characters
 * and backslashes escaped (nb_say, nb_vsay, nb_put_shown, nb_shown), each line in one
 * write (nb_line_begin for one made of pieces).
 * Errors carry "path:line:col: reason".
 *
 * Implemented by nbread.c (reading, validation, cells), nbwrite.c (the canonical
 * writer), nblines.c (split/rejoin lines, strip_transient), nbv3.c (v3 upgrade),
 * nbsave.c (atomic save) and nbwalk.c (the walker, paths in JSON and XML, and paths
 * in messages: nb_say, nb_vsay, nb_put_shown, nb_shown, nb_line_begin; nb_show and
 * nb_unctrl).
 */
#ifndef NBSTAGE_NOTEBOOK_H
#define NBSTAGE_NOTEBOOK_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* "path:line:col: reason" or "path: reason".  Room for any path the system opens
 * (PATH_MAX, 4096 bytes) with its reason, whole; a longer message (a path too long to
 * open) keeps its start and its end, the reason, with "..." between, cut between
 * UTF-8 characters (nb_error_copy). */
#define NB_ERROR_MAX (4096 + 1024)
typedef struct {
    char msg[NB_ERROR_MAX];
} nb_error;

/* MSG into DST (SIZE bytes; 16 or more for the mark): whole when it fits, else its start and its
 * end with "..." between, neither cut inside a UTF-8 sequence, so that the reason at the
 * end of a message naming a long path is still there and the line is still UTF-8.
 * DST and MSG must not overlap. */
void nb_error_copy(char *dst, size_t size, const char *msg);

/* printf FMT into DST (SIZE bytes) as nb_error_copy copies a message: whole when it
 * fits, else its start and its end with "..." between.  For the loaders that fill a
 * caller's buffer (model, rules, gold files), whose callers give NB_ERROR_MAX bytes. */
void nb_error_fmt(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

enum {
    NB_ALLOW_V3 = 1, /* accept nbformat 3 and upgrade it in memory to v4 (ingest,
                      * classify, summary) */
    NB_DUP_KEYS = 2, /* duplicate keys: the last wins, as in Python (for reading only:
                      * a rewrite would lose the other values, so fmt and tag refuse) */
    NB_LENIENT = 4,  /* read what Python's json reads but jansson cannot hold (for
                      * reading only: ingest, classify and summary): NaN, Infinity,
                      * integers beyond 64 bits and reals beyond a double become null,
                      * a lone surrogate escape U+FFFD */
};

/* json_loadb(BUF, LEN, JFLAGS), and when it fails, again on a copy read as NB_LENIENT
 * reads (NaN, Infinity, numbers out of range -> null; a lone surrogate -> U+FFFD): for
 * the JSON Lines readers, whose lines Python's json.dumps may have written (NaN in a
 * field they ignore).  *JE is the first attempt's error. */
json_t *nb_json_loadb_lenient(const char *buf, size_t len, size_t jflags, json_error_t *je);

/* PATH opened to be read, as every command opens a file the user named (a notebook,
 * classify's .py file, the model, the rules, the hand labels, the JSON Lines inputs,
 * a checkpoint, the kernel's connection file), never waiting: a blocking open() of a
 * FIFO no one writes to waits for ever, and a file the walk stat'd as regular may be
 * a FIFO by the time it is read.  Opened O_RDONLY | O_NONBLOCK | O_NOCTTY |
 * O_CLOEXEC, fstat'd into *ST, refused unless a regular file (a symlink to one is
 * one), then made blocking again for the reads.  Returns the descriptor; -2 when PATH
 * is no regular file, WHY (WHYLEN bytes) "is a directory, not WHAT" (WHAT: "a
 * notebook", "a model file", ...) or, as the walk says of a FIFO, a socket or a device
 * (/dev/null) in a folder, "not a regular file"; -1 when it cannot be opened, WHY
 * nb_path_strerror's reason (a permission, a dangling symlink), or fstat's or fcntl's.
 * errno, on failure: that call's (ENOENT: no such file), or for -2 EISDIR (a folder)
 * or ENXIO.  WHY never names PATH: the caller's message does.  nb_open_regular is it
 * for a notebook. */
struct stat;
int nb_open_input(const char *path, const char *what, struct stat *st, char *why, size_t whylen);
int nb_open_regular(const char *path, struct stat *st, char *why, size_t whylen);

/* nb_open_input's descriptor as a stdio stream, for the readers by lines or fread;
 * NULL when refused, WHY the message's end after "PATH: ", as nb_open_input's (the
 * reason a notebook's gives, so that every file the user names is said alike), or
 * fdopen's failure; errno as above. */
FILE *nb_fopen_input(const char *path, const char *what, char *why, size_t whylen);

/* Parses and validates a notebook.  NULL on error, with ERR filled. */
json_t *nb_read_file(const char *path, int flags, nb_error *err);
json_t *nb_read_mem(const char *buf, size_t len, const char *name, int flags, nb_error *err);

/* Canonical bytes of any JSON tree (indent 1, sorted keys, UTF-8 unescaped, "\n" at
 * the end).  malloc'd, NUL-terminated, length in *LEN. */
char *nb_dumps(const json_t *nb, size_t *len);

/* nbformat's split_lines: multi-line strings in source, stream text and text mime
 * data become lists of lines, as nbformat.write does (used by `nbstage fmt`).  -1 when
 * out of memory (each field then whole, or already split: no text lost, but not the
 * layout asked for), else 0. */
int nb_split_lines(json_t *nb);

/* nbformat's rejoin_lines, which its reader applies: lists of strings in source,
 * output text and non-JSON mime data become single strings.  `fmt` is rejoin, strip,
 * split, dump: the layout nbformat.write(nbformat.read(...)) gives. */
int nb_rejoin_lines(json_t *nb); /* -1 when out of memory, as nb_split_lines */

/* nbformat's strip_transient (also done by nbformat.write): drops metadata's
 * orig_nbformat, orig_nbformat_minor and signature, and each cell's metadata.trusted. */
void nb_strip_transient(json_t *nb);

/* Writes BUF to PATH atomically: temp file in the same folder, fsync, rename, mode
 * of the existing file kept.  An existing file that is read-only (no write bit, even
 * for root) or not writable by us is refused.  On any error the old file is
 * untouched; -1 and ERR.  -2 and ERR: the new file is in place, but the fsync of its
 * folder after the rename failed (an I/O error: the rename may not be on disk). */
int nb_save_atomic(const char *path, const char *buf, size_t len, nb_error *err);

/* nb_save_atomic with FLAGS.  NB_SAVE_DEFER_SYNC: no fsync of the file nor of its
 * folder; a kill still leaves the file old or new (write-temp + rename), but it is
 * durable against a power loss only once nb_sync_fs has returned 0 on a descriptor of
 * its filesystem opened (nb_sync_fs_open) before the save.  See nbsave.c. */
#define NB_SAVE_DEFER_SYNC 1u
int nb_save_atomic_flags(const char *path, const char *buf, size_t len, unsigned flags,
                         nb_error *err);

/* Whether PATH (symlinks followed) is still the file WAS describes: the same inode,
 * size and modification time (WAS with inode 0: never).  tag and fmt ask it of a
 * notebook they read, before replacing it: Jupyter autosaves while they run. */
struct stat;
int nb_file_unchanged(const char *path, const struct stat *was);

/* nb_save_atomic_flags, while PATH is still the file WAS (its stat when read: inode,
 * size, modification time), looked at again just before the rename: -3 when it is not
 * (an editor or Jupyter saved it in place meanwhile), the temporary removed and PATH
 * left as it is now.  WAS NULL: no such check. */
int nb_save_atomic_if(const char *path, const char *buf, size_t len, unsigned flags,
                      const struct stat *was, nb_error *err);

/* Who says the temporaries a save's sweep removed (nb_save_sweep, nbsave.c): WHO, as
 * "nbstage tag", begins each such line; "nbstage" until set. */
void nb_save_say_as(const char *who);

/* What nb_save_atomic would say of PATH before writing anything: 0 when it would go on
 * to write, else -1 and its reason in ERR (a read-only file, one we may not write, not
 * a regular file, another user's in a sticky folder).  For a preview (`tag --dry-run`)
 * that must name the files the real run would refuse. */
int nb_save_check(const char *path, nb_error *err);

/* How a program's output file PATH is written.  A temporary beside it renamed over
 * it is right for a regular file or a new name (0), but PATH may name something else:
 * /dev/null, /dev/stdout, a FIFO.  A rename would replace that node with a plain file
 * (as root: /dev/null itself), so for those it returns 1 with *FD opened to write
 * straight into it (O_WRONLY|O_TRUNC|O_CLOEXEC), as a shell's `>` does: the caller
 * writes, skips fsync (devices refuse it) and the rename, and closes *FD.  A folder, or
 * an open that fails, is -1 and ERR. */
int nb_output_open_special(const char *path, int *fd, nb_error *err);

/* BUF[0..LEN) as the output file PATH (`tag -o`): straight into a device or FIFO
 * (nb_output_open_special: `-o /dev/null`, `-o >(wc -c)`), else nb_save_atomic.
 * 0, or -1 and ERR. */
int nb_save_output(const char *path, const char *buf, size_t len, nb_error *err);

/* fsync of the folder DIR, so a rename in it is durable: -1 and errno when the fsync
 * fails (an I/O error: the rename may not be on disk), 0 otherwise, also when the
 * folder cannot be opened to sync (a folder we may write but not read: nothing more
 * can be done). */
int nb_sync_dir(const char *dir);
/* A descriptor on PATH's filesystem (the file, else its folder) for nb_sync_fs;
 * -1 and ERR. */
int nb_sync_fs_open(const char *path, nb_error *err);
/* syncfs(2) of FD's filesystem: every dirty page and the journal on disk, and (Linux
 * >= 5.8) any write-back error since FD was opened reported.  0, or -1 and ERR naming
 * NAME. */
int nb_sync_fs(int fd, const char *name, nb_error *err);

/* Cells. */
size_t nb_cell_count(const json_t *nb);
json_t *nb_cell(const json_t *nb, size_t i);
const char *nb_cell_type(const json_t *cell); /* "code", "markdown", "raw" or NULL */
/* The cell's source joined into one malloc'd string (source may be a string or a
 * list of lines); length in *LEN.  "" for a missing source. */
char *nb_cell_source(const json_t *cell, size_t *len);

/* NAME (a file name or a path) ends with ".ipynb" in any case (NOTES.IPYNB, a.Ipynb):
 * the one rule by which the walk below, and every command, tells a notebook by its
 * name. */
int nb_is_notebook_name(const char *name);

/* Walks PATH (a file or a folder, recursively, sorted by name, skipping hidden files
 * and folders, .ipynb_checkpoints among them, and symlinked folders) and calls FN for
 * every *.ipynb regular file (nb_is_notebook_name: the suffix in any case).  A file
 * PATH is given to FN whatever its name.
 * REL is the path relative to PATH (for a file argument: its base name).  FN returning
 * non-zero stops the walk and is returned.  Unreadable folders are reported to FN's
 * caller through ON_ERROR (may be NULL), and so is every entry named like a notebook
 * that is not read: one that cannot be stat'd (a dangling symlink), or one that is no
 * regular file ("not a regular file": a FIFO, a socket, a device, never opened). */
typedef int (*nb_walk_fn)(const char *path, const char *rel, void *ctx);
typedef void (*nb_walk_error_fn)(const char *path, const char *reason, void *ctx);
/* Inside an ON_ERROR call: 1 when PATH is a folder that could not be read (opened or
 * listed), 0 for anything else (a PATH that does not exist, an entry that cannot be
 * looked at). */
int nb_walk_error_is_folder(void);
int nb_walk(const char *path, nb_walk_fn fn, nb_walk_error_fn on_error, void *ctx);
/* For the "no notebooks found" message after an nb_walk: "" when it passed over no
 * symlinked folder, else " (its symlinked folder F is not followed)" or " (its N
 * symlinked folders, F the first, are not followed)": a corpus laid out as links
 * otherwise looked like an empty folder, and `tag --check` passed on it. */
const char *nb_walk_unfollowed(void);

/* The temporaries a save left behind that the walks so far passed over as hidden
 * files: nb_save_mktemp's ".NAME.nbstage-XXXXXX" that no live save holds, untouched
 * for a minute (a run killed before its rename: SIGKILL, the OOM killer, a power cut;
 * see nb_save_leftover).  After nb_walk_remove_leftovers(1), set before the walks by a
 * run that writes into the folders it walks, each is removed, said on stderr one line
 * each (and each folder walked is one no save of the run reads again for them:
 * nb_save_swept); those left (not removing, or one we may not remove) are named on
 * stderr, after CMD ("nbstage tag"): how many, and the first one's path; nothing when
 * there are none.  tag and fmt do it at the end, or they would pile up unseen
 * (Jupyter's file browser hides them too).  The list is then emptied. */
void nb_walk_remove_leftovers(int on);
void nb_walk_say_leftovers(const char *cmd);

/* Why PATH could not be opened or stat'ed, E being the errno: strerror(E), but for a
 * dangling symlink (E is ENOENT and PATH is a symlink, which `ls` shows) "dangling
 * symlink (its target T does not exist)", written into BUF (SIZE bytes).  The one
 * wording of every command that reads a notebook, or classify's files. */
const char *nb_path_strerror(const char *path, int e, char *buf, size_t size);

/* The one rule for PATH '-' of the commands that take notebooks (ingest, fmt, tag,
 * summary), as cat and jq take it: standard input, named <stdin>.  Given at most once
 * (standard input is read once: a second '-' would be an empty file), and the only
 * PATH where the command writes the notebook it read back (WRITES_BACK: fmt and tag
 * then write it to standard output, which is then that notebook alone).  A breach is
 * said on stderr as WHO's ("nbstage fmt") and returns -1; 0 when kept. */
int nb_stdin_rule(const char *who, int npaths, char *const *paths, int writes_back);

/* One line of text (printf FMT, '\n' added) to TO, each string (%s) and character (%c)
 * argument shown as nb_put_shown shows a name, on every stream: a file name from a
 * crawl, or the bytes of a malformed file quoted in a reason, may hold an escape
 * sequence the terminal would obey (ESC ] 52 sets its clipboard) or a newline that
 * splits the line for whatever reads it line by line.  FMT's own text is written as it
 * is (the program's: "(\\w+\\s?)*" keeps its backslashes), so an argument must not be
 * escaped already (nb_shown's text would show its backslashes doubled).  The line is
 * written in one call (on an unbuffered stderr one write(2), so that another process
 * writing to the same log does not land inside it; in pieces only when out of memory
 * for a line past 1 KiB).  Every message that names a path goes through here or
 * nb_put_shown; nb_vsay for a va_list. */
void nb_say(FILE *to, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nb_vsay(FILE *to, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* A terminal's width: COLUMNS when it is a number from 1 to 99,999 (else 0), and FD's
 * terminal's own (else 0).  Each user picks its order: the map on stdout takes COLUMNS
 * first, the progress bar on stderr the terminal's. */
int nb_env_columns(void);
int nb_tty_columns(int fd);
/* The folders of PATH (PATH itself included) that do not exist, made with MODE (mkdir
 * -p); 0, or -1 with "FOLDER: reason" in ERR. */
int nb_make_folders(const char *path, unsigned mode, char *err, size_t errlen);
/* N bytes of BUF (whole lines, made by nb_say or from names nb_shown gave) to TO;
 * on a terminal control characters are shown as '?', newlines kept. */
void nb_show(FILE *to, const char *buf, size_t n);
/* N bytes of S to TO as a message shows a path: each control character (below 0x20,
 * DEL, U+0080-U+009F) and each byte that is not UTF-8 escaped, "\n", "\t", "\r", else
 * "\xHH" (ESC is \x1b: C escapes, as GNU ls -b shows names), and a backslash as "\\",
 * so that the text shown names the bytes unambiguously (a name holding the four
 * characters "\x1b" shows as \\x1b, one holding ESC as \x1b); all else, valid UTF-8,
 * as it is, so a normal name is unchanged.  The one rule by which nbstage shows a
 * name, in messages, the text map, the --svg picture and the kernel's warnings. */
void nb_put_shown(FILE *to, const char *s, size_t n);
/* A message line made of pieces (fprintf, fputs, nb_put_shown, a list of names) that
 * still reaches TO in one call, as nb_say's does (on an unbuffered stderr one
 * write(2), so that another process writing to the same log, the wrapped kernel or a
 * parallel job, does not land inside it): nb_line_begin gives the stream to write the
 * pieces to, and nb_line_end writes them to TO.  Out of memory the stream is TO itself,
 * held locked until nb_line_end: the line whole, in pieces.  (nb_put_shown alone
 * writes its text in one call too.) */
struct nb_line {
    FILE *to, *f;
    void *state;
};
FILE *nb_line_begin(struct nb_line *l, FILE *to);
void nb_line_end(struct nb_line *l);
/* S as nb_put_shown shows it: S itself when nothing in it is escaped, else BUF (SIZE
 * bytes; NB_SHOWN_MAX hold any path, a longer S is cut with "..."), for a name that is
 * formatted into a message before it is printed (an nb_error, a worker's report). */
const char *nb_shown(const char *s, char *buf, size_t size);
#define NB_SHOWN_MAX (4 * 4096 + 8)

/* At a program's start: each of descriptors 0, 1 and 2 that is closed (a cron job, a
 * daemon, `nbstage tag dir >&-`) is held by /dev/null opened the other way round (0
 * write-only, 1 and 2 read-only), so that reading or writing it still fails as on a
 * closed one (EBADF), but no file the program opens is given its number: a temporary
 * that got descriptor 1 had `tag`'s report lines written into it, then renamed over
 * a notebook. */
void nb_hold_std_fds(void);
/* Flushes stdout: 0 when all written to it got there, else -1 with
 * "WHO: <stdout>: write error: REASON" on stderr (a full disk, a closed stdout), the
 * one wording of every command.  The reason is the flush's errno, or, when an earlier
 * write failed (stdio does not keep the failed part to try again, so the flush may
 * have nothing left to fail on), the errno that write left if nothing since has
 * changed it; else none is claimed. */
int nb_stdout_flush(const char *who);
/* S's N bytes with control characters as '?', in place (a newline kept if KEEP_NEWLINES;
 * a C1 control's two UTF-8 bytes become one '?', and so does a lone byte 0x80-0x9f that
 * is no part of a valid UTF-8 sequence); the new length. */
size_t nb_unctrl(char *s, size_t n, int keep_newlines);
/* jansson's reason for refusing a text (JE->text), made fit for one line of a message:
 * jansson quotes the bytes near the error as they are, so a newline there split the
 * line and an escape sequence reached the terminal.  Control characters become '?', in
 * place; returns JE->text. */
const char *nb_json_reason(json_error_t *je);

/* PATH as valid UTF-8: a malloc'd copy with each byte that does not start a valid
 * sequence (jansson's rules) replaced by U+FFFD, for a text that goes into a jansson
 * string (a reason in summary --json).  Also how jansson, which holds UTF-8 only, reads
 * back an id that nb_json_path wrote (a lone surrogate escape is U+FFFD to
 * nb_json_loadb_lenient).  (The --svg picture shows a name as messages do, nb_shown.)
 * NULL only when out of memory. */
char *nb_utf8_lossy(const char *path);

/* PATH as a JSON string, for --json and JSON Lines output: a malloc'd literal, quotes
 * included, that loses nothing.  A file name is bytes and JSON text is Unicode, so it
 * is written as Python writes os.fsdecode(PATH): valid UTF-8 as it is (as
 * json.dumps(ensure_ascii=False) writes it: '"', '\\' and control characters escaped),
 * each byte that is not (jansson's rules, which are Python's) as the lone surrogate
 * escape \udcXX (XX the byte, 80 to ff).  Python's json.loads reads it back and
 * os.fsencode gives the bytes again; a JSON reader that cannot hold lone surrogates
 * (jansson: nbstage's own readers, through nb_json_loadb_lenient) reads U+FFFD, as
 * before.  NULL only when out of memory. */
char *nb_json_path(const char *path);
/* The body of that literal (no quotes) for N bytes of PATH, into DST, which has room
 * for 6 * N bytes; its length. */
size_t nb_json_path_body(char *dst, const char *path, size_t n);

#endif
