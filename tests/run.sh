#!/bin/sh
# Runs the unit-test binaries (optimised ones, then "--", then sanitizer ones), the
# integration tests, and their sanitizer pass (when NBSTAGE_SAN_BIN names the programs
# built under ASan+UBSan), and ends with one total line: "tests: N passed, N failed".
# Exit status is non-zero when anything failed.
PYTHON=${PYTHON:-/usr/bin/python3}
mkdir -p tests/out
pass=0; fail=0; skip=0; phase=unit
count() {   # count LOG: add cmocka's PASSED/FAILED/SKIPPED totals (the summary's lines)
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
    s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$1" | tail -1)
    pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0})); skip=$((skip + ${s:-0}))
}
count_pytest() {   # count_pytest LOG RC: add pytest's totals; a failed run counts at least once
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
            # an exit 0 before cmocka's summary (a test that called exit) is a failure
            grep -q '^\[  PASSED  \] [0-9]* test' "$log" || { fail=$((fail + 1)); cat "$log"; }
        else
            count "$log"; cat "$log"
            # A crash before cmocka's summary still counts as a failure.  Its per-test
            # "[  FAILED  ] name" lines are no summary: a test failed, then a crash (an
            # abort, a sanitizer's report) ended the binary, counted 0 failed before.
            [ "${f:-0}" -gt 0 ] || fail=$((fail + 1))
        fi
        tail -n 1 "$log"
    done
}
# The unit binaries before "--" are the optimised ones, after it the sanitizer ones.
# The two lists run side by side (each binary is one thread, and there are two cores
# at least); the sanitizer list's output follows the other's.
run_all_units() {   # run_all_units UNIT-BINARIES... -- SAN-UNIT-BINARIES...
    plain=""; san=""; seen=0
    for t in "$@"; do
        if [ "$t" = "--" ]; then seen=1; elif [ $seen -eq 0 ]; then plain="$plain $t"; else san="$san $t"; fi
    done
    if [ -n "$san" ]; then
        rm -f tests/out/unit-san.counts  # a killed pass must not leave the last run's standing
        ( pass=0; fail=0; skip=0; run_units unit-san $san; echo "$pass $fail $skip" >tests/out/unit-san.counts ) \
            >tests/out/unit-san.phase.log 2>&1 &
        san_pid=$!
    fi
    run_units unit $plain
    if [ -n "$san" ]; then
        wait $san_pid
        cat tests/out/unit-san.phase.log
        read -r p f s <tests/out/unit-san.counts || { p=0; f=1; s=0; }
        pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + ${s:-0}))
    fi
}
# The integration tests, and their sanitizer pass: the tests that drive the programs
# through their paths (the kernel's relay, bad frames and odd signed requests, its
# notice of a model it cannot read or of options it ignores, tag, summary, classify,
# label, train, the notebook reader on the corpus and on odd files, tag and fmt with
# each system call failed in turn) again, with NBSTAGE_SAN_BIN's programs built under
# ASan+UBSan.  The sanitizers write their reports to files (a program's stderr is often
# the test's to read), and any report, a leak at exit included, is a failure even if
# the test itself passed.  The tests marked `long` (they build the tree or the fuzz
# targets again, or label the whole corpus) are left to `make test-long`.
#
# The relay's own tests (test_kernel.py) run once, against the sanitizer build: they
# spend most of their time waiting on ipykernel, and took the same ~135 CPU-seconds
# under either build (2026-12-05), so a second run against the optimised build bought
# nothing the sanitizers do not check.  Its tests marked plain_build_only, and every
# other test that starts the stage kernel (the consoles, nbclient, the browser, the
# contexts, the notices, the soak), run the optimised build.
#
# Four background jobs, started before the unit tests (which then run beside them):
# the kernel's and the consoles' tests, then the sanitizer pass of install-kernel and
# nbclient, then two of the browser's files; the sanitizer pass of the kernel, then of
# the failing system calls; the other tests, then the sanitizer pass of summary and
# train; and the sanitizer pass of the other programs.  One pytest uses about
# half a core (much of its time is spent waiting on kernels that start, sleep or are
# interrupted), so four keep two cores busy, where three left a sixth of them idle;
# beyond that `make test` is CPU-bound, and only less CPU shortens it (README, "make
# test's time").  Each run has its own temporary folder and range of ports for the
# kernels it starts (conftest.py); every test keeps its kernelspecs, HOME and logs to
# itself, so they do not meet.
KERNEL_TESTS="tests/integration/test_kernel_corners.py
    tests/integration/test_kernel_notice.py tests/integration/test_kernel_soak.py
    tests/integration/test_console.py tests/integration/test_console_existing.py"
