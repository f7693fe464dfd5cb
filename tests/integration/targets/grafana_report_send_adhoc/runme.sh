#!/usr/bin/env bash
# shellcheck disable=SC2154  # work, python and fail come from ../setup_simulator/files/simulator.sh
# grafana_report_send as an ad-hoc command, with the credentials only in the environment.
# No `set -x`: it would echo the token this test checks for.
set -eu

source ../setup_simulator/files/simulator.sh
start_simulator sim
url="$SIM_URL"

export GRAFANA_URL="$url" GRAFANA_TOKEN=sim-token-sender
output="$work/adhoc.out"

expect() {  # expect DESCRIPTION COMMAND...: the command's output goes to $output
    local description="$1"
    shift
    "$@" >"$output" 2>&1 || fail "$description: $(cat "$output")"
}

absent() {  # `! grep` would not stop `set -e`
    if grep -q -- "$1" "$output"; then
        fail "'$1' appears in the output"
    fi
}

sends() {
    "$python" -c 'import json, sys, urllib.request
stats = json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/stats"))
print(stats["by_route"].get("POST /api/reports/email", 0))' "$url"
}

expect "ad-hoc send" ansible localhost -m reportops.grafana.grafana_report_send -a 'report_id=1 emails=sre@example.com' -vvvv
grep -q '"message": "Report was sent"' "$output"
grep -q '"changed": true' "$output"
absent sim-token-sender
[ "$(sends)" = 1 ]

expect "ad-hoc check mode" ansible localhost -m reportops.grafana.grafana_report_send -a 'report_id=1 use_emails_from_report=true' --check
grep -q 'would be sent to sre@example.com, lead@example.com' "$output"
[ "$(sends)" = 1 ]

# The token given as an argument is masked in the output at any verbosity.
expect "token as an argument" ansible localhost -m reportops.grafana.grafana_report_send \
    -a "report_id=2 emails=ops@example.com token=$GRAFANA_TOKEN" -vvvv
absent sim-token-sender

if ansible localhost -m reportops.grafana.grafana_report_send -a 'report_id=abc emails=sre@example.com' >"$output" 2>&1; then
    fail "report_id=abc was accepted"
fi
grep -q 'report_id must be a positive integer' "$output"

GRAFANA_TOKEN=wrong-token-value
if ansible localhost -m reportops.grafana.grafana_report_send -a 'report_id=1 emails=sre@example.com' -vvvv >"$output" 2>&1; then
    fail "a bad token was accepted"
fi
grep -q 'HTTP 401: Invalid API key' "$output"
absent wrong-token-value
[ "$(sends)" = 3 ]
echo "ad-hoc: all checks passed"
