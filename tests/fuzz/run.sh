#!/bin/sh
# `make fuzz`: builds tests/fuzz/fuzz_nbformat.c (the notebook reader and writer) and
# tests/fuzz/fuzz_wire.c (the kernel's light JSON lookups against jansson) with clang's
# libFuzzer under ASan and UBSan, then runs each for a bounded time (FUZZ_SECONDS,
# default 60) from the seeds here plus a few small notebooks of ../shared.  Any crash, leak or sanitizer report
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

clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer -I. \
    $(pkg-config --cflags jansson libsodium) tests/fuzz/fuzz_wire.c kernel/wire.c \
    -o "$out/fuzz_wire" $(pkg-config --libs jansson libsodium)
mkdir -p "$out/wire-corpus" "$out/wire-seeds"
printf '%s' '{"code":"pass","silent":false,"store_history":true,"user_expressions":{},"allow_stdin":true}' >"$out/wire-seeds/content"
printf '%s' '{"msg_id":"a","msg_type":"execute_request","username":"u","session":"s","date":"2026-11-29T10:00:00.000000Z","version":"5.3"}' >"$out/wire-seeds/header"
# ASCII inputs: jansson refuses invalid UTF-8, so random bytes would seldom reach the
# comparison (with them, 60 s finds a repeated msg_type the old scanner read first).
echo "fuzz: running fuzz_wire for ${SECONDS_} s"
ASAN_OPTIONS=detect_leaks=1 "$out/fuzz_wire" -max_total_time="$SECONDS_" -max_len=4096 -only_ascii=1 \
    -timeout=10 -rss_limit_mb=2048 -dict=tests/fuzz/json.dict -print_final_stats=1 \
    -artifact_prefix="$out/wire-" "$out/wire-corpus" "$out/wire-seeds" 2>"$out/fuzz_wire.log" || {
    tail -n 40 "$out/fuzz_wire.log" >&2
    echo "fuzz: FAILED (input saved under $out/)" >&2
    exit 1
}
grep -E '^stat::number_of_executed_units|^Done' "$out/fuzz_wire.log" || true
echo "fuzz: no crash, leak or sanitizer report"
