/* test_wire.c — kernel/wire.h and wire_json.h: framing, HMAC-SHA256 signatures, malformed input, and
 * JSON validity as Python's json reads it.
 * Reference signatures come from Python's hmac module (what jupyter_client uses). */
#include "unit.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "kernel/wire.h"
#include "kernel/wire_json.h"

#define F(s) ((struct wire_frame){(const unsigned char *)(s), sizeof(s) - 1})

static const char uuid_key[] = "3d1e9b5a-7c2f-4e0b-9a61-5f2c8d7e1b40"; /* 36 bytes, as Jupyter's */

static struct wire_key key_of(const char *k)
{
    return (struct wire_key){(unsigned char *)k, strlen(k), NULL};
}

static void sign_matches_python_for_a_uuid_key(void **state)
{
    (void)state;
    struct wire_key k = key_of(uuid_key);
    struct wire_frame json4[4] = {F("{\"msg_id\":\"a\"}"), F("{}"), F("{}"), F("{\"code\":\"x = 1\"}")};
    char hex[WIRE_SIG_HEX + 1];
    wire_sign(&k, json4, hex);
    assert_string_equal(hex, "280a8aa04d00213807839e98c1122f09e4b489211e120c31e92910fbfd062626");
}

static void sign_handles_keys_longer_than_a_block(void **state)
{
    (void)state;
    /* RFC 4231 test case 6: a 131-byte key, split over the four parts. */
    unsigned char kb[131];
    memset(kb, 0xaa, sizeof kb);
    struct wire_key k = {kb, sizeof kb, NULL};
    struct wire_frame json4[4] = {F("Test Using Larger "), F("Than Block-Size "), F("Key - Hash "),
                                  F("Key First")};
    char hex[WIRE_SIG_HEX + 1];
    wire_sign(&k, json4, hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void empty_key_means_no_signature(void **state)
{
    (void)state;
    struct wire_key k = {NULL, 0, NULL};
    struct wire_frame json4[4] = {F("{}"), F("{}"), F("{}"), F("{}")};
    char hex[WIRE_SIG_HEX + 1] = "x";
    wire_sign(&k, json4, hex);
    assert_string_equal(hex, "");
    struct wire_frame msg[6] = {F(WIRE_DELIM), F("anything"), F("{}"), F("{}"), F("{}"), F("{}")};
    struct wire_parts p;
    assert_int_equal(wire_split(msg, 6, &p), 0);
    assert_int_equal(wire_verify(&k, msg, &p), 1);
}

static void split_finds_identities_and_buffers(void **state)
{
    (void)state;
    struct wire_frame msg[9] = {F("id-1"), F("id-2"), F(WIRE_DELIM), F("sig"), F("{}"), F("{}"),
                                F("{}"), F("{}"), F("\x00\x01")};
    struct wire_parts p;
    assert_int_equal(wire_split(msg, 9, &p), 0);
    assert_int_equal(p.n_ids, 2);
    assert_int_equal(p.sig, 3);
    assert_int_equal(p.header, 4);
    assert_int_equal(p.n_buffers, 1);
    assert_int_equal(wire_split(msg + 2, 6, &p), 0);
    assert_int_equal(p.n_ids, 0);
    assert_int_equal(p.n_buffers, 0);
}

static void split_refuses_malformed_messages(void **state)
{
    (void)state;
    struct wire_parts p;
    struct wire_frame none[1] = {F("x")};
    assert_int_equal(wire_split(none, 0, &p), WIRE_NO_DELIM);
    assert_int_equal(wire_split(none, 1, &p), WIRE_NO_DELIM);
    struct wire_frame short_msg[5] = {F("id"), F(WIRE_DELIM), F("sig"), F("{}"), F("{}")};
    assert_int_equal(wire_split(short_msg, 5, &p), WIRE_TOO_FEW);
    struct wire_frame no_delim[6] = {F("<IDS|MSG"), F("sig"), F("{}"), F("{}"), F("{}"), F("{}")};
    assert_int_equal(wire_split(no_delim, 6, &p), WIRE_NO_DELIM);
    struct wire_frame delim_prefix[7] = {F("<IDS|MSG>x"), F(WIRE_DELIM), F("s"), F("{}"), F("{}"),
                                         F("{}"), F("{}")};
    assert_int_equal(wire_split(delim_prefix, 7, &p), 0); /* only an exact delimiter counts */
    assert_int_equal(p.n_ids, 1);
}

static void build_then_verify_round_trips(void **state)
{
    (void)state;
    struct wire_key k = key_of(uuid_key);
    char sig[WIRE_SIG_HEX + 1];
    struct wire_frame fr[6];
    assert_int_equal(wire_build(&k, "{\"msg_type\":\"display_data\"}", "{\"msg_id\":\"p\"}", "{}",
                                "{\"data\":{}}", sig, fr), 6);
    assert_int_equal(strlen(sig), WIRE_SIG_HEX);
    struct wire_parts p;
    assert_int_equal(wire_split(fr, 6, &p), 0);
    assert_int_equal(wire_verify(&k, fr, &p), 1);
    /* each JSON frame is covered by the signature */
    for (int i = 2; i < 6; i++) {
        struct wire_frame saved = fr[i];
        fr[i] = F("{\"tampered\":1}");
        assert_int_equal(wire_verify(&k, fr, &p), 0);
        fr[i] = saved;
    }
    /* buffers are not signed (as in Jupyter) */
    struct wire_frame with_buf[7];
    memcpy(with_buf, fr, sizeof fr);
    with_buf[6] = F("raw");
    assert_int_equal(wire_split(with_buf, 7, &p), 0);
    assert_int_equal(wire_verify(&k, with_buf, &p), 1);
}

static void verify_refuses_wrong_key_and_bad_signatures(void **state)
{
    (void)state;
    struct wire_key k = key_of(uuid_key), other = key_of("another-key");
    char sig[WIRE_SIG_HEX + 1];
    struct wire_frame fr[6];
    wire_build(&k, "{}", "{}", "{}", "{}", sig, fr);
    struct wire_parts p;
    assert_int_equal(wire_split(fr, 6, &p), 0);
    assert_int_equal(wire_verify(&other, fr, &p), 0);
    char upper[WIRE_SIG_HEX + 1];
    for (int i = 0; i <= WIRE_SIG_HEX; i++) upper[i] = (char)(sig[i] >= 'a' && sig[i] <= 'f' ? sig[i] - 32 : sig[i]);
    fr[1] = (struct wire_frame){(const unsigned char *)upper, WIRE_SIG_HEX};
    if (strcmp(upper, sig) != 0) assert_int_equal(wire_verify(&k, fr, &p), 0);
    fr[1] = (struct wire_frame){(const unsigned char *)sig, WIRE_SIG_HEX - 1}; /* truncated */
    assert_int_equal(wire_verify(&k, fr, &p), 0);
    fr[1] = F(""); /* missing */
    assert_int_equal(wire_verify(&k, fr, &p), 0);
    char longer[WIRE_SIG_HEX + 2];
    memcpy(longer, sig, WIRE_SIG_HEX);
    longer[WIRE_SIG_HEX] = '0';
    fr[1] = (struct wire_frame){(const unsigned char *)longer, WIRE_SIG_HEX + 1};
    assert_int_equal(wire_verify(&k, fr, &p), 0);
    fr[1] = (struct wire_frame){(const unsigned char *)sig, WIRE_SIG_HEX};
    assert_int_equal(wire_verify(&k, fr, &p), 1);
}

/* Random frame soups: split and verify never crash and never read past a frame. */
static void random_frames_never_crash(void **state)
{
    (void)state;
    struct wire_key k = key_of(uuid_key);
    unsigned char pool[16][80];
    struct wire_frame fr[16];
    for (int round = 0; round < 20000; round++) {
        size_t n = randombytes_uniform(16);
        for (size_t i = 0; i < n; i++) {
            size_t len = randombytes_uniform(80);
            if (randombytes_uniform(4) == 0) {
                memcpy(pool[i], WIRE_DELIM, sizeof WIRE_DELIM - 1);
                len = sizeof WIRE_DELIM - 1;
            } else {
                randombytes_buf(pool[i], len);
            }
            fr[i] = (struct wire_frame){pool[i], len};
        }
        struct wire_parts p;
        if (wire_split(fr, n, &p) == 0) {
            assert_true(p.header + 4 + p.n_buffers == n);
            assert_int_equal(wire_verify(&k, fr, &p), 0);
        }
    }
}

static void ids_are_unique_and_dates_look_like_jupyters(void **state)
{
    (void)state;
    char a[64], b[64], d[32];
    wire_new_id(a, sizeof a, NULL);
    wire_new_id(b, sizeof b, "nbstage-");
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strlen(b), 40);
    assert_memory_equal(b, "nbstage-", 8);
    assert_string_not_equal(a, b + 8);
    /* the date written digit by digit says what strftime says of the same second, read
     * from gettimeofday as wire_now_iso does (time(2) reads the coarse clock, which can
     * trail it by a tick across a second's boundary: CI saw that once) */
    char before[32], after[32];
    struct timeval t0, t1;
    struct tm tm;
    gettimeofday(&t0, NULL);
    wire_now_iso(d);
    gettimeofday(&t1, NULL);
    strftime(before, sizeof before, "%Y-%m-%dT%H:%M:%S", gmtime_r(&t0.tv_sec, &tm));
    strftime(after, sizeof after, "%Y-%m-%dT%H:%M:%S", gmtime_r(&t1.tv_sec, &tm));
    assert_int_equal(strlen(d), 27);
    assert_true(memcmp(d, before, 19) == 0 || memcmp(d, after, 19) == 0);
    assert_true(d[4] == '-' && d[10] == 'T' && d[19] == '.' && d[26] == 'Z');
    for (int i = 20; i < 26; i++) assert_true(d[i] >= '0' && d[i] <= '9');
    /* across refills of the random pool (32 ids a pool): all distinct, all hex */
    static char many[100][33];
    for (int i = 0; i < 100; i++) {
        wire_new_id(many[i], sizeof many[i], NULL);
        assert_int_equal(strspn(many[i], "0123456789abcdef"), 32);
        for (int j = 0; j < i; j++) assert_string_not_equal(many[i], many[j]);
    }
    /* a prefix and a short buffer: cut, always terminated */
    char small[12];
    wire_new_id(small, sizeof small, "nbstage-");
    assert_int_equal(strlen(small), 11);
    assert_memory_equal(small, "nbstage-", 8);
    /* a prefix as long as the buffer, or longer: the prefix cut; room for all but one
     * digit, or for all: cut or whole; nothing written past the buffer */
    static const size_t caps[] = {7, 8, 9, 40, 41};
    for (size_t c = 0; c < sizeof caps / sizeof *caps; c++) {
        size_t cap = caps[c];
        char guard[64];
        memset(guard, 'x', sizeof guard);
        wire_new_id(guard, cap, "nbstage-");
        assert_int_equal(strlen(guard), cap - 1);
        assert_memory_equal(guard, "nbstage-", cap - 1 < 8 ? cap - 1 : 8);
        for (size_t i = cap; i < sizeof guard; i++) assert_int_equal(guard[i], 'x');
    }
}

/* The light lookup agrees with jansson wherever it answers, and answers for headers. */
static void json_string_agrees_with_jansson(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{\"msg_id\":\"abc\",\"msg_type\":\"execute_request\",\"session\":\"s\",\"date\":\"2026\"}",
        "{ \"msg_type\" : \"status\" , \"x\" : {\"msg_type\": \"inner\"}, \"y\": [1, \"]\", {}]}",
        "{\"a\": {\"msg_type\": \"nested\"}, \"b\": 1.5e3, \"c\": null, \"d\": true}",
        "{\"username\":\"x\\\\\",\"msg_type\":\"after a backslash\"}",
        "{\"text\":\"\\\"msg_type\\\": \\\"fake\\\"\",\"msg_type\":\"real\"}",
        "{\"msg_type\":\"esc\\u00e9aped\"}",
        "{\"msg_type\":42}",
        "{\"msg_type\":\"kernel_info_request\",\"msg_id\":\"m\",\"msg_type\":\"execute_request\"}",
        "{}",
        "{\"execution_state\":\"idle\"}",
        "[\"msg_type\"]",
        "{\"msg_type\":\"unterminated",
        "{\"msg_type\" \"no colon\"}",
        "",
    };
    static const char *const keys[] = {"msg_type", "msg_id", "execution_state", "b", "x"};
    for (size_t d = 0; d < sizeof docs / sizeof *docs; d++) {
        json_t *j = json_loads(docs[d], 0, NULL);
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            char out[64];
            struct wire_frame f = {(const unsigned char *)docs[d], strlen(docs[d])};
            int r = wire_json_string(&f, keys[k], out, sizeof out);
            const char *want = json_string_value(json_object_get(j, keys[k]));
            if (r == 1) assert_string_equal(out, want);
            if (r == 0) { assert_null(want); assert_string_equal(out, ""); }
            /* not understood: only what is not an object, or the escaped value */
            if (r == -1) assert_true(!json_is_object(j) || (want && strchr(want, 0xc3)));
        }
        json_decref(j);
    }
    char out[4];
    struct wire_frame f = {(const unsigned char *)docs[0], strlen(docs[0])};
    assert_int_equal(wire_json_string(&f, "msg_type", out, sizeof out), 1);
    assert_string_equal(out, "exe"); /* cut at the capacity */
    /* a value exactly as long as the buffer, or one shorter: cut by one, or whole;
     * nothing written past the buffer */
    const char *four = "{\"msg_type\":\"abcd\"}";
    struct wire_frame f4 = {(const unsigned char *)four, strlen(four)};
    char guard[16];
    memset(guard, '#', sizeof guard);
    assert_int_equal(wire_json_string(&f4, "msg_type", guard, 4), 1);
    assert_string_equal(guard, "abc");
    for (size_t i = 4; i < sizeof guard; i++) assert_int_equal(guard[i], '#');
    assert_int_equal(wire_json_string(&f4, "msg_type", guard, 5), 1);
    assert_string_equal(guard, "abcd");
    for (size_t i = 5; i < sizeof guard; i++) assert_int_equal(guard[i], '#');
}

