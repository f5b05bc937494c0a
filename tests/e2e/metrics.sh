#!/usr/bin/env bash
# tests/e2e/metrics.sh: --metrics-file for node_exporter's textfile
# collector. Every file is parsed by tests/e2e/prom_check.py, a checker of
# the Prometheus text format (itself shown to reject broken files); the
# values agree with the database and the emulator; the time of the last good
# run survives a failed one; an early failure still writes the exit code;
# the file is replaced atomically and readable by the collector.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

e2e_setup metrics

# checked FILE: runs the checker on FILE once, keeping its JSON for metric.
checked() { prom_check "$1" >cur.json || fail "$1 is not valid: $(cat "$1")"; }
# metric SERIES: the value of one series of the file checked last.
metric() { jq -r --arg k "$1" '.[$k] // "absent"' cur.json; }

# ---- the checker itself can fail ------------------------------------------------------------
printf '# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n' >good.prom
prom_check good.prom >/dev/null || fail "the checker rejects a valid file"
printf '# HELP x X.\n# TYPE x counter\nx 1\n' >bad1.prom
printf 'x_total 1\n# HELP x_total X.\n# TYPE x_total counter\n' >bad2.prom
printf '# HELP x X.\n# TYPE x gauge\nx{a="b} 1\n' >bad3.prom
printf '# HELP x X.\n# TYPE x gauge\nx 1\nx 2\n' >bad4.prom
printf '# HELP x X.\n# TYPE x gauge\nx one\n' >bad5.prom
printf '# HELP x X.\n# TYPE x gauge\nx 1' >bad6.prom
for f in bad1 bad2 bad3 bad4 bad5 bad6; do
	! prom_check "$f.prom" >/dev/null 2>&1 || fail "the checker accepts $f.prom"
done
pass "the text-format checker accepts a valid file and rejects six broken ones"

# ---- a good sync -------------------------------------------------------------------------------
awk 'BEGIN { print "customer_id,customer_name,products"
	for (i = 1; i <= 30; i++) printf "m-%03d,Employer %d,company\n", i, i }' >m.csv
mkdir prom
start_mock --rate-limit-fault 0.2 --retry-after 50ms --retry-after-mode ms --seed 4 --log "$E2E_TMP/m1.log"
expect_exit 0 fo sync m.csv --db m.db --out m.out.csv --base-url "$MOCK_URL" --rate 0 --quiet \
	--metrics-file prom/finch.prom
stop_mock
checked prom/finch.prom
[ "$(metric 'finch_onboard_rows{state="created"}')" = 30 ] || fail "rows created: $(cat cur.json)"
[ "$(metric 'finch_onboard_last_run_exit_code')" = 0 ] || fail "exit code"
throttled=$(jq -s '[.[] | select(.status == 429)] | length' m1.log)
[ "$throttled" -gt 0 ] || fail "the emulator sent no 429: the check proves nothing"
[ "$(metric finch_onboard_throttled_requests_total)" = "$throttled" ] ||
	fail "429s: $(metric finch_onboard_throttled_requests_total), the emulator sent $throttled"
[ "$(metric 'finch_onboard_requests_total{class="2xx"}')" = 30 ] || fail "2xx requests"
[ "$(metric 'finch_onboard_requests_total{class="4xx"}')" = "$throttled" ] || fail "4xx requests"
good=$(metric finch_onboard_last_success_timestamp_seconds)
now=$(date +%s)
awk -v g="$good" -v n="$now" 'BEGIN { exit !(g > n - 60 && g <= n + 1) }' || fail "last success $good, now $now"
awk -v d="$(metric finch_onboard_last_run_duration_seconds)" 'BEGIN { exit !(d > 0 && d < 60) }' ||
	fail "duration: $(metric finch_onboard_last_run_duration_seconds)"
[ "$(stat -c %a prom/finch.prom)" = 644 ] || fail "the metrics file is mode $(stat -c %a prom/finch.prom), want 644"
[ "$(ls -A prom)" = finch.prom ] || fail "a temporary file was left: $(ls -A prom)"
pass "a good sync: rows by state, requests by class, 429s, duration, exit code 0 and the time of success"

# ---- a failed run keeps the last good time; an early failure still reports -----------------------
q m.db "UPDATE customers SET state = 'pending' WHERE customer_id = 'm-001'"
expect_exit 6 fo run --db m.db --base-url http://127.0.0.1:9 --rate 0 --quiet --metrics-file prom/finch.prom
checked prom/finch.prom
[ "$(metric finch_onboard_last_run_exit_code)" = 6 ] || fail "exit code 6 not reported"
[ "$(metric finch_onboard_last_success_timestamp_seconds)" = "$good" ] ||
	fail "a failed run moved the last success time"
[ "$(metric finch_onboard_runs_total)" = 2 ] || fail "runs_total: $(metric finch_onboard_runs_total)"
expect_exit 2 fo run --db typo.db --base-url http://127.0.0.1:9 --metrics-file prom/finch.prom
checked prom/finch.prom
[ "$(metric finch_onboard_last_run_exit_code)" = 2 ] || fail "exit code 2 not reported"
[ "$(metric finch_onboard_last_success_timestamp_seconds)" = absent ] ||
	fail "without a database there is no last success to report"
