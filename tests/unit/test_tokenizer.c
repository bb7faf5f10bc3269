/* test_tokenizer.c — the tokenizer and vocabulary against what Keras does.
 *
 * Expected words are derived by hand from keras.preprocessing.text:
 *   text_to_word_sequence(s, filters='!"#$%&()*+,-./:;<=>?@[\\]^`{|}~\t\n', lower=True, split=' ')
 * = s.lower(), every filter character -> ' ', s.split(' '), empty pieces dropped;
 * except that NUL, '\r', '\v' and '\f' separate too (tokenizer.h says why);
 * Tokenizer(num_words=N): word_counts in first-seen order, stable sort by count
 * descending, ids from 1, texts_to_sequences drops ids >= N; pad_sequences(maxlen,
 * padding='pre', truncating='pre').
 */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/tokenizer.h"
#include "nbformat/pysrc.h"
#include "model/vocab.h"

struct collected { char words[64][64]; int n; };

static int collect(const char *w, size_t len, void *ctx)
{
    struct collected *c = ctx;
    assert_true(c->n < 64 && len < 64);
    memcpy(c->words[c->n], w, len);
    c->words[c->n++][len] = 0;
    return 0;
}

/* WANT: the expected words separated by '|' ("" for none). */
static void check(const char *src, const char *want)
{
    struct collected c = {.n = 0};
    assert_int_equal(tokenize_source(src, strlen(src), collect, &c), 0);
    char got[4096] = "";
    for (int i = 0; i < c.n; i++) {
        if (i) strcat(got, "|");
        strcat(got, c.words[i]);
    }
    if (strcmp(got, want) != 0) fail_msg("tokenize(\"%s\"): got \"%s\", want \"%s\"", src, got, want);
}

static void splits_like_keras(void **state)
{
    (void)state;
    check("import pandas as pd\ndf = pd.read_csv('train.csv')",
          "import|pandas|as|pd|df|pd|read_csv|'train|csv'"); /* the apostrophe is not filtered */
    check("X_train, y = DF.Fit(x)  # model.fit(X)", "x_train|y|df|fit|x"); /* comment stripped, _ kept */
    check("print('#not a comment')", "print|'|not|a|comment'");
    check("%matplotlib inline\n!pip install xgboost==1.0", "matplotlib|inline|pip|install|xgboost|1|0");
    check("a\rb c\fd\te\nf\vg\x01h", "a|b|c|d|e|f|g\x01h"); /* all ASCII white space splits, not \x01 */
    /* Windows line ends read as the same words (Keras' split made "x\r" and "\r" words) */
    check("df = df.dropna()\r\nx = [\r\n'a',\r\n]\r\n", "df|df|dropna|x|'a'");
    check("df[df['A']>0].groupby(\"B\").mean()", "df|df|'a'|0|groupby|b|mean");
    check("x = {'k': [1, 2]}; y @= z ^ w | v ~ u", "x|'k'|1|2|y|z|w|v|u");
    check("", "");
    check("   \n\t ", "");
    check("# only a comment", "");
    check("!\"#$%&()*+,-./:;<=>?@[\\]^`{|}~", "");
    check("__init__ self.__x", "__init__|self|__x");
    /* Beyond ASCII, str.lower()'s lower case (expected words from Python 3.11's
     * "...".lower(), filtered and split as above). */
    check("\xd0\x92\xd0\x90\xd0\xa8 \xd0\x9a\xd0\x9e\xd0\x94 \xd0\x97\xd0\x94\xd0\x95\xd0\xa1\xd0\xac",
          "\xd0\xb2\xd0\xb0\xd1\x88|\xd0\xba\xd0\xbe\xd0\xb4|\xd0\xb7\xd0\xb4\xd0\xb5\xd1\x81\xd1\x8c"); /* ВАШ КОД ЗДЕСЬ */
    check("\xc3\x89T\xc3\x89 = 1", "\xc3\xa9t\xc3\xa9|1"); /* ÉTÉ = 1 */
    check("\xc4\xb0stanbul", "i\xcc\x87stanbul"); /* İ lowers to two code points */
    check("\xe2\x84\xaa" "elvin", "kelvin"); /* the Kelvin sign lowers to ASCII */
    check("\xe1\xbe\x88 \xc7\x85", "\xe1\xbe\x80|\xc7\x86"); /* ᾈ ǅ: title case */
    /* Invalid UTF-8 is copied as it is: 0xF5-0xFF begin no sequence (0xFF 0xBC 0xA1 was
     * read as U+FF21, a full-width 'A', and written as its lower case, a real word) */
    check("x = \xff\xbc\xa1 \xf8\x80\x80 \xf5\x80\x80\x80" "A", "x|\xff\xbc\xa1|\xf8\x80\x80|\xf5\x80\x80\x80" "a");
    /* The final sigma: ς after a cased letter and not before one, case-ignorable code
     * points ('.', '\'', ...) skipped both ways, across separators. */
    check("\xce\x9f\xce\x94\xce\x9f\xce\xa3 \xce\x9f\xce\x94\xce\x9f\xce\xa3.\xce\x91",
          "\xce\xbf\xce\xb4\xce\xbf\xcf\x82|\xce\xbf\xce\xb4\xce\xbf\xcf\x83|\xce\xb1"); /* ΟΔΟΣ ΟΔΟΣ.Α */
    check("\xce\xa3 = 1", "\xcf\x83|1"); /* Σ = 1 */
    check("\xce\x91\xce\xa3'\xce\x92", "\xce\xb1\xcf\x83'\xce\xb2"); /* ΑΣ'Β */
    check("\xce\x91.\xce\xa3", "\xce\xb1|\xcf\x82"); /* Α.Σ */
    check("x = '\xce\x9c\xce\x91\xce\xa3' + '\xce\xa3\xce\x91'",
          "x|'\xce\xbc\xce\xb1\xcf\x82'|'\xcf\x83\xce\xb1'"); /* x = 'ΜΑΣ' + 'ΣΑ' */
}