/* The raw member lookup finds each top-level value as jansson reads it (re-parsed from
 * the raw text), strings with quotes and escapes, scalars without the blanks around. */
static void json_member_agrees_with_jansson(void **state)
{
    (void)state;
    /* the first split in two literals: parenthesised for clang's -Wstring-concatenation */
    static const char *const docs[] = {
        ("{\"code\":\"pass\",\"silent\":false,\"store_history\":true,\"user_expressions\":{},"
         "\"allow_stdin\":true,\"stop_on_error\":true}"),
        "{ \"silent\" : true ,\n \"code\" : \"print(\\\"x\\\")\\n\" }",
        "{\"a\": {\"code\": \"inner\"}, \"code\": [1, \"]\", {}], \"silent\": null\t}",
        "{\"code\":\"caf\\u00e9 \\\\\",\"n\":-1.5e3}",
        "{\"code\":\"import os\",\"silent\":true,\"code\":\"df.head()\",\"silent\":false}",
        "{\"code\":\"import os\",\"co\\u0064e\":\"df.head()\"}",
        "{}",
        "[\"code\"]",
        "{\"code\":\"unterminated",
    };
    static const char *const keys[] = {"code", "silent", "n", "a", "missing"};
    for (size_t d = 0; d < sizeof docs / sizeof *docs; d++) {
        json_t *j = json_loads(docs[d], 0, NULL);
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            struct wire_frame f = {(const unsigned char *)docs[d], strlen(docs[d])};
            size_t off = 0, len = 0;
            int r = wire_json_member(&f, keys[k], &off, &len);
            json_t *want = json_object_get(j, keys[k]);
            if (r == 1) {
                assert_non_null(want);
                json_t *got = json_loadb(docs[d] + off, len, JSON_DECODE_ANY, NULL);
                assert_non_null(got);
                assert_true(json_equal(got, want));
                json_decref(got);
            }
            if (r == 0) assert_null(want);
            if (r == -1) assert_true(!json_is_object(j) || strstr(docs[d], "\\u0064"));
        }
        json_decref(j);
    }
}

