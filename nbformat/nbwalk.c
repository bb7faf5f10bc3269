/* nbwalk.c — the corpus walker: every *.ipynb under a path, sorted by name.
 *
 * Owns: nb_walk and the rule every command walks by (nb_is_notebook_name: the .ipynb
 * suffix in any case, as Jupyter on a case-insensitive filesystem opens NOTES.IPYNB; a
 * file given by name is read whatever its name); byte-order sorting (the same on every
 * machine, whatever the locale), skipping hidden files and folders (.ipynb_checkpoints
 * among them; as Jupyter's file browser does: an editor's lock or backup (.#a.ipynb,
 * Emacs' dangling symlink) and macOS' AppleDouble ._a.ipynb are not notebooks), not
 * following symlinked folders (no loops, no duplicates), and REL, the path relative to
 * the one given; the hidden temporaries of saves that were killed, noted as they are
 * passed over and named or removed at the end (nb_walk_say_leftovers).  An entry
 * named like a notebook that is no regular file (a FIFO, a socket, a device) is told
 * to ON_ERROR as "not a regular file", found by (l)stat, never opened.  The entry types readdir gives (d_type) spare an lstat and a stat per
 * file and folder; only symlinks and filesystems that do not fill d_type are looked at
 * with (l)stat.  nb_stdin_rule: what PATH '-' may be, for every command.
 * nb_path_strerror: why a path could not be opened, a dangling symlink said as one.
 * Also nb_json_path: a path as a JSON string, lossless (file names are bytes: a byte
 * that is not UTF-8 is \udcXX, as Python's os.fsdecode and json.dumps write it);
 * nb_utf8_lossy: a text made valid UTF-8 for jansson, and a path as jansson reads back
 * its id.  And the one rule by which a message shows a path (nb_put_shown,
 * nb_shown, and nb_say for a line, its arguments; each line written in one call,
 * nb_line_begin's for one made of pieces): a file name may hold a control
 * character, which a terminal obeys (an escape sequence) and which breaks a line-based
 * reading of the output (a newline), so it is shown escaped, \x1b, \n, on every
 * stream, and a backslash as \\, so that an escape shown is never a name's own text;
 * nb_show and nb_unctrl: text shown on a terminal with control characters as '?'.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbformat/jsonbytes.h"
#include "nbformat/nbinternal.h"

/* ---------------------------------------------------------------- walker */

struct entry {
    char *name;
    unsigned char type; /* d_type */
};

