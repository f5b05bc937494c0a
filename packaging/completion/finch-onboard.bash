# bash completion for finch-onboard and finch-mock                -*- shell-script -*-
# Installed as /usr/share/bash-completion/completions/finch-onboard (and a
# link named finch-mock). Self-contained: it uses bash's own compgen, and
# bash-completion's _filedir for file names when it is loaded.
# tests/package/package.sh checks that every option of every command's
# --help is offered here, and nothing else.

_finch_onboard_commands="import run status export retry sync config connections webhooks prune journal"
_finch_onboard_import_opts="--db --products --redirect-uri --minutes-to-expire --sandbox
	--encoding --delimiter --allow-product --column --ignore-column --keep-column --skip-lines
	--read-timeout --check --withdraw-missing --max-withdraw --config --quiet --log-format --help"
_finch_onboard_run_opts="--db --base-url --client-id --concurrency --rate --max-attempts --timeout
	--connect-timeout --grace --max-retry-after --cacert --client-secret-file --dry-run
	--quiet --verbose --log-format --seed --max-outage --give-up-after --metrics-file --metrics-job --connect-host --allow-keylog --resend-changed --limit
	--config --help"
_finch_onboard_status_opts="--db --json --config --log-format --help"
_finch_onboard_export_opts="--db --format --out --state --since --raw --bom --no-bom
	--columns --config --log-format --help"
_finch_onboard_retry_opts="--db --state --finch-code --http-status --customer --reauthenticate --changed
	--unconfirmed --config --log-format --help"
_finch_onboard_config_opts="--config --help"
_finch_onboard_connections_opts="--db --read-timeout --config --log-format --help"
# webhooks: each subcommand's own, and before one is named all of them
_finch_onboard_webhooks_serve_opts="--listen --db --config --log-format --help"
_finch_onboard_webhooks_verify_opts="--at --config --log-format --help"
_finch_onboard_webhooks_opts="--listen --db --at --config --log-format --help"
_finch_onboard_prune_opts="--db --older-than --dry-run --config --log-format --help"
_finch_onboard_journal_opts="--db --csv --config --log-format --help"
_finch_onboard_sync_opts="--db --out --format --raw --bom --no-bom --columns --config
	--column --ignore-column --keep-column --skip-lines --read-timeout --renew-expired
	--reauthenticate --keep-missing --max-withdraw --keep-history --csv --products --redirect-uri --minutes-to-expire --sandbox --encoding
	--delimiter --allow-product --base-url --client-id --concurrency --rate --max-attempts --timeout --connect-timeout
	--grace --max-retry-after --cacert --client-secret-file --dry-run --quiet --verbose
	--log-format --seed --max-outage --give-up-after --metrics-file --metrics-job --connect-host --allow-keylog --resend-changed --limit --help"
_finch_mock_opts="--port --bind --client-id --connect-base --existing --existing-every --log
	--threads --max-body --idle-timeout --max-per-client --max-connections --seed --echo-auth --credentials --rate-limit-fault --fail-429 --retry-after
	--retry-after-mode --error-rate --error-status --fail-500 --fail-502 --fail-503
	--html-errors --latency --jitter --hang-rate --hang --hang-for --reset-rate --reset
	--malformed-rate --malformed --short-body-rate --cut-body-rate --revoke-after
	--fail-first --rate-limit --penalty --webhook-url --webhook-fault --help --version"

# _finch_onboard_files [-d]: file (or, with -d, folder) names into COMPREPLY.
_finch_onboard_files()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	if declare -F _filedir >/dev/null; then
		_filedir "$@"
	else
		mapfile -t COMPREPLY < <(compgen "${1:--f}" -- "$cur")
	fi
}

# _finch_onboard_list WORDS: one of WORDS after the last comma of a list.
_finch_onboard_list()
{
	local cur=${COMP_WORDS[COMP_CWORD]} head=
	case $cur in
	*,*) head=${cur%,*}, cur=${cur##*,} ;;
	esac
	mapfile -t COMPREPLY < <(compgen -P "$head" -W "$1" -- "$cur")
	compopt -o nospace 2>/dev/null || true
}