RELAY_TESTS=tests/integration/test_kernel.py
# The sanitizer pass: the kernel's part (run in the kernel's job, which waits more than
# it computes), then the other programs'.
SAN_KERNEL_TESTS="tests/integration/test_kernel.py
    tests/integration/test_kernel_corners.py::test_signed_requests_with_odd_content_leave_the_proxy_working
    tests/integration/test_kernel_notice.py::test_a_model_that_cannot_be_read_is_said_once_in_the_first_cell[truncated]
    tests/integration/test_kernel_notice.py::test_ignored_options_are_said_and_the_cell_is_still_tagged"
# The files below run once, against the sanitizer build (but for their tests marked
# plain_build_only, which run against the optimised one): as with the relay's, a second
# run against the optimised build checked nothing the sanitizer pass does not, and cost
# ~130 CPU-seconds of the ~18 CPU-minutes `make test` has (2026-12-06, per-test CPU
# measured with getrusage).  install-kernel's and nbclient's start kernels and wait on
# them, so they run in the kernel's job, after its own tests, to even out the jobs' ends.
SAN_OTHER_TESTS="tests/integration/test_install_kernel.py tests/integration/test_nbclient_demo.py"
SAN_FAULT_TESTS=tests/integration/test_io_faults.py
SAN_TAIL_TESTS="tests/integration/test_summary_more.py tests/integration/test_train_more.py"
SAN_TESTS="tests/integration/test_classify.py tests/integration/test_tag.py
    tests/integration/test_tag_more.py tests/integration/test_label_more.py
    tests/integration/test_nbformat_more.py tests/integration/test_nbformat_python.py
    tests/integration/test_outputs.py"
SAN_FILES="$SAN_TESTS $SAN_OTHER_TESTS $SAN_FAULT_TESTS $SAN_TAIL_TESTS"
# Two of the browser's files, run in the kernel's job (see the jobs below).
LATE_TESTS="tests/integration/test_browser_more.py tests/integration/test_browser_nbclassic.py"
SAN_REPORTS=$(pwd)/tests/out/san-reports

pytest_pass() {   # pytest_pass NAME PORTS PYTEST-ARGS...: one run, meant for the background;
                  # its log is tests/out/NAME.log and its counts go to tests/out/NAME.counts.
                  # PORTS: its kernels' TCP ports, a range no other job uses (conftest.py)
    name=$1; ports=$2; shift 2
    pass=0; fail=0; skip=0
    log=tests/out/$name.log
    basetemp=$(mktemp -d "${TMPDIR:-/tmp}/nbstage-$name.XXXXXX")
    NBSTAGE_TEST_PORTS=$ports $PYTHON -m pytest -q -p no:cacheprovider --basetemp="$basetemp" "$@" >"$log" 2>&1
    count_pytest "$log" $?
    rm -rf "$basetemp"
    echo "$pass $fail $skip" >tests/out/"$name".counts
}
san_pytest_pass() {   # san_pytest_pass NAME PORTS TESTS: pytest_pass with the sanitizers' programs
    (   # the paths quoted: the sanitizers read a space as the end of an option
        export ASAN_OPTIONS="detect_leaks=1:log_path='$SAN_REPORTS/asan'" UBSAN_OPTIONS="print_stacktrace=1:log_path='$SAN_REPORTS/ubsan'"
        export NBSTAGE_BIN="$NBSTAGE_SAN_BIN"
        set -f  # TESTS split at blanks, not expanded: a test's [parameter] is no pattern
        # shellcheck disable=SC2086
        pytest_pass "$1" "$2" -m "not plain_build_only and not long" $3 )
}
add_counts() {   # add_counts NAME: NAME's counts into the totals; none written is a failure
    read -r p f s <tests/out/"$1".counts || { p=0; f=1; s=0; }
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + ${s:-0}))
}

