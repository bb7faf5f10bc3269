/* lstm.h — the end model's parameters and numerics (Embedding -> SpatialDropout1D ->
 * LSTM -> Dense softmax), forward and hand-written backward passes, Adam.
 *
 * Owns: parameter layout (shared by training, the model file and inference), the
 * batched forward/backward used in training.  Layout follows Keras so weights compare
 * one to one: gate order i, f, c, o; kernels stored input-major (row = input unit).
 */
#ifndef NBSTAGE_LSTM_H
#define NBSTAGE_LSTM_H

#include <stddef.h>
#include <stdint.h>

struct lstm_params {
    int vocab;    /* 8000: ids 1..vocab-1 are tokens, 0 is padding */
    int embed;    /* 512 */
    int hidden;   /* 64 */
    int classes;  /* 6 */
    float *E;     /* vocab x embed */
    float *Wx;    /* embed x 4*hidden  (Keras "kernel") */
    float *Wh;    /* hidden x 4*hidden (Keras "recurrent_kernel") */
    float *b;     /* 4*hidden */
    float *Wd;    /* hidden x classes */
    float *bd;    /* classes */
};

/* ---- the random stream: xoshiro256** seeded through splitmix64 ----------------
 * Our own generator so that a seed gives the same weights, masks and batch order on
 * every libc. */
struct lstm_rng { uint64_t s[4]; };

