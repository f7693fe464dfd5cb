#!/usr/bin/env bash
# shellcheck disable=SC2154  # work and python are set by simulator.sh
# Outcome records and render retries (report_delivery_history: grafana, entry points main and
# history) against three simulated Grafana environments: dev fails two renders and then sends,
# staging fails every render, prod times out (which may have sent, so it is not retried).
# No `set -x`: it would print the credentials that these checks look for.
set -eu
source ../setup_simulator/files/simulator.sh
source ../setup_simulator/files/checks.sh
output="$work/output.log"
# shellcheck disable=SC2034  # read by checks.sh
secrets=(dev-history-token-1111 staging-history-token-2222 prod-history-token-3333 locked-history-token-4444
         repeat-history-token-5555)
annotations='"annotations:read", "annotations:create", "annotations:write", "annotations:delete"'

declare -A urls
start() {  # start ENV TOKEN ANNOTATION_PERMISSIONS
    sed -e "s/TOKEN/$2/" -e "s/ANNOTATIONS/$3/" files/grafana.json >"$work/$1.json"
    start_simulator "$1" --config "$work/$1.json"
    urls[$1]="$SIM_URL"
}
start dev dev-history-token-1111 "$annotations"
start staging staging-history-token-2222 "$annotations"
start prod prod-history-token-3333 "$annotations"
# No annotation permission at all: records cannot be written.
start locked locked-history-token-4444 '"dashboards:read"'
# Reads organization annotations only, and may add dashboard annotations it cannot read (Grafana 11.3+'s Find then
# repeats rows: annotationsimpl/annotations.go).
start repeat repeat-history-token-5555 '"annotations:read annotations:type:organization", "annotations:create annotations:type:organization", "annotations:create annotations:type:dashboard"'

inventory() {  # inventory DIR HOST...: an inventory of these environments in DIR
    local host
    mkdir -p "$1/group_vars/all"
    cp files/deliveries.yml "$1/group_vars/all/deliveries.yml"
    {
        printf 'all:\n  vars:\n    ansible_connection: local\n    ansible_python_interpreter: %s\n' "$python"
        printf '    report_delivery_ledger_path: %s/ledger.json\n  hosts:\n' "$work"
        for host in "${@:2}"; do
            printf '    %s:\n      report_delivery_url: %s\n      report_delivery_token: %s-history-token-%s\n' \
                "$host" "${urls[$host]}" "$host" "$(case $host in dev) echo 1111;; staging) echo 2222;; prod) echo 3333;; *) echo 4444;; esac)"
        done
    } >"$1/hosts.yml"
}
inventory "$work/inventory" dev staging prod
inventory "$work/locked-inventory" locked
# prod waits 2 s for an answer (its render hangs for 4 s).
printf 'report_delivery_timeout: 2\n' >"$work/inventory/host_vars.yml"
mkdir -p "$work/inventory/host_vars"
mv "$work/inventory/host_vars.yml" "$work/inventory/host_vars/prod.yml"

sim() {  # sim ENV METHOD PATH [BODY]: a control request; prints the JSON answer
    "$python" -c 'import json, sys, urllib.request
data = sys.argv[4].encode() if len(sys.argv) > 4 else None
request = urllib.request.Request(sys.argv[1] + sys.argv[3], data=data, method=sys.argv[2], headers={"Content-Type": "application/json"})
print(json.dumps(json.load(urllib.request.urlopen(request, timeout=30))))' "${urls[$1]}" "${@:2}"
}

count() {  # count ENV "METHOD /path": requests the simulator received on routes that start so
    sim "$1" GET /_sim/stats | "$python" -c 'import json, sys
print(sum(n for route, n in json.load(sys.stdin)["by_route"].items() if route.startswith(sys.argv[1])))' "$2"
}