static int cmp_names(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

int nb_is_notebook_name(const char *name)
{
    size_t n = strlen(name);
    return n >= 6 && !strcasecmp(name + n - 6, ".ipynb");
}

static char *join_path(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    int slash = na > 0 && a[na - 1] != '/';
    char *p = malloc(na + nb + 2);
    if (!p) return NULL;
    memcpy(p, a, na);
    if (slash) p[na++] = '/';
    memcpy(p + na, b, nb + 1);
    return p;
}

const char *nb_path_strerror(const char *path, int e, char *buf, size_t size)
{
    struct stat st;
    char target[PATH_MAX];
    ssize_t n;
    if (e != ENOENT || lstat(path, &st) || !S_ISLNK(st.st_mode) ||
        (n = readlink(path, target, sizeof target - 1)) < 0)
        return strerror(e);
    target[n] = 0;
    /* the target as the system looks it up: relative to the link's folder */
    char *copy = target[0] == '/' ? NULL : strdup(path);
    char *at = copy ? join_path(dirname(copy), target) : NULL;
    int chained = (at || target[0] == '/') && lstat(at ? at : target, &st) == 0; /* a link to a dangling link */
    free(at);
    free(copy);
    snprintf(buf, size, "dangling symlink (its target %s %s)", target,
             chained ? "is a dangling symlink too" : "does not exist");
    return buf;
}

/* ON_ERROR told why PATH could not be looked at, errno E. */
static void path_error(const char *path, int e, nb_walk_error_fn on_error, void *ctx)
{
    char why[PATH_MAX + 64];
    if (on_error) on_error(path, nb_path_strerror(path, e, why, sizeof why), ctx);
}

/* Set while ON_ERROR is told of a folder that could not be read (nb_walk_error_is_folder). */
static _Thread_local int folder_error;

int nb_walk_error_is_folder(void) { return folder_error; }

static void folder_failed(const char *path, const char *reason, nb_walk_error_fn on_error, void *ctx)
{
    folder_error = 1;
    if (on_error) on_error(path, reason, ctx);
    folder_error = 0;
}

/* The leftovers the walks passed over (their paths), for nb_walk_say_leftovers; the
 * walks run on the main thread.  REMOVING: nb_walk_remove_leftovers. */
static char **leftovers;
static size_t n_leftovers, cap_leftovers;
static int removing;

void nb_walk_remove_leftovers(int on)
{
    removing = on;
}

/* NAME, hidden in folder PATH: one of nb_save_mktemp's temporaries that no live save
 * holds, old enough (nb_save_leftover), is noted. */
static void note_leftover(const char *path, const char *name)
{
    if (!nb_save_temp_name(name)) return;
    int e = errno; /* readdir's: the walk reads it after the loop (a failed flock is EAGAIN) */
    char *full = join_path(path, name);
    if (full && nb_save_leftover(full, 0) == 1) {
        if (n_leftovers == cap_leftovers) {
            size_t cap = cap_leftovers ? 2 * cap_leftovers : 8;
            char **p = realloc(leftovers, cap * sizeof *p);
            if (!p) goto out;
            leftovers = p;
            cap_leftovers = cap;
        }
        leftovers[n_leftovers++] = full;
        full = NULL;
    }
out:
    free(full);
    errno = e;
}

void nb_walk_say_leftovers(const char *cmd)
{
    size_t named = 0;
    const char *first = NULL;
    for (size_t i = 0; i < n_leftovers; i++) {
        /* looked at again: a save's sweep may have removed it since, or a run that
         * wrote it may hold it again, having drawn the same name */
        int r = nb_save_leftover(leftovers[i], removing);
        if (r == 1 && !named++) first = leftovers[i];
    }
    if (named == 1)
        nb_say(stderr, "%s: %s: a temporary file left by a save that was killed (not a notebook; "
                       "remove it)", cmd, first);
    else if (named)
        nb_say(stderr, "%s: %zu temporary files left by saves that were killed, %s the first (not "
                       "notebooks; remove them)", cmd, named, first);
    for (size_t i = 0; i < n_leftovers; i++) free(leftovers[i]);
    free(leftovers);
    leftovers = NULL;
    n_leftovers = cap_leftovers = 0;
}

/* The symlinked folders the current nb_walk passed over, and the first one's path. */
static size_t unfollowed;
static char *first_unfollowed;
static char unfollowed_said[4200 + 96];

/* NAME in folder PATH, a symlink: counted when it leads to a folder. */
static void note_symlink(const char *path, const char *name)
{
    char *full = join_path(path, name);
    struct stat st;
    if (full && stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
        unfollowed++;
        if (!first_unfollowed) first_unfollowed = full, full = NULL;
    }
    free(full);
}

const char *nb_walk_unfollowed(void)
{
    if (!unfollowed) return "";
    if (unfollowed == 1)
        snprintf(unfollowed_said, sizeof unfollowed_said, " (its symlinked folder %s is not followed)",
                 first_unfollowed);
    else
        snprintf(unfollowed_said, sizeof unfollowed_said, " (its %zu symlinked folders, %s the first, are "
                 "not followed)", unfollowed, first_unfollowed);
    return unfollowed_said;
}

static int walk_dir(const char *path, const char *rel, nb_walk_fn fn,
                    nb_walk_error_fn on_error, void *ctx)
{
    DIR *d = opendir(path);
    if (!d) {
        folder_failed(path, strerror(errno), on_error, ctx);
        return 0;
    }
    struct entry *names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    errno = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') { /* hidden (and . and ..) */
            if (de->d_type == DT_REG || de->d_type == DT_UNKNOWN) note_leftover(path, de->d_name);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct entry *p = realloc(names, cap * sizeof *names);
            if (!p) break;
            names = p;
        }
        if (!(names[n].name = strdup(de->d_name))) break;
        names[n++].type = de->d_type;
    }
    if (errno) folder_failed(path, strerror(errno), on_error, ctx);
    closedir(d);
    /* its leftovers noted, to be removed at the end: no save need read it again (tag's
     * ~3,000 folders of the corpus, ~1% of its time) */
    if (removing) nb_save_swept(path);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n && !rc; i++) {
        const char *name = names[i].name;
        unsigned char type = names[i].type;
        int notebook = nb_is_notebook_name(name);
        /* nothing to look at: a file, a symlink, a FIFO... not named like a notebook (a
         * symlinked folder is not followed); only a type the folder does not tell is
         * looked at */
        if (type != DT_DIR && type != DT_UNKNOWN && !notebook) {
            if (type == DT_LNK) note_symlink(path, name);
            continue;
        }
        char *full = join_path(path, name);
        char *r = rel[0] ? join_path(rel, name) : strdup(name);
        struct stat lst, st;
        if (!full || !r) {
            if (on_error) on_error(path, "out of memory", ctx);
        } else if (type == DT_DIR) { /* as lstat would say: not a symlink */
            rc = walk_dir(full, r, fn, on_error, ctx);
        } else if (type == DT_REG) { /* a notebook, a regular file */
            rc = fn(full, r, ctx);
        } else if (lstat(full, &lst)) {
            if (on_error) on_error(full, strerror(errno), ctx);
        } else if (S_ISDIR(lst.st_mode)) {
            /* symlinked folders are not followed: no loops, no duplicates */
            rc = walk_dir(full, r, fn, on_error, ctx);
        } else if (S_ISLNK(lst.st_mode) && !notebook) {
            note_symlink(path, name);
        } else if (notebook) {
            if (stat(full, &st)) {
                path_error(full, errno, on_error, ctx);
            } else if (S_ISREG(st.st_mode)) {
                rc = fn(full, r, ctx);
            } else if (S_ISDIR(st.st_mode)) {
                note_symlink(path, name); /* a symlinked folder, named like a notebook */
            } else if (on_error) {
                /* a FIFO, a socket, a device (or a symlink to one): named like a notebook,
                 * so said, never opened (open() of a FIFO waits for a writer) */
                on_error(full, "not a regular file", ctx);
            }
        }
        free(full);
        free(r);
    }
    for (size_t i = 0; i < n; i++) free(names[i].name);
    free(names);
    return rc;
}