static inline uint64_t lstm_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static inline void lstm_rng_seed(struct lstm_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = lstm_splitmix64(&seed);
}
static inline uint64_t lstm_rng_next(struct lstm_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5, out = ((x << 7) | (x >> 57)) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return out;
}
/* Uniform in [0, 1) with 53 random bits. */
static inline double lstm_rng_uniform(struct lstm_rng *r)
{
    return (double)(lstm_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Sizes of the parameter blocks, in floats. */
static inline size_t lstm_gates(const struct lstm_params *p) { return 4 * (size_t)p->hidden; }

/* Allocates zeroed blocks with P's dimensions already set (vocab, embed, hidden,
 * classes); -1 when out of memory (nothing then left allocated). */
int lstm_params_alloc(struct lstm_params *p);
/* Copies every block of SRC into DST (same dimensions). */
void lstm_params_copy(struct lstm_params *dst, const struct lstm_params *src);

/* ---- training-time forward and backward over one mini-batch ------------------
 * Everything a batch needs is allocated once here, for batches of up to MAX_BATCH
 * sequences of SEQ_LEN steps, so the training loop never allocates.
 *
 * Dropout is given as per-sequence masks that already hold the 1/(1-rate) scale, as
 * Keras draws them: in_mask (batch x embed) is the product of the SpatialDropout1D
 * mask and the LSTM input-dropout mask (both are one value per sequence and channel,
 * reused at every step); rec_mask (batch x hidden) multiplies h(t-1) before the
 * recurrent kernel (Keras' implementation 2).  use_* = 0 means no dropout.
 *
 * The input projection is one product over the batch's distinct tokens without input
 * dropout; with it, one per sequence on that sequence's kept channels and distinct
 * tokens: with the study's rates (0.8 and 0.8) a sequence keeps about 4% of the 512
 * channels, so x W_x costs 25 times less than the dense product (and less again for
 * short, padded cells), with the same result.
 *
 * Work is split by sequences (and, for dW_h, by gate columns) over w->threads
 * threads, each calling single-threaded OpenBLAS: the caller sets OpenBLAS to one
 * thread.  Results for different thread counts agree up to float rounding (the order
 * of sums in OpenBLAS' kernels for products of other sizes, and of dW_x's partial
 * sums); for one thread count they are reproducible bit for bit. */
enum { LSTM_MAX_THREADS = 16 };

struct lstm_work {
    int max_batch, seq_len;
    int threads;        /* 1 .. LSTM_MAX_THREADS; 1 after lstm_work_new */
    int batch;          /* of the last forward pass */
    const int *tokens;  /* batch x seq_len, of the last forward pass */
    float *in_mask;     /* max_batch x embed; used when use_in_mask */
    float *rec_mask;    /* max_batch x hidden; used when use_rec_mask */
    int use_in_mask, use_rec_mask;

    int *active;   /* max_batch x embed: per sequence, the channels its in_mask keeps */
    int *nactive;  /* max_batch */
    int batch_path;     /* no input mask: the whole batch's projection is one product */
    int *uniq, *nuniq, *pos2u; /* per sequence: its distinct tokens (max_batch x T), how
                    * many, and each step's index among them (max_batch x T); on the
                    * batch path, the batch's distinct tokens and their index per step */
    int batch_uniq;     /* batch path: how many distinct tokens */
    float *ZU;          /* batch path: min(B*T, vocab) x 4H, their projections, then dZ sums */
    float *X;      /* per sequence b, at b*T*embed: its nuniq[b] x nactive[b] kept inputs
                    * (E row times mask), then in backward their gradient */
    float *Z;      /* (T*B) x 4H, time-major (row t*B+b): pre-activations, then the gate
                    * activations i f g o */
    float *C;      /* (T+1) x B x H: cell states, C[0] = 0 */
    float *Hm;     /* T x B x H: h(t-1) * rec_mask, the recurrent product's input */
    float *hlast;  /* B x H */
    float *probs;  /* B x classes */
    float *dZ;     /* (T*B) x 4H */
    float *dh, *dc;       /* B x H each */
    float *dlogits;       /* B x classes */
    float *part[LSTM_MAX_THREADS];   /* per thread: embed x 4H partial dW_x */
    float *wc[LSTM_MAX_THREADS];     /* per thread: embed x 4H gathered W_x rows */
    float *dwc[LSTM_MAX_THREADS];    /* per thread: embed x 4H, their gradient */
    float *zu[LSTM_MAX_THREADS];     /* per thread: T x 4H, distinct tokens' projections */
    unsigned *ustamp[LSTM_MAX_THREADS]; /* per thread, vocab: distinct-token bookkeeping */
    int *uslot[LSTM_MAX_THREADS];
    unsigned ucount[LSTM_MAX_THREADS];
    float *hpart[LSTM_MAX_THREADS];  /* per thread: hidden x 4H partial dW_h (recurrent dropout) */
    float *hscratch[LSTM_MAX_THREADS]; /* per thread: T x hidden + hidden x 4H */
    int *hkept[LSTM_MAX_THREADS];    /* per thread: hidden, a sequence's kept units */
    int *touched, ntouched;          /* distinct embedding rows of the last batch */
    unsigned *stamp;                 /* vocab: batch number that last touched a row */
    unsigned nbatch;
};

struct lstm_work *lstm_work_new(const struct lstm_params *p, int max_batch, int seq_len);
/* Uses N threads from now on (clamped to 1..LSTM_MAX_THREADS); -1 when out of memory. */
int lstm_work_set_threads(struct lstm_work *w, const struct lstm_params *p, int n);
void lstm_work_free(struct lstm_work *w);

/* Forward pass of BATCH sequences (tokens batch x seq_len, ids in [0, vocab)).
 * Leaves the class probabilities in w->probs.  With TARGETS (batch x classes) returns
 * the mean categorical cross-entropy, else 0. */
double lstm_forward(const struct lstm_params *p, struct lstm_work *w,
                    const int *tokens, int batch, const float *targets);

/* Backward pass of the last forward: gradients of the mean cross-entropy, written
 * (not accumulated) into G's blocks, except G->E, where only the rows of the batch's
 * tokens are touched: the caller keeps G->E zero elsewhere (see lstm_grad_clear_rows). */
void lstm_backward(const struct lstm_params *p, struct lstm_work *w, const float *targets,
                   struct lstm_params *g);

/* Zeroes the rows of G->E that the last backward pass touched. */
void lstm_grad_clear_rows(const struct lstm_params *p, const struct lstm_work *w,
                          struct lstm_params *g);

/* lstm_predict (train.h) over THREADS threads of its own, each calling OpenBLAS: set
 * OpenBLAS to one thread first when THREADS > 1.  The same results for any THREADS. */
int lstm_predict_threads(const struct lstm_params *p, const int *tokens, int n, int seq_len,
                         float *probs, int threads);

/* Runs FN(CTX, part, NPARTS) for part = 0..NPARTS-1, part 0 in the calling thread, the
 * others in threads of their own; returns when all are done. */
void lstm_parallel(int nparts, void (*fn)(void *ctx, int part, int nparts), void *ctx);
/* The [lo, hi) share of N items for PART of NPARTS. */
static inline void lstm_share(int n, int part, int nparts, int *lo, int *hi)
{
    *lo = (int)((long)n * part / nparts);
    *hi = (int)((long)n * (part + 1) / nparts);
}

#endif