/* TOKENIZE_ASCII_LOWER, the split of models counted before 2026-11-30: bytes >= 0x80
 * are kept as they are, and words are padded all the same. */
static void ascii_lower_keeps_other_bytes(void **state)
{
    (void)state;
    const char *src = "\xc3\x89T\xc3\x89 = \xce\x91\xce\xa3";
    struct collected c = {.n = 0};
    assert_int_equal(tokenize_source_with(src, strlen(src), TOKENIZE_ASCII_LOWER, collect, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.words[0], "\xc3\x89t\xc3\x89");
    assert_string_equal(c.words[1], "\xce\x91\xce\xa3");
    c.n = 0;
    assert_int_equal(tokenize_source_reverse_with(src, strlen(src), TOKENIZE_ASCII_LOWER, collect, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.words[0], "\xce\x91\xce\xa3");
    assert_string_equal(c.words[1], "\xc3\x89t\xc3\x89");
}

static void separator_table_matches_filter(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        int want = c == ' ' || c == 0 || c == '\r' || c == '\v' || c == '\f' ||
                   (c && strchr(tokenizer_filter, c) != NULL);
        if (tokenizer_is_separator((unsigned char)c) != want) fail_msg("byte %d: separator table disagrees", c);
    }
    assert_null(strchr(tokenizer_filter, '_'));
    assert_null(strchr(tokenizer_filter, '\''));
    assert_int_equal(strlen(tokenizer_filter), 32); /* Keras' 33 minus '_' */
}

static struct vocab_counter *count_texts(const char *const *texts, int n)
{
    struct vocab_counter *vc = vocab_counter_new();
    assert_non_null(vc);
    for (int i = 0; i < n; i++) assert_int_equal(vocab_counter_add_source(vc, texts[i], strlen(texts[i])), 0);
    return vc;
}

static void ranks_by_count_then_first_seen(void **state)
{
    (void)state;
    /* counts: b 2 (seen 1st), a 2 (2nd), c 3 (3rd), d 1, e 1 */
    const char *texts[] = {"b a c", "C d b", "a c e"};
    struct vocab_counter *vc = count_texts(texts, 3);
    assert_int_equal(vocab_counter_distinct(vc), 5);
    struct vocab v;
    assert_int_equal(vocab_build(vc, 100, &v), 0);
    assert_int_equal(v.n, 6);
    const char *want[] = {"", "c", "b", "a", "d", "e"};
    for (int id = 1; id < v.n; id++) {
        assert_string_equal(v.words[id], want[id]);
        assert_int_equal(vocab_lookup(&v, want[id], strlen(want[id])), id);
    }
    assert_int_equal(vocab_lookup(&v, "zz", 2), 0);
    assert_int_equal(vocab_lookup(&v, "", 0), 0);
    vocab_free(&v);
    /* num_words = 3: ids 1 and 2 only */
    assert_int_equal(vocab_build(vc, 3, &v), 0);
    assert_int_equal(v.n, 3);
    assert_int_equal(vocab_lookup(&v, "a", 1), 0);
    assert_int_equal(vocab_lookup(&v, "b", 1), 2);
    vocab_free(&v);
    vocab_counter_free(vc);
}

static void many_words_survive_rehashing(void **state)
{
    (void)state;
    struct vocab_counter *vc = vocab_counter_new();
    char w[32];
    /* word k appears (k % 7) + 1 times; 100k distinct words force the table to grow */
    for (int rep = 0; rep < 7; rep++)
        for (int k = 0; k < 100000; k++)
            if (k % 7 >= rep) assert_int_equal(vocab_counter_add(vc, w, (size_t)sprintf(w, "w%d", k)), 0);
    assert_int_equal(vocab_counter_distinct(vc), 100000);
    struct vocab v;
    assert_int_equal(vocab_build(vc, 8000, &v), 0);
    assert_int_equal(v.n, 8000);
    /* the most frequent are k = 6, 13, 20, ... in first-seen order */
    assert_string_equal(v.words[1], "w6");
    assert_string_equal(v.words[2], "w13");
    assert_int_equal(vocab_lookup(&v, "w13", 3), 2);
    vocab_free(&v);
    vocab_counter_free(vc);
}

static void encodes_pre_padded_pre_truncated(void **state)
{
    (void)state;
    const char *texts[] = {"a b c d e f"};
    struct vocab_counter *vc = count_texts(texts, 1);
    struct vocab v;
    assert_int_equal(vocab_build(vc, 100, &v), 0); /* a=1 ... f=6 */
    vocab_counter_free(vc);
    int ids[5];
    assert_int_equal(vocab_encode(&v, "b zz c", 6, ids, 5), 2); /* unknown word dropped */
    int want1[] = {0, 0, 0, 2, 3};
    assert_memory_equal(ids, want1, sizeof want1);
    const char *longer = "a b c d e f zz a b"; /* 8 known words: keep the last 5 */
    assert_int_equal(vocab_encode(&v, longer, strlen(longer), ids, 5), 5);
    int want2[] = {4, 5, 6, 1, 2};
    assert_memory_equal(ids, want2, sizeof want2);
    assert_int_equal(vocab_encode(&v, "a b c d e", 9, ids, 5), 5); /* exactly full */
    int want3[] = {1, 2, 3, 4, 5};
    assert_memory_equal(ids, want3, sizeof want3);
    assert_int_equal(vocab_encode(&v, "# a b", 5, ids, 5), 0);
    int zeros[5] = {0};
    assert_memory_equal(ids, zeros, sizeof zeros);
    vocab_free(&v);

    /* With the out-of-vocabulary word (Keras' oov_token): it is id 1, the words come
     * after it, and every unknown word reads as it and counts toward the 5 kept. */
    vc = count_texts(texts, 1);
    vocab_counter_set_oov(vc, 1);
    assert_int_equal(vocab_build(vc, 6, &v), 0); /* <oov>=1 a=2 ... d=5; e, f unknown */
    vocab_counter_free(vc);
    assert_int_equal(v.n, 6);
    assert_string_equal(v.words[1], VOCAB_OOV_WORD);
    assert_int_equal(vocab_lookup(&v, "a", 1), 2);
    assert_int_equal(vocab_encode(&v, "b zz c", 6, ids, 5), 3);
    int want5[] = {0, 0, 3, 1, 4};
    assert_memory_equal(ids, want5, sizeof want5);
    assert_int_equal(vocab_encode(&v, longer, strlen(longer), ids, 5), 5);
    int want6[] = {1, 1, 1, 2, 3}; /* e f zz a b */
    assert_memory_equal(ids, want6, sizeof want6);
    vocab_free(&v);
}

static void blob_round_trip_and_refusals(void **state)
{
    (void)state;
    const char *texts[] = {"x_train y_train fit fit predict"};
    struct vocab_counter *vc = count_texts(texts, 1);
    struct vocab v, w;
    assert_int_equal(vocab_build(vc, 100, &v), 0);
    vocab_counter_free(vc);
    size_t len;
    char *blob = vocab_to_blob(&v, &len);
    assert_non_null(blob);
    assert_int_equal(vocab_from_blob(&w, blob, len, v.n - 1), 0);
    assert_int_equal(w.n, v.n);
    for (int id = 1; id < v.n; id++) assert_string_equal(w.words[id], v.words[id]);
    assert_int_equal(vocab_lookup(&w, "fit", 3), 1);
    vocab_free(&w);
    assert_int_equal(vocab_from_blob(&w, blob, len, v.n), -1);     /* one word too many */
    assert_int_equal(vocab_from_blob(&w, blob, len, v.n - 2), -1); /* bytes left over */
    assert_int_equal(vocab_from_blob(&w, "a\0\0b\0", 5, 3), -1);   /* an empty word */
    assert_int_equal(vocab_from_blob(&w, "a\0b\0a\0", 6, 3), -1);  /* a repeated word */
    assert_int_equal(vocab_from_blob(&w, "ab", 2, 1), -1);         /* no terminator */
    free(blob);
    vocab_free(&v);
}


/* tokenize_source's split (bit masks, 64 bytes at a time, own lower-cased copy) against
 * tokenize_text's byte loop on random text without '#': every byte value, lengths
 * around the 64-byte blocks and past the 8 KB stack buffer.  Words are checked by
 * content, count and order, and each is followed by TOKENIZER_PAD readable bytes. */
struct words { char *buf; size_t at, cap; int n; };
static int append(const char *w, size_t len, void *ctx)
{
    struct words *ws = ctx;
    if (ws->at + len + 1 > ws->cap) {
        ws->cap = 2 * (ws->at + len + 1);
        ws->buf = realloc(ws->buf, ws->cap);
        assert_non_null(ws->buf);
    }
    memcpy(ws->buf + ws->at, w, len);
    ws->at += len;
    ws->buf[ws->at++] = '|';
    ws->n++;
    return 0;
}

static int append_padded(const char *w, size_t len, void *ctx)
{
    volatile char pad = w[len + TOKENIZER_PAD - 1]; /* ASan: the promised padding is there */
    (void)pad;
    return append(w, len, ctx);
}

static void split_matches_byte_loop(void **state)
{
    (void)state;
    unsigned long long r = 12345;
    static const size_t lens[] = {0, 1, 7, 8, 63, 64, 65, 127, 128, 129, 1000, 8191, 8192, 8193, 20000};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (int rep = 0; rep < 20; rep++) {
            size_t n = lens[li];
            char *src = malloc(n + 1), *copy = malloc(n + 1);
            for (size_t i = 0; i < n; i++) {
                r ^= r << 13; r ^= r >> 7; r ^= r << 17;
                /* mostly letters, digits and separators, sometimes any byte */
                static const char alpha[] = "abcXYZ_09 .(\n\t\r'AZaz";
                unsigned char c = (r >> 8) % 4 ? (unsigned char)alpha[(r >> 16) % (sizeof alpha - 1)] : (unsigned char)(r >> 24);
                src[i] = c == '#' ? ' ' : (char)c;
            }
            if (rep == 19 && n >= 8) /* one long word across blocks, ending at the end */
                for (size_t i = n / 3; i < n; i++) src[i] = (char)('a' + i % 26);
            memcpy(copy, src, n);
            struct words a = {0}, b = {0};
            assert_int_equal(tokenize_source_with(src, n, TOKENIZE_ASCII_LOWER, append_padded, &a), 0);
            assert_int_equal(tokenize_text(copy, n, append, &b), 0);
            assert_int_equal(a.n, b.n);
            assert_int_equal(a.at, b.at);
            if (a.at) assert_memory_equal(a.buf, b.buf, a.at);
            free(a.buf); free(b.buf); free(src); free(copy);
        }
}

/* The assignment words (TOKENIZE_ASSIGN_WORDS): in place among the words, none for
 * comparisons, keyword arguments or strings; and, on random text across the 64-byte
 * blocks and past 64 assignments, the same as splitting the pieces between the marks
 * one by one with "=" put between them. */
static void check_with(const char *src, const char *want)
{
    struct words a = {0};
    assert_int_equal(tokenize_source_with(src, strlen(src), TOKENIZE_ASSIGN_WORDS, append_padded, &a), 0);
    char *got = calloc(1, a.at + 1);
    if (a.at) memcpy(got, a.buf, a.at - 1); /* without the last '|' */
    if (strcmp(got, want) != 0) fail_msg("tokenize_with(\"%s\"): got \"%s\", want \"%s\"", src, got, want);
    free(got);
    free(a.buf);
}

static void assignment_words(void **state)
{
    (void)state;
    check_with("df = df.dropna()", "df|=|df|dropna");
    check_with("df.dropna()", "df|dropna");
    check_with("X_train, y = f(a=1)  # z = 2\nif x == 1: y += 1", "x_train|y|=|f|a|1|if|x|1|y|=|1");
    check_with("X_train, y = f(a=1)  # z = 2\r\nif x == 1: y += 1\r\n", "x_train|y|=|f|a|1|if|x|1|y|=|1");
    check_with("s = 'a = b'", "s|=|'a|b'");
    check_with("=", "=");
    check_with("x=", "x|=");
    check_with("", "");
    unsigned long long r = 99;
    for (int rep = 0; rep < 200; rep++) {
        size_t n = 1 + (size_t)(r % 3000);
        char *src = malloc(n + 1);
        for (size_t i = 0; i < n; i++) {
            r ^= r << 13; r ^= r >> 7; r ^= r << 17;
            static const char alpha[] = "abcXYZ_09 .\n\t====,+-";
            src[i] = alpha[(r >> 16) % (sizeof alpha - 1)];
        }
        src[n] = 0;
        size_t cap = n, *pos = malloc(cap * sizeof *pos);
        size_t k = pysrc_assignments(src, n, pos, cap);
        struct words a = {0}, b = {0};
        assert_int_equal(tokenize_source_with(src, n, TOKENIZE_ASSIGN_WORDS, append_padded, &a), 0);
        size_t from = 0;
        for (size_t j = 0; j <= k; j++) {
            size_t to = j < k ? pos[j] : n;
            char *piece = malloc(to - from + 1);
            memcpy(piece, src + from, to - from);
            assert_int_equal(tokenize_text(piece, to - from, append, &b), 0);
            free(piece);
            if (j < k) append("=", 1, &b);
            from = to + 1;
        }
        assert_int_equal(a.n, b.n);
        assert_int_equal(a.at, b.at);
        if (a.at) assert_memory_equal(a.buf, b.buf, a.at);
        free(a.buf); free(b.buf); free(src); free(pos);
    }
}

/* A vocabulary counted with assignment words encodes with them. */
static void vocab_keeps_tokenize_flags(void **state)
{
    (void)state;
    struct vocab_counter *vc = vocab_counter_new();
    vocab_counter_set_tokenize(vc, TOKENIZE_ASSIGN_WORDS);
    assert_int_equal(vocab_counter_add_source(vc, "a = b\nc = a", 11), 0);
    struct vocab v;
    assert_int_equal(vocab_build(vc, 10, &v), 0);
    vocab_counter_free(vc);
    assert_int_equal(v.tokenize, TOKENIZE_ASSIGN_WORDS);
    int eq = vocab_lookup(&v, "=", 1);
    assert_true(eq > 0);
    int ids[4];
    assert_int_equal(vocab_encode(&v, "a = b", 5, ids, 4), 3);
    assert_int_equal(ids[2], eq);
    v.tokenize = 0; /* the study's split has no "=" word */
    assert_int_equal(vocab_encode(&v, "a = b", 5, ids, 4), 2);
    vocab_free(&v);
}

/* Lookups of words of every length 1..40 (the hash reads 8-byte chunks). */
static void lookup_every_length(void **state)
{
    (void)state;
    struct vocab_counter *vc = vocab_counter_new();
    char w[48];
    for (int len = 1; len <= 40; len++) {
        for (int i = 0; i < len; i++) w[i] = (char)('a' + (i * 7 + len) % 26);
        vocab_counter_add(vc, w, (size_t)len);
    }
    struct vocab v;
    assert_int_equal(vocab_build(vc, 100, &v), 0);
    vocab_counter_free(vc);
    for (int id = 1; id < v.n; id++) {
        size_t len = strlen(v.words[id]);
        assert_int_equal(vocab_lookup(&v, v.words[id], len), id);
        memcpy(w, v.words[id], len);
        w[len - 1] ^= 1; /* same length and head, last byte differs */
        assert_int_equal(vocab_lookup(&v, w, len), 0);
        /* through the encoder (padded lookups) */
        int ids[4];
        assert_int_equal(vocab_encode(&v, v.words[id], len, ids, 4), 1);
        assert_int_equal(ids[3], id);
    }
    vocab_free(&v);
}

/* Words whose first 8 or 16 bytes are the same, many of them, so that their probe
 * chains meet: the slot's second 8 bytes (and, past 16, the stored word) tell them
 * apart.  And a freed vocabulary, or one of no words, is empty. */
static void words_sharing_a_head_and_empty_vocabularies(void **state)
{
    (void)state;
    struct vocab_counter *vc = vocab_counter_new();
    char w[48];
    for (int i = 0; i < 300; i++) {
        int n = sprintf(w, "abcdefgh%03d", i); /* 11 bytes: head equal, tail differs */
        assert_int_equal(vocab_counter_add(vc, w, (size_t)n), 0);
        n = sprintf(w, "0123456789abcdefgh%03d", i); /* 21 bytes: 16 equal */
        assert_int_equal(vocab_counter_add(vc, w, (size_t)n), 0);
        n = sprintf(w, "01234567%03d_____xyz", i); /* 19 bytes: bytes 8..15 differ */
        assert_int_equal(vocab_counter_add(vc, w, (size_t)n), 0);
    }
    struct vocab v;
    assert_int_equal(vocab_build(vc, 1000, &v), 0);
    vocab_counter_free(vc);
    assert_int_equal(v.n, 901);
    for (int id = 1; id < v.n; id++) assert_int_equal(vocab_lookup(&v, v.words[id], strlen(v.words[id])), id);
    vocab_free(&v);
    int ids[3] = {7, 7, 7};
    assert_int_equal(vocab_lookup(&v, "abc", 3), 0);
    assert_int_equal(vocab_encode(&v, "abc def", 7, ids, 3), 0);
    assert_int_equal(ids[0] | ids[1] | ids[2], 0);
    assert_int_equal(vocab_from_blob(&v, "", 0, 0), 0); /* no words: a vocabulary of none */
    assert_int_equal(v.n, 1);
    assert_int_equal(vocab_lookup(&v, "abc", 3), 0);
    vocab_free(&v);
}

/* The counter's table grows past 32768 and 65536 distinct words without losing one
 * (each word counted twice: one entry each, counts intact), nor does the vocabulary
 * built from it (one of the word sets has a word in the table's slot 0). */
static void counter_keeps_every_word_as_it_grows(void **state)
{
    (void)state;
    for (int round = 0; round < 4; round++) {
        struct vocab_counter *vc = vocab_counter_new();
        char w[32];
        for (int rep = 0; rep < 2; rep++)
            for (int k = 0; k < 70000; k++)
                assert_int_equal(vocab_counter_add(vc, w, (size_t)sprintf(w, "%c%d", "qxyz"[round], k)), 0);
        assert_int_equal(vocab_counter_distinct(vc), 70000);
        /* and the vocabulary built from it, whatever slot each word is in */
        struct vocab v;
        assert_int_equal(vocab_build(vc, 100000, &v), 0);
        assert_int_equal(v.n, 70001);
        vocab_free(&v);
        vocab_counter_free(vc);
    }
}

/* tokenize_source_reverse against tokenize_source, with and without the assignment
 * words, on random text with comments, strings and '=' (so with masked comment bytes
 * inside and across the 64-byte blocks, and marks among the words), and
 * words that need str.lower() beyond ASCII, lengths
 * around the blocks and past the 8 KB stack buffer: the same words in the opposite
 * order, each padded; and stopping after K words gives the last K. */
struct rwords { char (*w)[80]; size_t *len; int n, cap, stop; };
static int rcollect(const char *w, size_t len, void *ctx)
{
    struct rwords *c = ctx;
    volatile char pad = w[len + TOKENIZER_PAD - 1]; /* ASan: the promised padding */
    (void)pad;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->w = realloc(c->w, (size_t)c->cap * sizeof *c->w);
        c->len = realloc(c->len, (size_t)c->cap * sizeof *c->len);
    }
    c->len[c->n] = len;
    memcpy(c->w[c->n++], w, len < 80 ? len : 80);
    return c->stop && c->n == c->stop;
}

