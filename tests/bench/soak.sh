#!/usr/bin/env bash
# tests/bench/soak.sh: the fault soak's long form: 2,000 randomised schedules
# (tests/reliability/soak.py; the CI form, `ctest -L soak`, runs 200), then
# the figures: schedules per minute, the median and slowest schedule, the
# POSTs and 201s the servers logged, the attempts of unknown outcome (kill -9
# and cut-short requests), the unreadable 201s, how often each exit code
# came, the steps by trouble and by server, and the known failures met. A
# failing schedule prints its seed; SOAK_SEED=N replays it alone.
#
# Usage: tests/bench/soak.sh [BUILD_DIR]   (default: build)
# Environment: FINCH_ONBOARD, FINCH_MOCK (binaries), SOAK_SCHEDULES (2000),
# SOAK_FIRST_SEED (default random), SOAK_ROWS (24), SOAK_JOBS (3).
set -euo pipefail
. "$(dirname "$0")/lib.sh" "$@"
bench_need "$FINCH_ONBOARD" "$FINCH_MOCK" python3
export FINCH_ONBOARD FINCH_MOCK
export SOAK_SCHEDULES=${SOAK_SCHEDULES:-2000}
start=$(now_ms)
rc=0
# every schedule's line goes by; the failures, known ones and figures stay
python3 "$src/tests/reliability/soak.py" | grep -v '^ok seed' || rc=$?
elapsed=$(($(now_ms) - start))
echo "schedules: $SOAK_SCHEDULES in $((elapsed / 1000)) s, $((SOAK_SCHEDULES * 60000 / elapsed)) per minute"
exit "$rc"
