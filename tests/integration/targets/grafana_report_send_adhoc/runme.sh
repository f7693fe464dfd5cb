#!/usr/bin/env bash
# grafana_report_send as an ad-hoc command, with the credentials only in the environment.
# No `set -x`: it would echo the token this test checks for.
set -eu

python="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}"
state="$(mktemp -d)"
simulator=../../../simulator/grafana_sim.py
trap '"$python" "$simulator" stop --state-dir "$state" >/dev/null; rm -rf "$state"' EXIT
url="$("$python" "$simulator" serve --background --state-dir "$state" --lifetime 300 \
       | "$python" -c 'import json, sys; print(json.loads(sys.stdin.read().splitlines()[-1])["url"])')"

export GRAFANA_URL="$url" GRAFANA_TOKEN=sim-token-sender
output="$state/adhoc.out"

expect() {  # expect DESCRIPTION COMMAND...: the command's output goes to $output
    local description="$1"
    shift
    if ! "$@" >"$output" 2>&1; then
        echo "FAILED: $description" >&2
        cat "$output" >&2
        exit 1
    fi
}

absent() {  # `! grep` would not stop `set -e`
    if grep -q -- "$1" "$output"; then
        echo "FAILED: '$1' appears in the output" >&2
        exit 1
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
    echo "FAILED: report_id=abc was accepted" >&2
    exit 1
fi
grep -q 'report_id must be a positive integer' "$output"

GRAFANA_TOKEN=wrong-token-value
if ansible localhost -m reportops.grafana.grafana_report_send -a 'report_id=1 emails=sre@example.com' -vvvv >"$output" 2>&1; then
    echo "FAILED: a bad token was accepted" >&2
    exit 1
fi
grep -q 'HTTP 401: Invalid API key' "$output"
absent wrong-token-value
[ "$(sends)" = 3 ]
echo "ad-hoc: all checks passed"