collections_path="${ANSIBLE_COLLECTIONS_PATH:-$(cd ../../../../../.. && pwd)}"
dashboard="${collections_path%%:*}/ansible_collections/reportops/grafana/roles/report_delivery/files/report-deliveries.json"
on_dashboard() {  # on_dashboard ENV TOKEN [VARIABLE=VALUE...]: the deliveries (delivery-name tags) that the shipped dashboard's
    # "Deliveries overdue" marks: its annotation query, its variables at their defaults or VALUE, sent to ENV's Grafana.
    "$python" -c 'import json, sys, urllib.parse, urllib.request
board = json.load(open(sys.argv[1]))
query, = [query for query in board["annotations"]["list"] if query["name"] == "Deliveries overdue"]
defaults = dict(("$" + variable["name"], variable["current"]["value"]) for variable in board["templating"]["list"])
defaults.update(("$" + name, value) for name, value in (setting.split("=", 1) for setting in sys.argv[4:]))
tags = [defaults.get(tag, tag) for tag in query["target"]["tags"]]
url = sys.argv[2] + "/api/annotations?" + urllib.parse.urlencode([("tags", tag) for tag in tags] + [("type", "annotation")])
found = json.load(urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": "Bearer " + sys.argv[3]}), timeout=30))
print(" ".join(sorted(tag.split(":", 1)[1] for row in found for tag in row["tags"] if tag.startswith("delivery-name:"))))' \
        "$dashboard" "${urls[$1]}" "${@:2}"
}

warns() {  # warns TEXT: a warning says TEXT (Ansible wraps warnings at 80 columns)
    tr -s ' \n' ' ' <"$output" | grep -qF -- "$1" || { tail -n 60 "$output" >&2; fail "no warning says: $1"; }
}

# Grafana's own JSON error for a failed render (pkg/api/response: {"message": ...}).
render_failed='{"path": "/api/reports/email", "mode": "status", "status": 500, "message": "Failed to generate PDF"'
sim dev POST /_sim/faults "$render_failed, \"count\": 2}" >/dev/null
sim staging POST /_sim/faults "$render_failed}" >/dev/null
sim prod POST /_sim/faults '{"path": "/api/reports/email", "mode": "hang", "seconds": 4, "count": 1}' >/dev/null

echo "== deliver: dev sends on the third attempt, staging and prod fail"
started=$(date +%s.%N)
run_failing "deliver" ansible-playbook -i "$work/inventory" reportops.grafana.deliver -v
took=$("$python" -c "import sys, time; print(round(time.time() - float(sys.argv[1]), 1))" "$started")
echo "deliver run took ${took}s"
contains '"dev: 1 sent"'
contains '"staging: 1 failed | weekly-slo FAILED: Grafana failed on report 1 (HTTP 500: Failed to generate PDF)'
contains '3 attempts in all (render_retries: 2)'
contains '"prod: 1 failed | weekly-slo FAILED: Grafana did not answer within 2s for report 1. Grafana may still render and send report 1, so the request was not retried'
equals "dev send attempts" "$(count dev 'POST /api/reports/email')" 3
equals "staging send attempts" "$(count staging 'POST /api/reports/email')" 3
equals "prod send attempts (a timeout is not retried)" "$(count prod 'POST /api/reports/email')" 1
for env in dev staging prod; do
    equals "$env outcome records" "$(count $env 'POST /api/annotations')" 1
done
equals "dev mails" "$(sim dev GET /_sim/outbox | "$python" -c 'import json, sys; print(len(json.load(sys.stdin)))')" 1

echo "== the module lists exactly those outcomes"
cat >"$work/inventory/host_vars/dev.yml" <<'VARS'
expected: {outcome: sent, attempts: 3, message: Report was sent}
VARS
cat >>"$work/inventory/host_vars/prod.yml" <<'VARS'
expected: {outcome: failed, attempts: 1, message: may still render and send}
VARS
cat >"$work/inventory/host_vars/staging.yml" <<'VARS'
expected: {outcome: failed, attempts: 3, message: "HTTP 500: Failed to generate PDF"}
VARS
run "check the records" ansible-playbook -i "$work/inventory" files/check_history.yml

echo "== the history entry point: one line per environment and delivery, and a summary"
run "history" ansible-playbook -i "$work/inventory" reportops.grafana.history
contains '"dev weekly-slo: sent at '
contains ' (3 attempts), 0 failed in the window"'
contains '"staging weekly-slo: failed at '
contains ' (3 attempts), 1 failed in the window | FAILED: Grafana failed on report 1'
contains '"prod weekly-slo: failed at '
contains ' (1 attempt), 1 failed in the window | FAILED: Grafana did not answer within 2s'
contains '"3 environments, 3 deliveries: 2 failed (staging weekly-slo, prod weekly-slo)"'
run_failing "history, fail_on_failed" ansible-playbook -i "$work/inventory" reportops.grafana.history \
    -e report_delivery_history_fail_on_failed=true
# Each environment whose delivery failed fails on its own host, not on the host that gathered the history.
recap dev 0
recap staging 1
recap prod 1
contains '"msg": "staging: 1 delivery failed and not sent since (weekly-slo); the lines above say why."'
contains '"msg": "prod: 1 delivery failed and not sent since (weekly-slo); the lines above say why."'

echo "== failed, then recovered: staging sends now, and no longer counts as failed"
sim staging DELETE /_sim/faults >/dev/null
# As an AWX/AAP job: the record names it.
run "deliver staging again" ansible-playbook -i "$work/inventory" reportops.grafana.deliver --limit staging \
    -e awx_job_id=4711 -e '{"awx_job_template_name": "Deliver reports"}'
contains '"staging: 1 sent"'
run "history of staging, ad hoc" env GRAFANA_TOKEN=staging-history-token-2222 ansible localhost \
    -m reportops.grafana.grafana_report_history -a "url=${urls[staging]} since=1h outcome=sent"
contains '"counts": {'
contains '"id": 4711,'
contains '"template": "Deliver reports"'
run_failing "history, fail_on_failed, after staging recovered" ansible-playbook -i "$work/inventory" reportops.grafana.history \
    -e report_delivery_history_fail_on_failed=true
contains '"staging weekly-slo: sent at '
contains ' (1 attempt), 1 failed in the window"'
recap prod 1
recap staging 0

echo "== overdue (issue 34): a delivery that never ran, from the deliveries' every, fails its own environment"
# never-run is expected hourly in staging and never ran: first expected at the start of the 2h window, due an hour
# later, overdue 15m (a quarter of the period) after that. weekly-slo went out in dev and staging within its day.
overdue_deliveries='{"report_delivery_deliveries": [{"name": "weekly-slo", "report": "Weekly SLO", "emails": ["ops@example.com"], "every": "1d"}, {"name": "never-run", "report": "Weekly SLO", "emails": ["ops@example.com"], "every": "1h", "environments": ["staging"]}]}'
# Check mode says it would record the overdue period, and writes nothing.
run_failing "history, overdue, check mode" ansible-playbook -i "$work/inventory" reportops.grafana.history -e "$overdue_deliveries" \
    -e report_delivery_history_since=2h -e report_delivery_history_fail_on_failed=true --check
recap staging 1 1
marked=$(on_dashboard staging staging-history-token-2222)
equals "overdue records after check mode" "$marked" ""
run_failing "history, overdue" ansible-playbook -i "$work/inventory" reportops.grafana.history -e "$overdue_deliveries" \
    -e report_delivery_history_since=2h -e report_delivery_history_fail_on_failed=true
recap staging 1 1
recap dev 0 0
contains '"staging never-run: no record in the window | OVERDUE: no confirmed send since it was first expected at '
contains ' (the start of the window); due at '
contains ' (every 1h, grace 15m), overdue since '
contains '"msg": "staging: 1 delivery failed or overdue, and not sent since (never-run); the lines above say why."'
if grep -q '"dev weekly-slo: .*OVERDUE' "$output"; then fail "dev weekly-slo, sent within its day, is overdue"; fi
recap prod 1
# The dashboard shows the missed period: the history wrote it as an overdue record, once (a run in the same period,
# with its window moved on, writes nothing and lists it).
marked=$(on_dashboard staging staging-history-token-2222)
equals "deliveries overdue on staging's dashboard" "$marked" "never-run"
# Filtered by its report: never-run has no record to take it from, so it is the report its delivery names (Weekly SLO, id 1).
marked=$(on_dashboard staging staging-history-token-2222 report=report:1)
equals "deliveries overdue on staging's dashboard, report:1" "$marked" "never-run"
marked=$(on_dashboard staging staging-history-token-2222 report=report:2)
equals "deliveries overdue on staging's dashboard, report:2" "$marked" ""
marked=$(on_dashboard dev dev-history-token-1111)
equals "deliveries overdue on dev's dashboard" "$marked" ""
run_failing "history, overdue again" ansible-playbook -i "$work/inventory" reportops.grafana.history -e "$overdue_deliveries" \
    -e report_delivery_history_since=2h -e report_delivery_history_fail_on_failed=true
recap staging 1 0
contains '"staging never-run: overdue at '
contains ' (1 period missed), 0 failed in the window | OVERDUE: no confirmed send in the window, as recorded when it first became overdue; due at '
marked=$(on_dashboard staging staging-history-token-2222)
equals "deliveries overdue on staging's dashboard, after a second run" "$marked" "never-run"
# The history reads the records anyway; main says what is wrong with the deliveries.
run "history, a bad every" ansible-playbook -i "$work/inventory" reportops.grafana.history \
    -e '{"report_delivery_deliveries": [{"name": "weekly-slo", "report": "Weekly SLO", "emails": ["ops@example.com"], "every": "weekly"}]}'
contains '"dev weekly-slo: sent at '
run_failing "deliver, a bad every" ansible-playbook -i "$work/inventory" reportops.grafana.deliver --limit dev \
    -e '{"report_delivery_deliveries": [{"name": "weekly-slo", "report": "Weekly SLO", "emails": ["ops@example.com"], "every": "weekly"}]}'
contains "delivery 'weekly-slo': every must be an interval such as 90s, 30m, 12h, 7d or 1h30m, got 'weekly'."

echo "== the Grafana ledger's record of a send is the outcome record: no second annotation"
sim dev POST /_sim/reset '{}' >/dev/null
run "deliver with the Grafana ledger" ansible-playbook -i "$work/inventory" reportops.grafana.deliver --limit dev \
    -e report_delivery_ledger=grafana -e '{"report_delivery_deliveries": [{"name": "weekly-slo", "report": "Weekly SLO", "emails": ["ops@example.com"], "delivery_key": "w49"}]}'
contains '"dev: 1 sent"'
equals "dev annotations created (the claim only)" "$(count dev 'POST /api/annotations')" 1
equals "dev annotations patched (the claim becomes the record)" "$(count dev 'PATCH /api/annotations/')" 1
run "history of dev, ad hoc" env GRAFANA_TOKEN=dev-history-token-1111 ansible localhost \
    -m reportops.grafana.grafana_report_history -a "url=${urls[dev]} since=1h"
contains '"sent": 1'
contains '"report_id": "1"'

echo "== a token without annotation permissions: the send works, the record is a warning"
run "deliver without annotation permissions" env ANSIBLE_FORCE_COLOR=0 ansible-playbook -i "$work/locked-inventory" reportops.grafana.deliver -vvv
contains '"locked: 1 sent"'
# Sent with the other environments on the controller, so the warning names its environment.
warns "[WARNING]: locked: Delivery 'weekly-slo': report 1 was sent, but Grafana did not store its outcome record (history: grafana): Access to the outcome record was denied (HTTP 403"
warns "the credentials need the annotations:create (scope annotations:type:organization) permission."
equals "locked sends" "$(count locked 'POST /api/reports/email')" 1

echo "== a send by report id, then history by the report's name: found, and fail_on_failed fails on it (issue 25)"
sim dev POST /_sim/reset '{}' >/dev/null
sim dev POST /_sim/faults "$render_failed, \"count\": 1}" >/dev/null
run_failing "send by id" env GRAFANA_TOKEN=dev-history-token-1111 ansible localhost -m reportops.grafana.grafana_report_send \
    -a "url=${urls[dev]} report_id=1 emails=ops@example.com history=grafana render_retries=0"
history_adhoc() {  # history_adhoc run|run_failing ENV TOKEN ARGS: grafana_report_history ad hoc on ENV, since 1h
    "$1" "history of $2, ad hoc: ${*:4}" env GRAFANA_TOKEN="$3" ansible localhost -m reportops.grafana.grafana_report_history \
        -a "url=${urls[$2]} since=1h ${*:4}"
}
history_adhoc run dev dev-history-token-1111 "report='Weekly SLO'"
contains '"failed": 1'
contains '"report": null'
history_adhoc run_failing dev dev-history-token-1111 "report='Weekly SLO' fail_on_failed=true"
contains "1 delivery failed in the window and was not sent since: report 1 at "
contains "HTTP 500: Failed to generate PDF"

echo "== a listing that repeats rows: the counts equal the records (issue 25)"
for send in 1 2; do
    run "send $send to repeat" env GRAFANA_TOKEN=repeat-history-token-5555 ansible localhost -m reportops.grafana.grafana_report_send \
        -a "url=${urls[repeat]} report_id=1 emails=ops@example.com history=grafana"
done
"$python" - "${urls[repeat]}" <<'PY'
import json, sys, time, urllib.request
def call(method, path, body=None):
    request = urllib.request.Request(sys.argv[1] + path, data=json.dumps(body).encode() if body else None, method=method,
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer repeat-history-token-5555"})
    return json.load(urllib.request.urlopen(request, timeout=30))
now = int(time.time() * 1000)
# Counted by Find's first query (no access filter), unreadable for this token: its pages then repeat the rows.
call("POST", "/api/annotations", {"dashboardUID": "slo-overview", "time": now, "timeEnd": now, "tags": ["reportops.grafana"], "text": "x"})
call("PATCH", "/_sim/settings", {"annotations_visible_dashboards": 1000})
ids = [row["id"] for row in call("GET", "/api/annotations?tags=reportops.grafana&type=annotation&limit=1000")]
assert len(ids) > len(set(ids)), "the simulator did not repeat rows: %s" % ids
PY
history_adhoc run repeat repeat-history-token-5555
contains '"sent": 2'
equals "records listed" "$(grep -c '"outcome": "sent"' "$output")" 2

echo "report_delivery_history: all checks passed"
