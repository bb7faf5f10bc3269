#!/bin/sh
# `make bench`: every tests/bench/bench_*.sh in turn, under one header naming the machine
# and the date.  Each script prints its own figures, beside its baseline.
unset CDPATH  # the cd below must not follow a user's CDPATH to another tree
cd "$(dirname "$0")/../.."
echo "nbstage bench — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
# what the host charges for page faults, system calls and wake-ups (host_costs.c)
"${B:-build}/bench/host_costs" || echo "bench: host_costs not measured" >&2
status=0
for b in tests/bench/bench_*.sh; do
    [ -f "$b" ] || continue
    echo; echo "== $(basename "$b" .sh)"
    sh "$b" || { echo "bench: $b failed" >&2; status=1; }
done
exit $status
