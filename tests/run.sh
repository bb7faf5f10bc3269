#!/bin/sh
# Runs the unit-test binaries (optimised ones, then "--", then sanitizer ones), the
# integration tests, and their sanitizer pass (when NBSTAGE_SAN_BIN names the programs
# built under ASan+UBSan), and ends with one total line: "tests: N passed, N failed".
# Exit status is non-zero when anything failed.
PYTHON=${PYTHON:-/usr/bin/python3}
mkdir -p tests/out
pass=0; fail=0; skip=0; phase=unit
count() {   # count LOG: add cmocka's PASSED/FAILED totals
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
    pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
}
count_pytest() {   # count_pytest LOG RC: add pytest's totals; a failed run counts at least once
    tail -n 40 "$1"
    line=$(grep -E '[0-9]+ (passed|failed|error)' "$1" | tail -1)
    p=$(echo "$line" | sed -n 's/.* \([0-9]*\) passed.*/\1/p;s/^\([0-9]*\) passed.*/\1/p' | head -1)
    f=$(echo "$line" | grep -oE '[0-9]+ (failed|error)' | awk '{s+=$1} END{print s+0}')
    s=$(echo "$line" | grep -oE '[0-9]+ skipped' | awk '{print $1}')
    pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0})); skip=$((skip + ${s:-0}))
    [ "$2" -ne 0 ] && [ "${f:-0}" -eq 0 ] && fail=$((fail + 1))
}
run_units() {   # run_units PHASE BINARY...: each binary, its log and last line; adds to the counts
    phase=$1; shift
    for t in "$@"; do
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
}
# The unit binaries before "--" are the optimised ones, after it the sanitizer ones.
# The two lists run side by side (each binary is one thread, and there are two cores
# at least); the sanitizer list's output follows the other's.
plain=""; san=""; seen=0
for t in "$@"; do
    if [ "$t" = "--" ]; then seen=1; elif [ $seen -eq 0 ]; then plain="$plain $t"; else san="$san $t"; fi
done
if [ -n "$san" ]; then
    ( pass=0; fail=0; run_units unit-san $san; echo "$pass $fail" >tests/out/unit-san.counts ) \
        >tests/out/unit-san.phase.log 2>&1 &
    san_pid=$!
fi
run_units unit $plain
if [ -n "$san" ]; then
    wait $san_pid
    cat tests/out/unit-san.phase.log
    read -r p f <tests/out/unit-san.counts || { p=0; f=1; }
    pass=$((pass + p)); fail=$((fail + f))
fi
# The integration tests, then their sanitizer pass: the tests that drive the programs
# through their paths (the kernel's relay, bad frames and odd signed requests, its
# notice of a model it cannot read or of options it ignores, tag, summary, classify,
# label, train, the notebook reader on the corpus and on odd files, tag and fmt with
# each system call failed in turn)
# again, with NBSTAGE_SAN_BIN's programs built under ASan+UBSan.  The sanitizers write
# their reports to files (a program's stderr is often the test's to read), and any
# report, a leak at exit included, is a failure even if the test itself passed.
# The two passes run side by side, as the unit lists do: much of their time is spent
# waiting on kernels that start, sleep or are interrupted, so two cores finish both in
# little more than the longer one takes.  Each has its own temporary folder; every test
# keeps its kernelspecs, HOME and logs to itself, so they do not meet.
san_pass() {   # runs in the background; its counts go to tests/out/integration-san.counts
    pass=0; fail=0; skip=0
    echo "== integration-san (pytest, the programs under ASan+UBSan)"
    log=tests/out/integration-san.log
    reports=$(pwd)/tests/out/san-reports
    rm -rf "$reports"; mkdir -p "$reports"; chmod 1777 "$reports"  # also for a test's "nobody"
    basetemp=$(mktemp -d "${TMPDIR:-/tmp}/nbstage-san.XXXXXX")
    ASAN_OPTIONS=detect_leaks=1:log_path=$reports/asan UBSAN_OPTIONS=print_stacktrace=1:log_path=$reports/ubsan \
        NBSTAGE_BIN=$NBSTAGE_SAN_BIN $PYTHON -m pytest -q -p no:cacheprovider -m "not plain_build_only" \
        --basetemp="$basetemp" \
        tests/integration/test_kernel.py tests/integration/test_classify.py tests/integration/test_tag.py \
        tests/integration/test_tag_more.py tests/integration/test_label_more.py \
        tests/integration/test_summary_more.py tests/integration/test_nbformat_more.py \
        tests/integration/test_nbformat_python.py tests/integration/test_install_kernel.py \
        tests/integration/test_nbclient_demo.py tests/integration/test_outputs.py \
        tests/integration/test_train_more.py tests/integration/test_io_faults.py \
        tests/integration/test_kernel_corners.py::test_signed_requests_with_odd_content_leave_the_proxy_working \
        "tests/integration/test_kernel_notice.py::test_a_model_that_cannot_be_read_is_said_once_in_the_first_cell[truncated]" \
        tests/integration/test_kernel_notice.py::test_ignored_options_are_said_and_the_cell_is_still_tagged >"$log" 2>&1
    count_pytest "$log" $?
    rm -rf "$basetemp"
    for r in "$reports"/*; do
        [ -f "$r" ] || continue
        echo "sanitizer report $r:"; cat "$r"; fail=$((fail + 1))
    done
    echo "$pass $fail $skip" >tests/out/integration-san.counts
}
san_pid=""
if [ -z "$NBSTAGE_UNIT_ONLY" ] && [ -n "$NBSTAGE_SAN_BIN" ] && [ -x "$NBSTAGE_SAN_BIN/nbstage-kernel" ]; then
    rm -f tests/out/integration-san.counts
    ( san_pass ) >tests/out/integration-san.phase.log 2>&1 &
    san_pid=$!
fi
if [ -z "$NBSTAGE_UNIT_ONLY" ] && ls tests/integration/test_*.py >/dev/null 2>&1; then
    echo "== integration (pytest, real Jupyter)"
    log=tests/out/integration.log
    $PYTHON -m pytest -q -p no:cacheprovider tests/integration >"$log" 2>&1
    count_pytest "$log" $?
fi
if [ -n "$san_pid" ]; then
    wait $san_pid
    cat tests/out/integration-san.phase.log
    read -r p f s <tests/out/integration-san.counts || { p=0; f=1; s=0; }
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
fi
echo
if [ "$skip" -gt 0 ]; then echo "tests: $pass passed, $fail failed, $skip skipped"
else echo "tests: $pass passed, $fail failed"; fi
[ "$fail" -eq 0 ]
