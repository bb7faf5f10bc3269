/* nbread.c — reading and validating a notebook, and the cell accessors.
 *
 * Owns: nb_read_file/nb_read_mem (jansson with duplicate keys refused and NUL kept in
 * values), the structure every reader relies on (everything else kept as it is, unknown
 * fields and cell types included), and the reasons for a refusal.  What jansson cannot
 * hold exactly (integers beyond 64 bits, NaN/Infinity, reals that overflow, lone
 * surrogates, NUL in keys, duplicate keys) is refused with a reason instead of being
 * altered silently: a notebook we cannot write back byte for byte is one we must not
 * rewrite.  A reader that writes nothing back (ingest, classify, summary) may ask for
 * NB_LENIENT: such a file is then read again from a copy with those values replaced
 * (lenient_copy), as Python reads it in all that a reader looks at.  Also the
 * library's error messages (nb_set_error, nb_error_copy, nb_error_fmt): whole for any
 * path the system opens, else cut visibly ("...") between UTF-8 characters, the
 * reason kept.  And nb_open_input (nb_open_regular for a notebook, nb_fopen_input for
 * a stdio reader): the one way a file named by the user is opened for reading (a
 * notebook, classify's file, the model, the rules, the hand labels, the JSON Lines
 * inputs, a checkpoint, the kernel's connection file), which never waits on a FIFO,
 * refuses all but a regular file, and gives one reason for every kind of file
 * ("PATH: No such file or directory", "PATH: is a directory, not a model file").
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbformat/jsonbytes.h"
#include "nbformat/jsonload.h"
#include "nbformat/nbinternal.h"

/* ---------------------------------------------------------------- errors */

/* A continuation byte of a UTF-8 sequence (10xxxxxx). */
static int utf8_cont(char c)
{
    return ((unsigned char)c & 0xc0) == 0x80;
}

void nb_error_copy(char *dst, size_t size, const char *msg)
{
    size_t len = strlen(msg);
    if (len < size) {
        memcpy(dst, msg, len + 1);
        return;
    }
    if (size < 16) { /* (no room for both ends: the start) */
        size_t end = size ? size - 1 : 0;
        for (int k = 0; k < 3 && end > 0 && utf8_cont(msg[end]); k++) end--;
        if (size) memcpy(dst, msg, end), dst[end] = 0;
        return;
    }
    size_t room = size - 4, head = room / 2, tail = len - (room - room / 2);
    /* at most 3 bytes back or on: a character is at most 4 (bytes that are not UTF-8,
     * a file's quoted in a reason, may end a cut anywhere, as they would anyway) */
    for (int k = 0; k < 3 && head > 0 && utf8_cont(msg[head]); k++) head--;
    for (int k = 0; k < 3 && tail < len && utf8_cont(msg[tail]); k++) tail++;
    memcpy(dst, msg, head);
    memcpy(dst + head, "...", 3);
    memcpy(dst + head + 3, msg + tail, len - tail + 1);
}

/* FMT with AP into DST (SIZE bytes), as nb_error_copy would copy the whole message. */
static void error_vfmt(char *dst, size_t size, const char *fmt, va_list ap)
{
    if (!size) return;
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(dst, size, fmt, ap);
    if (n < 0 || (size_t)n < size) {
        va_end(again);
        return;
    }
    /* too long (a path longer than the system opens, or than the caller's buffer):
     * formatted whole, then cut with a mark where it shows; no memory: the end cut off,
     * but marked and between characters */
    char *whole = malloc((size_t)n + 1);
    if (whole) {
        vsnprintf(whole, (size_t)n + 1, fmt, again);
        va_end(again);
        nb_error_copy(dst, size, whole);
        free(whole);
        return;
    }
    va_end(again);
    if (size < 4) return;
    size_t end = size - 4;
    for (int k = 0; k < 3 && end > 0 && utf8_cont(dst[end]); k++) end--;
    memcpy(dst + end, "...", 4);
}

void nb_error_fmt(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vfmt(dst, size, fmt, ap);
    va_end(ap);
}

