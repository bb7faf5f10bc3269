#!/bin/sh
# bench_infer.sh — inference speed of the end model: model load time, one-cell latency
# (p50/p99, 120 words after tokenizing, one thread), batch classification in
# sequences/s on 1 thread and on all CPUs, and `nbstage classify` end to end on corpus
# cells (JSON in and out) — beside PyTorch 1.13 running the same architecture
# (Embedding 8000x512 -> LSTM 64 -> Dense 6 softmax, 120 steps) on Debian's
# python3-torch.  Goals: p50 < 50 us, batch >= 20x PyTorch's.
# The one-cell figure is split into its parts: encoding (comment stripping, words, ids)
# and the model from the 120 ids (what PyTorch's figure measures: steps and output
# layer), the latter also in TSC ticks per step (the constant-rate
# time-stamp counter, 2.1 GHz on the machine measured; this VM gives perf no core-cycle
# counter) and with the portable (non-AVX-512) step for comparison.
# The C side benches share/default.nbsm when it exists, else a study-size model with
# random weights (the cost does not depend on the weights).
unset CDPATH  # the cd below must not follow a user's CDPATH to another tree
cd "$(dirname "$0")/../.."
BIN=${NBSTAGE_BIN:-.}
PYTHON=${PYTHON:-/usr/bin/python3}
B=${B:-build}
SHARED=${SHARED:-../shared}
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
[ -x "$B/bench/bench_infer" ] || { echo "bench_infer: $B/bench/bench_infer not built (make bench builds it)" >&2; exit 2; }
MODEL=""
[ -f share/default.nbsm ] && MODEL=share/default.nbsm
"$B/bench/bench_infer" $MODEL >"$tmp/c.txt" || exit 1
get() { sed -n "s/^$1 //p" "$tmp/c.txt"; }
NCPU=$(nproc)