int nb_walk(const char *path, nb_walk_fn fn, nb_walk_error_fn on_error, void *ctx)
{
    unfollowed = 0;
    free(first_unfollowed);
    first_unfollowed = NULL;
    struct stat st;
    if (stat(path, &st)) {
        path_error(path, errno, on_error, ctx);
        return 0;
    }
    if (S_ISDIR(st.st_mode)) return walk_dir(path, "", fn, on_error, ctx);
    if (!S_ISREG(st.st_mode)) {
        /* a pipe is never waited on; `cat nb | nbstage CMD /dev/stdin` meant '-' */
        if (on_error)
            on_error(path, S_ISFIFO(st.st_mode) ? "not a regular file or folder (a pipe: '-' reads standard input)"
                                                : "not a regular file or folder",
                     ctx);
        return 0;
    }
    char *copy = strdup(path);
    if (!copy) {
        if (on_error) on_error(path, "out of memory", ctx);
        return 0;
    }
    int rc = fn(path, basename(copy), ctx);
    free(copy);
    return rc;
}

char *nb_utf8_lossy(const char *path)
{
    const unsigned char *p = (const unsigned char *)path, *end = p + strlen(path);
    char *out = malloc(3 * (size_t)(end - p) + 1), *d = out; /* U+FFFD is 3 bytes */
    if (!out) return NULL;
    while (p < end) {
        int n = *p < 0x80 ? 1 : json_utf8_len(p, end);
        if (n) {
            memcpy(d, p, (size_t)n);
            d += n;
            p += n;
        } else {
            memcpy(d, "\xef\xbf\xbd", 3);
            d += 3;
            p++;
        }
    }
    *d = 0;
    return out;
}

size_t nb_json_path_body(char *dst, const char *path, size_t n)
{
    const unsigned char *p = (const unsigned char *)path, *end = p + n;
    char *d = dst;
    while (p < end) {
        unsigned c = *p;
        int k = c < 0x80 ? 1 : json_utf8_len(p, end);
        if (k > 1 || (k == 1 && c >= 0x20 && c != '"' && c != '\\')) { /* as it is: valid UTF-8 */
            memcpy(d, p, (size_t)k);
            d += k;
            p += k;
            continue;
        }
        d = json_escape_byte(d, c); /* a byte that is not UTF-8: \udcXX, as os.fsdecode makes it */
        p++;
    }
    return (size_t)(d - dst);
}

