#!/usr/bin/env bash
# tests/e2e/schema.sh: finch-mock's verdicts are the contract's. Generated
# request bodies (every field's valid and invalid shapes, random email
# addresses) go to the real emulator over loopback and to python3-jsonschema
# with the contract's schema (tests/data/connect-sessions.openapi.yaml); any
# body they disagree on fails the test. See schema_verdicts.py for what the
# schema is given beyond the YAML (nullable, format: email, the prose rule).
# SCHEMA_SEED and SCHEMA_COUNT change the bodies.
set -uo pipefail

. "$(dirname "$0")/lib.sh"

python3 -c 'import jsonschema, yaml' 2>/dev/null ||
	fail "python3-jsonschema and python3-yaml are needed (apt-get install python3-jsonschema python3-yaml)"
tmpdir schema
cd "$E2E_TMP" || fail "cannot cd to $E2E_TMP"

start_mock
seed=${SCHEMA_SEED:-1}
python3 "$FINCH_SOURCE_DIR/tests/e2e/schema_verdicts.py" \
	"$FINCH_SOURCE_DIR/tests/data/connect-sessions.openapi.yaml" "$MOCK_URL" "$seed" \
	"${SCHEMA_COUNT:-1500}" >verdicts.txt 2>&1
rc=$?
cat verdicts.txt
[ $rc -eq 0 ] || fail "finch-mock and the schema disagree (seed $seed)"
pass "finch-mock's verdicts match the schema's on every generated body (seed $seed)"
stop_mock
finish
