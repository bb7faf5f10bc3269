/* fuzz_wire.c — libFuzzer target for the proxy's light JSON lookups (kernel/wire_json.c).
 *
 * Owns: the properties no frame may break.  wire_json_member, wire_json_string and
 * wire_text_ends_line never read outside the frame (ASan), and wherever jansson reads
 * the frame as an object they agree with it: the member they find is the one jansson
 * keeps (the last of a repeated key), re-parsed equal to jansson's value; "absent" only
 * when jansson has no such key; a stream text's line end, when answered, is that of
 * the text jansson decodes; wire_json_valid accepts every text jansson reads (nested
 * less deep than its limit, no NUL: Python's grammar is jansson's and NaN, Infinity,
 * lone surrogates and bytes that are not UTF-8 besides).  Why it matters: the proxy decides what a message is (msg_type) and
 * which code to classify from these lookups, while the wrapped kernel acts on what a
 * full JSON parser reads.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kernel/wire.h"
#include "kernel/wire_json.h"

static void check_key(const unsigned char *data, size_t size, json_t *j, const char *key)
{
    struct wire_frame f = {data, size};
    size_t off = 0, len = 0;
    int r = wire_json_member(&f, key, &off, &len);
    json_t *want = json_is_object(j) ? json_object_get(j, key) : NULL;
    if (r == 1) {
        if (off > size || len > size - off) { fprintf(stderr, "member outside the frame\n"); abort(); }
        if (j && !want) { fprintf(stderr, "member found that jansson does not have\n"); abort(); }
        json_t *got = json_loadb((const char *)data + off, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (j && (!got || !json_equal(got, want))) { fprintf(stderr, "member differs from jansson's\n"); abort(); }
        json_decref(got);
    }
    if (r == 0 && want) { fprintf(stderr, "member missed\n"); abort(); }
    /* -1 for a valid object only when an escape may hide a key */
    if (r == -1 && json_is_object(j) && !memchr(data, '\\', size)) {
        fprintf(stderr, "a valid object not understood\n");
        abort();
    }

    char out[64];
    int s = wire_json_string(&f, key, out, sizeof out);
    if (s == 1 && j) {
        const char *v = json_string_value(want);
        if (!v || strncmp(out, v, sizeof out - 1)) { fprintf(stderr, "string differs\n"); abort(); }
    }
    if (s == 0 && json_is_string(want)) { /* 0: absent or not a string */
        fprintf(stderr, "string missed\n");
        abort();
    }
}

/* wire_text_ends_line against the text jansson decodes: when it answers, its answer is
 * the decoded text's (ends in '\n', or has a '\r' after its last '\n'). */
static void check_ends_line(const unsigned char *data, size_t size, json_t *j)
{
    struct wire_frame f = {data, size};
    int r = wire_text_ends_line(&f);
    json_t *text = json_is_object(j) ? json_object_get(j, "text") : NULL;
    if (r == -1 || !j) return;
    if (!json_is_string(text)) { fprintf(stderr, "ends_line answered without a text\n"); abort(); }
    const char *v = json_string_value(text);
    size_t n = json_string_length(text), last = n;
    while (last > 0 && v[last - 1] != '\n') last--; /* the last line: v[last..n) */
    int want = (n > 0 && v[n - 1] == '\n') || memchr(v + last, '\r', n - last) != NULL;
    if (n == 0 || r != want) { fprintf(stderr, "ends_line %d, the text says %d\n", r, want); abort(); }
}

/* Whatever jansson reads (any value at the top, no NUL), Python reads too, unless it
 * nests deeper than WIRE_JSON_DEPTH (counted as brackets anywhere: an upper bound). */
static void check_valid(const unsigned char *data, size_t size)
{
    struct wire_frame f = {data, size};
    int r = wire_json_valid(&f);
    if (memchr(data, 0, size)) return;
    size_t brackets = 0;
    for (size_t i = 0; i < size; i++) brackets += data[i] == '[' || data[i] == '{';
    json_t *any = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (any && brackets <= WIRE_JSON_DEPTH && !r) { fprintf(stderr, "valid JSON refused\n"); abort(); }
    json_decref(any);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_valid(data, size);
    json_t *j = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
    static const char *const keys[] = {"code", "msg_type", "silent", "text", "a"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) check_key(data, size, j, keys[k]);
    check_ends_line(data, size, j);
    json_decref(j);
    return 0;
}
