/* wire.c — Jupyter message framing and HMAC-SHA256/512 signatures (see wire.h).
 *
 * libsodium's crypto_auth_hmacsha256_init/update/final (and _hmacsha512_) take a key of
 * any length; Jupyter's keys are uuid strings (36 bytes), not the 32 bytes
 * crypto_auth_hmacsha256() insists on.
 */
#include "kernel/wire.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

int wire_split(const struct wire_frame *frames, size_t n, struct wire_parts *p)
{
    const size_t dlen = sizeof WIRE_DELIM - 1;
    for (size_t i = 0; i < n; i++) {
        if (frames[i].len == dlen && memcmp(frames[i].data, WIRE_DELIM, dlen) == 0) {
            if (n - i < 6) return WIRE_TOO_FEW; /* delimiter, signature, four JSON frames */
            p->n_ids = i;
            p->sig = i + 1;
            p->header = i + 2;
            p->n_buffers = n - (i + 6);
            return 0;
        }
    }
    return WIRE_NO_DELIM;
}

static void hex_lower(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = 0;
}

/* What key->ready points to. */
struct prepared {
    int sha512;
    union {
        crypto_auth_hmacsha256_state s256;
        crypto_auth_hmacsha512_state s512;
    } st;
};

int wire_key_prepare_scheme(struct wire_key *key, int sha512)
{
    if (key->len == 0 || key->ready) return 0;
    struct prepared *pr = malloc(sizeof *pr);
    if (!pr) return -1;
    pr->sha512 = sha512 != 0;
    if (sha512) crypto_auth_hmacsha512_init(&pr->st.s512, key->bytes, key->len);
    else crypto_auth_hmacsha256_init(&pr->st.s256, key->bytes, key->len);
    key->ready = pr;
    return 0;
}

int wire_key_prepare(struct wire_key *key) { return wire_key_prepare_scheme(key, 0); }

void wire_key_release(struct wire_key *key)
{
    if (!key->ready) return;
    sodium_memzero(key->ready, sizeof(struct prepared));
    free(key->ready);
    key->ready = NULL;
}

/* wire_sign for an hmac-sha512 key (a session configured so; sha256 is the default). */
static void sign_sha512(const struct prepared *pr, const struct wire_frame json4[4], char *hex)
{
    crypto_auth_hmacsha512_state st = pr->st.s512;
    unsigned char mac[crypto_auth_hmacsha512_BYTES];
    for (int i = 0; i < 4; i++)
        crypto_auth_hmacsha512_update(&st, json4[i].data, json4[i].len);
    crypto_auth_hmacsha512_final(&st, mac);
    hex_lower(mac, sizeof mac, hex);
    sodium_memzero(&st, sizeof st);
}

static int is_sha512(const struct wire_key *key)
{
    return key->ready && ((const struct prepared *)key->ready)->sha512;
}

void wire_sign(const struct wire_key *key, const struct wire_frame json4[4], char *hex)
{
    if (key->len == 0) { hex[0] = 0; return; }
    if (is_sha512(key)) { sign_sha512(key->ready, json4, hex); return; }
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    if (key->ready) /* the key's inner and outer blocks, hashed once */
        st = ((const struct prepared *)key->ready)->st.s256;
    else
        crypto_auth_hmacsha256_init(&st, key->bytes, key->len);
    for (int i = 0; i < 4; i++)
        crypto_auth_hmacsha256_update(&st, json4[i].data, json4[i].len);
    crypto_auth_hmacsha256_final(&st, mac);
    hex_lower(mac, sizeof mac, hex);
    sodium_memzero(&st, sizeof st);
}

int wire_verify(const struct wire_key *key, const struct wire_frame *frames,
                const struct wire_parts *p)
{
    if (key->len == 0) return 1;
    const struct wire_frame *sig = &frames[p->sig];
    size_t n = is_sha512(key) ? WIRE_SIG_HEX_MAX : WIRE_SIG_HEX;
    if (sig->len != n) return 0; /* before the constant-time compare */
    char want[WIRE_SIG_HEX_MAX + 1];
    wire_sign(key, &frames[p->header], want);
    return sodium_memcmp(want, sig->data, n) == 0;
}