void nb_set_error(nb_error *err, const char *fmt, ...)
{
    if (!err) return;
    va_list ap;
    va_start(ap, fmt);
    error_vfmt(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- cells */

size_t nb_cell_count(const json_t *nb)
{
    return json_array_size(json_object_get(nb, "cells"));
}

json_t *nb_cell(const json_t *nb, size_t i)
{
    return json_array_get(json_object_get(nb, "cells"), i);
}

const char *nb_cell_type(const json_t *cell)
{
    const char *t = json_string_value(json_object_get(cell, "cell_type"));
    if (!t) return NULL;
    if (!strcmp(t, "code")) return "code";
    if (!strcmp(t, "markdown")) return "markdown";
    if (!strcmp(t, "raw")) return "raw";
    return NULL;
}

/* A string or a list of strings joined; NULL only when out of memory. */
char *nb_join_text(const json_t *v, size_t *len)
{
    size_t n = 0;
    if (json_is_string(v)) {
        n = json_string_length(v);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *line;
        json_array_foreach(v, i, line) n += json_string_length(line); /* 0 if not a string */
    }
    char *s = malloc(n + 1);
    if (!s) return NULL;
    if (json_is_string(v)) {
        memcpy(s, json_string_value(v), n);
    } else if (json_is_array(v)) {
        size_t i, off = 0;
        json_t *line;
        json_array_foreach(v, i, line) {
            if (!json_is_string(line)) continue;
            memcpy(s + off, json_string_value(line), json_string_length(line));
            off += json_string_length(line);
        }
    }
    s[n] = 0;
    if (len) *len = n;
    return s;
}

char *nb_cell_source(const json_t *cell, size_t *len)
{
    return nb_join_text(json_object_get(cell, "source"), len);
}

/* ---------------------------------------------------------------- reading */

static int is_text(const json_t *v)
{
    if (json_is_string(v)) return 1;
    if (!json_is_array(v)) return 0;
    size_t i;
    json_t *line;
    json_array_foreach(v, i, line) if (!json_is_string(line)) return 0;
    return 1;
}

/* KEY ("nbformat" or "nbformat_minor") is V, which is not an integer: said with what
 * it is.  Python's nbformat refuses these too: a real (4.0 and 5.0 fail its validator's
 * isinstance(version, int), in nbformat.read and nbformat.write alike: nbformat 5.5 to
 * 5.10), a string, null, a list or an object.  true and false are the exception: a bool
 * is an int in Python, so it takes "nbformat": true for version 1 and reads a minor of
 * true, logging it invalid; the format's schema wants an integer, and so do we.  A real
 * with an integer's value is said so, with the fix. */
static void version_not_integer(const json_t *v, const char *key, const char *name,
                                nb_error *err)
{
    char what[64];
    const char *why = "Python's nbformat.read refuses it too";
    const char *fix = "";
    if (json_is_real(v)) {
        double d = json_real_value(v);
        char repr[40];
        nb_float_repr(d, repr, sizeof repr);
        snprintf(what, sizeof what, "the real number %s", repr);
        if (!signbit(d) && d < 1e6 && d == (double)(long)d) fix = "; write it without \".0\"";
    } else if (json_is_boolean(v)) {
        snprintf(what, sizeof what, "%s", json_is_true(v) ? "true" : "false");
        why = "the notebook format's schema wants an integer";
    } else {
        snprintf(what, sizeof what, "%s", json_is_string(v) ? "a string" : json_is_null(v) ? "null"
                 : json_is_array(v) ? "a list" : "an object");
    }
    nb_set_error(err, "%s: \"%s\" is not an integer but %s (%s%s)", name, key, what, why, fix);
}

/* The structure every reader of the notebook relies on; everything else is kept
 * as it is, unknown fields and cell types included. */
static int validate_v4(const json_t *nb, const char *name, nb_error *err)
{
    json_t *cells = json_object_get(nb, "cells");
    if (!json_is_array(cells)) {
        nb_set_error(err, "%s: not a notebook: %s", name,
                cells ? "\"cells\" is not a list" : "no \"cells\" list");
        return -1;
    }
    json_t *md = json_object_get(nb, "metadata");
    if (md && !json_is_object(md)) {
        nb_set_error(err, "%s: \"metadata\" is not an object", name);
        return -1;
    }
    /* "5" or 5.0: Python's nbformat.read fails on it (none missing: it reads that) */
    json_t *minor = json_object_get(nb, "nbformat_minor");
    if (minor && !json_is_integer(minor)) {
        version_not_integer(minor, "nbformat_minor", name, err);
        return -1;
    }
    size_t i, code = 0; /* code cells before this one */
    json_t *cell;
    char at[64]; /* a code cell as every command names it, path#K, then where it is */
    json_array_foreach(cells, i, cell) {
        if (!json_is_object(cell)) {
            nb_set_error(err, "%s: cells[%zu] is not an object", name, i);
            return -1;
        }
        if (!json_is_string(json_object_get(cell, "cell_type"))) {
            nb_set_error(err, "%s: cells[%zu] has no cell_type string", name, i);
            return -1;
        }
        int is_code = !strcmp(json_string_value(json_object_get(cell, "cell_type")), "code");
        if (is_code) snprintf(at, sizeof at, "#%zu: cells[%zu]", code, i);
        else snprintf(at, sizeof at, ": cells[%zu]", i);
        code += is_code;
        /* null is kept: Python writes it back and it reads as an empty source */
        json_t *src = json_object_get(cell, "source");
        if (src && !json_is_null(src) && !is_text(src)) {
            nb_set_error(err, "%s%s.source is neither a string nor a list of strings",
                    name, at);
            return -1;
        }
        json_t *cmd = json_object_get(cell, "metadata");
        if (cmd && !json_is_object(cmd)) {
            nb_set_error(err, "%s%s.metadata is not an object", name, at);
            return -1;
        }
        json_t *outs = json_object_get(cell, "outputs");
        if (outs && !json_is_array(outs)) {
            nb_set_error(err, "%s%s.outputs is not a list", name, at);
            return -1;
        }
    }
    return 0;
}

/* Whether the line jansson stopped on is a merge conflict marker: seven '<', '=', '>'
 * (or diff3's '|') at its start, then a space or its end.  A conflicted notebook is no
 * JSON, and "invalid token near '<'" does not say why. */
static int at_conflict_marker(const json_error_t *je, const char *buf, size_t len)
{
    size_t p = je->position > 0 ? (size_t)je->position - 1 : 0;
    if (p >= len) return 0;
    while (p > 0 && buf[p - 1] != '\n') p--;
    if (len - p < 7 || !strchr("<=>|", buf[p]) || buf[p] == 0) return 0;
    for (size_t i = 1; i < 7; i++)
        if (buf[p + i] != buf[p]) return 0;
    return len - p == 7 || buf[p + 7] == ' ' || buf[p + 7] == '\n' || buf[p + 7] == '\r';
}

/* A clearer reason than jansson's for what Python would read but we cannot keep. */
static const char *explain(const json_error_t *je, const char *buf, size_t len)
{
    if (at_conflict_marker(je, buf, len))
        return "a merge conflict marker: not JSON until the conflict is resolved";
    /* a script, a CSV, JSON Lines given where a notebook was expected */
    if (strstr(je->text, "'[' or '{' expected near") && !strstr(je->text, "end of file"))
        return "not a notebook, which is one JSON object";
    if (strstr(je->text, "end of file expected near '{'"))
        return "more than one JSON object: JSON Lines (such as ingest's cells), not a notebook";
    if (strstr(je->text, "too big integer") || strstr(je->text, "too big negative integer"))
        return "integer beyond 64 bits (signed: -2^63 to 2^63-1): cannot be kept exactly";
    if (strstr(je->text, "real number overflow"))
        return "number too large for a double (Python would turn it into Infinity)";
    if (strstr(je->text, "duplicate object key"))
        return "duplicate object key (a rewrite would drop one of the values)";
    if (strstr(je->text, "invalid Unicode"))
        return "lone UTF-16 surrogate escape: not representable in UTF-8";
    if (strstr(je->text, "unable to decode byte") || strstr(je->text, "invalid UTF-8"))
        return "invalid UTF-8";
    if (strstr(je->text, "NUL byte in object key"))
        return "U+0000 (a NUL) in an object key is not supported"; /* no backslash: a reason is shown escaped */
    if (strstr(je->text, "invalid token") || strstr(je->text, "unexpected token")) {
        size_t p = (size_t)je->position;
        size_t from = p > 12 ? p - 12 : 0;
        for (size_t i = from; i < len && i < p + 2; i++) {
            if ((len - i >= 3 && !memcmp(buf + i, "NaN", 3)) ||
                (len - i >= 8 && !memcmp(buf + i, "Infinity", 8)))
                return "NaN/Infinity are not JSON and cannot be kept";
        }
    }
    return NULL;
}

/* Whether jansson stopped at a NUL byte outside a string: its lexer takes one for the
 * end of the input ("... expected near end of file", "premature end of input") with the
 * input not at its end.  POSITION counts the bytes read, that NUL the last of them; a
 * NUL inside a string is refused as a control character, and one escaped is kept. */
static int nul_taken_for_end(const json_error_t *je, const char *buf, size_t len)
{
    return (strstr(je->text, "end of file") || strstr(je->text, "end of input")) &&
           je->position > 0 && (size_t)je->position <= len && buf[je->position - 1] == '\0';
}

/* "UTF-16" or "UTF-32" when BUF is JSON text in one of them, else NULL: a byte-order
 * mark (Windows PowerShell 5's > and Out-File write UTF-16 with FF FE), or, without one,
 * a NUL beside the first character of a notebook ('{' or white space), as UTF-16 has
 * for ASCII.  jansson said "invalid UTF-8 (unable to decode byte 0xff)" of the first and
 * took the NUL of the second for a zero-filled file; neither said why. */
static const char *utf16_or_32(const unsigned char *b, size_t len)
{
    if (len >= 4 && ((b[0] == 0xff && b[1] == 0xfe && !b[2] && !b[3]) ||
                     (!b[0] && !b[1] && b[2] == 0xfe && b[3] == 0xff)))
        return "UTF-32";
    if (len >= 2 && ((b[0] == 0xff && b[1] == 0xfe) || (b[0] == 0xfe && b[1] == 0xff)))
        return "UTF-16";
    if (len >= 2 && (!b[0] != !b[1]) && strchr("{ \t\r\n", b[0] ? b[0] : b[1]))
        return "UTF-16";
    return NULL;
}

/* ---------------------------------------------------------------- NB_LENIENT */

/* Whether the number token S[0..N) is one jansson refuses: an integer beyond 64 bits
 * or a real beyond a double (its own tests: strtoll and strtod with ERANGE). */
static int number_out_of_range(const char *s, size_t n)
{
    char small[128], *t = n < sizeof small ? small : malloc(n + 1);
    if (!t) return 0;
    memcpy(t, s, n);
    t[n] = 0;
    int real = strpbrk(t, ".eE") != NULL, bad;
    errno = 0;
    if (real) {
        double d = strtod(t, NULL);
        bad = errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL);
    } else {
        (void)strtoll(t, NULL, 10);
        bad = errno == ERANGE;
    }
    if (t != small) free(t);
    return bad;
}

/* BUF with what Python's json reads and jansson cannot hold replaced: NaN, Infinity,
 * -Infinity and out-of-range numbers by null, each lone surrogate escape by \ufffd.
 * Strings are skipped over with their escapes, so nothing inside one is touched but
 * those escapes.  malloc'd (length in *OUT), NULL when out of memory. */
static char *lenient_copy(const char *buf, size_t len, size_t *out)
{
    char *o = malloc(2 * len + 1), *d = o; /* "NaN" -> "null" is the only growth */
    if (!o) return NULL;
    const unsigned char *ub = (const unsigned char *)buf, *ue = ub + len;
    size_t i = 0;
    while (i < len) {
        char c = buf[i];
        if (c == '"') {
            *d++ = buf[i++];
            while (i < len && buf[i] != '"') {
                unsigned v, w;
                if (buf[i] != '\\') { *d++ = buf[i++]; continue; }
                if (i + 6 <= len && buf[i + 1] == 'u' && !json_hex4(ub + i + 2, ue, &v) &&
                    v >= 0xd800 && v <= 0xdfff) {
                    if (v <= 0xdbff && i + 12 <= len && buf[i + 6] == '\\' && buf[i + 7] == 'u' &&
                        !json_hex4(ub + i + 8, ue, &w) && w >= 0xdc00 && w <= 0xdfff) {
                        memcpy(d, buf + i, 12); /* a pair: one character */
                        d += 12;
                        i += 12;
                    } else {
                        memcpy(d, "\\ufffd", 6);
                        d += 6;
                        i += 6;
                    }
                    continue;
                }
                *d++ = buf[i++]; /* the backslash, then what it escapes */
                if (i < len) *d++ = buf[i++];
            }
            if (i < len) *d++ = buf[i++];
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            if (len - i >= 9 && !memcmp(buf + i, "-Infinity", 9)) {
                memcpy(d, "null", 4);
                d += 4;
                i += 9;
                continue;
            }
            size_t j = i + 1;
            while (j < len && strchr("0123456789+-.eE", buf[j]) && buf[j]) j++;
            if (number_out_of_range(buf + i, j - i)) {
                memcpy(d, "null", 4);
                d += 4;
            } else {
                memcpy(d, buf + i, j - i);
                d += j - i;
            }
            i = j;
        } else if (len - i >= 3 && !memcmp(buf + i, "NaN", 3)) {
            memcpy(d, "null", 4);
            d += 4;
            i += 3;
        } else if (len - i >= 8 && !memcmp(buf + i, "Infinity", 8)) {
            memcpy(d, "null", 4);
            d += 4;
            i += 8;
        } else {
            *d++ = buf[i++];
        }
    }
    *d = 0;
    *out = (size_t)(d - o);
    return o;
}

json_t *nb_json_loadb_lenient(const char *buf, size_t len, size_t jflags, json_error_t *je)
{
    json_t *o = nb_json_loadb(buf, len, jflags, je);
    if (o || (je && nb_json_error_is_memory(je))) return o; /* no memory is no bad escape */
    size_t n;
    char *copy = lenient_copy(buf, len, &n);
    json_error_t je2;
    o = copy ? nb_json_loadb(copy, n, jflags, &je2) : NULL;
    free(copy);
    /* a second try that ran out of memory may have read it: say that, not the first error */
    if (!o && (!copy || nb_json_error_is_memory(&je2)) && je) {
        if (copy) *je = je2;
        else nb_json_error_set_memory(je);
    }
    return o;
}

json_t *nb_read_mem(const char *buf, size_t len, const char *name, int flags, nb_error *err)
{
    if (!name) name = "<memory>";
    if (err) err->msg[0] = 0;
    if (len == 0) { /* said so, not "1:0: '[' or '{' expected near end of file" */
        nb_set_error(err, "%s: empty file", name);
        return NULL;
    }
    if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
        nb_set_error(err, "%s:1:1: starts with a UTF-8 byte-order mark (nbformat refuses it too)",
                name);
        return NULL;
    }
    const char *wide = utf16_or_32((const unsigned char *)buf, len);
    if (wide) {
        nb_set_error(err, "%s:1:1: %s text, not UTF-8 (nbformat refuses it too): save it as UTF-8",
                name, wide);
        return NULL;
    }
    json_error_t je;
    size_t jflags = JSON_ALLOW_NUL | ((flags & NB_DUP_KEYS) ? 0 : JSON_REJECT_DUPLICATES);
    json_t *nb = (flags & NB_LENIENT) ? nb_json_loadb_lenient(buf, len, jflags, &je) : nb_json_loadb(buf, len, jflags, &je);
    if (!nb) {
        nb_json_reason(&je); /* one line, no escapes */
        const char *why = explain(&je, buf, len);
        if (je.line > 0 && nul_taken_for_end(&je, buf, len))
            nb_set_error(err, "%s:%d:%d: a NUL byte outside any string: not JSON (a crash can leave "
                    "a file zero-filled)", name, je.line, je.column);
        else if (je.line > 0)
            nb_set_error(err, "%s:%d:%d: %s%s%s%s", name, je.line, je.column,
                    why ? why : je.text, why ? " (" : "", why ? je.text : "", why ? ")" : "");
        else
            nb_set_error(err, "%s: %s", name, je.text);
        return NULL;
    }
    if (!json_is_object(nb)) {
        nb_set_error(err, "%s: not a notebook: the top level is not an object", name);
        json_decref(nb);
        return NULL;
    }
    json_t *major = json_object_get(nb, "nbformat");
    if (!json_is_integer(major)) {
        if (major) version_not_integer(major, "nbformat", name, err);
        else nb_set_error(err, "%s: not a notebook: no \"nbformat\" field", name);
        json_decref(nb);
        return NULL;
    }
    json_int_t v = json_integer_value(major);
    if (v == 3 && (flags & NB_ALLOW_V3)) {
        if (nb_upgrade_v3(nb, name, err)) { json_decref(nb); return NULL; }
    } else if (v != 4) {
        nb_set_error(err, "%s: nbformat %" JSON_INTEGER_FORMAT " is not supported (%s)", name, v,
                v == 3 ? "only 4.x here; ingest, classify and summary read v3"
                       : flags & NB_ALLOW_V3 ? "only 4.x and 3 here" : "only 4.x here");
        json_decref(nb);
        return NULL;
    }
    if (validate_v4(nb, name, err)) { json_decref(nb); return NULL; }
    return nb;
}