static void reverse_split_matches_forward(void **state)
{
    (void)state;
    unsigned long long r = 4242;
    static const size_t lens[] = {0, 1, 5, 63, 64, 65, 128, 129, 300, 1000, 8191, 8193, 20000};
    static const char alpha[] = "abcXY_09  .(\n\t'\"#AZaz=";
    /* Σ (whose lower case reads its neighbours, across blocks too), Α, É, a combining
     * accent, the Kelvin sign, İ, a modifier letter, a 4-byte letter, a cut sequence */
    static const char *const uni[] = {"\xce\xa3", "\xce\xa3", "\xce\x91", "\xc3\x89", "\xcc\x81",
                                      "\xe2\x84\xaa", "\xc4\xb0", "\xca\xb0", "\xf0\x90\x90\x80", "\xce"};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (int rep = 0; rep < 30; rep++) {
            size_t n = lens[li];
            char *src = malloc(n + 1);
            int longw = rep % 5 == 4; /* long words, some across several blocks */
            for (size_t i = 0; i < n;) {
                r ^= r << 13; r ^= r >> 7; r ^= r << 17;
                const char *u = uni[(r >> 20) % (sizeof uni / sizeof uni[0])];
                if (rep % 3 == 1 && (r >> 50) % 4 == 0 && i + strlen(u) <= n) {
                    memcpy(src + i, u, strlen(u)); /* words lowered beyond ASCII */
                    i += strlen(u);
                    continue;
                }
                src[i++] = longw && (r >> 40) % 50 ? (char)('a' + (r >> 8) % 26)
                                                   : alpha[(r >> 16) % (sizeof alpha - 1)];
            }
            src[n] = 0;
            for (unsigned flags = 0; flags <= TOKENIZE_ASSIGN_WORDS; flags += TOKENIZE_ASSIGN_WORDS) {
                struct rwords f = {0}, b = {0};
                assert_int_equal(tokenize_source_with(src, n, flags, rcollect, &f), 0);
                assert_int_equal(tokenize_source_reverse_with(src, n, flags, rcollect, &b), 0);
                assert_int_equal(b.n, f.n);
                for (int i = 0; i < f.n; i++) {
                    size_t len = f.len[f.n - 1 - i];
                    assert_int_equal(b.len[i], len);
                    assert_memory_equal(b.w[i], f.w[f.n - 1 - i], len < 80 ? len : 80);
                }
                if (f.n > 1) {
                    struct rwords s = {.stop = 1 + (int)(r % (unsigned)f.n)};
                    assert_int_equal(tokenize_source_reverse_with(src, n, flags, rcollect, &s), 1);
                    assert_int_equal(s.n, s.stop);
                    for (int i = 0; i < s.n; i++) assert_int_equal(s.len[i], b.len[i]);
                    free(s.w); free(s.len);
                }
                free(f.w); free(f.len); free(b.w); free(b.len);
            }
            free(src);
        }
}