char *nb_json_path(const char *path)
{
    size_t n = strlen(path);
    char *out = malloc(6 * n + 3); /* the worst case: every byte as \udcXX or \u00XX */
    if (!out) return NULL;
    out[0] = '"';
    size_t k = 1 + nb_json_path_body(out + 1, path, n);
    out[k++] = '"';
    out[k] = 0;
    return out;
}

/* The length of the valid UTF-8 sequence at P (before END), or 0. */
static int utf8_seq(const unsigned char *p, const unsigned char *end)
{
    int n = *p >= 0xc2 && *p <= 0xdf ? 2 : *p >= 0xe0 && *p <= 0xef ? 3 : *p >= 0xf0 && *p <= 0xf4 ? 4 : 0;
    if (!n || end - p < n) return 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    if ((*p == 0xe0 && p[1] < 0xa0) || (*p == 0xed && p[1] > 0x9f) || (*p == 0xf0 && p[1] < 0x90) ||
        (*p == 0xf4 && p[1] > 0x8f))
        return 0; /* overlong, a surrogate, past U+10FFFF */
    return n;
}

size_t nb_unctrl(char *s, size_t n, int keep_newlines)
{
    unsigned char *p = (unsigned char *)s, *end = p + n;
    for (; p < end; p++) {
        if ((*p < 0x20 && !(keep_newlines && *p == '\n')) || *p == 0x7f) {
            *p = '?';
        } else if (*p == 0xc2 && p + 1 < end && p[1] >= 0x80 && p[1] <= 0x9f) {
            p[0] = '?'; /* a C1 control in UTF-8: two bytes, one '?' */
            memmove(p + 1, p + 2, (size_t)(end - p - 2));
            end--;
        } else if (*p >= 0x80) {
            int k = utf8_seq(p, end);
            if (k) p += k - 1;
            else if (*p <= 0x9f) *p = '?'; /* a lone C1 byte: 0x9b opens an escape sequence on
                                            * an 8-bit terminal (xterm, Latin-1 consoles) */
        }
    }
    return (size_t)(end - (unsigned char *)s);
}

const char *nb_json_reason(json_error_t *je)
{
    je->text[nb_unctrl(je->text, strlen(je->text), 0)] = 0;
    return je->text;
}

int nb_stdin_rule(const char *who, int npaths, char *const *paths, int writes_back)
{
    int dashes = 0;
    for (int i = 0; i < npaths; i++) dashes += !strcmp(paths[i], "-");
    if (dashes > 1) {
        nb_say(stderr, "%s: '-' (standard input) given %d times: it is read once", who, dashes);
        return -1;
    }
    if (dashes && writes_back && npaths > 1) {
        nb_say(stderr, "%s: '-' (standard input) must be the only PATH: its notebook is "
                        "written to standard output", who);
        return -1;
    }
    return 0;
}

int nb_env_columns(void)
{
    const char *env = getenv("COLUMNS");
    char *end;
    long c = env && *env ? strtol(env, &end, 10) : 0;
    return c > 0 && c < 100000 && !*end ? (int)c : 0;
}

int nb_tty_columns(int fd)
{
    struct winsize ws;
    return ioctl(fd, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
}

int nb_make_folders(const char *path, unsigned mode, char *err, size_t errlen)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf) { snprintf(err, errlen, "%s: path too long", path); return -1; }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST) {
                snprintf(err, errlen, "%s: %s", buf, strerror(errno));
                return -1;
            }
            struct stat st;
            if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
                snprintf(err, errlen, "%s: not a folder", buf);
                return -1;
            }
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}

void nb_hold_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
        int got = open("/dev/null", (fd == 0 ? O_WRONLY : O_RDONLY) | O_NOCTTY); /* the lowest free: FD */
        if (got >= 0 && got != fd) { dup2(got, fd); close(got); }
    }
}

int nb_stdout_flush(const char *who)
{
    int earlier = ferror(stdout) ? errno : 0;
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout)) return 0;
    int e = errno ? errno : earlier;
    nb_say(stderr, "%s: <stdout>: write error%s%s", who, e ? ": " : "", e ? strerror(e) : "");
    return -1;
}

