#!/bin/sh
# bench_tag.sh — `nbstage tag` over all of ../shared/corpus, beside a Python baseline.
#
# The corpus is copied to a temporary folder for each run (../shared is never
# modified).  Baseline: Debian's python3-nbformat reading and writing the same
# notebooks in place (nbformat.read + nbformat.write, no classification).  Then
# `nbstage tag` with -j 1 and -j 2 on fresh copies (classification included, every
# notebook rewritten atomically), and `tag --check` over the tagged copy.  Prints
# seconds, notebooks/s, cells/s and the ratio to the baseline (goal: >= 20x), in wall
# time and in CPU time (user + sys: what a busy shared machine disturbs least; the
# baseline's is around its loop, ours the whole process).  nbstage replaces each file
# atomically (temporary + rename) and makes the run durable with one syncfs per
# filesystem before it exits (inside its timing); the baseline writes in place and
# never syncs: on a busy disk the wall figures carry that cost, the CPU figures do not.
# The copies are removed only at the end: on ext4 without a journal (this machine's
# root) inodes freed in the last minute slow down every file creation after them,
# which would charge one run for the clean-up of the one before.  Below each of our
# rows: how many notebooks took the fast path (spliced from their bytes, no JSON
# tree) and how many cells the run's classification memo answered.
# Then, where /dev/shm is a tmpfs with room, the same runs in memory (see the end).
set -e
unset CDPATH  # the cd below must not follow a user's CDPATH to another tree
cd "$(dirname "$0")/../.."
BIN=${NBSTAGE_BIN:-.}
SHARED=${SHARED:-../shared}
PYTHON=${PYTHON:-/usr/bin/python3}
CORPUS=$SHARED/corpus
if [ ! -d "$CORPUS" ]; then echo "bench_tag: $CORPUS absent: skipped"; exit 0; fi
MODEL=${NBSTAGE_MODEL:-}
[ -n "$MODEL" ] || for m in "$BIN/share/default.nbsm" share/default.nbsm; do
    [ -f "$m" ] && { MODEL=$m; break; }
done
if [ -z "$MODEL" ] || [ ! -f "$MODEL" ]; then
    echo "bench_tag: no model (share/default.nbsm or NBSTAGE_MODEL): skipped"
    exit 0
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nbstage-bench-tag.XXXXXX")
# A signal must end the run, not only clean up: a trap that returns lets sh carry on,
# and the next run would then write into the folder just removed.
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
fresh() {   # fresh NAME: a writable copy of the corpus at $TMP/NAME
    rm -rf "$TMP/$1"
    cp -r "$CORPUS" "$TMP/$1"
    chmod -R u+w "$TMP/$1"
    sync
}
now() { date +%s.%N; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }

fresh py
find "$TMP/py" -name '*.ipynb' | sort >"$TMP/py.list"
N=$(wc -l <"$TMP/py.list")
MB=$(du -sm "$CORPUS" | cut -f1)
echo "corpus: $N notebooks, ${MB} MB, copied to $TMP; model: $MODEL"

