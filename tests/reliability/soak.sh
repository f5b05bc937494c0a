#!/usr/bin/env bash
# tests/reliability/soak.sh: the fault soak's CI form (`ctest -L soak`): 200
# randomised schedules (SOAK_SCHEDULES), each seed printed; a failure names
# its seed, the invariant and the customer ids, and SOAK_SEED=N replays that
# schedule alone, keeping its folder. What a schedule does and checks:
# tests/reliability/soak.py. Under the sanitizer build (FINCH_SANITIZED=1,
# which ctest sets) a schedule has at most 10 rows instead of 24.
set -euo pipefail
exec python3 "$(dirname "$0")/soak.py"
