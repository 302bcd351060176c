#!/usr/bin/env bash
# `make test`: every test, in three lanes run side by side.
#
# The tests marked `fault` (brokers of a three-node cluster killed and restarted, services
# SIGKILLed, a store outage of ten minutes) spend most of their time waiting for an outage
# to last or a broker to come back. Run after the main lane they would add their length to
# it; beside it they keep the whole run within CI's time on two cores. The outage test has
# a lane of its own: it is ten minutes of waiting at 50 events/s. When it is over, that
# lane runs the end-to-end tests and the import-equivalence test (about eight minutes
# together), which the main lane would otherwise run alone at its end.
# Each lane has its own pytest temporary directory; the side lanes' output is printed
# when all are done, and the exit status fails if any lane failed (pytest's 5, "no test
# collected", included: a lane without tests is a mistake too).
set -uo pipefail

BIN="${1:?usage: test_lanes.sh VENV_BIN}"
OUTAGE=tests/integration/kafka/test_store_outage.py
AFTER_OUTAGE=(tests/e2e tests/integration/test_import_equivalence.py)
work="$(mktemp -d "${TMPDIR:-/tmp}/motcua-lanes.XXXXXX")"

run_pytest() {  # run_pytest BASETEMP PYTEST-ARGS...
  local basetemp="$1"
  shift
  "$BIN/pytest" -q -p no:cacheprovider --basetemp="$basetemp" --durations=10 "$@"
}

lane() {  # lane NAME PYTEST-ARGS...: in the background, output in $work/NAME.log
  local name="$1"
  shift
  run_pytest "$work/$name" "$@" >"$work/$name.log" 2>&1 &
  echo "$!" >"$work/$name.pid"
  echo "== lane '$name' running beside the main lane; log: $work/$name.log"
}

# The outage lane: the outage test, then the tests moved off the main lane. Its status is
# the first failing run's, so a failure in either is not hidden by the other.
# pytest runs as a child the subshell waits on, so that stopping the lane stops it too.
(
  trap 'kill "$child" 2>/dev/null; exit 143' INT TERM
  run_pytest "$work/outage" -m fault "$OUTAGE" &
  child=$!
  wait "$child"
  outage_rc=$?
  echo "== then, off the main lane: ${AFTER_OUTAGE[*]}"
  run_pytest "$work/after-outage" -m "not fault" "${AFTER_OUTAGE[@]}" &
  child=$!
  wait "$child"
  after_rc=$?
  [ "$outage_rc" -ne 0 ] && exit "$outage_rc"
  exit "$after_rc"
) >"$work/outage.log" 2>&1 &
echo "$!" >"$work/outage.pid"
echo "== lane 'outage' running beside the main lane; log: $work/outage.log"

lane fault -m fault --ignore="$OUTAGE" tests/integration tests/e2e
# A Ctrl-C or a failing CI step stops the background lanes too.
trap 'kill $(cat "$work"/*.pid) 2>/dev/null' INT TERM

echo "== lane 'main' (everything not marked fault, but for: ${AFTER_OUTAGE[*]})"
ignored=()
for path in "${AFTER_OUTAGE[@]}"; do ignored+=("--ignore=$path"); done
"$BIN/pytest" -q -m "not fault" --durations=15 "${ignored[@]}" tests/unit tests/integration
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
