#!/usr/bin/env bash
# tests/package/package.sh: the Debian package, tested as installed. It
# builds the .deb with cpack from this build, lists it against
# tests/package/files.txt, runs lintian (no error allowed), checks the
# maintainer scripts and runs them through a real dpkg --root install,
# upgrade, removal and purge in a scratch root, unpacks the package into a
# scratch root (dpkg -x: the machine's own /usr is never touched) and there:
# runs both binaries' --version and a sync --dry-run on the sample, renders
# both manual pages with man -l (no groff warning), checks the completions
# (bash: complete -p and compgen through the completion function; zsh: it
# loads, and both offer every option of every --help), runs
# `systemd-analyze verify` on both units (and shows it fails without the
# binary), scores the service with `systemd-analyze security --offline`,
# and runs the service's own ExecStart line against the installed
# finch-mock, with the secret only in $CREDENTIALS_DIRECTORY.
#
# A sanitizer or fuzzing build makes no package worth testing: it skips
# (exit 77, ctest's SKIP_RETURN_CODE) and says so.
set -euo pipefail
: "${FINCH_BUILD_DIR:?set FINCH_BUILD_DIR to the build folder}"
: "${FINCH_SOURCE_DIR:?set FINCH_SOURCE_DIR to the source folder}"
if [ "${FINCH_PACKAGE_SKIP:-}" ]; then
	echo "skipped: $FINCH_PACKAGE_SKIP"
	exit 77
fi
here=$(cd "$(dirname "$0")" && pwd)
for tool in cpack dpkg-deb dpkg-shlibdeps lintian man systemd-analyze zsh; do
	command -v "$tool" >/dev/null || {
		echo "FAIL: $tool is needed (see the packages in .ci/run)" >&2
		exit 1
	}
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/package.XXXXXX")
root=$scratch/root
# The binaries under test are the installed ones (lib.sh's fo and start_mock).
export FINCH_ONBOARD=$root/usr/bin/finch-onboard FINCH_MOCK=$root/usr/bin/finch-mock
. "$FINCH_SOURCE_DIR/tests/e2e/lib.sh"
E2E_TMP=$scratch
trap e2e_cleanup EXIT
cd "$scratch"

# --- build and list ----------------------------------------------------------
cpack --config "$FINCH_BUILD_DIR/CPackConfig.cmake" -B "$scratch/out" >cpack.log 2>&1 ||
	fail "cpack failed: $(tail -n 20 cpack.log)"
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$FINCH_BUILD_DIR/CPackConfig.cmake")
arch=$(dpkg --print-architecture)
deb=$scratch/out/finch-onboard_${version}-1_${arch}.deb
[ -f "$deb" ] || fail "no $deb: $(ls "$scratch/out")"
pass "cpack -G DEB made $(basename "$deb")"

dpkg-deb -I "$deb" control >control
depends=$(sed -n 's/^Depends: //p' control)
for lib in libc6 libcurl4 libsqlite3-0 libcjson1 libcsv3 libmicrohttpd12 libutf8proc2; do
	grep -q "\(^\|, \)$lib\( \|,\|$\)" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
pass "Depends comes from dpkg-shlibdeps: $depends"

# "MODE OWNER PATH[ -> TARGET]", without sizes and dates
dpkg-deb -c "$deb" | awk '{ $3 = $4 = $5 = ""; print }' | sed 's/   */ /; s|\./|/|; s|/$||' |
	sed 's/^\([^ ]*\) \([^ ]*\) /\1 \2 /' | sort -k3 >files.txt
sort -k3 "$here/files.txt" | grep -v '^#' >want.txt
diff -u want.txt files.txt >files.diff || fail "dpkg-deb -c differs from tests/package/files.txt:
$(cat files.diff)"
pass "dpkg-deb -c lists exactly tests/package/files.txt"

# --- lintian -----------------------------------------------------------------
lintian --fail-on error --display-info "$deb" >lintian.txt 2>lintian.err ||
	fail "lintian reports errors: $(cat lintian.txt lintian.err)"
echo "lintian: $(grep -c '^E:' lintian.txt || true) errors, $(grep -c '^W:' lintian.txt || true) warnings, $(grep -c '^I:' lintian.txt || true) infos"
sed 's/^/  /' lintian.txt
pass "lintian: no error"

