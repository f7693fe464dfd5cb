#!/usr/bin/env bash
# shellcheck disable=SC2154  # work and python are set by simulator.sh
# The entry point preflight (playbook reportops.grafana.preflight) against three simulated environments: dev and prod
# are ready, staging lacks the report "Daily Capacity". One line per environment and check that is not ok, one summary,
# the AWX statistics; only staging fails. Read-only: no write request, no mail; no token in the output at -vvv.
# No `set -x`: it would print the credentials that these checks look for.
set -eu
source ../setup_simulator/files/simulator.sh
source ../setup_simulator/files/checks.sh
output="$work/output.log"
# shellcheck disable=SC2034  # read by checks.sh
secrets=(dev-preflight-token-1111 staging-preflight-token-2222 prod-preflight-token-3333)
capacity='{"id": 2, "org_id": 1, "name": "Daily Capacity", "recipients": "capacity@example.com", "dashboards": [{"dashboard": {"id": 470, "uid": "capacity", "name": "Capacity"}}]}'

declare -A urls tokens
start() {  # start ENV TOKEN REPORTS
    sed -e "s/TOKEN/$2/" -e "s/REPORTS/$3/" files/grafana.json >"$work/$1.json"
    start_simulator "$1" --config "$work/$1.json"
    urls[$1]="$SIM_URL"
    tokens[$1]="$2"
}
start dev dev-preflight-token-1111 "$capacity"
start staging staging-preflight-token-2222 '{"id": 5, "org_id": 1, "name": "Exec Summary", "recipients": "exec@example.com", "dashboards": [{"dashboard": {"id": 481, "uid": "exec", "name": "Exec"}}]}'
start prod prod-preflight-token-3333 "$capacity"

mkdir -p "$work/inventory/group_vars/all"
cp files/deliveries.yml "$work/inventory/group_vars/all/deliveries.yml"
{
    printf 'all:\n  vars:\n    ansible_connection: local\n    ansible_python_interpreter: %s\n  hosts:\n' "$python"
    for host in dev staging prod; do
        printf '    %s:\n      report_delivery_url: %s\n      report_delivery_token: %s\n' "$host" "${urls[$host]}" "${tokens[$host]}"
    done
} >"$work/inventory/hosts.yml"

writes() {  # writes ENV: the simulator's requests that are not GET
    "$python" -c 'import json, sys, urllib.request
print(" ".join("%s %s" % (r["method"], r["path"]) for r in json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/requests", timeout=30))
               if r["method"] != "GET"))' "${urls[$1]}"
}

echo "== the pre-flight of three environments: staging lacks a report"
run_failing "preflight" env ANSIBLE_NOCOLOR=1 ansible-playbook -i "$work/inventory" reportops.grafana.preflight -vvv \
    -e report_delivery_preflight_render=true
contains "\"staging report:capacity: FAIL: delivery 'capacity': report 'Daily Capacity' does not exist in this Grafana (its reports: Exec Summary, Weekly SLO). Create the report in this Grafana, or correct the delivery's report or report_id.\""
contains '"name": "render:weekly-slo",'
contains '"3 environments: 2 ready for a first run; fix staging first"'
# Only staging fails; dev and prod finish ok (a line per non-ok check: none for them).
recap dev 0 0
recap prod 0 0
recap staging 1 0
if grep -qE '"(dev|prod) [a-z:-]+: (FAIL|WARN|SKIPPED)' "$output"; then fail "a ready environment has a finding"; fi
# set_stats for AWX/AAP: every environment's checks and Grafana's facts.
contains '"report_delivery_preflight": {'
contains '"edition": "Enterprise"'
# The tokens read Grafana's settings (settings:read, issue 32): SMTP is checked, not unknown.
contains '"smtp_enabled": true'
contains '"name": "permissions:ledger"'
for env in dev staging prod; do
    equals "$env write requests" "$(writes "$env")" ""
done

echo "== --limit prod: one environment, ready"
run "preflight prod" ansible-playbook -i "$work/inventory" reportops.grafana.preflight --limit prod
contains '"1 environment: 1 ready for a first run"'

echo "== an environment whose Grafana cannot be reached: one line, its connection; the read-only pre-flight never says"
echo "   'nothing was sent' (issue 31)"
{
    printf 'all:\n  vars:\n    ansible_connection: local\n    ansible_python_interpreter: %s\n  hosts:\n' "$python"
    printf '    qa:\n      report_delivery_url: http://127.0.0.1:9\n      report_delivery_token: %s\n' "${tokens[dev]}"
} >"$work/inventory/hosts.yml"
run_failing "preflight, qa unreachable" env ANSIBLE_NOCOLOR=1 ansible-playbook -i "$work/inventory" reportops.grafana.preflight
contains '"qa connection: FAIL: Could not connect to http://127.0.0.1:9'
equals "qa's finding lines" "$(grep -cE '"qa [a-z:-]+: (FAIL|WARN|SKIPPED)' "$output")" 1
contains '"1 environment: 0 ready for a first run; fix qa first"'
if grep -qi "nothing was sent" "$output"; then fail "the read-only pre-flight says nothing was sent"; fi

echo "report_delivery_preflight: all checks passed"
