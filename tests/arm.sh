#!/bin/sh
# tests/arm.sh — `make test-arm`: nbstage built for 64-bit ARM (AArch64) with Debian's
# cross compiler and run under qemu-user on this (x86-64) machine, for the NEON walk
# (model/infer_neon.c), which no x86 test can run:
#   1. test_infer_step: the NEON activations and walk against double, bit-identity
#      alone / in batches / cut anywhere, and the digest the AVX2 walk gives too;
#   2. test_model_many: a model's batches against one cell at a time, on the NEON walk;
#   3. end to end: `nbstage classify -j 1` of up to 2,000 cells by the ARM build and by
#      this machine's build on its AVX2 walk: the same bytes (where this CPU has AVX2
#      and FMA; else the ARM output is only checked for a line per cell).
# Not part of `make test` (a new machine needs the arm64 packages; `make deps-arm`), and
# single-threaded under emulation: on the qemu-user 7.2 of Debian 12 here, a guest's
# first pthread_create spins forever (a five-line C program with one thread does too),
# so OPENBLAS_NUM_THREADS=1 and classify -j 1.
set -e
B=${B:-build/arm}
SHARED=${SHARED:-../shared}
for tool in aarch64-linux-gnu-gcc qemu-aarch64; do
    command -v $tool >/dev/null 2>&1 || { echo "test-arm: no $tool (make deps-arm installs it)" >&2; exit 2; }
done
export PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
pkg-config --exists libzmq jansson libsodium openblas libpcre2-8 cmocka \
    || { echo "test-arm: the arm64 -dev packages are missing (make deps-arm installs them)" >&2; exit 2; }
echo "== test-arm: building for aarch64 into $B"
make --no-print-directory -j"$(nproc)" CC=aarch64-linux-gnu-gcc B="$B" BIN="$B" \
    "$B/nbstage" "$B/tests/test_infer_step" "$B/tests/test_model_many" >/dev/null
run() { OPENBLAS_NUM_THREADS=1 qemu-aarch64 -L /usr/aarch64-linux-gnu "$@"; }
mkdir -p tests/out
fail=0
for t in test_infer_step test_model_many; do
    echo "== test-arm: $t under qemu-aarch64"
    log=tests/out/$t.arm.log
    if run "$B/tests/$t" >"$log" 2>&1; then tail -n 1 "$log"; else cat "$log"; fail=1; fi
done
# the NEON tests ran, not skipped (a build that chose no NEON walk would skip them)
grep -q '^\[       OK \] neon_walk_matches_double_itself_and_avx2' tests/out/test_infer_step.arm.log \
    || { echo "test-arm: the NEON walk's test did not pass" >&2; fail=1; }

echo "== test-arm: classify by the ARM build against this machine's AVX2 walk"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nbstage-arm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [ -d "$SHARED/corpus" ]; then src=$SHARED/corpus; else src=share/demo.ipynb; fi
./nbstage ingest -q -o "$tmp/all.jsonl" "$src"
head -n 2000 "$tmp/all.jsonl" >"$tmp/cells.jsonl"
cells=$(wc -l <"$tmp/cells.jsonl")
NBSTAGE_MODEL=$PWD/share/default.nbsm run "$B/nbstage" classify -j 1 "$tmp/cells.jsonl" >"$tmp/arm.jsonl"
lines=$(wc -l <"$tmp/arm.jsonl")
[ "$lines" -eq "$cells" ] || { echo "test-arm: $lines answers for $cells cells" >&2; fail=1; }
if grep -q ' avx2 ' /proc/cpuinfo && grep -q ' fma ' /proc/cpuinfo; then
    NBSTAGE_NO_AVX512=1 ./nbstage classify -j 1 "$tmp/cells.jsonl" >"$tmp/avx2.jsonl"
    if cmp -s "$tmp/arm.jsonl" "$tmp/avx2.jsonl"; then
        echo "$cells cells: the NEON walk's answers are the AVX2 walk's, byte for byte"
    else
        echo "test-arm: the NEON and AVX2 walks answer differently:" >&2
        diff "$tmp/avx2.jsonl" "$tmp/arm.jsonl" | head -n 6 >&2
        fail=1
    fi
else
    echo "$cells cells answered (this CPU has no AVX2 walk to compare with)"
fi
[ $fail -eq 0 ] && echo "test-arm: passed" || { echo "test-arm: FAILED" >&2; exit 1; }
