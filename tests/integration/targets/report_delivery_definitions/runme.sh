#!/usr/bin/env bash
# shellcheck disable=SC2154  # work and python are set by simulator.sh
# Role reportops.grafana.report_delivery, entry point definitions (playbook reportops.grafana.definitions),
# against two simulated Grafana environments, dev and prod.
# No `set -x`: it would print the credentials that these checks look for.
set -eu
source ../setup_simulator/files/simulator.sh
source ../setup_simulator/files/checks.sh
output="$work/output.log"
# shellcheck disable=SC2034  # read by checks.sh
secrets=(dev-definitions-token-1111 prod-definitions-token-3333)

declare -A urls
for env in dev prod; do
    start_simulator "$env" --config "files/$env.json"
    urls[$env]="$SIM_URL"
done

mkdir -p "$work/inventory/group_vars/all"
cat >"$work/inventory/hosts.yml" <<INVENTORY
all:
  children:
    grafana_environments:
      vars:
        ansible_connection: local
        ansible_python_interpreter: $python
      hosts:
        dev:
          report_delivery_url: ${urls[dev]}
          report_delivery_token: dev-definitions-token-1111
        prod:
          report_delivery_url: ${urls[prod]}
          report_delivery_token: prod-definitions-token-3333
    production:
      hosts:
        prod:
INVENTORY
cp files/definitions.yml "$work/inventory/group_vars/all/definitions.yml"

writes() {  # writes ENV: the POST, PUT and DELETE requests the simulator of ENV received
    "$python" -c 'import json, sys, urllib.request
stats = json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/stats", timeout=30))
print(sum(count for route, count in stats["by_route"].items() if route.split()[0] in ("POST", "PUT", "DELETE")))' "${urls[$1]}"
}

reports() {  # reports ENV TOKEN: "NAME|STATE|RECIPIENTS" per report, by id
    "$python" -c 'import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1] + "/api/reports", headers={"Authorization": "Bearer " + sys.argv[2]})
for report in json.load(urllib.request.urlopen(request, timeout=30)):
    print("%s|%s|%s" % (report["name"], report["state"], report["recipients"]))' "${urls[$1]}" "$2"
}

apply=(ansible-playbook -i "$work/inventory" reportops.grafana.definitions)

echo "== check mode and diff write nothing"
run "check mode" "${apply[@]}" --check --diff
contains '"dev: 1 updated, 1 deleted (check mode)"'
contains '"prod: 2 created, 1 unchanged (check mode)"'
contains '+    "recipients": ['
equals "dev writes in check mode" "$(writes dev)" 0
equals "prod writes in check mode" "$(writes prod)" 0

echo "== apply"
run "apply" "${apply[@]}"
contains '"dev: 1 updated, 1 deleted"'
contains '"prod: 2 created, 1 unchanged"'
equals "dev reports" "$(reports dev dev-definitions-token-1111)" "Weekly SLO|scheduled|sre@example.com,lead@example.com"
equals "prod reports" "$(reports prod prod-definitions-token-3333)" "Weekly SLO|scheduled|sre@example.com,lead@example.com
Prod oncall|scheduled|oncall@example.com"
equals "dev writes" "$(writes dev)" 2
equals "prod writes" "$(writes prod)" 2

echo "== apply again: nothing changes, nothing is written"
run "apply again" "${apply[@]}"
contains '"dev: 2 unchanged"'
contains '"prod: 3 unchanged"'
grep -Eq '^dev +: .*changed=0' "$output" || fail "dev changed on the second run"
grep -Eq '^prod +: .*changed=0' "$output" || fail "prod changed on the second run"
equals "dev writes after the second run" "$(writes dev)" 2
equals "prod writes after the second run" "$(writes prod)" 2

echo "== pause one report, in prod only"
run "pause" "${apply[@]}" -e @files/definitions-paused.yml --limit prod
contains '"prod: 1 updated"'
equals "prod reports after the pause" "$(reports prod prod-definitions-token-3333)" "Weekly SLO|paused|sre@example.com,lead@example.com
Prod oncall|scheduled|oncall@example.com"
equals "dev writes after the pause in prod" "$(writes dev)" 2

echo "== invalid definitions fail every environment before anything is written"
run_failing "invalid definitions" "${apply[@]}" \
    -e '{"report_delivery_definitions": [{"name": "A", "recipients": ["nope"], "dashboards": [{"uid": "a"}]}, {"name": "B", "schedule": {"frequency": "custom"}}, {"name": "A", "state": "absent"}]}'
contains "definition 'A': recipients has 1 invalid address(es): 'nope'"
contains "definition 'B': schedule.frequency custom needs schedule.interval_amount"
contains '"dev: FAILED: Invalid report_delivery_definitions'
equals "dev writes after invalid definitions" "$(writes dev)" 2
equals "prod writes after invalid definitions" "$(writes prod)" 3

echo "== a name that exists twice in one environment fails that environment only"
"$python" -c 'import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/api/reports", method="POST", data=b"{\"name\": \"Prod oncall\"}",
    headers={"Authorization": "Bearer " + sys.argv[2], "Content-Type": "application/json"}), timeout=30)' \
    "${urls[prod]}" prod-definitions-token-3333
run_failing "duplicate name in prod" "${apply[@]}"
contains "\"prod: 2 unchanged, 1 failed | Prod oncall FAILED: report name 'Prod oncall' matches 2 reports in this Grafana (ids 2, 3)"
contains '"dev: 2 unchanged"'
recap prod 1
recap dev 0

echo "report_delivery_definitions: all checks passed"