/* A prepared key signs and verifies exactly as the key itself, short, long or empty. */
static void prepared_key_signs_the_same(void **state)
{
    (void)state;
    unsigned char longk[100];
    for (size_t i = 0; i < sizeof longk; i++) longk[i] = (unsigned char)(i * 7 + 1);
    struct wire_key keys[3] = {key_of(uuid_key), {longk, sizeof longk, NULL}, {NULL, 0, NULL}};
    struct wire_frame json4[4] = {F("{\"msg_id\":\"a\"}"), F("{}"), F("{}"), F("{\"code\":\"x = 1\"}")};
    for (int k = 0; k < 3; k++) {
        char plain[WIRE_SIG_HEX + 1], ready[WIRE_SIG_HEX + 1];
        wire_sign(&keys[k], json4, plain);
        assert_int_equal(wire_key_prepare(&keys[k]), 0);
        assert_true(keys[k].len == 0 || keys[k].ready);
        for (int again = 0; again < 2; again++) { /* the prepared state is not used up */
            wire_sign(&keys[k], json4, ready);
            assert_string_equal(plain, ready);
        }
        char sig[WIRE_SIG_HEX + 1];
        struct wire_frame fr[6];
        wire_build(&keys[k], "{}", "{\"msg_id\":\"p\"}", "{}", "{\"x\":1}", sig, fr);
        struct wire_parts p;
        assert_int_equal(wire_split(fr, 6, &p), 0);
        assert_int_equal(wire_verify(&keys[k], fr, &p), 1);
        wire_key_release(&keys[k]);
        assert_null(keys[k].ready);
    }
    assert_string_equal(uuid_key, "3d1e9b5a-7c2f-4e0b-9a61-5f2c8d7e1b40");
}

