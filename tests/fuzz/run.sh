#!/bin/sh
# `make fuzz`: builds tests/fuzz/fuzz_nbformat.c with clang's libFuzzer under ASan and
# UBSan, then runs it for a bounded time (FUZZ_SECONDS, default 60) from the seeds
# here plus a few small notebooks of ../shared.  Any crash, leak or sanitizer report
# fails the run, and libFuzzer leaves the input as $B/fuzz/crash-*.
set -e
cd "$(dirname "$0")/../.."
B=${B:-build}
SECONDS_=${FUZZ_SECONDS:-60}
SHARED=${SHARED:-../shared}
out=$B/fuzz
mkdir -p "$out/corpus" "$out/seeds"
command -v clang >/dev/null || { echo "fuzz: clang is missing (make deps)" >&2; exit 2; }
clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer -I. \
    $(pkg-config --cflags jansson) \
    tests/fuzz/fuzz_nbformat.c nbformat/nb*.c nbformat/cellscan.c nbformat/canonscan.c \
    -o "$out/fuzz_nbformat" $(pkg-config --libs jansson) -lm
cp tests/fuzz/seeds/* "$out/seeds/"
# Real notebooks make good seeds; the small ones keep each run fast.
if [ -d "$SHARED/notebooks-with-outputs" ]; then
    find "$SHARED/notebooks-with-outputs" -name '*.ipynb' -size -24k | sort | head -n 20 |
        while read -r f; do cp "$f" "$out/seeds/$(echo "$f" | cksum | cut -d' ' -f1).ipynb"; done
fi
echo "fuzz: running fuzz_nbformat for ${SECONDS_} s"
ASAN_OPTIONS=detect_leaks=1 "$out/fuzz_nbformat" -max_total_time="$SECONDS_" -max_len=65536 \
    -timeout=10 -rss_limit_mb=2048 -dict=tests/fuzz/json.dict -print_final_stats=1 \
    -artifact_prefix="$out/" "$out/corpus" "$out/seeds" 2>"$out/fuzz.log" || {
    tail -n 40 "$out/fuzz.log" >&2
    echo "fuzz: FAILED (input saved under $out/)" >&2
    exit 1
}
grep -E '^stat::number_of_executed_units|^Done' "$out/fuzz.log" || true
echo "fuzz: no crash, leak or sanitizer report"