/* ---------------------------------------------------------------- files */

/* REASON into WHY (WHYLEN bytes); returns RC. */
static int open_refused(int rc, char *why, size_t whylen, const char *reason)
{
    snprintf(why, whylen, "%s", reason);
    return rc;
}

int nb_open_input(const char *path, const char *what, struct stat *st, char *why, size_t whylen)
{
    /* O_NONBLOCK: open() of a FIFO no one writes to would wait for ever; O_NOCTTY: a
     * terminal named for an input must not become our controlling one */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        struct stat sock;
        if (e == ENXIO && stat(path, &sock) == 0 && S_ISSOCK(sock.st_mode)) { /* opens as nothing */
            errno = e;
            return open_refused(-2, why, whylen, "not a regular file");
        }
        char said[PATH_MAX + 64];
        open_refused(-1, why, whylen, nb_path_strerror(path, e, said, sizeof said));
        errno = e; /* a caller may take a missing file as none given (the connection file) */
        return -1;
    }
    int flags, rc = -1, e = 0;
    if (fstat(fd, st)) {
        open_refused(rc, why, whylen, strerror(e = errno));
    } else if (S_ISDIR(st->st_mode)) { /* the walk's words; a folder as tag, fmt and summary say it */
        snprintf(why, whylen, "is a directory, not %s", what);
        rc = -2, e = EISDIR;
    } else if (!S_ISREG(st->st_mode)) {
        rc = open_refused(-2, why, whylen, "not a regular file");
        e = ENXIO; /* as open() says of a socket; never a stale ENOENT (the connection file's test) */
    } else if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        /* a regular file's reads never wait, but the descriptor is the caller's (stdio,
         * a kept descriptor): as an ordinary open() gives it */
        open_refused(rc, why, whylen, strerror(e = errno));
    } else {
        return fd;
    }
    close(fd);
    errno = e;
    return rc;
}