size_t wire_build(const struct wire_key *key, const char *header, const char *parent,
                  const char *metadata, const char *content, char *sig,
                  struct wire_frame out[6])
{
    const char *json[4] = {header, parent, metadata, content};
    out[0] = (struct wire_frame){(const unsigned char *)WIRE_DELIM, sizeof WIRE_DELIM - 1};
    for (int i = 0; i < 4; i++)
        out[2 + i] = (struct wire_frame){(const unsigned char *)json[i], strlen(json[i])};
    wire_sign(key, &out[2], sig);
    out[1] = (struct wire_frame){(const unsigned char *)sig, strlen(sig)};
    return 6;
}

static size_t skip_ws(const unsigned char *d, size_t i, size_t n)
{
    while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r')) i++;
    return i;
}

/* Past the string that starts at D[I] (a quote); N + 1 when it does not end. */
static size_t skip_string(const unsigned char *d, size_t i, size_t n, int *escaped)
{
    for (i++; i < n; i++) {
        if (d[i] == '\\') { *escaped = 1; i++; continue; }
        if (d[i] == '"') return i + 1;
    }
    return n + 1;
}

/* Past the value that starts at D[I]; N + 1 when malformed.  Nested objects and arrays
 * are skipped by depth, strings by their quotes; scalars up to the next delimiter. */
static size_t skip_value(const unsigned char *d, size_t i, size_t n)
{
    int depth = 0, esc = 0;
    while (i < n) {
        unsigned char c = d[i];
        if (c == '"') {
            i = skip_string(d, i, n, &esc);
            if (i > n) return i;
        } else if (c == '{' || c == '[') {
            depth++, i++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) return i; /* the end of the enclosing object */
            depth--, i++;
        } else if (c == ',' && depth == 0) {
            return i;
        } else {
            i++;
        }
        if (depth == 0 && (c == '"' || c == '}' || c == ']')) return i;
    }
    return n + 1;
}

int wire_json_member(const struct wire_frame *f, const char *key, size_t *off, size_t *len)
{
    const unsigned char *d = f->data;
    size_t n = f->len, klen = strlen(key);
    size_t i = skip_ws(d, 0, n);
    if (i >= n || d[i] != '{') return -1;
    i = skip_ws(d, i + 1, n);
    if (i < n && d[i] == '}') return 0;
    /* A key given twice: the last one counts, as for jansson and Python's json (so the
     * proxy reads the same member the wrapped kernel acts on); hence the whole object
     * is walked. */
    int found = 0;
    while (i < n) {
        if (d[i] != '"') return -1;
        int esc = 0;
        size_t kend = skip_string(d, i, n, &esc);
        if (kend > n) return -1;
        if (esc) return -1; /* an escaped key may spell KEY ("co\u0064e"): a parser's job */
        int match = kend - i - 2 == klen && memcmp(d + i + 1, key, klen) == 0;
        i = skip_ws(d, kend, n);
        if (i >= n || d[i] != ':') return -1;
        i = skip_ws(d, i + 1, n);
        if (i >= n) return -1;
        size_t vstart = i;
        i = skip_value(d, i, n);
        if (i > n) return -1;
        if (match) {
            size_t vend = i; /* a scalar ends at the delimiter: without trailing blanks */
            while (vend > vstart && (d[vend - 1] == ' ' || d[vend - 1] == '\t' ||
                                     d[vend - 1] == '\n' || d[vend - 1] == '\r'))
                vend--;
            *off = vstart, *len = vend - vstart;
            found = 1;
        }
        i = skip_ws(d, i, n);
        if (i >= n) return -1;
        if (d[i] == '}') return found;
        if (d[i] != ',') return -1;
        i = skip_ws(d, i + 1, n);
    }
    return -1;
}

