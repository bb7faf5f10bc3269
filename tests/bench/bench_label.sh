#!/bin/sh
# bench_label.sh — the label model's fit and predict time, peak memory and accuracy on
# synthetic label matrices (100k and 1M items x 41 LFs x 6 classes, from
# tests/bench/gen_votes.py, whose true labels are known), beside Snorkel 0.9's LabelModel
# as quoted in issue 3 (Snorkel is not installable here: its figures are quoted, not
# measured); then `nbstage label` over the whole corpus (cells/s) and its accuracy
# on the development labels (label model and majority vote).
unset CDPATH  # the cd below must not follow a user's CDPATH to another tree
cd "$(dirname "$0")/../.."
BIN=${NBSTAGE_BIN:-.}
PYTHON=${PYTHON:-/usr/bin/python3}
SHARED=${SHARED:-../shared}
if [ ! -x "$BIN/nbstage" ]; then echo "bench_label: $BIN/nbstage not built" >&2; exit 2; fi
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
JOBS=$(nproc 2>/dev/null || echo 1)
[ "$JOBS" -gt 8 ] && JOBS=8

echo "baseline (quoted from issue 3, Snorkel 0.9 LabelModel, 2 threads):"
echo "  100k x 41: fit 1.6 s + predict 1.2 s = 2.8 s"
echo "  1M x 41:   fit 7-12 s + predict 10-12 s = 17-24 s, peak 5 GB"
echo "goal: 10x faster end to end, a tenth of the memory, accuracy >= majority vote"
for n in 100000 1000000; do
    "$PYTHON" tests/bench/gen_votes.py "$n" 41 "$tmp/m.tsv" "$tmp/t.txt" 1 || exit 1
    /usr/bin/time -v "$BIN/nbstage" label -j "$JOBS" --votes "$tmp/m.tsv" --truth "$tmp/t.txt" \
        -o "$tmp/p.tsv" --report "$tmp/rep.txt" 2>"$tmp/time.txt" || { cat "$tmp/time.txt" >&2; exit 1; }
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\).*/\1/p' "$tmp/time.txt")
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): \(.*\)/\1/p' "$tmp/time.txt")
    # "label --votes: read R s, fit F s (...), predict P s, write W s"
    fit=$(sed -n 's/.*fit \([0-9.]*\) s.*/\1/p' "$tmp/rep.txt")
    pred=$(sed -n 's/.*predict \([0-9.]*\) s.*/\1/p' "$tmp/rep.txt")
    acc=$(sed -n 's/.*label model accuracy \([0-9.]*\) coverage \([0-9.]*\); majority vote accuracy \([0-9.]*\) coverage \([0-9.]*\).*/LM \1 (coverage \2), MV \3 (coverage \4, ties unlabeled)/p' "$tmp/rep.txt")
    pat=$(sed -n 's/.*LFs, \([0-9]*\) distinct vote patterns.*/\1/p' "$tmp/rep.txt")
    fcpu=$(sed -n 's/.*EM [0-9.]* s; cpu \([0-9.]*\) s).*/\1/p' "$tmp/rep.txt")
    pcpu=$(sed -n 's/.*predict [0-9.]* s (cpu \([0-9.]*\) s).*/\1/p' "$tmp/rep.txt")
    awk -v n="$n" -v f="$fit" -v p="$pred" -v r="$rss" -v w="$wall" -v a="$acc" -v pat="$pat" -v j="$JOBS" 'BEGIN{
        base = (n == 100000) ? 2.8 : 17.0
        printf "C  %7d x 41 (-j %d, %d patterns): fit %.3f s + predict %.3f s = %.3f s (%.0fx Snorkel%s), peak RSS %.0f MB (whole command, parse included; wall %s)\n",
               n, j, pat, f, p, f + p, base / (f + p), n == 100000 ? "" : " low end", r / 1024, w
        printf "   accuracy vs generator truth: %s\n", a }'
    echo "   CPU time (all threads): fit ${fcpu} s + predict ${pcpu} s"
    sed -n 's/^label --votes: on the/   on the/p' "$tmp/rep.txt"
done

if [ -d "$SHARED/corpus" ]; then
    "$BIN/nbstage" ingest -q -o "$tmp/cells.jsonl" "$SHARED/corpus" || exit 1
    cells=$(wc -l <"$tmp/cells.jsonl")
    /usr/bin/time -v "$BIN/nbstage" label -j "$JOBS" -o "$tmp/weak.jsonl" --report "$tmp/crep.txt" \
        "$tmp/cells.jsonl" 2>"$tmp/time.txt" || { cat "$tmp/time.txt" >&2; exit 1; }
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\).*/\1/p' "$tmp/time.txt")
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): \(.*\)/\1/p' "$tmp/time.txt")
    echo "C  nbstage label -j $JOBS over the corpus: $cells cells, wall $wall, peak RSS $((rss / 1024)) MB"
    sed -n 's/^label: /   /p' "$tmp/crep.txt"
    if [ -f "$SHARED/labeled/dev.tsv" ]; then
        "$BIN/nbstage" label -j "$JOBS" -o /dev/null --gold "$SHARED/labeled/dev.tsv" --report "$tmp/drep.txt" \
            "$tmp/cells.jsonl" || exit 1
        echo "dev labels (targets: label model >= 85% accuracy with >= 95% labeled, and above majority vote;"
        echo "the study's label model: 82.3%; its LFs ported with Snorkel: 53.6%):"
        sed -n 's/^  \(label model\|majority vote\|on the\)/   \1/p' "$tmp/drep.txt"
        sed -n '/classification report/,/weighted avg/p' "$tmp/drep.txt" | sed 's/^/   /'
    fi
fi
