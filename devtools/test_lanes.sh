#!/usr/bin/env bash
# `make test`: every test, in two lanes run side by side.
#
# The fault lane holds the tests marked `fault` (a store outage of ten minutes, brokers of a
# three-node cluster killed and restarted). They spend most of their time waiting for an
# outage to last or a broker to come back, so running them beside the main lane keeps the
# whole run within CI's time on two cores instead of adding their length to it.
# Each lane has its own pytest temporary directory; the fault lane's output is printed
# when both are done, and the exit status fails if either lane failed.
set -uo pipefail

BIN="${1:?usage: test_lanes.sh VENV_BIN}"
work="$(mktemp -d "${TMPDIR:-/tmp}/motcua-lanes.XXXXXX")"
fault_log="$work/fault.log"

echo "== fault lane (tests marked fault) running beside the main lane; log: $fault_log"
"$BIN/pytest" -q -m fault -p no:cacheprovider --basetemp="$work/fault" --durations=10 \
  tests/integration tests/e2e >"$fault_log" 2>&1 &
fault_pid=$!
# A Ctrl-C or a failing CI step stops the fault lane too (its brokers stop with their fixtures).
trap 'kill "$fault_pid" 2>/dev/null' INT TERM

echo "== main lane"
"$BIN/pytest" -q -m "not fault" --durations=15 tests/unit tests/integration tests/e2e
main_rc=$?

wait "$fault_pid"
fault_rc=$?
echo "== fault lane output"
cat "$fault_log"
echo "== lanes: main exit $main_rc, fault exit $fault_rc"
# pytest exits 5 when a lane collected no test: a fault lane with none is a mistake too.
[ "$main_rc" -eq 0 ] && [ "$fault_rc" -eq 0 ]