void nb_show(FILE *to, const char *buf, size_t n)
{
    char *copy;
    if (!n) return;
    if (!isatty(fileno(to)) || !(copy = malloc(n))) { /* (no memory: as it is) */
        fwrite(buf, 1, n, to);
        return;
    }
    memcpy(copy, buf, n);
    fwrite(copy, 1, nb_unctrl(copy, n, 1), to);
    free(copy);
}

/* How many bytes at P (before END) a message shows as they are: a printable ASCII
 * character but the backslash, or a valid UTF-8 sequence but a C1 control
 * (U+0080-U+009F); 0 when the byte at P is to be escaped (a control character, DEL, a
 * backslash, a byte that is not UTF-8). */
static int shown_as_is(const unsigned char *p, const unsigned char *end)
{
    if (*p < 0x80) return *p >= 0x20 && *p != 0x7f && *p != '\\';
    int k = utf8_seq(p, end);
    return k == 2 && *p == 0xc2 && p[1] <= 0x9f ? 0 : k;
}

/* The escape of byte C into OUT (at least 5 bytes); its length.  A backslash is
 * escaped too (\\), so that an escape shown always stands for the byte it names: a
 * name holding the four characters "\x1b" shows as \\x1b, one holding ESC as \x1b. */
static int escape_byte(unsigned c, char *out)
{
    static const char hex[] = "0123456789abcdef";
    out[0] = '\\';
    out[1] = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : c == '\\' ? '\\' : 'x';
    if (out[1] != 'x') return 2;
    out[2] = hex[c >> 4];
    out[3] = hex[c & 15];
    return 4;
}

/* How many bytes nb_put_shown writes for N bytes of S. */
static size_t shown_len(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    size_t len = 0;
    char esc[5];
    while (p < end) {
        int k = shown_as_is(p, end);
        len += k ? (size_t)k : (size_t)escape_byte(*p, esc);
        p += k ? k : 1;
    }
    return len;
}

/* Where a message's text goes: a buffer (a line of nb_vsay, nb_put_shown or
 * nb_line_begin's stream, written to TO at its end in one call, say_end), or TO itself
 * (DIRECT: out of memory for a line past FIRST). */
struct say_out {
    FILE *to;
    int direct, locked; /* LOCKED: we hold TO's lock since it went direct */
    char *buf;          /* FIRST, or realloc'd once the line outgrew it */
    size_t n, cap;
    char first[1024];
};

static void say_begin(struct say_out *o, FILE *to)
{
    o->to = to;
    o->direct = o->locked = 0;
    o->buf = o->first;
    o->n = 0;
    o->cap = sizeof o->first;
}

/* N bytes of S to O.  Out of memory for a longer line, the part held goes out and the
 * rest is written as it comes, under the stream's lock (whole, but in pieces). */
static void say_put(struct say_out *o, const void *s, size_t n)
{
    if (!o->direct && n > o->cap - o->n) {
        size_t cap = o->cap;
        while (cap && cap - o->n < n) cap = cap <= SIZE_MAX / 2 ? cap * 2 : 0;
        char *grown = cap ? realloc(o->buf == o->first ? NULL : o->buf, cap) : NULL;
        if (grown) {
            if (o->buf == o->first) memcpy(grown, o->first, o->n);
            o->buf = grown;
            o->cap = cap;
        } else {
            flockfile(o->to);
            o->locked = o->direct = 1;
            fwrite(o->buf, 1, o->n, o->to);
        }
    }
    if (o->direct) {
        fwrite(s, 1, n, o->to);
        return;
    }
    memcpy(o->buf + o->n, s, n);
    o->n += n;
}

/* nb_put_shown into O */
static void put_shown(struct say_out *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;
    char esc[5];
    while (p < end) {
        int k = shown_as_is(p, end);
        if (k) {
            p += k;
            continue;
        }
        say_put(o, run, (size_t)(p - run));
        say_put(o, esc, (size_t)escape_byte(*p, esc));
        run = ++p;
    }
    say_put(o, run, (size_t)(p - run));
}

/* O's text to its stream in one call (unless it went direct), and O's lock and buffer
 * given back. */
static void say_end(struct say_out *o)
{
    if (!o->direct) fwrite(o->buf, 1, o->n, o->to);
    if (o->locked) funlockfile(o->to);
    if (o->buf != o->first) free(o->buf);
}