/* TOKENIZE_PORTABLE (the byte loop of classify_block) against the default split (the
 * AVX-512 one on CPUs that have it: there the byte loop runs only under this flag), forward
 * and backward, with each departure flag, on random text with comments, strings,
 * assignments and letters beyond ASCII, across the 64-byte blocks and the 8 KB buffer. */
static void same_words(const struct rwords *a, const struct rwords *b)
{
    assert_int_equal(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        assert_int_equal(a->len[i], b->len[i]);
        assert_memory_equal(a->w[i], b->w[i], a->len[i] < 80 ? a->len[i] : 80);
    }
}

static void portable_split_matches_default(void **state)
{
    (void)state;
    unsigned long long r = 777;
    static const size_t lens[] = {0, 1, 9, 63, 64, 65, 130, 1000, 8191, 8193, 20000};
    static const char alpha[] = "abXY_09  .(=\n\t\r'\"#AZaz";
    static const char *const uni[] = {"\xce\xa3", "\xce\x91", "\xc3\x89", "\xe2\x84\xaa", "\xc4\xb0",
                                      "\xf0\x90\x90\x80", "\xce", "\xff"};
    static const unsigned flags[] = {0, TOKENIZE_ASCII_LOWER, TOKENIZE_ASSIGN_WORDS,
                                     TOKENIZE_ASSIGN_WORDS | TOKENIZE_ASCII_LOWER};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (int rep = 0; rep < 12; rep++) {
            size_t n = lens[li];
            char *src = malloc(n + 1);
            for (size_t i = 0; i < n;) {
                r ^= r << 13; r ^= r >> 7; r ^= r << 17;
                const char *u = uni[(r >> 20) % (sizeof uni / sizeof uni[0])];
                if ((r >> 50) % 6 == 0 && i + strlen(u) <= n) {
                    memcpy(src + i, u, strlen(u));
                    i += strlen(u);
                } else {
                    src[i++] = rep % 4 == 3 && (r >> 40) % 40 ? (char)('A' + (r >> 8) % 26)
                                                              : alpha[(r >> 16) % (sizeof alpha - 1)];
                }
            }
            src[n] = 0;
            for (size_t fi = 0; fi < sizeof flags / sizeof flags[0]; fi++) {
                struct rwords d = {0}, p = {0};
                assert_int_equal(tokenize_source_with(src, n, flags[fi], rcollect, &d), 0);
                assert_int_equal(tokenize_source_with(src, n, flags[fi] | TOKENIZE_PORTABLE, rcollect, &p), 0);
                same_words(&d, &p);
                free(d.w); free(d.len); free(p.w); free(p.len);
                struct rwords rd = {0}, rp = {0};
                assert_int_equal(tokenize_source_reverse_with(src, n, flags[fi], rcollect, &rd), 0);
                assert_int_equal(tokenize_source_reverse_with(src, n, flags[fi] | TOKENIZE_PORTABLE, rcollect, &rp), 0);
                same_words(&rd, &rp);
                free(rd.w); free(rd.len); free(rp.w); free(rp.len);
            }
            free(src);
        }
}

