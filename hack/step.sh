#!/usr/bin/env bash
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Run one step of `make test` and append "NAME<TAB>SECONDS<TAB>CPU SECONDS<TAB>RESULT" to $STEP_TIMES
# (.ci/run prints them).
# Usage: hack/step.sh NAME LOG COMMAND...
# LOG '-' leaves the output on the terminal; a file path takes it, and then one line says how the step
# ended with a summary (pytest's summary lines, ...), plus the log's end if it failed.
set -uo pipefail
name=$1 log=$2
shift 2
start=$(date +%s)
if [ "$log" = - ]; then
  "$@"
  rc=$?
else
  mkdir -p "$(dirname "$log")"
  "$@" >"$log" 2>&1
  rc=$?
fi
seconds=$(( $(date +%s) - start ))
# CPU seconds (user + system) of everything the step ran: `times` prints the children's on its second line.
# (in this shell, not in a command substitution's subshell, which has no children).
times_file=$(mktemp)
times >"$times_file"
cpu=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.0f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$times_file")
rm -f "$times_file"
if [ "$rc" = 0 ]; then result=ok; else result="FAILED (exit $rc)"; fi
if [ -n "${STEP_TIMES:-}" ]; then
  mkdir -p "$(dirname "$STEP_TIMES")"
  printf '%s\t%s\t%s\t%s\n' "$name" "$seconds" "$cpu" "$result" >>"$STEP_TIMES"
fi
if [ "$log" != - ]; then
  echo "== $name: $result in ${seconds}s (log: $log)"
  # pytest's summary lines (one per ansible-test units context), the number of ansible-test sanity tests or
  # integration targets, else the last line that is not a warning.
  summary=$(grep -E '^=+ .*(passed|failed|error|skipped|no tests ran).* in [0-9.]+s' "$log")
  sanity_tests=$(grep -c '^Running sanity test' "$log")
  targets=$(grep -c '^Running .* integration test role' "$log")
  if [ -z "$summary" ] && [ "$sanity_tests" -gt 0 ]; then summary="$sanity_tests sanity tests ran"; fi
  if [ -z "$summary" ] && [ "$targets" -gt 0 ]; then summary="$targets integration targets ran"; fi
  if [ -z "$summary" ]; then summary=$(grep -v -e '^\s*$' -e '^WARNING' "$log" | tail -n 1); fi
  printf '%s\n' "$summary" | sed 's/^/   /'
  if [ "$rc" != 0 ]; then tail -n 100 "$log"; fi
fi
exit "$rc"