# The baseline times itself, around the loop only (not the interpreter start-up).
PY=$("$PYTHON" - "$TMP/py.list" <<'EOF'
import sys, time, warnings
import nbformat
warnings.simplefilter("ignore")
paths = [l.rstrip("\n") for l in open(sys.argv[1])]
t, c = time.perf_counter(), time.process_time()
for p in paths:
    nb = nbformat.read(p, as_version=nbformat.NO_CONVERT)
    nbformat.write(nb, p)
print(f"{time.perf_counter() - t:.3f} {time.process_time() - c:.3f}")
EOF
)
PY_S=${PY% *}
PY_CPU=${PY#* }
printf '%-38s %7s %11s %9s %7s | %7s %7s\n' "" "wall s" "notebooks/s" "cells/s" "ratio" "cpu s" "ratio"
printf '%-38s %7.2f %11s %9s %7s | %7.2f %7s\n' "python3 nbformat read+write (baseline)" \
    "$PY_S" "$(rate "$N" "$PY_S")" "" "1.0x" "$PY_CPU" "1.0x"

run_tag() {   # run_tag LABEL DIR ARGS...: times `nbstage tag ARGS DIR`
    label=$1 dir=$2
    shift 2
    t0=$(now)
    # failures are counted below; --check exits 1 on findings; anything else (a crash,
    # a usage error) gives no figure
    rc=0
    /usr/bin/time -f "%U %S" -o "$TMP/cpu" \
        "$BIN/nbstage" tag -m "$MODEL" "$@" "$dir" >/dev/null 2>"$TMP/err" || rc=$?
    t1=$(now)
    if [ "$rc" -gt 1 ]; then
        echo "bench_tag: nbstage tag $* failed (exit $rc):" >&2; cat "$TMP/err" >&2
        exit 1
    fi
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    cpu=$(awk '{ s = $1 + $2 } END { printf "%.3f", s }' "$TMP/cpu")
    cells=$(sed -n 's/^nbstage tag: \([0-9]*\) code cells.*/\1/p' "$TMP/err")
    failed=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' "$TMP/err" | head -1)
    printf '%-38s %7.2f %11s %9s %7s | %7.2f %7s%s\n' "$label" "$s" "$(rate "$N" "$s")" \
        "$(rate "${cells:-0}" "$s")" "$(ratio "$PY_S" "$s")" "$cpu" "$(ratio "$PY_CPU" "$cpu")" \
        "$([ "${failed:-0}" = 0 ] || echo "  ($failed failed)")"
    how=$(sed -n 's/.*; \([0-9]* spliced.*\)/\1/p' "$TMP/err")
    us=$(awk '{ printf "user %.2f s, sys %.2f s", $1, $2 }' "$TMP/cpu")
    printf '%-38s %s\n' "" "($us${how:+; $how})"
}

# Each of our runs replaces 5,382 files, freeing 5,382 inodes.  On ext4 without a
# journal every new inode in the next minute (60 s once the inode tables are written
# back) searches past those (recently_deleted): perf showed -j 2 right after -j 1
# spending 15% of its CPU there.  So the copy for -j 2 is made first, and -j 2 starts
# a minute after -j 1 has ended and been synced, as a run on a settled disk does.
fresh j1
fresh j2
run_tag "nbstage tag -j 1" "$TMP/j1" -j 1
if [ "$(stat -f -c %T "$TMP")" != tmpfs ]; then sync; sleep 61; fi
run_tag "nbstage tag -j 2" "$TMP/j2" -j 2
run_tag "nbstage tag --check -j 2 (tagged)" "$TMP/j2" --check -j 2
# In memory, on a host with AVX-512: the AVX2 walk that CPUs without it run (most
# laptops and desktops), chosen here by NBSTAGE_NO_AVX512.
if [ -n "${BENCH_TAG_INNER:-}" ] && grep -qw avx512f /proc/cpuinfo && grep -qw avx2 /proc/cpuinfo &&
    grep -qw fma /proc/cpuinfo; then
    fresh avx2
    export NBSTAGE_NO_AVX512=1
    run_tag "nbstage tag -j 2 (AVX2 walk)" "$TMP/avx2" -j 2
    unset NBSTAGE_NO_AVX512
fi
echo "goal: >= 20x the baseline with classification included, scaling with cores"
echo "(CPU ratio with -j 2: total CPU of both threads, so it does not grow with cores)"

# The same runs again in memory, when /dev/shm is a tmpfs with room, to tell the disk's
# share from the CPU's: this machine's disk (ext4 without a journal, mounted with
# discard) makes every freed block wait for a discard and every new inode search past
# the ones freed in the last minute, costs a journaled filesystem does not have.  Both
# sides run there (on 2026-11-29 the baseline gained more from it than we did).
if [ -z "${BENCH_TAG_INNER:-}" ] && [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] &&
    [ "$(df -Pm /dev/shm | awk 'NR == 2 { print $4 }')" -gt $((4 * MB + 512)) ]; then
    rm -rf "$TMP"
    echo
    echo "in memory (tmpfs /dev/shm), the same runs:"
    BENCH_TAG_INNER=1 TMPDIR=/dev/shm sh "$0"
fi
