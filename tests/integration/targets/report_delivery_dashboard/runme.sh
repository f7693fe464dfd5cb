#!/usr/bin/env bash
# shellcheck disable=SC2154  # work and python are set by simulator.sh
# The "Report deliveries" dashboard (entry point dashboard, playbook reportops.grafana.dashboard) in two
# simulated Grafana environments: check mode writes nothing; the first run makes the folder and the
# dashboard once in each; the second run writes nothing (counted at the simulators); a dashboard changed
# in Grafana is installed again with one write. No `set -x`: it would print the credentials.
set -eu
source ../setup_simulator/files/simulator.sh
source ../setup_simulator/files/checks.sh
output="$work/output.log"
# shellcheck disable=SC2034  # read by checks.sh
secrets=(dev-dashboard-token-1111 prod-dashboard-token-2222 g12-dashboard-token-3333)

declare -A urls
start() {  # start ENV TOKEN
    sed -e "s/TOKEN/$2/" files/grafana.json >"$work/$1.json"
    start_simulator "$1" --config "$work/$1.json"
    urls[$1]="$SIM_URL"
}
start dev dev-dashboard-token-1111
start prod prod-dashboard-token-2222

{
    printf 'all:\n  vars:\n    ansible_connection: local\n    ansible_python_interpreter: %s\n  hosts:\n' "$python"
    printf '    dev:\n      report_delivery_url: %s\n      report_delivery_token: dev-dashboard-token-1111\n' "${urls[dev]}"
    printf '    prod:\n      report_delivery_url: %s\n      report_delivery_token: prod-dashboard-token-2222\n' "${urls[prod]}"
} >"$work/hosts.yml"

api() {  # api ENV METHOD PATH TOKEN [BODY]: an API request; prints the JSON answer
    "$python" -c 'import json, sys, urllib.request
data = sys.argv[5].encode() if len(sys.argv) > 5 else None
request = urllib.request.Request(sys.argv[1] + sys.argv[3], data=data, method=sys.argv[2],
                                 headers={"Content-Type": "application/json", "Authorization": "Bearer " + sys.argv[4]})
print(json.dumps(json.load(urllib.request.urlopen(request, timeout=30))))' "${urls[$1]}" "${@:2}"
}

count() {  # count ENV "METHOD /path": requests the simulator received on routes that start so
    api "$1" GET /_sim/stats "" | "$python" -c 'import json, sys
print(sum(n for route, n in json.load(sys.stdin)["by_route"].items() if route.startswith(sys.argv[1])))' "$2"
}

writes() {  # writes ENV: dashboards and folders saved in ENV so far
    echo "$(count "$1" 'POST /api/dashboards/db') $(count "$1" 'POST /api/folders')"
}

echo "== check mode: nothing is written"
run "dashboard, check mode" ansible-playbook -i "$work/hosts.yml" reportops.grafana.dashboard --check --diff
contains "changed=1"
for env in dev prod; do equals "$env writes in check mode" "$(writes $env)" "0 0"; done

echo "== first run: one folder and one dashboard in each environment"
run "dashboard" ansible-playbook -i "$work/hosts.yml" reportops.grafana.dashboard
contains "dev: Report deliveries is /d/reportops-report-deliveries/report-deliveries (folder Reports, changed)"
contains "prod: Report deliveries is /d/reportops-report-deliveries/report-deliveries (folder Reports, changed)"
for env in dev prod; do equals "$env writes (dashboard, folder)" "$(writes $env)" "1 1"; done
installed=$(api dev GET /api/dashboards/uid/reportops-report-deliveries dev-dashboard-token-1111)
# The shipped file, found as Ansible finds the collection (ansible-test copies only the tests into the target's folder).
collections=$(ansible-galaxy collection list reportops.grafana --format json)
"$python" - "$installed" "$collections" <<'PY'
import json, os, sys
root, found = next(iter(json.loads(sys.argv[2]).items()))
shipped_path = os.path.join(root, "reportops", "grafana", "roles", "report_delivery", "files", "report-deliveries.json")
installed, shipped = json.loads(sys.argv[1]), json.load(open(shipped_path))
model = {k: v for k, v in installed["dashboard"].items() if k not in ("id", "version")}
assert model == shipped, "the installed dashboard is not the shipped one"
assert installed["meta"]["folderTitle"] == "Reports", installed["meta"]
PY

echo "== second run: nothing is written"
run "dashboard again" ansible-playbook -i "$work/hosts.yml" reportops.grafana.dashboard
contains "changed=0"
contains "(folder Reports, unchanged)"
for env in dev prod; do equals "$env writes after the second run" "$(writes $env)" "1 1"; done