# --- maintainer scripts ------------------------------------------------------
dpkg-deb -e "$deb" control.d
for m in postinst prerm postrm; do
	[ -x control.d/$m ] || fail "the package has no executable $m: $(ls control.d)"
	[ "$(head -n 1 control.d/$m)" = '#!/bin/sh' ] || fail "$m: not a #!/bin/sh script"
	grep -qx 'set -e' control.d/$m || fail "$m: no 'set -e'"
	sh -n control.d/$m || fail "$m: sh -n: a syntax error"
	! grep -E "^[EW]: .*($m|maintainer-script)" lintian.txt || fail "lintian on $m: $(grep -E "$m|maintainer-script" lintian.txt)"
done
pass "postinst, prerm and postrm: #!/bin/sh, set -e, sh -n, no lintian error or warning"

# A real install, upgrade, removal and purge by dpkg into a second scratch
# root (--root, the scripts run chrootless with DPKG_ROOT set, as for a
# cross-install): a job set up as the README says, its timer enabled.
droot=$scratch/droot
mkdir -p "$droot/var/lib/dpkg/info" "$droot/var/lib/dpkg/updates" "$droot/var/lib/dpkg/triggers" \
	"$droot/etc/systemd/system/timers.target.wants" "$droot/etc/finch-onboard" \
	"$droot/var/lib/private/finch-onboard/acme" "$droot/var/log/private/finch-onboard/acme" \
	"$droot/var/spool/finch-onboard" "$droot/var/lib/systemd/timers"
: >"$droot/var/lib/dpkg/status"
ln -s private/finch-onboard "$droot/var/lib/finch-onboard"
ln -s private/finch-onboard "$droot/var/log/finch-onboard"
wants=$droot/etc/systemd/system/timers.target.wants/finch-onboard-sync@acme.timer
enable_job() { ln -sfn /lib/systemd/system/finch-onboard-sync@.timer "$wants"; }
printf '[sync]\nclient_id = x\n' >"$droot/etc/finch-onboard/acme.conf"
printf 'secret\n' >"$droot/etc/finch-onboard/acme.secret"
printf 'the admin keeps notes here\n' >"$droot/etc/finch-onboard/NOTES"
: >"$droot/var/lib/private/finch-onboard/acme/onboard.db"
: >"$droot/var/log/private/finch-onboard/acme/results.csv"
: >"$droot/var/spool/finch-onboard/acme.csv"
: >"$droot/var/lib/systemd/timers/stamp-finch-onboard-sync@acme.timer"
rdpkg() {
	dpkg --root="$droot" --force-script-chrootless --force-depends --log=/dev/null "$@" \
		>dpkg.out 2>&1 || fail "dpkg --root $*: $(cat dpkg.out)"
}
rdpkg -i "$deb"
[ -x "$droot/usr/bin/finch-onboard" ] || fail "dpkg --root -i installed no binary"
enable_job
rdpkg -i "$deb" # an upgrade (prerm upgrade, postinst configure): the job stays enabled
[ -L "$wants" ] || fail "an upgrade disabled the job's timer"
pass "dpkg --root: install and upgrade run postinst and prerm (exit 0); an upgrade leaves the timer enabled"

rdpkg --remove finch-onboard
[ ! -e "$droot/usr/bin/finch-onboard" ] || fail "removed, the binary is still there"
[ ! -L "$wants" ] || fail "removed, finch-onboard-sync@acme.timer is still enabled"
grep -q "finch-onboard-sync@acme.timer disabled; once installed again: systemctl enable --now finch-onboard-sync@acme.timer" dpkg.out ||
	fail "prerm did not say which timer it disabled: $(cat dpkg.out)"
for f in etc/finch-onboard/acme.conf etc/finch-onboard/acme.secret var/lib/private/finch-onboard/acme/onboard.db \
	var/log/private/finch-onboard/acme/results.csv; do
	[ -e "$droot/$f" ] || fail "a removal (not a purge) deleted /$f"
done
pass "dpkg --remove: the job's timer disabled and named, its settings, secret, database and export kept"

rdpkg --purge finch-onboard
for f in etc/finch-onboard/acme.conf etc/finch-onboard/acme.secret var/log/private/finch-onboard \
	var/log/finch-onboard var/lib/systemd/timers/stamp-finch-onboard-sync@acme.timer; do
	[ ! -e "$droot/$f" ] && [ ! -L "$droot/$f" ] || fail "purged, /$f is still there"