/* An hmac-sha512 key (a session configured with signature_scheme hmac-sha512): the
 * signature Python's hmac gives, 128 digits, over the four JSON frames only (a buffer
 * after them is not signed), and a key prepared once stays prepared as it was. */
static void sha512_key_signs_as_python_and_ignores_buffers(void **state)
{
    (void)state;
    struct wire_key k = key_of(uuid_key);
    assert_int_equal(wire_key_prepare_scheme(&k, 1), 0);
    void *ready = k.ready;
    assert_non_null(ready);
    assert_int_equal(wire_key_prepare_scheme(&k, 0), 0); /* already prepared: unchanged */
    assert_ptr_equal(k.ready, ready);
    struct wire_frame json4[4] = {F("{\"msg_id\":\"a\"}"), F("{}"), F("{}"), F("{\"code\":\"x = 1\"}")};
    char hex[WIRE_SIG_HEX_MAX + 1];
    wire_sign(&k, json4, hex);
    assert_string_equal(hex, "71e2005c1857dd105986bd75be2ee2cc8dfb1dfb23dfe44d7b4083a0c0db404a"
                             "9dd82e27c22291bf358bd93a854f53086468ef05b67b6eff60b8e1829898009c");
    /* delimiter, signature, the four frames, then a buffer: verified on the four */
    struct wire_frame fr[7] = {F("<IDS|MSG>"), {(const unsigned char *)hex, WIRE_SIG_HEX_MAX},
                               json4[0], json4[1], json4[2], json4[3], F("raw buffer")};
    struct wire_parts p;
    assert_int_equal(wire_split(fr, 7, &p), 0);
    assert_int_equal(wire_verify(&k, fr, &p), 1);
    fr[1].len = WIRE_SIG_HEX; /* a SHA-256-long prefix of it is not a SHA-512 signature */
    assert_int_equal(wire_verify(&k, fr, &p), 0);
    wire_key_release(&k);
}