/* In one call, as nb_vsay writes its line: a name with escapes was a write(2) per
 * run and per escape on the unbuffered stderr. */
void nb_put_shown(FILE *to, const char *s, size_t n)
{
    struct say_out o;
    say_begin(&o, to);
    put_shown(&o, s, n);
    say_end(&o);
}

/* nb_line_begin's stream writes into the say_out it was opened with. */
static ssize_t line_write(void *cookie, const char *buf, size_t n)
{
    say_put(cookie, buf, n);
    return (ssize_t)n;
}

FILE *nb_line_begin(struct nb_line *l, FILE *to)
{
    struct say_out *o = malloc(sizeof *o);
    l->to = to;
    l->f = NULL;
    l->state = o;
    if (o) {
        say_begin(o, to);
        l->f = fopencookie(o, "w", (cookie_io_functions_t){.write = line_write});
    }
    if (!l->f) { /* out of memory: TO itself, the line whole under its lock, in pieces */
        free(o);
        l->state = NULL;
        flockfile(to);
        return to;
    }
    setvbuf(l->f, NULL, _IONBF, 0); /* each piece straight into O: no stdio buffer besides */
    return l->f;
}

void nb_line_end(struct nb_line *l)
{
    if (!l->state) {
        funlockfile(l->to);
        return;
    }
    fclose(l->f);
    say_end(l->state);
    free(l->state);
}

const char *nb_shown(const char *s, char *buf, size_t size)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    int k;
    while (p < end && (k = shown_as_is(p, end))) p += k;
    if (p == end) return s; /* nothing to escape */
    if (size < 8) return "..."; /* (no room for any of it) */
    /* from the start, character by character: a cut at a byte count could fall inside
     * a character and leave its first bytes raw, bytes that are not UTF-8 */
    size_t n = 0;
    p = (const unsigned char *)s;
    while (p < end) {
        char esc[5];
        k = shown_as_is(p, end);
        int e = k ? 0 : escape_byte(*p, esc);
        if (n + (size_t)(k + e) + 4 > size) break; /* no room for it and a cut's "..." */
        memcpy(buf + n, k ? (const char *)p : esc, (size_t)(k + e));
        n += (size_t)(k + e);
        p += k ? k : 1;
    }
    if (p < end) memcpy(buf + n, "...", 3), n += 3; /* longer than BUF: cut, visibly */
    buf[n] = 0;
    return buf;
}

/* One printf conversion of nb_say's format: FMT just after its '%', its arguments
 * taken from AP.  A string (%s) or a character (%c) is shown as nb_put_shown shows a
 * name, padded to its width with the length shown; anything else written as printf
 * writes it.  Returns FMT past the conversion.  (AP by address: C11 7.16 lets the
 * caller go on with it.) */