/* vocab_encode (the split read backwards, stopping at SEQ_LEN ids) against keeping the
 * last SEQ_LEN known words of the forward split, with and without the assignment
 * words: SEQ_LEN 1, 5, 120, 512 and 600, the front zero-filled, whatever IDS held. */
struct fwd_ids { const struct vocab *v; int *ids; int n, cap; };
static int fwd_lookup(const char *w, size_t len, void *ctx)
{
    struct fwd_ids *f = ctx;
    int id = vocab_lookup(f->v, w, len);
    if (!id) return 0;
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->ids = realloc(f->ids, (size_t)f->cap * sizeof *f->ids);
    }
    f->ids[f->n++] = id;
    return 0;
}

static void encode_matches_forward(void **state)
{
    (void)state;
    static const unsigned flags[] = {0, TOKENIZE_ASSIGN_WORDS};
    for (int fi = 0; fi < 2; fi++) {
        const char *texts[] = {"a b c d e f ab abc df fit x_train 'k' verylongwordthatisknown y = 1"};
        struct vocab_counter *vc = vocab_counter_new();
        vocab_counter_set_tokenize(vc, flags[fi]);
        assert_int_equal(vocab_counter_add_source(vc, texts[0], strlen(texts[0])), 0);
        struct vocab v;
        assert_int_equal(vocab_build(vc, 100, &v), 0);
        vocab_counter_free(vc);
        assert_int_equal(v.tokenize, flags[fi]);
        static const char *const pieces[] = {"a", "b", "c", "zz", "ab", "abc", "df", "fit", "x_train",
                                             "'k'", "verylongwordthatisknown", " ", "\n", ".", "(",
                                             "# a b\n", "'#'", "\"a", "#", "\\", "A", "Fit", "\ny = "};
        unsigned long long r = 31337;
        for (int rep = 0; rep < 3000; rep++) {
            size_t cap = 64 + (size_t)(rep % 7 == 0 ? 12000 : r % 600), n = 0;
            char *src = malloc(cap + 32);
            while (n < cap) {
                r ^= r << 13; r ^= r >> 7; r ^= r << 17;
                const char *p = pieces[(r >> 16) % (sizeof pieces / sizeof pieces[0])];
                memcpy(src + n, p, strlen(p));
                n += strlen(p);
            }
            static const int seqs[] = {5, 120, 1, 600, 512};
            int seq = seqs[rep % 5];
            struct fwd_ids f = {&v, NULL, 0, 0};
            assert_int_equal(tokenize_source_with(src, n, flags[fi], fwd_lookup, &f), 0);
            int want[600] = {0}, got[600];
            int k = f.n < seq ? f.n : seq;
            for (int i = 0; i < k; i++) want[seq - k + i] = f.ids[f.n - k + i];
            memset(got, 0x55, sizeof got);
            assert_int_equal(vocab_encode(&v, src, n, got, seq), k);
            assert_memory_equal(got, want, (size_t)seq * sizeof *got);
            free(f.ids);
            free(src);
        }
        /* no room: nothing encoded, nothing written */
        int ids[2] = {7, 7};
        assert_int_equal(vocab_encode(&v, "a b", 3, ids, 0), 0);
        assert_int_equal(ids[0], 7);
        vocab_free(&v);
    }
}