/* The member lookup's edges: blanks of every kind between a scalar and what ends it are
 * not part of it, and an object cut after a value (no '}') is malformed (-1), not an
 * object without the key. */
static void json_member_blanks_and_cut_objects(void **state)
{
    (void)state;
    static const char *const docs[] = {"{\"n\": 12 }", "{\"n\": 12\t}", "{\"n\": 12\n}",
                                       "{\"n\": 12\r}", "{\"n\": 12 \r\n\t, \"m\": 0}"};
    for (size_t d = 0; d < sizeof docs / sizeof *docs; d++) {
        struct wire_frame f = {(const unsigned char *)docs[d], strlen(docs[d])};
        size_t off = 0, len = 0;
        assert_int_equal(wire_json_member(&f, "n", &off, &len), 1);
        assert_int_equal(off, 6);
        assert_int_equal(len, 2);
    }
    static const char *const cut[] = {"{\"n\": 12", "{\"n\": \"x\"", "{\"n\": \"x\" ",
                                      "{\"m\": {}", "{\"n\": 1,"};
    for (size_t d = 0; d < sizeof cut / sizeof *cut; d++) {
        struct wire_frame f = {(const unsigned char *)cut[d], strlen(cut[d])};
        size_t off, len;
        char out[8];
        assert_int_equal(wire_json_member(&f, "n", &off, &len), -1);
        assert_int_equal(wire_json_string(&f, "n", out, sizeof out), -1);
    }
}

