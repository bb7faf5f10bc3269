#!/bin/sh
# bench_ingest.sh — `nbstage ingest` over all of ../shared/corpus, in notebooks/s and
# MB/s, beside the Python baseline (Debian's nbformat.read, as_version=4, over the
# same files, same order) and the ratio (goal: at least 10x).  The C figure is the
# best of 3 runs, the Python one of 1 (it takes ~10 s); both with the files in the
# page cache (a first pass reads them all).
unset CDPATH  # the cd below must not follow a user's CDPATH to another tree
cd "$(dirname "$0")/../.."
BIN=${NBSTAGE_BIN:-.}
PYTHON=${PYTHON:-/usr/bin/python3}
SHARED=${SHARED:-../shared}
CORPUS=$SHARED/corpus
if [ ! -d "$CORPUS" ]; then echo "bench_ingest: $CORPUS absent, skipped"; exit 0; fi
if [ ! -x "$BIN/nbstage" ]; then echo "bench_ingest: $BIN/nbstage not built" >&2; exit 2; fi
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
find "$CORPUS" -name '*.ipynb' -exec cat {} + >/dev/null   # warm the page cache

# best_of_3 JOBS: sets best (seconds) and leaves that run's statistics in $tmp/best.txt
best_of_3() {
    best=""
    for i in 1 2 3; do
        "$BIN/nbstage" ingest -j "$1" -o "$tmp/cells.jsonl" "$CORPUS" 2>"$tmp/stats.txt" || {
            cat "$tmp/stats.txt" >&2; exit 1; }
        # "nbstage ingest: 142.4 MB in 0.70 s: 7688 notebooks/s, 203.4 MB/s"
        s=$(sed -n 's/^nbstage ingest: .* MB in \([0-9.]*\) s:.*/\1/p' "$tmp/stats.txt")
        if [ -z "$best" ] || awk "BEGIN{exit !($s < $best)}"; then best=$s; cp "$tmp/stats.txt" "$tmp/best.txt"; fi
    done
}
JOBS=$(nproc 2>/dev/null || echo 1)
[ "$JOBS" -gt 8 ] && JOBS=8
for j in 1 "$JOBS"; do
    best_of_3 "$j"
    n=$(sed -n 's/^nbstage ingest: \([0-9]*\) notebooks in.*/\1/p' "$tmp/best.txt")
    bad=$(sed -n 's/.*notebooks per group), \([0-9]*\) bad.*/\1/p' "$tmp/best.txt")
    mb=$(sed -n 's/^nbstage ingest: \([0-9.]*\) MB in.*/\1/p' "$tmp/best.txt")
    cells=$(wc -l <"$tmp/cells.jsonl")
    total=$((n + bad))
    awk -v n="$total" -v mb="$mb" -v s="$best" -v c="$cells" -v j="$j" 'BEGIN{
        printf "C      nbstage ingest -j %d (best of 3): %d notebooks, %.1f MB, %d cells out in %.3f s: %.0f notebooks/s, %.1f MB/s\n",
               j, n, mb, c, s, n/s, mb/s }'
    [ "$j" = "$JOBS" ] && break
done

"$PYTHON" - "$CORPUS" >"$tmp/py.txt" <<'PY' || { cat "$tmp/py.txt"; exit 1; }
import logging, os, sys, time, warnings
import nbformat
logging.disable(logging.CRITICAL)
warnings.simplefilter("ignore")
root = sys.argv[1]
paths = []
for d, dirs, files in os.walk(root):
    dirs[:] = sorted(x for x in dirs if not x.startswith("."))
    paths += [os.path.join(d, f) for f in sorted(files) if f.endswith(".ipynb")]
size = sum(os.path.getsize(p) for p in paths)
t = time.perf_counter()
for p in paths:
    nbformat.read(p, as_version=4)
dt = time.perf_counter() - t
print(f"{len(paths)} {size / 1e6:.3f} {dt:.3f}")
PY
read -r pn pmb ps <"$tmp/py.txt"
awk -v n="$pn" -v mb="$pmb" -v s="$ps" -v cs="$best" -v cn="$total" -v j="$JOBS" 'BEGIN{
    printf "Python nbformat.read (baseline):  %d notebooks, %.1f MB in %.3f s: %.0f notebooks/s, %.1f MB/s\n",
           n, mb, s, n/s, mb/s
    r = (cn/cs) / (n/s)
    printf "ratio C (-j %d)/Python: %.1fx (goal >= 10x)%s\n", j, r, (r >= 10 ? "" : "  BELOW GOAL") }'
