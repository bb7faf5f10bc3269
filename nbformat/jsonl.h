/* jsonl.h — what the commands that read JSON Lines (ingest's cells, weak labels,
 * predictions) agree on about a line.  ingest writes these files; label, train, eval
 * and classify read them. */
#ifndef NBSTAGE_JSONL_H
#define NBSTAGE_JSONL_H
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Whether the -1 that getline(3) just returned on F is a failure, not the end of the
 * input: glibc before 2.37 sets no error flag when it cannot grow the line (errno
 * ENOMEM), and a reader that took that for the end went on with part of its input,
 * exit 0.  (ferror alone misses it; the end sets feof.) */
static inline int jsonl_read_failed(FILE *f) { return ferror(f) || !feof(f); }

/* 1 when the N bytes at S are JSON white space only (RFC 8259: space, tab, CR, LF):
 * such a line holds no record and is skipped, so a file saved on Windows (a last
 * "\r\n") or padded by hand reads like any other. */
static inline int jsonl_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

/* 1 when the N bytes at S start with a UTF-8 byte-order mark, which JSON Lines (and
 * Python's json.loads) do not allow, and which jansson's message quotes unseen
 * ("'[' or '{' expected near ''"): the readers say what it is, JSONL_BOM_SAYS after
 * "the file starts with" (line 1) or "the line starts with". */
#define JSONL_BOM_SAYS "a UTF-8 byte-order mark (bytes EF BB BF), which JSON Lines does not allow: " \
                       "save the file as UTF-8 without one"
static inline int jsonl_bom(const char *s, size_t n)
{
    return n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0;
}

/* 1 when V is a cell's text as these files carry a "source": a string, or nbformat's
 * list of lines (strings only).  Anything else is a bad line, never a blank cell. */
static inline int jsonl_is_text(const json_t *v)
{
    size_t i;
    json_t *x;
    if (json_is_string(v)) return 1;
    if (!json_is_array(v)) return 0;
    json_array_foreach(v, i, x) if (!json_is_string(x)) return 0;
    return 1;
}

#endif
