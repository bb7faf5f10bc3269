#!/bin/sh
# `make fuzz`: builds tests/fuzz/fuzz_nbformat.c (the notebook reader and writer),
# tests/fuzz/fuzz_wire.c (the kernel's light JSON lookups against jansson),
# tests/fuzz/fuzz_tagfast.c (tag's fast path against its jansson path) and
# tests/fuzz/fuzz_cellsource.c (a cell's source through pysrc, the tokenizers and the
# shipped rules), tests/fuzz/fuzz_modelfile.c (any bytes as a model file: loaded and
# classifying, or refused), tests/fuzz/fuzz_rules.c (any bytes as a user's rule file:
# parsed and voting, or refused naming the line) and tests/fuzz/fuzz_jsonl.c (any bytes
# as label's cells and train's --cells and weak labels: read, or refused naming
# file:line) with clang's libFuzzer under ASan and UBSan, then runs each for a
# bounded time (FUZZ_SECONDS, default 60) from the seeds here plus a few small notebooks
# of ../shared.  Any crash, leak, sanitizer report or mismatch fails the run, and
# libFuzzer leaves the input as $B/fuzz/<prefix>crash-*.
set -e
unset CDPATH  # the cd below must not follow a user's CDPATH to another tree
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
# The library sources the last five targets share, compiled once into $out/libfuzz.a.
LIBSRC="model/tagfast.c model/tagging.c model/classcache.c model/context.c model/model.c model/infer_step.c model/infer_avx2.c model/infer_neon.c
    model/vocab.c model/tokenizer.c model/ulower.c model/modelfile.c model/lstm.c
    model/lstm_cell.c nbformat/nb*.c nbformat/jsonload.c nbformat/canonscan.c nbformat/pysrc.c nbformat/outfile.c
    nbformat/sharefile.c nbformat/sigcatch.c model/stage_output.c labeling/stage.c
    labeling/rules.c labeling/relit.c labeling/litscan.c labeling/lfset.c labeling/pytoken.c labeling/cellread.c labeling/flow*.c
    model/trainread.c labeling/weaklabel.c"