echo "== a dashboard changed in Grafana is installed again, with one write; the folder is not made again"
current=$(api prod GET /api/dashboards/uid/reportops-report-deliveries prod-dashboard-token-2222)
edited=$("$python" -c 'import json, sys
found = json.loads(sys.argv[1])
print(json.dumps({"dashboard": dict(found["dashboard"], time={"from": "now-1h", "to": "now"}),
                  "folderUid": found["meta"]["folderUid"], "overwrite": False}))' "$current")
api prod POST /api/dashboards/db prod-dashboard-token-2222 "$edited" >/dev/null
run "dashboard after an edit" ansible-playbook -i "$work/hosts.yml" reportops.grafana.dashboard
contains "prod: Report deliveries is /d/reportops-report-deliveries/report-deliveries (folder Reports, changed)"
contains "dev: Report deliveries is /d/reportops-report-deliveries/report-deliveries (folder Reports, unchanged)"
equals "dev writes after the edit" "$(writes dev)" "1 1"
equals "prod writes after the edit (the edit, then the install)" "$(writes prod)" "3 1"

echo "== bad input: a clear error and no request"
before=$(count dev "")
if env GRAFANA_TOKEN=dev-dashboard-token-1111 ansible localhost -m reportops.grafana.grafana_report_dashboard \
    -a "url=${urls[dev]} dashboard={\"title\":\"no uid\"}" >"$output" 2>&1; then fail "a dashboard without uid was accepted"; fi
contains "dashboard must have a uid of 1 to 40 characters"
equals "requests after bad input" "$(count dev "")" "$before"

echo "== Grafana 12 (issue 25): 1,200 root folders before an existing Reports, reads answer the model migrated"
# Grafana 12: reads through the dashboard API answer a newer schema; a stale save is a 409 (saveDashboardViaK8s).
# Issue 32: the read also drops fields at their defaults (the shipped style "dark"; frontend_defaults.go), and the
# second run still writes nothing.
sed -e "s/TOKEN/g12-dashboard-token-3333/" -e 's/^{/{"version": "12.1.0",/' files/grafana.json >"$work/g12.json"
start_simulator g12 --config "$work/g12.json"
urls[g12]="$SIM_URL"
"$python" - "${urls[g12]}" <<'PY'
import json, sys, urllib.request
def folder(title, uid=None):
    body = dict(title=title, **({"uid": uid} if uid else {}))
    request = urllib.request.Request(sys.argv[1] + "/api/folders", data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/json", "Authorization": "Bearer g12-dashboard-token-3333"})
    urllib.request.urlopen(request, timeout=30).read()
for number in range(1200):
    folder("Archive %04d" % number)  # listed before "Reports": beyond the first page of 1,000
folder("Reports", "existing-reports")
PY
printf 'all:\n  vars:\n    ansible_connection: local\n    ansible_python_interpreter: %s\n  hosts:\n' "$python" >"$work/g12.yml"
printf '    g12:\n      report_delivery_url: %s\n      report_delivery_token: g12-dashboard-token-3333\n' "${urls[g12]}" >>"$work/g12.yml"
for attempt in first second; do
    run "dashboard on Grafana 12, $attempt run" ansible-playbook -i "$work/g12.yml" reportops.grafana.dashboard
done
contains "g12: Report deliveries is /d/reportops-report-deliveries/report-deliveries (folder Reports, unchanged)"
equals "g12 writes after two runs (one save, no second Reports folder)" "$(writes g12)" "1 1201"
migrated=$(api g12 GET /api/dashboards/uid/reportops-report-deliveries g12-dashboard-token-3333)
"$python" -c 'import json, sys
found = json.loads(sys.argv[1])
assert found["dashboard"]["schemaVersion"] == 41 and found["meta"]["folderUid"] == "existing-reports", found["meta"]
assert "style" not in found["dashboard"], "the simulator did not drop the shipped style: dark"' "$migrated"
run "dashboard on Grafana 12, third run" ansible-playbook -i "$work/g12.yml" reportops.grafana.dashboard
contains "changed=0"
equals "g12 writes after three runs" "$(writes g12)" "1 1201"

echo "== save conflicts: 409 from Grafana 12, 412 before, both explained"
conflict() {  # conflict ENV TOKEN: the module installs a new dashboard in ENV; prints nothing, leaves $output
    if env GRAFANA_TOKEN="$2" ansible localhost -m reportops.grafana.grafana_report_dashboard \
        -a "url=${urls[$1]} dashboard={\"uid\":\"conflict\",\"title\":\"Conflict\"}" >"$output" 2>&1; then
        fail "$1: the conflicting save succeeded"
    fi
    no_secrets
    no_deprecations
}
api g12 POST /_sim/faults "" '{"path": "/api/dashboards/db", "mode": "status", "status": 409, "message": "Dashboard already exists. Use overwrite flag to update."}' >/dev/null
conflict g12 g12-dashboard-token-3333
contains "HTTP 409: Dashboard already exists. Use overwrite flag to update."
contains "Grafana 12 and later answer 409 when the dashboard was saved in Grafana since it was read"
api dev POST /_sim/faults "" '{"path": "/api/dashboards/db", "mode": "status", "status": 412, "message": "The dashboard has been changed by someone else"}' >/dev/null
conflict dev dev-dashboard-token-1111
contains "HTTP 412: The dashboard has been changed by someone else"
contains "Grafana before 12 answers 412 when another dashboard of this folder has the title (before 11.3)"

echo "report_delivery_dashboard: all checks passed"