done
for f in etc/finch-onboard/NOTES var/lib/private/finch-onboard/acme/onboard.db var/spool/finch-onboard/acme.csv; do
	[ -e "$droot/$f" ] || fail "a purge deleted /$f"
done
grep -q "/var/lib/finch-onboard is kept (your jobs' data); to remove it: rm -rf /var/lib/finch-onboard /var/lib/private/finch-onboard" dpkg.out ||
	fail "the purge did not name the databases it keeps: $(cat dpkg.out)"
# idempotent: each script again, as dpkg may run it after a failure
for step in "postinst configure" "prerm remove" "postrm remove" "postrm purge" "postrm purge"; do
	DPKG_ROOT=$droot sh control.d/$step >step.out 2>&1 || fail "$step, again: $(cat step.out)"
done
[ -e "$droot/var/lib/private/finch-onboard/acme/onboard.db" ] || fail "a second purge deleted the database"
pass "dpkg --purge: settings and secret, exports and timer stamps removed; the databases, CSVs and other files kept and named; every script idempotent"

# --- installed into a scratch root -------------------------------------------
dpkg -x "$deb" "$root"
"$FINCH_ONBOARD" --version >version.txt || fail "the installed finch-onboard --version failed"
grep -qE "^finch-onboard $version \(commit [^)]+\) libcurl/" version.txt ||
	fail "installed --version: $(cat version.txt)"
"$FINCH_MOCK" --version | grep -qE "^finch-mock $version .* libmicrohttpd/" ||
	fail "installed finch-mock --version: $("$FINCH_MOCK" --version)"
pass "the installed binaries run: $(head -n 1 version.txt)"

# the sample has 22 valid rows and 3 invalid ones (exit 1)
(
	unset FINCH_CLIENT_SECRET
	expect_exit 1 fo sync "$FINCH_SOURCE_DIR/samples/customers.csv" --db dry.db --out dry.csv --dry-run
)
[ "$(grep -c '^POST https://api.tryfinch.com/connect/sessions$' out.txt)" = 22 ] ||
	fail "sync --dry-run did not print the 22 requests: $(head -n 5 out.txt err.txt)"
[ ! -e dry.db ] && [ ! -e dry.csv ] || fail "sync --dry-run wrote the database or the export"
pass "the installed finch-onboard: sync --dry-run on the sample prints its 22 requests, with no credential"

# --- manual pages ------------------------------------------------------------
for page in finch-onboard finch-mock; do
	f=$root/usr/share/man/man1/$page.1.gz
	gzip -t "$f" || fail "$page.1.gz is not gzip"
	MANWIDTH=80 man --warnings -l "$f" >man.txt 2>man.err || fail "man -l $page: $(cat man.err)"
	[ ! -s man.err ] || fail "man -l $page: groff warnings: $(cat man.err)"
	grep -q "^NAME" man.txt && grep -q -- "--version" man.txt ||
		fail "man -l $page renders no NAME or no --version"
done
pass "man -l renders finch-onboard(1) and finch-mock(1), gzipped, without a warning"

# --- completions -------------------------------------------------------------
bcomp=$root/usr/share/bash-completion/completions
# compl WORDS...: what bash completes for the last word (COMPREPLY, one a line)
compl() {
	bash -c 'source "$1"; shift
		complete -p "$1" >/dev/null || exit 3
		fn=$(complete -p "$1" | sed -n "s/.* -F \([^ ]*\) .*/\1/p")
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort' \
		bash "$bcomp/$1" "$@" || fail "bash completion of '$*' failed"
}
# compl_is WANT WORDS...: fails unless bash completes WORDS to WANT, the
# completions sorted and joined by one space ("" for none)
compl_is() {
	local want=$1 got
	shift
	got=$(compl "$@" | paste -sd ' ')
	[ "$got" = "$want" ] || fail "completion of '$*': '$got', want '$want'"
}
bash -c 'source "$1"; complete -p finch-onboard; source "$2"; complete -p finch-mock' bash \
	"$bcomp/finch-onboard" "$bcomp/finch-mock" >complete.txt || fail "complete -p: nothing registered"