LIBPKGS="jansson openblas libpcre2-8 cmocka"
lib() {   # $out/libfuzz.a from LIBSRC, instrumented for libFuzzer, ASan and UBSan
    rm -rf "$out/obj" "$out/libfuzz.a"
    mkdir -p "$out/obj"
    # one compile per CPU at a time (xargs fails, and so the script, if one does)
    cflags="$(pkg-config --cflags $LIBPKGS)"
    printf '%s\n' $LIBSRC | xargs -P "$(nproc)" -I{} sh -c \
        'clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
            -fno-sanitize-recover=undefined -fno-omit-frame-pointer -I. $2 \
            -c "$1" -o "$3/obj/$(echo "$1" | tr / _).o"' _ {} "$cflags" "$out"
    ar rcs "$out/libfuzz.a" "$out"/obj/*.o
}
run() {   # run NAME PREFIX LIBFUZZER-OPTIONS...: NAME for SECONDS_ on $out/PREFIX{corpus,seeds}
    name=$1 prefix=$2
    shift 2
    echo "fuzz: running $name for ${SECONDS_} s"
    ASAN_OPTIONS=detect_leaks=1 "$out/$name" -max_total_time="$SECONDS_" "$@" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/$prefix" "$out/${prefix}corpus" "$out/${prefix}seeds" \
        2>"$out/$name.log" || {
        tail -n 40 "$out/$name.log" >&2
        echo "fuzz: FAILED (input saved under $out/)" >&2
        exit 1
    }
    grep -E '^stat::number_of_executed_units|^Done' "$out/$name.log" || true
}

build fuzz_nbformat jansson tests/fuzz/fuzz_nbformat.c nbformat/nb*.c nbformat/jsonload.c nbformat/cellscan.c \
    nbformat/canonscan.c
cp tests/fuzz/seeds/* "$out/seeds/"
# Real notebooks make good seeds; the small ones keep each run fast.
if [ -d "$SHARED/notebooks-with-outputs" ]; then
    find "$SHARED/notebooks-with-outputs" -name '*.ipynb' -size -24k | sort | head -n 20 |
        while read -r f; do cp "$f" "$out/seeds/$(echo "$f" | cksum | cut -d' ' -f1).ipynb"; done
fi
run fuzz_nbformat "" -max_len=65536 -dict=tests/fuzz/json.dict

build fuzz_wire "jansson libsodium" tests/fuzz/fuzz_wire.c kernel/wire.c kernel/wire_json.c
mkdir -p "$out/wire-corpus" "$out/wire-seeds"
printf '%s' '{"code":"pass","silent":false,"store_history":true,"user_expressions":{},"allow_stdin":true}' >"$out/wire-seeds/content"
printf '%s' '{"msg_id":"a","msg_type":"execute_request","username":"u","session":"s","date":"2026-11-29T10:00:00.000000Z","version":"5.3"}' >"$out/wire-seeds/header"
# ASCII inputs: jansson refuses invalid UTF-8, so random bytes would seldom reach the
# comparison (with them, 60 s finds a repeated msg_type the old scanner read first).
run fuzz_wire wire- -max_len=4096 -only_ascii=1 -dict=tests/fuzz/json.dict
lib
# tag's fast path: canonical notebooks (written by Python's json.dumps, as nb_dumps
# writes them) and the small shared ones, which are canonical too.
build fuzz_tagfast "$LIBPKGS" tests/fuzz/fuzz_tagfast.c "$out/libfuzz.a"
mkdir -p "$out/tagfast-corpus" "$out/tagfast-seeds"
cp tests/fuzz/tagfast-seeds/* "$out/tagfast-seeds/"
cp "$out"/seeds/*.ipynb "$out/tagfast-seeds/"
run fuzz_tagfast tagfast- -max_len=65536 -dict=tests/fuzz/json.dict

# A cell's source: Python with magics, decorators, strings and UTF-8; up to 16 kB,
# past the tokenizer's 8 kB on the stack.
build fuzz_cellsource "$LIBPKGS" tests/fuzz/fuzz_cellsource.c "$out/libfuzz.a"
mkdir -p "$out/cellsource-corpus" "$out/cellsource-seeds"
cp tests/fuzz/cellsource-seeds/* "$out/cellsource-seeds/"
run fuzz_cellsource cellsource- -max_len=16384 -dict=tests/fuzz/python.dict

# A model file: the seeds are small random models (and truncated copies) the target
# writes itself; its mutator mends the checksum (and most of the time the magic, the
# offsets and the size) so that mutations reach the validation behind them.  96 kB
# holds a model of hidden size 64, the AVX-512 step's.
build fuzz_modelfile "$LIBPKGS" tests/fuzz/fuzz_modelfile.c "$out/libfuzz.a"
mkdir -p "$out/modelfile-corpus" "$out/modelfile-seeds"
FUZZ_WRITE_SEEDS="$out/modelfile-seeds" "$out/fuzz_modelfile" -runs=0 "$out/modelfile-seeds" \
    2>"$out/fuzz_modelfile.log" || { tail -n 20 "$out/fuzz_modelfile.log" >&2; exit 1; }
run fuzz_modelfile modelfile- -max_len=98304

# A user's rule file, the shipped one among the seeds.
build fuzz_rules "$LIBPKGS" tests/fuzz/fuzz_rules.c "$out/libfuzz.a"
mkdir -p "$out/rules-corpus" "$out/rules-seeds"
cp tests/fuzz/rules-seeds/* "$out/rules-seeds/"
cp share/rules.txt "$out/rules-seeds/shipped.txt"
run fuzz_rules rules- -max_len=65536 -dict=tests/fuzz/rules.dict

# label's and train's JSON Lines.
build fuzz_jsonl "$LIBPKGS" tests/fuzz/fuzz_jsonl.c "$out/libfuzz.a"
mkdir -p "$out/jsonl-corpus" "$out/jsonl-seeds"
cp tests/fuzz/jsonl-seeds/* "$out/jsonl-seeds/"
run fuzz_jsonl jsonl- -max_len=16384 -dict=tests/fuzz/json.dict
echo "fuzz: no crash, leak or sanitizer report"
