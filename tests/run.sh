#!/bin/sh
# Runs the unit-test binaries (optimised ones, then "--", then sanitizer ones) and the
# integration tests, and ends with one total line: "tests: N passed, N failed".
# Exit status is non-zero when anything failed.
PYTHON=${PYTHON:-/usr/bin/python3}
mkdir -p tests/out
pass=0; fail=0; skip=0; phase=unit
count() {   # count LOG: add cmocka's PASSED/FAILED totals
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
    pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
}
for t in "$@"; do
    if [ "$t" = "--" ]; then phase=unit-san; continue; fi
    log=tests/out/$(basename "$t").$phase.log
    echo "== $phase $(basename "$t")"
    if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$t" >"$log" 2>&1; then
        count "$log"
    else
        count "$log"; cat "$log"
        # a crash before cmocka's summary still counts as a failure
        grep -q '^\[  FAILED  \]' "$log" || fail=$((fail + 1))
    fi
    tail -n 1 "$log"
done
if [ -z "$NBSTAGE_UNIT_ONLY" ] && ls tests/integration/test_*.py >/dev/null 2>&1; then
    echo "== integration (pytest, real Jupyter)"
    log=tests/out/integration.log
    $PYTHON -m pytest -q -p no:cacheprovider tests/integration >"$log" 2>&1
    rc=$?
    tail -n 40 "$log"
    line=$(grep -E '[0-9]+ (passed|failed|error)' "$log" | tail -1)
    p=$(echo "$line" | sed -n 's/.* \([0-9]*\) passed.*/\1/p;s/^\([0-9]*\) passed.*/\1/p' | head -1)
    f=$(echo "$line" | grep -oE '[0-9]+ (failed|error)' | awk '{s+=$1} END{print s+0}')
    s=$(echo "$line" | grep -oE '[0-9]+ skipped' | awk '{print $1}')
    pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0})); skip=$((skip + ${s:-0}))
    [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ] && fail=$((fail + 1))
fi
echo
if [ "$skip" -gt 0 ]; then echo "tests: $pass passed, $fail failed, $skip skipped"
else echo "tests: $pass passed, $fail failed"; fi
[ "$fail" -eq 0 ]
