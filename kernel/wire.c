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