# _finch_onboard_value PREV: the values of an option that takes a fixed
# set; returns 1 when PREV takes no value we know.
_finch_onboard_value()
{
	local cur=${COMP_WORDS[COMP_CWORD]} cmd=$2 words=
	case $1 in
	--format) words="csv jsonl" ;;
	--log-format) words="text json" ;;
	--encoding) words="auto utf-8 utf-16 windows-1252 iso-8859-1 macintosh" ;;
	--delimiter) words="auto tab , \\\\;" ;;
	--sandbox) words="finch provider" ;;
	--credentials) words="production sandbox" ;;
	--retry-after-mode) words="seconds date ms none mix" ;;
	--error-status) words="500 502 503 mix" ;;
	--state)
		if [ "$cmd" = retry ]; then
			_finch_onboard_list "failed retry_wait created exists"
		else
			# export: the row states, then the connection statuses (connection:pending
			# is the status; pending alone the state)
			_finch_onboard_list "pending in_flight retry_wait created exists failed invalid
			processing connected reauth error_permissions error_no_account_setup disconnected
			connection:pending"
		fi
		return 0
		;;
	--products)
		_finch_onboard_list "benefits company deduction directory documents employment
			individual payment pay_statement ssn recordkeeping plans plans_dependents
			plans_enrollments"
		return 0
		;;
	--db | --out | --csv | --cacert | --client-secret-file | --metrics-file | --existing | --log | \
		--config)
		_finch_onboard_files
		return 0
		;;
	--base-url | --redirect-uri | --connect-base | --connect-host | --bind | --port | --client-id | \
		--minutes-to-expire | --concurrency | --rate | --max-attempts | --timeout | \
		--connect-timeout | --grace | --max-retry-after | --seed | --max-outage | \
		--give-up-after | --keep-history | --older-than | --metrics-job | --limit | --max-withdraw | --since | --read-timeout | --allow-product | --finch-code | --http-status | --customer | \
		--existing-every | --threads | --max-body | --idle-timeout | --max-per-client | --max-connections | --rate-limit-fault | --fail-* | --retry-after | \
		--error-rate | --latency | --jitter | --hang* | --reset* | --malformed* | \
		--short-body-rate | --cut-body-rate | --revoke-after | --rate-limit | --penalty)
		COMPREPLY=() # a value of the user's own
		return 0
		;;
	*) return 1 ;;
	esac
	mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
	return 0
}

# _finch_onboard_next FROM: the first word of COMP_WORDS from FROM up to the
# cursor that is neither an option nor an option's value, into the caller's
# word and at; returns 1 when there is none.
_finch_onboard_next()
{
	local j
	word= at=
	for ((j = $1; j < COMP_CWORD; j++)); do
		case ${COMP_WORDS[j]} in
		-*) continue ;;
		esac
		# the value of the option before it (one _finch_onboard_value knows)
		[[ ${COMP_WORDS[j - 1]} == --* ]] &&
			(_finch_onboard_value "${COMP_WORDS[j - 1]}" x >/dev/null 2>&1) && continue
		word=${COMP_WORDS[j]} at=$j
		return 0
	done
	return 1
}

_finch_onboard()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev= cmd= sub= opts word at
	COMPREPLY=()
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	if ! _finch_onboard_next 1; then
		mapfile -t COMPREPLY < <(compgen -W "$_finch_onboard_commands --help --version" -- "$cur")
		return 0
	fi
	cmd=$word
	# config [--config FILE] COMMAND [OPTIONS...]: the commands, then as COMMAND
	if [ "$cmd" = config ]; then
		if ! _finch_onboard_next $((at + 1)); then
			_finch_onboard_value "$prev" config && return 0
			if [[ $cur == -* ]]; then
				mapfile -t COMPREPLY < <(compgen -W "$_finch_onboard_config_opts" -- "$cur")
			else
				mapfile -t COMPREPLY < <(compgen -W "${_finch_onboard_commands/ config/}" -- "$cur")
			fi
			return 0
		fi
		cmd=$word
	fi
	_finch_onboard_value "$prev" "$cmd" && return 0
	# a command we know has a list _finch_onboard_CMD_opts above
	[[ $cmd =~ ^[a-z]+$ ]] || return 0
	# connections and webhooks: the subcommand, then its options
	if [ "$cmd" = connections ] || [ "$cmd" = webhooks ]; then
		_finch_onboard_next $((at + 1)) && sub=$word
		if [ -z "$sub" ] && [[ $cur != -* ]]; then
			[ $cmd = connections ] && opts=import || opts="serve verify"
			mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
			return 0
		fi
	fi
	opts=_finch_onboard_${cmd}_opts
	[[ $sub =~ ^(serve|verify)$ ]] && opts=_finch_onboard_${cmd}_${sub}_opts
	[ -n "${!opts+set}" ] || return 0
	opts=${!opts}
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
	elif [ "$cmd" = import ] || [ "$cmd" = sync ] || [ "$cmd" = connections ] ||
		[ "$sub" = verify ] || [ "$cmd" = journal ]; then
		_finch_onboard_files # the CSV, the connections' file, the saved delivery, the journal
	fi
	return 0
}

_finch_mock()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=
	COMPREPLY=()
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	_finch_onboard_value "$prev" mock && return 0
	mapfile -t COMPREPLY < <(compgen -W "$_finch_mock_opts" -- "$cur")
	return 0
}

complete -F _finch_onboard finch-onboard
complete -F _finch_mock finch-mock
