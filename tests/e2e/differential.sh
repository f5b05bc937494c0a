#!/usr/bin/env bash
# tests/e2e/differential.sh: the importer against Python's csv module on
# generated tricky CSVs (see differential.py). DIFF_SEED and DIFF_FILES
# change the seed and the number of files.
set -uo pipefail

. "$(dirname "$0")/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-diff.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 "$(dirname "$0")/differential.py" "$FINCH_ONBOARD" "$work" "${DIFF_SEED:-12}" \
	"${DIFF_FILES:-200}" || fail "the importer and Python's csv module disagree"
pass "differential test against Python's csv module"
finish