/* A frame is zmq's bytes, with nothing after them: the lookup never reads past its end,
 * whatever is cut where (run under ASan, a read one byte too far is an error). */
static void json_member_reads_within_the_frame(void **state)
{
    (void)state;
    const char *whole = "{ \"msg_type\" : \"a\\\"b\" , \"x\" : [1, {\"y\": \"}\"}] }";
    size_t n = strlen(whole);
    for (size_t cut = 0; cut <= n; cut++) {
        /* the frame at the end of its block, even when empty (ASan lets a malloc(0)'s
         * byte be read) */
        unsigned char *block = malloc(cut + 1);
        assert_non_null(block);
        memcpy(block + 1, whole, cut);
        struct wire_frame f = {block + 1, cut};
        size_t off, len;
        char out[16];
        int r = wire_json_member(&f, "x", &off, &len);
        assert_int_equal(r, cut == n ? 1 : -1);
        (void)wire_json_string(&f, "msg_type", out, sizeof out);
        free(block);
    }
}

/* JSON CONTENT's text: ends a line (1), inside one (0), or says nothing (-1). */
static int ends_line(const char *content)
{
    struct wire_frame f = {(const unsigned char *)content, strlen(content)};
    return wire_text_ends_line(&f);
}

static void text_ends_line_as_python_wrote_it(void **state)
{
    (void)state;
    assert_int_equal(ends_line("{\"name\": \"stdout\", \"text\": \"p\\n\"}"), 1);
    assert_int_equal(ends_line("{\"name\": \"stdout\", \"text\": \"p\"}"), 0);
    assert_int_equal(ends_line("{\"text\": \"a\\nb\\n\", \"name\": \"stderr\"}"), 1);
    assert_int_equal(ends_line("{\"text\": \"a\\nb\"}"), 0);
    /* a backslash then the letter n: no newline */
    assert_int_equal(ends_line("{\"text\": \"C:\\\\n\"}"), 0);
    /* a backslash, then a newline */
    assert_int_equal(ends_line("{\"text\": \"C:\\\\\\n\"}"), 1);
    /* a progress bar's line: its updates never wait */
    assert_int_equal(ends_line("{\"text\": \"\\r 10%\"}"), 1);
    assert_int_equal(ends_line("{\"text\": \"done\\n\\r 10%\"}"), 1);
    assert_int_equal(ends_line("{\"text\": \"\\r 10%\\nnext\"}"), 0);
    /* nothing to say: empty, absent, not a string, a \u escape in the last line */
    assert_int_equal(ends_line("{\"text\": \"\"}"), -1);
    assert_int_equal(ends_line("{\"name\": \"stdout\"}"), -1);
    assert_int_equal(ends_line("{\"text\": 5}"), -1);
    assert_int_equal(ends_line("{\"text\": \"caf\\u00e9\"}"), -1);
    assert_int_equal(ends_line("{\"text\": \"caf\\u00e9\\n\"}"), 1);
    assert_int_equal(ends_line("{\"text\": \"p"), -1); /* cut */
}

/* wire_json_valid against Python's json.loads (each row's answer is what
 * json.loads gave, 2026-12-06, Python 3.11): a part of a message that Python cannot
 * read makes ipykernel drop the message unrun, and the proxy must not await its cell. */