# PyTorch loads the same OpenBLAS: give it the kernel set the C side would choose
# (model/blas_core.h), as bench_train.sh does, unless OPENBLAS_CORETYPE is already set.
[ -z "$OPENBLAS_CORETYPE" ] && [ -n "$(get blas_core)" ] && { OPENBLAS_CORETYPE=$(get blas_core); export OPENBLAS_CORETYPE; }
echo "OpenBLAS core for PyTorch: ${OPENBLAS_CORETYPE:-its own choice}"
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 "$PYTHON" - >"$tmp/py.txt" <<'PY' || { cat "$tmp/py.txt"; exit 1; }
import time, numpy as np, torch
torch.manual_seed(0)
class Net(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.emb = torch.nn.Embedding(8000, 512)
        s.lstm = torch.nn.LSTM(512, 64, batch_first=True)
        s.dense = torch.nn.Linear(64, 6)
    def forward(s, x):
        _, (h, _) = s.lstm(s.emb(x))
        return torch.softmax(s.dense(h[-1]), dim=1)
net = Net().eval()
rng = np.random.default_rng(0)
def cells(n): return torch.from_numpy(rng.integers(1, 8000, size=(n, 120)))
with torch.no_grad():
    torch.set_num_threads(1)
    one = cells(1)
    for _ in range(20): net(one)
    lat = []
    for _ in range(300):
        t = time.perf_counter(); net(one); lat.append(time.perf_counter() - t)
    lat.sort()
    print("latency_p50_us %.1f" % (lat[len(lat) // 2] * 1e6))
    print("latency_p99_us %.1f" % (lat[len(lat) * 99 // 100] * 1e6))
    torch.set_num_threads(2)
    batch = cells(256)
    net(batch)
    t = time.perf_counter(); n = 0
    while time.perf_counter() - t < 3:
        net(batch); n += 256
    print("batch_seq_per_s %.0f" % (n / (time.perf_counter() - t)))
    print("torch %s" % torch.__version__)
PY
pget() { sed -n "s/^$1 //p" "$tmp/py.txt"; }

echo "model: $(get model)"
echo "C      model load: $(get load_ms) ms (best of 5)"
echo "C      one cell, $(get words_per_cell) words, 1 thread: p50 $(get latency_p50_us) us, p99 $(get latency_p99_us) us (encoding alone: p50 $(get latency_encode_p50_us) us; from the 120 ids, as PyTorch is measured (steps and output layer): p50 $(get latency_ids_p50_us) us, $(get tsc_per_step_p50) TSC ticks a step at p50, $(get tsc_per_step_min) at best; with the portable step: p50 $(get latency_ids_portable_p50_us) us)"
echo "PyTorch $(pget torch) one cell, 120 ids, 1 thread: p50 $(pget latency_p50_us) us, p99 $(pget latency_p99_us) us"
echo "C      batch, one cell at a time: $(get batch_threads_1_seq_per_s) seq/s on 1 thread, $(get batch_threads_${NCPU}_seq_per_s) seq/s on $NCPU threads"
echo "C      batch, model_classify_many ($(get walk)): $(get batch_many_threads_1_seq_per_s) seq/s on 1 thread, $(get batch_many_threads_${NCPU}_seq_per_s) seq/s on $NCPU threads"
echo "PyTorch batch of 256, 2 threads: $(pget batch_seq_per_s) seq/s"
# The AVX2 walk, which CPUs without AVX-512 run (most laptops and desktops), measured
# here too where the host has AVX-512: NBSTAGE_NO_AVX512 makes this host choose it.
case "$(get walk)" in
AVX-512*|AMX*)
    if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then
        NBSTAGE_NO_AVX512=1 "$B/bench/bench_infer" $MODEL >"$tmp/avx2.txt" || exit 1
        aget() { sed -n "s/^$1 //p" "$tmp/avx2.txt"; }
        echo "C      as without AVX-512 ($(aget walk), NBSTAGE_NO_AVX512=1): one cell p50 $(aget latency_p50_us) us from text, $(aget latency_ids_p50_us) us from ids; model_classify_many $(aget batch_many_threads_1_seq_per_s) seq/s on 1 thread, $(aget batch_many_threads_${NCPU}_seq_per_s) seq/s on $NCPU threads (the portable walk before it: p50 $(aget latency_ids_portable_p50_us) us from ids)"
    fi ;;
esac
awk -v c50="$(get latency_p50_us)" -v i50="$(get latency_ids_p50_us)" -v p50="$(pget latency_p50_us)" -v cb="$(get batch_many_threads_${NCPU}_seq_per_s)" \
    -v pb="$(pget batch_seq_per_s)" 'BEGIN{
    # two readings of "one cell, 120 tokens": the model from its ids (what the PyTorch
    # side measures) and the cell from its text (encoding included: what a user waits for)
    printf "ratio one-cell latency PyTorch/C: %.1fx from text, %.1fx both from ids; p50 from ids %.1f us%s, from text %.1f us%s (goal < 50 us)\n", p50/c50, p50/i50, i50, (i50 < 50 ? "" : " ABOVE GOAL"), c50, (c50 < 50 ? "" : " ABOVE GOAL")
    printf "ratio batch C/PyTorch: %.1fx (goal >= 20x)%s\n", cb/pb, (cb/pb >= 20 ? "" : "  BELOW GOAL")
    # PyTorch measured on a quiet machine, as the issue quotes it: 1.7 ms and 1,500 seq/s
    printf "ratio vs the issue'"'"'s PyTorch figures (1.7 ms p50, 1,500 seq/s in batches of 256): latency %.1fx, batch %.1fx\n", 1700/c50, cb/1500 }'

# End to end: nbstage classify over real corpus cells (JSON parse, tokenize, LSTM, JSON out).
if [ -n "$MODEL" ] && [ -d "$SHARED/corpus" ] && [ -x "$BIN/nbstage" ]; then
    "$BIN/nbstage" ingest -q -o "$tmp/cells.jsonl" "$SHARED/corpus" || { echo "bench_infer: ingest failed" >&2; exit 1; }
    n=$(wc -l <"$tmp/cells.jsonl")
    /usr/bin/time -f "%e" -o "$tmp/classify.time" "$BIN/nbstage" classify --model "$MODEL" <"$tmp/cells.jsonl" >/dev/null ||
        { echo "bench_infer: classify failed" >&2; exit 1; }
    s=$(tail -1 "$tmp/classify.time")
    awk -v n="$n" -v s="$s" -v j="$NCPU" 'BEGIN{ printf "C      nbstage classify, %d corpus cells (real lengths), -j %d: %.2f s, %.0f cells/s\n", n, j, s, n/s }'
fi
