#!/usr/bin/env bash
# tests/e2e/real_exports.sh: files as Salesforce, HubSpot, Workday, BambooHR,
# a German Excel and Google Sheets write them (real_exports.py generates
# them), imported with --column mappings on the command line and in a config
# file, run against finch-mock, exported with --columns and read back by
# Python's csv module.
set -uo pipefail

. "$(dirname "$0")/lib.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/e2e-real.XXXXXX")
trap 'stop_mock; rm -rf "$work"' EXIT
unset FINCH_ONBOARD_CONFIG FINCH_BASE_URL
start_mock
python3 "$(dirname "$0")/real_exports.py" "$FINCH_ONBOARD" "$MOCK_URL" "$work" ||
	fail "real exports: see above"
pass "six real exports imported (command line and config file), exported with chosen columns"
finish
