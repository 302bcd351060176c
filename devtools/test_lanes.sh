#!/usr/bin/env bash
# `make test`: every test, in three lanes run side by side.
#
# The tests marked `fault` (brokers of a three-node cluster killed and restarted, services
# SIGKILLed, a store outage of ten minutes) spend most of their time waiting for an outage
# to last or a broker to come back. Run after the main lane they would add their length to
# it; beside it they keep the whole run within CI's time on two cores. The outage test has
# a lane of its own: it is ten minutes of waiting at 50 events/s. Each side lane then runs
# a share of the tests not marked fault, so that the main lane does not run on alone for
# long after them: the fault lane the other Kafka tests, the outage lane the end-to-end
# tests and the import-equivalence test. On 2 cores (fresh clone, 2026-12-04) the lanes
# took main 38.6 min, outage 26.6, fault 16.0 when only the outage lane had a share; with
# both shares, main 32.8, outage 29.8, fault 29.3 (`.ci/run` 41.0 -> 34.9 min).
# Each lane has its own pytest temporary directories; the side lanes' output is printed
# when all are done, and the exit status fails if any run failed (pytest's 5, "no test
# collected", included: a run without tests is a mistake too).
set -uo pipefail

BIN="${1:?usage: test_lanes.sh VENV_BIN}"
OUTAGE=tests/integration/kafka/test_store_outage.py
work="$(mktemp -d "${TMPDIR:-/tmp}/motcua-lanes.XXXXXX")"

# shellcheck disable=SC2034  # read by side_lane through namerefs
{
  outage_first=(-m fault "$OUTAGE")
  outage_then=(-m "not fault" tests/e2e tests/integration/test_import_equivalence.py)
  fault_first=(-m fault --ignore="$OUTAGE" tests/integration tests/e2e)
  fault_then=(-m "not fault" tests/integration/kafka)
}
# what the side lanes run after their fault tests, the main lane leaves out
main_ignores=(--ignore=tests/e2e --ignore=tests/integration/test_import_equivalence.py
  --ignore=tests/integration/kafka)

run_pytest() {  # run_pytest BASETEMP PYTEST-ARGS...
  local basetemp="$1"
  shift
  "$BIN/pytest" -q -p no:cacheprovider --basetemp="$basetemp" --durations=10 "$@"
}

# side_lane NAME: in the background, pytest with the arguments ${NAME}_first, then with
# ${NAME}_then; output in $work/NAME.log. Its status is the first failing run's, so a
# failure in either is not hidden by the other. pytest runs as a child the subshell waits
# on, so that stopping the lane stops it too.
side_lane() {
  local name="$1"
  local -n first="${name}_first" then="${name}_then"
  (
    trap 'kill "$child" 2>/dev/null; exit 143' INT TERM
    run_pytest "$work/$name" "${first[@]}" &
    child=$!
    wait "$child"
    first_rc=$?
    echo "== then, off the main lane: ${then[*]}"
    run_pytest "$work/$name-then" "${then[@]}" &
    child=$!
    wait "$child"
    then_rc=$?
    [ "$first_rc" -ne 0 ] && exit "$first_rc"
    exit "$then_rc"
  ) >"$work/$name.log" 2>&1 &
  echo "$!" >"$work/$name.pid"
  echo "== lane '$name' running beside the main lane; log: $work/$name.log"
}

side_lane outage
side_lane fault
# A Ctrl-C or a failing CI step stops the background lanes too.
trap 'kill $(cat "$work"/*.pid) 2>/dev/null' INT TERM

echo "== lane 'main' (not marked fault, without what the side lanes run: ${main_ignores[*]})"
"$BIN/pytest" -q -m "not fault" --durations=15 "${main_ignores[@]}" tests/unit tests/integration
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
