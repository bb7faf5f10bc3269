#!/bin/sh
# bench_train.sh — training throughput of the end model, C against PyTorch, on the same
# synthetic data: Embedding 8000x512 -> SpatialDropout1D 0.8 and input dropout 0.8 ->
# LSTM 64 -> Dense 6 softmax, Adam, batch 64, 120 tokens a sequence, 2 threads each
# (PyTorch: torch.set_num_threads(2) with OPENBLAS_NUM_THREADS=1, as the issue
# measured it).  Recurrent dropout is off on both sides (nn.LSTM has none); a last
# line gives the C trainer with the study's recurrent dropout 0.8 as well.
# Prints sequences/s, the ratio (goal: C >= 3x PyTorch), peak RSS of each process
# (goal: C below PyTorch's), and the C trainer's FLOP/s against OpenBLAS's own large
# sgemm on this machine.  Baseline from the issue: PyTorch ~450-530 seq/s, ~550 MB.
# Both sides use the same OpenBLAS with the same kernel set: the C trainer's choice
# (OpenBLAS 0.3.21 does not know every recent processor and falls back to its slow
# Prescott kernels; `nbstage train` then picks SkylakeX or Haswell, see
# model/blas_core.h), or BENCH_CORETYPE=NAME for both; the header says which.
unset CDPATH  # the cd below must not follow a user's CDPATH to another tree
cd "$(dirname "$0")/../.."
B=${B:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
N=${BENCH_TRAIN_N:-3200}
NT=${BENCH_TRAIN_TORCH_N:-1280}   # PyTorch trains on the first NT (it is the slow side)
THREADS=2
[ -x "$B/bench/train_bench" ] || { echo "bench_train: $B/bench/train_bench not built (make bench builds it)" >&2; exit 2; }
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
"$B/bench/train_bench" --n "$N" --write-data "$tmp/data.bin" || exit 1

val() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" "$2"; }

[ -n "$BENCH_CORETYPE" ] && { OPENBLAS_CORETYPE=$BENCH_CORETYPE; export OPENBLAS_CORETYPE; }
"$B/bench/train_bench" --sgemm-peak --threads "$THREADS" >"$tmp/peak.txt" || exit 1
# The C side re-executes itself with OPENBLAS_CORETYPE when OpenBLAS fell back to its
# generic kernels (model/blas_core.h); PyTorch, which loads the same OpenBLAS, gets the
# same kernel set so that the comparison stays like for like.
[ -z "$OPENBLAS_CORETYPE" ] && { OPENBLAS_CORETYPE=$(val core "$tmp/peak.txt"); export OPENBLAS_CORETYPE; }
"$B/bench/train_bench" --n "$N" --threads "$THREADS" >"$tmp/c.txt" 2>"$tmp/c.err" || { cat "$tmp/c.err" >&2; exit 1; }
OPENBLAS_NUM_THREADS=1 "$PYTHON" tests/bench/train_torch.py "$tmp/data.bin" --threads "$THREADS" --limit "$NT" >"$tmp/py.txt" 2>&1 \
    || { cat "$tmp/py.txt" >&2; exit 1; }
"$B/bench/train_bench" --n "$N" --threads "$THREADS" --rdrop 0.8 >"$tmp/c8.txt" 2>"$tmp/c.err" || { cat "$tmp/c.err" >&2; exit 1; }
"$B/bench/train_bench" --n "$N" --threads "$THREADS" --drop 0 >"$tmp/c0.txt" 2>"$tmp/c.err" || { cat "$tmp/c.err" >&2; exit 1; }

peak=$(val sgemm_gflops "$tmp/peak.txt"); core=$(val core "$tmp/peak.txt")
cs=$(val seq_per_s "$tmp/c.txt"); cm=$(val peak_rss_mb "$tmp/c.txt")
ce=$(val gflops_executed "$tmp/c.txt"); cd_=$(val gflops_dense_equivalent "$tmp/c.txt")
ps=$(val seq_per_s "$tmp/py.txt"); pm=$(val peak_rss_mb "$tmp/py.txt")
ccpu=$(val cpu_seconds "$tmp/c.txt"); cn=$(val sequences "$tmp/c.txt")
pcpu=$(val cpu_seconds "$tmp/py.txt"); pn=$(val sequences "$tmp/py.txt")
c8=$(val seq_per_s "$tmp/c8.txt"); c0=$(val seq_per_s "$tmp/c0.txt")
awk -v ccpu="$ccpu" -v cn="$cn" -v pcpu="$pcpu" -v pn="$pn" -v core="$core" -v n="$N" -v nt="$NT" -v cs="$cs" -v cm="$cm" -v ce="$ce" -v cd="$cd_" -v ps="$ps" -v pm="$pm" -v peak="$peak" -v c8="$c8" -v c0="$c0" 'BEGIN{
    printf "data: %d synthetic sequences of 120 tokens (no padding; PyTorch: the first %d), 6 classes, batch 64, 2 threads, one epoch; OpenBLAS core: %s\n", n, nt, core
    printf "C      lstm_train:            %7.1f seq/s, peak RSS %6.1f MB\n", cs, cm
    printf "PyTorch 1.13 (baseline):      %7.1f seq/s, peak RSS %6.1f MB   (issue: ~450-530 seq/s, ~550 MB)\n", ps, pm
    r = cs / ps
    printf "ratio C/PyTorch: %.2fx (goal >= 3x)%s; memory C/PyTorch: %.2f (goal < 1)%s\n", r, (r >= 3 ? "" : "  BELOW GOAL"), cm / pm, (cm < pm ? "" : "  ABOVE GOAL")
    printf "CPU time per 1000 sequences (steadier than wall time on a busy machine): C %.2f s, PyTorch %.2f s, ratio %.1fx\n", 1000 * ccpu / cn, 1000 * pcpu / pn, (pcpu / pn) / (ccpu / cn)
    printf "C FLOP/s: %.1f GFLOP/s executed at most (%.0f%% of OpenBLAS sgemm 2048^3 on 2 threads, %.1f GFLOP/s); %.1f GFLOP/s dense-equivalent\n", ce, 100 * ce / peak, peak, cd
    printf "C with the study'"'"'s recurrent dropout 0.8 too: %.1f seq/s\n", c8
    printf "C without any dropout (so no kept-channel savings; one batch product): %.1f seq/s\n", c0 }'
