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

build() {   # build NAME PKGS SOURCES...: $out/NAME with libFuzzer, ASan and UBSan
    name=$1 pkgs=$2
    shift 2
    clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=undefined -fno-omit-frame-pointer -I. \
        $(pkg-config --cflags $pkgs) "$@" -o "$out/$name" $(pkg-config --libs $pkgs) -lm
}
run() {   # run NAME PREFIX LIBFUZZER-OPTIONS...: NAME for SECONDS_ on $out/PREFIX{corpus,seeds}
    name=$1 prefix=$2
    shift 2
    echo "fuzz: running $name for ${SECONDS_} s"
    ASAN_OPTIONS=detect_leaks=1 "$out/$name" -max_total_time="$SECONDS_" "$@" \
        -timeout=10 -rss_limit_mb=2048 -dict=tests/fuzz/json.dict -print_final_stats=1 \
        -artifact_prefix="$out/$prefix" "$out/${prefix}corpus" "$out/${prefix}seeds" \
        2>"$out/$name.log" || {
        tail -n 40 "$out/$name.log" >&2
        echo "fuzz: FAILED (input saved under $out/)" >&2
        exit 1
    }
    grep -E '^stat::number_of_executed_units|^Done' "$out/$name.log" || true
}

build fuzz_nbformat jansson tests/fuzz/fuzz_nbformat.c nbformat/nb*.c nbformat/cellscan.c \
    nbformat/canonscan.c
cp tests/fuzz/seeds/* "$out/seeds/"
# Real notebooks make good seeds; the small ones keep each run fast.
if [ -d "$SHARED/notebooks-with-outputs" ]; then
    find "$SHARED/notebooks-with-outputs" -name '*.ipynb' -size -24k | sort | head -n 20 |
        while read -r f; do cp "$f" "$out/seeds/$(echo "$f" | cksum | cut -d' ' -f1).ipynb"; done
fi
run fuzz_nbformat "" -max_len=65536

build fuzz_wire "jansson libsodium" tests/fuzz/fuzz_wire.c kernel/wire.c
mkdir -p "$out/wire-corpus" "$out/wire-seeds"
printf '%s' '{"code":"pass","silent":false,"store_history":true,"user_expressions":{},"allow_stdin":true}' >"$out/wire-seeds/content"
printf '%s' '{"msg_id":"a","msg_type":"execute_request","username":"u","session":"s","date":"2026-11-29T10:00:00.000000Z","version":"5.3"}' >"$out/wire-seeds/header"
# ASCII inputs: jansson refuses invalid UTF-8, so random bytes would seldom reach the
# comparison (with them, 60 s finds a repeated msg_type the old scanner read first).
run fuzz_wire wire- -max_len=4096 -only_ascii=1
echo "fuzz: no crash, leak or sanitizer report"