grep -q "^complete -F _finch_onboard finch-onboard$" complete.txt || fail "complete -p: $(cat complete.txt)"
# the commands finch-onboard --help lists
commands=$("$FINCH_ONBOARD" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$commands" ] || fail "finch-onboard --help lists no command"
compl_is "$(printf '%s\n' $commands --help --version | sort | paste -sd ' ')" finch-onboard ''
compl_is "status sync" finch-onboard s
compl_is "csv jsonl" finch-onboard export --format ''
compl_is json finch-onboard sync --log-format j
compl_is created,failed finch-onboard export --state created,f
compl_is created,disconnected finch-onboard export --state created,disc
compl_is "" finch-onboard retry --state disc # retry --state takes no connection status
compl finch-onboard import --encoding '' | grep -qx windows-1252 || fail "--encoding"
compl finch-onboard sync --delimiter '' | grep -qx tab || fail "--delimiter"
pass "bash: complete -p, subcommands, --format, --log-format, --state lists, --encoding, --delimiter"

# config COMMAND: the commands first (with or without its --config), then as COMMAND
others=$(printf '%s\n' $commands | grep -vx config | sort | paste -sd ' ')
compl_is "$others" finch-onboard config ''
compl_is "$others" finch-onboard config --config f.ini ''
compl_is "--config --help" finch-onboard config --
compl_is --renew-expired finch-onboard config sync --renew
compl_is failed finch-onboard config retry --state f
# --config takes a file name, for every command
for cmd in $commands; do
	compl finch-onboard $cmd --config file | grep -qx files.txt ||
		fail "$cmd --config: no file name: $(compl finch-onboard $cmd --config file)"
done
# webhooks: serve's options, verify's, and the subcommands first
compl_is "serve verify" finch-onboard webhooks ''
compl_is "--config --db --help --listen --log-format" finch-onboard webhooks serve --
compl_is "--at --config --help --log-format" finch-onboard webhooks verify --
compl_is --listen finch-onboard webhooks --db x.db serve --li
compl finch-onboard webhooks verify file | grep -qx files.txt || fail "webhooks verify FILE"
compl_is import finch-onboard connections ''
pass "bash: config COMMAND (the commands, then COMMAND's options and values), --config FILE for every command, webhooks serve and verify apart"

zcomp=$root/usr/share/zsh/vendor-completions/_finch-onboard
zsh -n "$zcomp" || fail "_finch-onboard: zsh syntax error"
zsh -fc 'fpath=($1 $fpath); autoload -Uz compinit; compinit -u -d $2
	print -r -- ${_comps[finch-onboard]} ${_comps[finch-mock]}; autoload +X _finch-onboard' \
	zsh "$(dirname "$zcomp")" "$scratch/zcompdump" >zsh.txt 2>&1 || fail "zsh: $(cat zsh.txt)"
[ "$(cat zsh.txt)" = "_finch-onboard _finch-onboard" ] || fail "zsh compinit: $(cat zsh.txt)"
pass "zsh: the completion loads and compinit binds it to both commands"

# Every option of every --help, and no other, in both completions.
opts_of() { "$@" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }
for cmd in $commands mock; do
	if [ $cmd = mock ]; then
		opts_of "$FINCH_MOCK" >help.txt
		compl finch-mock -- >comp.txt
	else
		opts_of "$FINCH_ONBOARD" $cmd >help.txt
		# every command but config itself reads a config file, and says so
		[ $cmd = config ] || grep -qx -- --config help.txt || fail "$cmd --help does not list --config"
		compl finch-onboard $cmd -- >comp.txt
	fi
	diff -u help.txt comp.txt >opts.diff || fail "bash completion of $cmd vs its --help:
$(cat opts.diff)"
	while read -r o; do
		[ "$o" = --help ] || grep -qF -- "$o[" "$zcomp" || fail "zsh completion lacks $cmd $o"
	done <help.txt
	[ $cmd = mock ] || grep -qF -- "'$cmd:" "$zcomp" || fail "zsh completion lacks the command $cmd"
done
pass "bash and zsh complete every option of every command's --help (and bash no other)"

# --- systemd units -----------------------------------------------------------
unitdir=$(dirname "$(find "$root" -name 'finch-onboard-sync@.service' | head -n 1)")
service=$unitdir/finch-onboard-sync@.service
timer=$unitdir/finch-onboard-sync@.timer
for want in 'ExecStart=/usr/bin/finch-onboard sync' 'DynamicUser=yes' \
	'StateDirectory=finch-onboard/%i' 'LogsDirectory=finch-onboard/%i' \
	'LoadCredential=client_secret:/etc/finch-onboard/%i.secret' 'SuccessExitStatus=1' \
	'ProtectSystem=strict' 'PrivateTmp=yes' 'NoNewPrivileges=yes' 'RestrictAddressFamilies=' \
	'SystemCallFilter=@system-service' \
	'ExecStart=/usr/bin/finch-onboard sync --config /etc/finch-onboard/%i.conf'; do
	grep -qF -- "$want" "$service" || fail "the service lacks $want"
done
# every file the units' comments point to is in the package (the README too)
refs=$(grep -ohE '/usr/share/doc/finch-onboard/[A-Za-z0-9_./-]*[A-Za-z0-9]' "$service" "$timer" | sort -u)
[ -n "$refs" ] || fail "the units point to no documentation"
for ref in $refs; do
	[ -e "$root$ref" ] || fail "the unit points to $ref, which the package lacks"
done
# (grep -c reads it all: grep -q would stop early, and zcat's SIGPIPE fail the pipe)
[ "$(zcat "$root/usr/share/doc/finch-onboard/README.md.gz" | grep -c '^## Install as a package')" = 1 ] ||
	fail "README.md.gz is not the README"
pass "the documents the units point to are in the package: $(echo $refs)"
! grep -qE '^Environment=.*SECRET' "$service" || fail "the service puts a secret in Environment="
! grep -q '^EnvironmentFile=' "$service" || fail "the service still reads an environment file"
for want in 'OnCalendar=daily' 'RandomizedDelaySec=' 'Persistent=true' 'WantedBy=timers.target'; do
	grep -qF -- "$want" "$timer" || fail "the timer lacks $want"
done
# systemd-analyze verify loads units from --root; the default dependencies
# (sysinit.target...) come from this machine's systemd, the man: link from
# the package's pages.
mkdir -p "$root/usr/lib/systemd/system"
cp -rn /lib/systemd/system/. "$root/usr/lib/systemd/system/"
verify() {
	MANPATH=$root/usr/share/man systemd-analyze verify --root="$root" \
		finch-onboard-sync@acme.service finch-onboard-sync@acme.timer >verify.txt 2>&1
}
verify || fail "systemd-analyze verify: $(cat verify.txt)"
[ ! -s verify.txt ] || fail "systemd-analyze verify complains: $(cat verify.txt)"
mv "$root/usr/bin/finch-onboard" "$scratch/fo.moved"
! verify || fail "systemd-analyze verify passes without the binary: it checks nothing"
grep -q "/usr/bin/finch-onboard is not executable" verify.txt || fail "verify: $(cat verify.txt)"
mv "$scratch/fo.moved" "$root/usr/bin/finch-onboard"
pass "systemd-analyze verify passes on both units (and fails without the binary)"

systemd-analyze security --offline=true --root="$root" finch-onboard-sync@acme.service \
	>security.txt 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for finch-onboard-sync@acme.service: \([0-9.]*\) .*/\1/p' security.txt)
[ -n "$score" ] || fail "systemd-analyze security gave no score: $(tail -n 5 security.txt)"
echo "systemd-analyze security --offline=true: $score ($(grep -c '✗' security.txt) settings open)"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' ||
	fail "the service's exposure is $score, above the 2.0 the README promises: $(grep '✗' security.txt)"
pass "systemd-analyze security scores the service $score (README: at most 2.0)"

# --- the example config ------------------------------------------------------
# the job's settings as the README says to install them: the example, copied
# to /etc/finch-onboard/acme.conf (here under the scratch root, its paths
# moved there too) with a client id filled in
example=$root/usr/share/doc/finch-onboard/examples/finch-onboard-sync.conf
[ -f "$example" ] || fail "no example config in the package"
! grep -qiE '^[[:space:]]*client[_-]secret[[:space:]]*=' "$example" || fail "the example config holds a secret"
job=acme
mkdir -p "$scratch/etc/finch-onboard" "$scratch/var/lib/finch-onboard/$job" "$scratch/var/log/finch-onboard/$job" creds
conf=$scratch/etc/finch-onboard/$job.conf
sed "s|= /var/|= $scratch/var/|; s|^client_id = .*|client_id = $FINCH_CLIENT_ID|" "$example" >"$conf"
chmod 644 "$conf"
# the installed binary reads every key of the example, as sync would use it (it
# checks the values too: the folders of db, out and metrics_file must exist)
expect_exit 0 env -u FINCH_CLIENT_ID -u FINCH_BASE_URL "$FINCH_ONBOARD" config --config "$conf" sync
for key in db client_id csv out metrics_file renew_expired rate quiet log_format; do
	grep -q "^file:$conf:[0-9]*	$key=" out.txt || fail "config sync does not take $key from the example: $(cat out.txt err.txt)"
done
# and a dry run of the job's config (the sample: 22 valid rows, 3 invalid, exit
# 1). It sends nothing, so it writes no metrics: last night's file stays as it
# was, byte for byte (its exit code and last success are the real run's).
prom=$scratch/var/log/finch-onboard/$job/finch_onboard.prom
printf 'onboard_exit_code{onboard_job="acme"} 0\n' >"$prom"
cp "$prom" prom.before
expect_exit 1 env -u FINCH_CLIENT_ID -u FINCH_BASE_URL -u FINCH_CLIENT_SECRET \
	"$FINCH_ONBOARD" sync --config "$conf" --dry-run <"$FINCH_SOURCE_DIR/samples/customers.csv"
# the job logs JSON: its dry run prints the plan as one JSON object (issue 16)
[ "$(jq -r .requests out.txt)" = 22 ] ||
	fail "sync --config acme.conf --dry-run did not plan the 22 requests: $(head -n 5 out.txt err.txt)"
[ ! -e "$scratch/var/lib/finch-onboard/$job/onboard.db" ] || fail "the dry run wrote the database"
cmp -s "$prom" prom.before || fail "the dry run wrote the metrics file: $(cat "$prom")"
[ ! -e "$scratch/var/log/finch-onboard/$job/results.csv" ] || fail "the dry run wrote the export"
rm "$prom"
pass "the example config is in the package; the installed finch-onboard reads each of its settings for sync ('config --config FILE sync') and dry-runs the job with it (no database, export or metrics written)"

# --- the service's command line, run as systemd would ------------------------
# ExecStart with %i expanded and /etc, /var moved under the scratch root, the
# job's config made from the example, the CSV on standard input, and the
# secret only in $CREDENTIALS_DIRECTORY (the unit unsets FINCH_CLIENT_SECRET).
start_mock
printf '%s\n' "$FINCH_CLIENT_SECRET" >creds/client_secret
chmod 400 creds/client_secret
# the ExecStart= line and its continuation lines, if any
exec_start=$(sed -n '/^ExecStart=/{:a;/\\$/{N;ba};p}' "$service" | sed 's/\\$//; s/^ExecStart=//' | tr -s ' \n' '  ')
exec_start=${exec_start//%i/$job}
exec_start=${exec_start//\/etc\//$scratch/etc/}
exec_start=${exec_start//\/usr\/bin\/finch-onboard/$FINCH_ONBOARD}
read -r -a argv <<<"$exec_start"
rc=0
env -u FINCH_CLIENT_SECRET -u FINCH_CLIENT_ID CREDENTIALS_DIRECTORY="$scratch/creds" FINCH_BASE_URL="$MOCK_URL" \
	"${argv[@]}" <"$FINCH_SOURCE_DIR/samples/customers.csv" >unit.out 2>unit.err || rc=$?
grep -q "^SuccessExitStatus=$rc\$" "$service" || [ $rc = 0 ] ||
	fail "the service's command exited $rc, which the unit counts as a failure: $(tail -n 5 unit.err)"
[ -s "$scratch/var/lib/finch-onboard/$job/onboard.db" ] || fail "no database in the StateDirectory"
[ -s "$scratch/var/log/finch-onboard/$job/results.csv" ] || fail "no export in the LogsDirectory"
[ -s "$scratch/var/log/finch-onboard/$job/finch_onboard.prom" ] || fail "no metrics in the LogsDirectory"
jq -e . unit.err >/dev/null || fail "the service's log is not JSON lines: $(head -n 3 unit.err)"
created=$(grep -c ',created,' "$scratch/var/log/finch-onboard/$job/results.csv" || true)
[ "$created" -gt 0 ] || fail "the service's sync created no session: $(tail -n 5 unit.err)"
pass "the service's ExecStart (the example config, CSV on stdin, secret as a credential): exit $rc, $created sessions, database, export and metrics where the sandbox lets it write"
finish