int wire_json_string(const struct wire_frame *f, const char *key, char *out, size_t cap)
{
    size_t off, len;
    out[0] = 0;
    int r = wire_json_member(f, key, &off, &len);
    if (r <= 0) return r;
    const unsigned char *v = f->data + off;
    if (v[0] != '"') return 0; /* not a string */
    if (memchr(v, '\\', len)) return -1;
    size_t m = len - 2 < cap - 1 ? len - 2 : cap - 1;
    memcpy(out, v + 1, m);
    out[m] = 0;
    return 1;
}

/* ---- wire_json_valid: Python's JSON grammar, in place ---- */

static const unsigned char *py_ws(const unsigned char *p, const unsigned char *e)
{
    return p + skip_ws(p, 0, (size_t)(e - p)); /* JSON's four, as Python's */
}

static int is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* P at a '"': just past the string's closing quote, or NULL. */
static const unsigned char *py_string(const unsigned char *p, const unsigned char *e)
{
    for (p++; p < e; p++) {
        if (*p == '"') return p + 1;
        if (*p < 0x20) return NULL; /* strict: a raw control character */
        if (*p != '\\') continue;
        if (++p >= e) return NULL;
        if (*p == 'u') {
            if (e - p < 5 || !is_hex(p[1]) || !is_hex(p[2]) || !is_hex(p[3]) || !is_hex(p[4])) return NULL;
            p += 4; /* a lone surrogate is still a string to Python */
        } else if (!memchr("\"\\/bfnrt", *p, 8)) {
            return NULL;
        }
    }
    return NULL;
}

static const unsigned char *py_digits(const unsigned char *p, const unsigned char *e)
{
    const unsigned char *s = p;
    while (p < e && *p >= '0' && *p <= '9') p++;
    return p > s ? p : NULL;
}

static const unsigned char *py_word(const unsigned char *p, const unsigned char *e, const char *w)
{
    size_t n = strlen(w);
    return (size_t)(e - p) >= n && memcmp(p, w, n) == 0 ? p + n : NULL;
}

/* P at a scalar: just past it, or NULL. */
static const unsigned char *py_scalar(const unsigned char *p, const unsigned char *e)
{
    if (*p == '"') return py_string(p, e);
    if (*p == 't') return py_word(p, e, "true");
    if (*p == 'f') return py_word(p, e, "false");
    if (*p == 'n') return py_word(p, e, "null");
    if (*p == 'N') return py_word(p, e, "NaN");
    if (*p == 'I') return py_word(p, e, "Infinity");
    if (*p == '-') {
        if (++p < e && *p == 'I') return py_word(p, e, "Infinity");
    }
    if (p >= e) return NULL;
    if (*p == '0') p++;
    else if (!(p = py_digits(p, e))) return NULL;
    if (p < e && *p == '.' && !(p = py_digits(p + 1, e))) return NULL;
    if (p < e && (*p == 'e' || *p == 'E')) {
        if (++p < e && (*p == '+' || *p == '-')) p++;
        if (!(p = py_digits(p, e))) return NULL;
    }
    return p;
}

int wire_json_valid(const struct wire_frame *f)
{
    const unsigned char *p = f->data, *e = p + f->len;
    unsigned char open[WIRE_JSON_DEPTH]; /* '{' or '[' of each container open */
    size_t depth = 0;
    for (;;) {
        /* a value */
        p = py_ws(p, e);
        if (p >= e) return 0;
        if (*p == '{' || *p == '[') {
            if (depth == WIRE_JSON_DEPTH) return 0;
            unsigned char c = *p;
            open[depth++] = c;
            p = py_ws(p + 1, e);
            if (p < e && *p == (c == '{' ? '}' : ']')) {
                p++, depth--; /* empty */
            } else {
                if (c == '{') { /* the first key */
                    if (p >= e || *p != '"' || !(p = py_string(p, e))) return 0;
                    p = py_ws(p, e);
                    if (p >= e || *p++ != ':') return 0;
                }
                continue;
            }
        } else if (!(p = py_scalar(p, e))) {
            return 0;
        }
        /* after a value: the containers it ends, then the next member or element */
        for (;;) {
            p = py_ws(p, e);
            if (depth == 0) return p == e;
            if (p >= e) return 0;
            unsigned char c = open[depth - 1];
            if (*p == (c == '{' ? '}' : ']')) {
                p++, depth--;
                continue;
            }
            if (*p++ != ',') return 0;
            if (c == '{') {
                p = py_ws(p, e);
                if (p >= e || *p != '"' || !(p = py_string(p, e))) return 0;
                p = py_ws(p, e);
                if (p >= e || *p++ != ':') return 0;
            }
            break;
        }
    }
}