static void json_valid_as_python_reads_it(void **state)
{
    (void)state;
    static const struct { const char *text; int valid; } cases[] = {
        {"{}", 1},
        {"[]", 1},
        {" {\"a\": 1} ", 1},
        {"{\"a\":[1,2,{\"b\":null}],\"c\":\"x\"}", 1},
        {"NaN", 1},
        {"-Infinity", 1},
        {"Infinity", 1},
        {"-NaN", 0},
        {"1e400", 1},
        {"-0", 1},
        {"01", 0},
        {"1.", 0},
        {".5", 0},
        {"-", 0},
        {"1e", 0},
        {"1e+", 0},
        {"1E-5", 1},
        {"0.0e0", 1},
        {"\"\\u00e9\"", 1},
        {"\"\\ud800\"", 1},
        {"\"\\x\"", 0},
        {"\"\\u12\"", 0},
        {"\"a\x01""b\"", 0},
        {"\"a\x09""b\"", 0},
        {"[1,]", 0},
        {"{\"a\":1,}", 0},
        {"{\"a\" 1}", 0},
        {"{1:2}", 0},
        {"{}x", 0},
        {"{} {}", 0},
        {"", 0},
        {" ", 0},
        {"tru", 0},
        {"true", 1},
        {"nul", 0},
        {"[1 2]", 0},
        {"{\"a\":1 \"b\":2}", 0},
        {"\xef""\xbb""\xbf""{}", 0},
        {"\"\\/\"", 1},
        {"[[]]", 1},
        {"[{}]", 1},
        {"{\"a\":{}}", 1},
        {"\"unterminated", 0},
        {"[", 0},
        {"]", 0},
        {"{\"a\":", 0},
        {"{\"code\": \"print(1)\", \"silent\": tru}", 0},
        {"\x0c""{}", 0},
        {"{}\x0b""", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct wire_frame f = {(const unsigned char *)cases[i].text, strlen(cases[i].text)};
        if (wire_json_valid(&f) != cases[i].valid)
            fail_msg("case %zu (%s): want %d", i, cases[i].text, cases[i].valid);
    }
    /* bytes that are not UTF-8 in a string: Python replaces them, and reads on */
    struct wire_frame bad_utf8 = {(const unsigned char *)"{\"a\": \"\xff\xfe\"}", 11};
    assert_int_equal(wire_json_valid(&bad_utf8), 1);
    /* a NUL byte within the frame: not JSON */
    struct wire_frame nul = {(const unsigned char *)"{}\0", 3};
    assert_int_equal(wire_json_valid(&nul), 0);
    /* nesting: WIRE_JSON_DEPTH levels read, one more refused (Python: RecursionError) */
    static char deep[2 * WIRE_JSON_DEPTH + 3];
    for (int extra = 0; extra < 2; extra++) {
        size_t n = WIRE_JSON_DEPTH + (size_t)extra;
        memset(deep, '[', n);
        memset(deep + n, ']', n);
        struct wire_frame d = {(const unsigned char *)deep, 2 * n};
        assert_int_equal(wire_json_valid(&d), !extra);
    }
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sign_matches_python_for_a_uuid_key),
        cmocka_unit_test(sign_handles_keys_longer_than_a_block),
        cmocka_unit_test(empty_key_means_no_signature),
        cmocka_unit_test(split_finds_identities_and_buffers),
        cmocka_unit_test(split_refuses_malformed_messages),
        cmocka_unit_test(build_then_verify_round_trips),
        cmocka_unit_test(verify_refuses_wrong_key_and_bad_signatures),
        cmocka_unit_test(random_frames_never_crash),
        cmocka_unit_test(json_string_agrees_with_jansson),
        cmocka_unit_test(json_member_agrees_with_jansson),
        cmocka_unit_test(prepared_key_signs_the_same),
        cmocka_unit_test(sha512_key_signs_as_python_and_ignores_buffers),
        cmocka_unit_test(json_member_blanks_and_cut_objects),
        cmocka_unit_test(json_member_reads_within_the_frame),
        cmocka_unit_test(text_ends_line_as_python_wrote_it),
        cmocka_unit_test(ids_are_unique_and_dates_look_like_jupyters),
        cmocka_unit_test(json_valid_as_python_reads_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