int nb_open_regular(const char *path, struct stat *st, char *why, size_t whylen)
{
    return nb_open_input(path, "a notebook", st, why, whylen);
}

FILE *nb_fopen_input(const char *path, const char *what, char *why, size_t whylen)
{
    struct stat st;
    char reason[PATH_MAX + 64];
    int fd = nb_open_input(path, what, &st, reason, sizeof reason);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (f) return f;
    int e = errno;
    if (fd >= 0) { /* fdopen's reason, before close can change errno */
        snprintf(reason, sizeof reason, "%s", strerror(e));
        close(fd);
    }
    /* the reason alone, as for a notebook (nb_open_regular): "PATH: No such file or
     * directory" from every command, as cat and grep say it */
    snprintf(why, whylen, "%s", reason);
    errno = e;
    return NULL;
}

/* The whole file in memory; NULL with ERR on failure. */
static char *slurp(const char *path, size_t *len, nb_error *err)
{
    struct stat st;
    char why[PATH_MAX + 64];
    int fd = nb_open_regular(path, &st, why, sizeof why);
    if (fd < 0) {
        nb_set_error(err, "%s: %s", path, why);
        return NULL;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) { nb_set_error(err, "%s: out of memory", path); close(fd); return NULL; }
    for (;;) {
        if (n + 1 >= cap) { /* the file grew while we read it */
            char *p = realloc(buf, cap * 2);
            if (!p) { nb_set_error(err, "%s: out of memory", path); free(buf); close(fd); return NULL; }
            buf = p;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            nb_set_error(err, "%s: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return NULL;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *len = n;
    return buf;
}

json_t *nb_read_file(const char *path, int flags, nb_error *err)
{
    size_t len;
    char *buf = slurp(path, &len, err);
    if (!buf) return NULL;
    if (len == 0) {
        nb_set_error(err, "%s: empty file", path);
        free(buf);
        return NULL;
    }
    json_t *nb = nb_read_mem(buf, len, path, flags, err);
    free(buf);
    return nb;
}