/* Words past 16 bytes alike but for their last byte, 13 of each 26 kept, many of them
 * so that probe chains meet: the stored word is compared to its very end (a vocabulary
 * of them built, each found, none of the others).  And what the API promises at its
 * edges: a negative count is no blob's, a NULL counter is freed as nothing. */
static void long_words_differ_to_their_last_byte(void **state)
{
    (void)state;
    struct vocab_counter *vc = vocab_counter_new();
    char w[48];
    for (int i = 0; i < 300; i++)
        for (char c = 'a'; c <= 'z'; c += 2)
            assert_int_equal(vocab_counter_add(vc, w, (size_t)sprintf(w, "0123456789abcdefgh%03d%c", i, c)), 0);
    struct vocab v;
    assert_int_equal(vocab_build(vc, 10000, &v), 0);
    vocab_counter_free(vc);
    assert_int_equal(v.n, 300 * 13 + 1);
    for (int id = 1; id < v.n; id++) assert_int_equal(vocab_lookup(&v, v.words[id], strlen(v.words[id])), id);
    for (int i = 0; i < 300; i++)
        for (char c = 'b'; c <= 'z'; c += 2)
            assert_int_equal(vocab_lookup(&v, w, (size_t)sprintf(w, "0123456789abcdefgh%03d%c", i, c)), 0);
    vocab_free(&v);
    assert_int_equal(vocab_from_blob(&v, "", 0, -1), -1);
    vocab_counter_free(NULL);
    /* a counter that saw no word: a vocabulary of padding alone, which finds nothing */
    vc = vocab_counter_new();
    assert_int_equal(vocab_build(vc, 100, &v), 0);
    vocab_counter_free(vc);
    assert_int_equal(v.n, 1);
    assert_int_equal(vocab_lookup(&v, "a", 1), 0);
    vocab_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splits_like_keras),
        cmocka_unit_test(ascii_lower_keeps_other_bytes),
        cmocka_unit_test(separator_table_matches_filter),
        cmocka_unit_test(ranks_by_count_then_first_seen),
        cmocka_unit_test(many_words_survive_rehashing),
        cmocka_unit_test(encodes_pre_padded_pre_truncated),
        cmocka_unit_test(blob_round_trip_and_refusals),
        cmocka_unit_test(split_matches_byte_loop),
        cmocka_unit_test(lookup_every_length),
        cmocka_unit_test(words_sharing_a_head_and_empty_vocabularies),
        cmocka_unit_test(counter_keeps_every_word_as_it_grows),
        cmocka_unit_test(reverse_split_matches_forward),
        cmocka_unit_test(portable_split_matches_default),
        cmocka_unit_test(encode_matches_forward),
        cmocka_unit_test(assignment_words),
        cmocka_unit_test(vocab_keeps_tokenize_flags),
        cmocka_unit_test(long_words_differ_to_their_last_byte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