[ ! -e typo.db ] || fail "the metrics of a missing database created it"
pass "exit 6 and exit 2 are reported; the last good time stays that of the last run that exited 0 or 1"

q m.db "UPDATE customers SET state = 'in_flight' WHERE customer_id = 'm-001';
	UPDATE customers SET state = 'created' WHERE customer_id = 'm-001'"
expect_exit 2 fo run --db m.db --base-url http://127.0.0.1:9 --metrics-file nodir/finch.prom
grep -q "metrics-file" err.txt || fail "an unwritable metrics file is not named: $(cat err.txt)"
pass "an unwritable --metrics-file is an error naming the option"

# ---- two databases in one textfile folder never collide (onboard_job) --------------------------
printf '# HELP x X.\n# TYPE x gauge\nx{onboard_job="a"} 1\nx{onboard_job="b"} 2\n' >mixed.prom
! prom_check mixed.prom >/dev/null 2>&1 || fail "the checker accepts two onboard_job values in one file"
printf '# HELP x X.\n# TYPE x gauge\nx{onboard_job="a"} 1\nx{other="b"} 2\n' >half.prom
! prom_check half.prom >/dev/null 2>&1 || fail "the checker accepts a sample without onboard_job"
mkdir -p two
printf 'customer_id,customer_name,products\nt-1,T1,company\nt-2,T2,company\n' >t.csv
start_mock --existing-every 2
expect_exit 0 fo sync m.csv --db eu.db --out eu.csv --base-url "$MOCK_URL" --rate 0 --quiet --metrics-file two/eu.prom
expect_exit 0 fo sync t.csv --db us.onboard.db --out us.csv --base-url "$MOCK_URL" --rate 0 --quiet \
	--metrics-file two/us.prom
expect_exit 0 fo sync t.csv --db us.onboard.db --out us.csv --base-url "$MOCK_URL" --rate 0 --quiet \
	--metrics-file two/named.prom --metrics-job 'payroll "EU"'
stop_mock
checked two/eu.prom
[ "$(metric onboard_job)" = eu ] || fail "the default job of eu.db: $(metric onboard_job)"
[ "$(metric 'finch_onboard_last_run_rows{outcome="created"}')" = 15 ] &&
	[ "$(metric 'finch_onboard_last_run_rows{outcome="exists"}')" = 15 ] &&
	[ "$(metric 'finch_onboard_last_run_rows{outcome="failed"}')" = 0 ] ||
	fail "this run's rows by outcome: $(cat cur.json)"
[ "$(metric finch_onboard_rows_line_invalid)" = 0 ] || fail "line_invalid: $(metric finch_onboard_rows_line_invalid)"
# the funnel: 15 links, all open; 15 employers already connected when asked, no status heard
funnel=$(for k in links connected expired open already_connected; do metric "finch_onboard_funnel_rows{stage=\"$k\"}"; done | paste -sd' ')
[ "$funnel" = "15 0 0 15 15" ] || fail "funnel rows: $funnel"
[ "$(metric 'finch_onboard_connections{status="none"}')" = 15 ] &&
	[ "$(metric 'finch_onboard_connections{status="connected"}')" = 0 ] ||
	fail "connections by status: $(cat cur.json)"
[ "$(metric 'finch_onboard_funnel_median_seconds{age="to_connect"}')" = absent ] ||
	fail "a median of no connection: $(metric 'finch_onboard_funnel_median_seconds{age="to_connect"}')"
awk -v a="$(metric 'finch_onboard_funnel_median_seconds{age="open"}')" 'BEGIN { exit !(a >= 0 && a < 600) }' ||
	fail "the open links' median age: $(metric 'finch_onboard_funnel_median_seconds{age="open"}')"
checked two/us.prom
[ "$(metric onboard_job)" = us.onboard ] || fail "the default job of us.onboard.db: $(metric onboard_job)"
checked two/named.prom
[ "$(metric onboard_job)" = 'payroll \"EU\"' ] || fail "--metrics-job: $(metric onboard_job)"
# node_exporter reads every file of the folder as one exposition: no series twice
{ for f in two/*.prom; do cat "$f"; done; } | grep -v '^#' | sed 's/} .*/}/' | sort | uniq -d >dups.txt
[ ! -s dups.txt ] || fail "two files hold the same series: $(head -3 dups.txt)"
pass "every series carries onboard_job (the database's name, or --metrics-job): two databases' files never collide"

# ---- a line turned invalid is counted ------------------------------------------------------------
printf 'customer_id,customer_name,customer_email,products\nt-1,T1,not-an-email,company\nt-2,T2,,company\n' >t-bad.csv
expect_exit 0 fo sync t-bad.csv --db us.onboard.db --out us.csv --base-url http://127.0.0.1:9 --rate 0 --quiet \
	--metrics-file two/us.prom
checked two/us.prom
[ "$(metric finch_onboard_rows_line_invalid)" = 1 ] || fail "line_invalid: $(cat two/us.prom)"
pass "rows whose CSV line turned invalid have a gauge of their own"

finish