static const char *say_conversion(struct say_out *o, const char *fmt, va_list *ap)
{
    char flags[8], len[3] = "", spec[32];
    size_t nf = 0, nl = 0;
    int width = -1, prec = -1, left = 0;
    for (; *fmt && strchr("-+ #0", *fmt); fmt++) {
        left |= *fmt == '-';
        if (nf < sizeof flags - 2) flags[nf++] = *fmt;
    }
    if (*fmt == '*') {
        width = va_arg(*ap, int);
        fmt++;
        if (width < 0) { /* as printf takes a negative width: '-' and its size */
            width = width == INT_MIN ? INT_MAX : -width;
            if (!left) flags[nf++] = '-';
            left = 1;
        }
    } else if (*fmt >= '0' && *fmt <= '9') {
        width = (int)strtol(fmt, (char **)&fmt, 10);
    }
    if (*fmt == '.') {
        fmt++;
        if (*fmt == '*') {
            prec = va_arg(*ap, int);
            fmt++;
            if (prec < 0) prec = -1; /* as if none was given */
        } else {
            prec = (int)strtol(fmt, (char **)&fmt, 10); /* "." alone: 0 */
        }
    }
    for (; *fmt && strchr("hlzjtL", *fmt) && nl < 2; fmt++) len[nl++] = *fmt;
    len[nl] = 0;
    flags[nf] = 0;
    char conv = *fmt ? *fmt++ : 0;
    if (conv == '%') {
        say_put(o, "%", 1);
        return fmt;
    }
    if (conv == 's' || conv == 'c') {
        char ch;
        const char *s = conv == 'c' ? (ch = (char)va_arg(*ap, int), &ch) : va_arg(*ap, const char *);
        if (!s) s = "(null)"; /* as glibc prints it */
        size_t n = conv == 'c' ? 1 : prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
        size_t shown = shown_len(s, n), pad = width > 0 && (size_t)width > shown ? (size_t)width - shown : 0;
        for (size_t i = 0; !left && i < pad; i++) say_put(o, " ", 1);
        put_shown(o, s, n);
        for (size_t i = 0; left && i < pad; i++) say_put(o, " ", 1);
        return fmt;
    }
    int w = snprintf(spec, sizeof spec, "%%%s", flags);
    if (width >= 0) w += snprintf(spec + w, sizeof spec - (size_t)w, "%d", width);
    if (prec >= 0) w += snprintf(spec + w, sizeof spec - (size_t)w, ".%d", prec);
    snprintf(spec + w, sizeof spec - (size_t)w, "%s%c", len, conv);
    char num[512]; /* a number: %f of the largest double is 309 digits and its decimals */
    int ll = !strcmp(len, "ll"), l = !strcmp(len, "l"), z = !strcmp(len, "z"), j = !strcmp(len, "j"),
        t = !strcmp(len, "t");
    switch (conv) {
    case 'd': case 'i':
        if (ll) snprintf(num, sizeof num, spec, va_arg(*ap, long long));
        else if (l) snprintf(num, sizeof num, spec, va_arg(*ap, long));
        else if (z) snprintf(num, sizeof num, spec, va_arg(*ap, ssize_t));
        else if (j) snprintf(num, sizeof num, spec, va_arg(*ap, intmax_t));
        else if (t) snprintf(num, sizeof num, spec, va_arg(*ap, ptrdiff_t));
        else snprintf(num, sizeof num, spec, va_arg(*ap, int)); /* hh and h: promoted to int */
        break;
    case 'u': case 'o': case 'x': case 'X':
        if (ll) snprintf(num, sizeof num, spec, va_arg(*ap, unsigned long long));
        else if (l) snprintf(num, sizeof num, spec, va_arg(*ap, unsigned long));
        else if (z) snprintf(num, sizeof num, spec, va_arg(*ap, size_t));
        else if (j) snprintf(num, sizeof num, spec, va_arg(*ap, uintmax_t));
        else if (t) snprintf(num, sizeof num, spec, va_arg(*ap, ptrdiff_t));
        else snprintf(num, sizeof num, spec, va_arg(*ap, unsigned));
        break;
    case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case 'a': case 'A':
        if (!strcmp(len, "L")) snprintf(num, sizeof num, spec, va_arg(*ap, long double));
        else snprintf(num, sizeof num, spec, va_arg(*ap, double));
        break;
    case 'p':
        snprintf(num, sizeof num, spec, va_arg(*ap, void *));
        break;
    default: /* none that the format check lets through (%n among them): the text as it is */
        snprintf(num, sizeof num, "%s", spec);
    }
    say_put(o, num, strlen(num));
    return fmt;
}

/* Only the arguments are shown escaped, not the format: its text is the program's own
 * and may hold a backslash meant as one ("(\\w+\\s?)*", "\\udcXX"), which the rule
 * for names would double.  The line is made in a buffer and written in one call: on
 * an unbuffered stderr each piece was a write(2) of its own, and another process
 * writing to the same file (the Jupyter server's log has both the stage kernel's
 * stderr and the wrapped kernel's) could land inside the line.  One call also keeps
 * threads saying lines at once from mixing them.  A line of up to 1 KiB needs no
 * allocation, so that "out of memory" can be said too; a longer one out of memory is
 * written in pieces (say_put). */
void nb_vsay(FILE *to, const char *fmt, va_list ap)
{
    va_list mine;
    va_copy(mine, ap);
    struct say_out o;
    say_begin(&o, to);
    for (const char *p = fmt; *p;) {
        const char *pc = strchr(p, '%');
        size_t lit = pc ? (size_t)(pc - p) : strlen(p);
        say_put(&o, p, lit);
        if (!pc) break;
        p = say_conversion(&o, pc + 1, &mine);
    }
    say_put(&o, "\n", 1);
    say_end(&o);
    va_end(mine);
}

void nb_say(FILE *to, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nb_vsay(to, fmt, ap);
    va_end(ap);
}
