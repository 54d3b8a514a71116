#!/usr/bin/env bash
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Run one step of `make test` and append "NAME<TAB>SECONDS<TAB>RESULT" to $STEP_TIMES (.ci/run prints them).
# Usage: hack/step.sh NAME LOG COMMAND...
# LOG '-' leaves the output on the terminal; a file path takes it, and then one line says how the step
# ended with the last line of its output (e.g. pytest's summary), plus the log's end if it failed.
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
if [ "$rc" = 0 ]; then result=ok; else result="FAILED (exit $rc)"; fi
if [ -n "${STEP_TIMES:-}" ]; then
  mkdir -p "$(dirname "$STEP_TIMES")"
  printf '%s\t%s\t%s\n' "$name" "$seconds" "$result" >>"$STEP_TIMES"
fi
if [ "$log" != - ]; then
  echo "== $name: $result in ${seconds}s: $(grep -v '^\s*$' "$log" | tail -n 1) (log: $log)"
  if [ "$rc" != 0 ]; then tail -n 100 "$log"; fi
fi
exit "$rc"