int wire_text_ends_line(const struct wire_frame *f)
{
    size_t off, len;
    if (wire_json_member(f, "text", &off, &len) != 1 || len < 3 || f->data[off] != '"')
        return -1;
    /* back from the end of the raw string: an escape \n, \r or \u is an 'n', 'r' or 'u'
     * after an odd run of backslashes (a \u escape might be either: not read here;
     * Python's json never writes one for them) */
    const unsigned char *v = f->data + off + 1;
    size_t n = len - 2;
    for (size_t i = n; i-- > 0;) {
        if (v[i] != 'n' && v[i] != 'r' && v[i] != 'u') continue;
        size_t b = 0;
        while (b < i && v[i - 1 - b] == '\\') b++;
        if (b % 2 == 0) continue; /* the letter itself */
        if (v[i] == 'u') return -1;
        return v[i] == 'r' || i == n - 1;
    }
    return 0;
}

void wire_new_id(char *out, size_t outlen, const char *prefix)
{
    /* Random bytes taken from libsodium a pool at a time: one getrandom(2) per 32 ids,
     * not one per id (per stage tag).  Per thread, so no lock.  (A forked process
     * would share what is left: the proxy's child execs at once.) */
    static _Thread_local unsigned char pool[512];
    static _Thread_local size_t pool_used = sizeof pool;
    unsigned char rnd[16];
    char hex[33];
    if (sodium_init() < 0) { /* cannot happen after main's check; keep ids unique anyway */
        static unsigned long counter;
        snprintf(hex, sizeof hex, "%032lx", ++counter);
    } else {
        if (pool_used + sizeof rnd > sizeof pool) {
            randombytes_buf(pool, sizeof pool);
            pool_used = 0;
        }
        memcpy(rnd, pool + pool_used, sizeof rnd);
        sodium_memzero(pool + pool_used, sizeof rnd); /* each byte used once */
        pool_used += sizeof rnd;
        hex_lower(rnd, sizeof rnd, hex);
    }
    size_t np = prefix ? strlen(prefix) : 0; /* no snprintf: once per stage tag */
    if (outlen == 0) return;
    if (np > outlen - 1) np = outlen - 1;
    memcpy(out, prefix ? prefix : "", np);
    size_t nh = outlen - 1 - np < 32 ? outlen - 1 - np : 32;
    memcpy(out + np, hex, nh);
    out[np + nh] = 0;
}

void wire_now_iso(char out[32])
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    long year = tm.tm_year + 1900L;
    if (year < 0 || year > 9999) { /* not in this millennium: the general way */
        char day[40];
        strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(out, 32, "%.19s.%06ldZ", day, (long)tv.tv_usec);
        return;
    }
    /* Digit by digit: strftime and snprintf were a tenth of a stage tag's CPU. */
    const long part[7] = {year, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                          (long)tv.tv_usec};
    static const int width[7] = {4, 2, 2, 2, 2, 2, 6};
    static const char after[7] = {'-', '-', 'T', ':', ':', '.', 'Z'};
    char *o = out;
    for (int k = 0; k < 7; k++) {
        long v = part[k];
        for (int d = width[k] - 1; d >= 0; d--, v /= 10) o[d] = (char)('0' + v % 10);
        o += width[k];
        *o++ = after[k];
    }
    *o = 0;
}
