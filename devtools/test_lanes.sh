#!/usr/bin/env bash
# `make test`: every test, in three lanes run side by side.
#
# The tests marked `fault` (brokers of a three-node cluster killed and restarted, services
# SIGKILLed, a store outage of ten minutes) spend most of their time waiting for an outage
# to last or a broker to come back. Run after the main lane they would add their length to
# it; beside it they keep the whole run within CI's time on two cores. The outage test has
# a lane of its own: it is ten minutes of waiting at 50 events/s.
# Each lane has its own pytest temporary directory; the fault lanes' output is printed
# when all are done, and the exit status fails if any lane failed (pytest's 5, "no test
# collected", included: a fault lane without tests is a mistake too).
set -uo pipefail

BIN="${1:?usage: test_lanes.sh VENV_BIN}"
OUTAGE=tests/integration/kafka/test_store_outage.py
work="$(mktemp -d "${TMPDIR:-/tmp}/motcua-lanes.XXXXXX")"

lane() {  # lane NAME PYTEST-ARGS...: in the background, output in $work/NAME.log
  local name="$1"
  shift
  "$BIN/pytest" -q -p no:cacheprovider --basetemp="$work/$name" --durations=10 "$@" \
    >"$work/$name.log" 2>&1 &
  echo "$!" >"$work/$name.pid"
  echo "== lane '$name' running beside the main lane; log: $work/$name.log"
}

lane outage -m fault "$OUTAGE"
lane fault -m fault --ignore="$OUTAGE" tests/integration tests/e2e
# A Ctrl-C or a failing CI step stops the background lanes too.
trap 'kill $(cat "$work"/*.pid) 2>/dev/null' INT TERM

echo "== lane 'main' (everything not marked fault)"
"$BIN/pytest" -q -m "not fault" --durations=15 tests/unit tests/integration tests/e2e
main_rc=$?
status="main $main_rc"
failed=0
[ "$main_rc" -eq 0 ] || failed=1

for name in fault outage; do
  wait "$(cat "$work/$name.pid")"
  rc=$?
  echo "== lane '$name' output"
  cat "$work/$name.log"
  status="$status, $name $rc"
  [ "$rc" -eq 0 ] || failed=1
done
echo "== lanes (exit status): $status"
exit "$failed"