integration=""
if [ -z "$NBSTAGE_UNIT_ONLY" ] && ls tests/integration/test_*.py >/dev/null 2>&1; then
    integration=1
    rm -f tests/out/integration-*.counts
    san_ok=""; reports=""
    if [ -n "$NBSTAGE_SAN_BIN" ] && [ -x "$NBSTAGE_SAN_BIN/nbstage-kernel" ]; then
        san_ok=1; reports=$SAN_REPORTS
        rm -rf "$SAN_REPORTS"; mkdir -p "$SAN_REPORTS"; chmod 1777 "$SAN_REPORTS"  # also for a test's "nobody"
    fi
    ignore=""
    for f in $KERNEL_TESTS $RELAY_TESTS; do ignore="$ignore --ignore=$f"; done
    if [ -z "$san_ok" ]; then  # no sanitizer build: two jobs, every test against the optimised one
        # shellcheck disable=SC2086
        (   pytest_pass integration-kernel 20000-22999 -m "not long" $KERNEL_TESTS
            pytest_pass integration-relay 20000-22999 -m "not long" $RELAY_TESTS ) &
        pids=$!
        # shellcheck disable=SC2086
        ( pytest_pass integration-other 23000-25999 -m "not long" tests/integration $ignore ) &
        pids="$pids $!"
        passes="integration-kernel integration-relay integration-other"
    else
        # the files of the sanitizer pass run their plain_build_only tests alone; the
        # jobs' parts are laid out so that the four end within a minute or so
        for f in $SAN_FILES $LATE_TESTS; do ignore="$ignore --ignore=$f"; done
        # shellcheck disable=SC2086
        (   pytest_pass integration-kernel 20000-22999 -m "not long" $KERNEL_TESTS
            pytest_pass integration-relay 20000-22999 -m "plain_build_only and not long" $RELAY_TESTS
            san_pytest_pass integration-san-other 20000-22999 "$SAN_OTHER_TESTS"
            pytest_pass integration-late 20000-22999 -m "not long" $LATE_TESTS ) &
        pids=$!
        (   san_pytest_pass integration-san-kernel 29000-31999 "$SAN_KERNEL_TESTS"
            san_pytest_pass integration-san-faults 29000-31999 "$SAN_FAULT_TESTS" ) &
        pids="$pids $!"
        # shellcheck disable=SC2086
        (   pytest_pass integration-other 23000-25999 -m "not long" tests/integration $ignore
            pytest_pass integration-other-plain 23000-25999 -m "plain_build_only and not long" $SAN_FILES
            san_pytest_pass integration-san-tail 23000-25999 "$SAN_TAIL_TESTS" ) &
        pids="$pids $!"
        ( san_pytest_pass integration-san 26000-28999 "$SAN_TESTS" ) &
        pids="$pids $!"
        passes="integration-kernel integration-relay integration-late integration-other integration-other-plain"
        passes="$passes integration-san-kernel integration-san-other integration-san-faults integration-san-tail integration-san"
    fi
fi

run_all_units "$@"

if [ -n "$integration" ]; then
    # shellcheck disable=SC2086
    wait $pids
    for name in $passes; do
        case $name in
        integration-kernel) echo "== integration: the kernel's and the consoles' tests (pytest, real Jupyter)" ;;
        integration-relay) echo "== integration: the relay's tests for the optimised build (pytest, real Jupyter)" ;;
        integration-other) echo "== integration: the other tests (pytest, real Jupyter, a real browser)" ;;
        integration-late) echo "== integration: more of the browser's tests (pytest, a real browser)" ;;
        integration-other-plain) echo "== integration: the optimised build's own tests in the files of the sanitizer pass (pytest)" ;;
        integration-san-kernel) echo "== integration-san: the kernel under ASan+UBSan (pytest, real Jupyter)" ;;
        integration-san-other) echo "== integration-san: the kernel's installs and nbclient under ASan+UBSan (pytest, real Jupyter)" ;;
        integration-san-faults) echo "== integration-san: each system call failed in turn, under ASan+UBSan (pytest)" ;;
        integration-san-tail) echo "== integration-san: summary and train under ASan+UBSan (pytest)" ;;
        integration-san) echo "== integration-san: the other programs under ASan+UBSan (pytest)" ;;
        esac
        tail -n 40 tests/out/"$name".log
        add_counts "$name"
    done
    for r in ${reports:+"$reports"/*}; do
        [ -f "$r" ] || continue
        echo "sanitizer report $r:"; cat "$r"; fail=$((fail + 1))
    done
fi
echo
if [ "$skip" -gt 0 ]; then echo "tests: $pass passed, $fail failed, $skip skipped"
else echo "tests: $pass passed, $fail failed"; fi
[ "$fail" -eq 0 ]
