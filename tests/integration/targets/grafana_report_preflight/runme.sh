#!/usr/bin/env bash
# shellcheck disable=SC2154  # work and python are set by simulator.sh
# grafana_report_preflight against simulated Grafanas, one per case of issue 24: healthy Enterprise, Grafana 13
# without a renderer, an OSS build, annotations readable on dashboards only with ledger: grafana, Grafana's clock
# two minutes ahead, a missing report, an expired licence, a send-only token with report names; and of issue 32: a
# silent and an old renderer, SMTP off (read by a server admin, unknown to an organization token), a licence without
# expiry whose reports answer, history with annotations read and create only, a permission granted late, a proxy's
# clock, the dashboard's permissions by what exists, an unreachable Grafana as one line. Every run at -vvv: no write
# request reaches Grafana and no token appears in the output.
# No `set -x`: it would print the credentials that these checks look for.
set -eu
source ../setup_simulator/files/simulator.sh
source ../setup_simulator/files/checks.sh
output="$work/output.log"
# shellcheck disable=SC2034  # read by checks.sh
secrets=(preflight-token-full-1111 preflight-token-dashboard-2222 preflight-token-send-only-3333
         preflight-token-server-admin-4444 preflight-token-history-5555 preflight-token-late-6666
         preflight-token-dashboards-7777)

start() {  # start NAME VERSION: a simulator with files/grafana.json; sets SIM_URL
    sed -e "s/VERSION/$2/" files/grafana.json >"$work/$1.json"
    start_simulator "$1" --config "$work/$1.json"
}

sim() {  # sim METHOD PATH [BODY]: a control request to $SIM_URL; prints the JSON answer
    "$python" -c 'import json, sys, urllib.request
data = sys.argv[4].encode() if len(sys.argv) > 4 else None
request = urllib.request.Request(sys.argv[1] + sys.argv[3], data=data, method=sys.argv[2], headers={"Content-Type": "application/json"})
print(json.dumps(json.load(urllib.request.urlopen(request, timeout=30))))' "$SIM_URL" "$@"
}

read_only() {  # read_only: the simulator's log holds GET requests only, and no mail was sent
    local writes
    writes=$(sim GET /_sim/requests | "$python" -c 'import json, sys
print(" ".join("%s %s" % (r["method"], r["path"]) for r in json.load(sys.stdin) if r["method"] != "GET"))')
    equals "write requests" "$writes" ""
    equals "mails" "$(sim GET /_sim/outbox | "$python" -c 'import json, sys; print(len(json.load(sys.stdin)))')" 0
}

renders() {  # renders: render requests the simulator received
    sim GET /_sim/stats | "$python" -c 'import json, sys
print(sum(n for route, n in json.load(sys.stdin)["by_route"].items() if route.startswith("GET /api/reports/render/")))'
}

preflight() {  # preflight TOKEN ARGS: the module at -vvv, ad hoc, credentials in the environment
    local token="$1"
    shift
    env GRAFANA_URL="$SIM_URL" GRAFANA_TOKEN="$token" ANSIBLE_NOCOLOR=1 \
        ansible localhost -vvv -m reportops.grafana.grafana_report_preflight -a "$*"
}

warns() {  # warns TEXT: a warning about $SIM_URL's Grafana says TEXT (Ansible wraps warnings at 80 columns)
    tr -s ' \n' ' ' <"$output" | grep -qF -- "[WARNING]: $SIM_URL, $1" || { tail -n 60 "$output" >&2; fail "no warning says: $1"; }
}

status() {  # status CHECK STATUS: the output's checks give CHECK this STATUS
    contains "\"name\": \"$1\","
    tr -d '\n' <"$output" | grep -qE "\"name\": \"$1\", +\"status\": \"$2\"" || { tail -n 80 "$output" >&2; fail "$1 is not $2"; }
}

delivery='{"deliveries": [{"name": "weekly-slo", "report": "Weekly SLO", "use_emails_from_report": true, "delivery_key": "w1"}, {"name": "capacity", "report_id": 2, "emails": ["ops@example.com"]}]'

echo "== healthy Grafana Enterprise, an organization's token: every check ok but SMTP, which it cannot read (skipped,"
echo "   how to verify it); render: true renders each report once and sends nothing; permissions read fresh"
start healthy 11.5.0
run "healthy" preflight preflight-token-full-1111 "$delivery, \"ledger\": \"grafana\", \"history\": \"grafana\", \"render\": true}"
for check in connection edition licence reporting renderer clock permissions:send permissions:names permissions:ledger \
        permissions:history report:weekly-slo report:capacity render:weekly-slo render:capacity; do
    status "$check" ok
done
status smtp skipped
contains "SMTP could not be verified: GET /api/admin/settings needs settings:read"
contains "send_test_email: true"
if grep -qE '"status": "(warn|fail)"' "$output"; then fail "a check of the healthy Grafana warns or fails"; fi
equals "skipped checks" "$(grep -cE '"status": "skipped"' "$output")" 1
equals "permission reads without reloadcache" "$(sim GET /_sim/requests | "$python" -c 'import json, sys
print(sum(1 for r in json.load(sys.stdin) if r["path"] == "/api/access-control/user/permissions"
          and r["query"].get("reloadcache") != ["true"]))')" 0
contains '"changed": false'
contains '"edition": "Enterprise"'
contains '"renderer_version": "4.0.0"'
contains "rendered in "
equals "renders" "$(renders)" 2
read_only

echo "== Grafana 13 without a renderer: fails, naming the rendering service"
start no-renderer 13.0.0
sim PATCH /_sim/settings '{"renderer": "missing"}' >/dev/null
run_failing "no renderer" preflight preflight-token-full-1111 "$delivery}"
status renderer fail
contains "Grafana 13 removed the image renderer plugin: run the rendering service (grafana-image-renderer) and set [rendering] server_url"
read_only

echo "== an Open Source build: fails, naming Enterprise"
start oss 11.5.0
sim PATCH /_sim/settings '{"edition": "Open Source"}' >/dev/null
run_failing "oss" preflight preflight-token-full-1111 "$delivery}"
status edition fail
status report:weekly-slo skipped
contains "reports need Grafana Enterprise"
read_only

echo "== annotations readable on dashboards only, with ledger: grafana: fails, naming annotations:read and its scope"
start dashboard-annotations 11.5.0
run_failing "dashboard annotations" preflight preflight-token-dashboard-2222 "$delivery, \"ledger\": \"grafana\"}"
status permissions:ledger fail
status permissions:send ok
contains "annotations:read with scope annotations:type:organization (it holds annotations:type:dashboard only), which ledger: grafana needs"
read_only

echo "== Grafana's clock two minutes ahead, with the Grafana ledger: the clock check says so"
start clock 11.5.0
sim PATCH /_sim/settings '{"clock_offset_seconds": 120}' >/dev/null
run_failing "clock" preflight preflight-token-full-1111 "$delivery, \"ledger\": \"grafana\"}"
status clock fail
contains "The Date header's clock (Grafana's, or a proxy's in front of it: nginx sets its own) is 1"
contains "ahead of this host's, more than max_clock_skew (10s); ledger: grafana compares"
# The Date header has whole seconds.
grep -qE '"clock_skew": (119|120|121),' "$output" || fail "clock_skew is not about 120"
read_only

echo "== the same clock, without the Grafana ledger: a warning"
run "clock, file ledger" preflight preflight-token-full-1111 "$delivery}"
status clock warn
warns "clock: The Date header's clock"

echo "== a delivery whose report does not exist: fails, naming it"
start missing-report 11.5.0
run_failing "missing report" preflight preflight-token-full-1111 \
    '{"deliveries": [{"name": "exec", "report": "Exec Summary", "emails": ["board@example.com"]}, {"name": "gone", "report_id": 9, "emails": ["board@example.com"]}]}'
status report:exec fail
status report:gone fail
contains "report 'Exec Summary' does not exist in this Grafana (its reports: Daily Capacity, Weekly SLO)"
contains "report 9 does not exist in this Grafana"
read_only

echo "== an expired licence: says so"
start expired 11.5.0
sim PATCH /_sim/settings '{"license_expiry_days": -3}' >/dev/null
run_failing "expired licence" preflight preflight-token-full-1111 "$delivery}"
status licence fail
contains "The Grafana Enterprise licence expired on "
read_only

echo "== a licence that ends in a week: a warning, the task succeeds"
sim PATCH /_sim/settings '{"license_expiry_days": 7}' >/dev/null
run "licence ends soon" preflight preflight-token-full-1111 "$delivery}"
status licence warn
warns "licence: The Grafana Enterprise licence expires on "

echo "== a send-only token with report names: fails, naming reports:read"
start send-only 11.5.0
run_failing "send-only token" preflight preflight-token-send-only-3333 "$delivery}"
status permissions:names fail
status permissions:send ok
contains "The credentials lack reports:read, which finding the deliveries' reports by name (GET /api/reports) needs"
read_only

echo "== issue 32: Grafana 12 with a rendering service configured that never answered: fails, says so"
start silent-renderer 12.1.0
sim PATCH /_sim/settings '{"renderer": "silent"}' >/dev/null
run_failing "silent renderer" preflight preflight-token-full-1111 "$delivery}"
status renderer fail
contains "rendererVersion is empty, so the rendering service did not answer"
read_only

echo "== issue 32: Grafana 13 with a renderer older than 3.10.0: fails; the same renderer on 11.5 warns"
start old-renderer 13.0.0
sim PATCH /_sim/settings '{"renderer_version": "3.9.0"}' >/dev/null
run_failing "old renderer" preflight preflight-token-full-1111 "$delivery}"
status renderer fail
contains "The renderer is version 3.9.0; Grafana 13 renders report PDFs only with 3.10.0 or later"
read_only
start old-renderer-11 11.5.0
sim PATCH /_sim/settings '{"renderer_version": "3.9.0"}' >/dev/null
run "old renderer on 11.5" preflight preflight-token-full-1111 "$delivery}"
status renderer warn

echo "== issue 32: SMTP off, read by a server admin: fails; read by an organization's token: unknown, not a failure"
start smtp-off 11.5.0
sim PATCH /_sim/settings '{"smtp_enabled": false}' >/dev/null
run_failing "smtp off" preflight preflight-token-server-admin-4444 "$delivery}"
status smtp fail
contains "SMTP is off ([smtp] enabled = false in Grafana's settings): every report send fails"
contains '"smtp_enabled": false'
run "smtp unknown" preflight preflight-token-full-1111 "$delivery}"
status smtp skipped
contains '"smtp_enabled": null'
sim PATCH /_sim/settings '{"smtp_enabled": true}' >/dev/null
run "smtp on" preflight preflight-token-server-admin-4444 "$delivery}"
status smtp ok
read_only

echo "== issue 32: a licence without expiry whose report routes answer: a warning, the task succeeds"
start no-expiry 11.5.0
sim PATCH /_sim/settings '{"license_expiry_known": false}' >/dev/null
run "no licence expiry" preflight preflight-token-full-1111 '{"deliveries": []}'
status licence warn
warns "licence: Grafana does not say when its licence ends (licenseInfo.expiry is 0), as a hosted Grafana may; its report routes answer"
read_only

echo "== issue 32: history with annotations read and create only: ok"
start history 11.5.0
run "history read and create" preflight preflight-token-history-5555 "$delivery, \"history\": \"grafana\"}"
status permissions:history ok
read_only

echo "== issue 32: a permission granted a minute ago counts (the permissions are read with reloadcache)"
start late 11.5.0
run "granted late" preflight preflight-token-late-6666 "$delivery}"
status permissions:send ok
read_only

echo "== issue 32: behind nginx, the clock check names the proxy whose clock it read"
start proxy 11.5.0
sim PATCH /_sim/settings '{"proxy_server": "nginx/1.25.3", "proxy_clock_offset_seconds": -120}' >/dev/null
run "behind nginx" preflight preflight-token-full-1111 "$delivery}"
status clock warn
warns "clock: The Date header's clock (set by nginx/1.25.3 (its Server header) in front of Grafana: the proxy's clock, not Grafana's"

echo "== issue 32: the dashboard's permissions follow what exists: an installed dashboard in an existing folder needs no"
echo "   create permission; a missing folder needs folders:create"
start dashboard 12.1.0
dashboard_args='{"deliveries": [], "features": ["dashboard"], "dashboard_uid": "reportops-report-deliveries", "dashboard_folder": "Reports"}'
run_failing "dashboard, nothing there yet" preflight preflight-token-dashboards-7777 "$dashboard_args"
status permissions:dashboard fail
contains "The credentials lack folders:create; dashboards:create, which the dashboard entry point (grafana_report_dashboard) needs"
read_only
"$python" - "$SIM_URL" <<'PY'
import json, sys, urllib.request
def post(path, body):
    request = urllib.request.Request(sys.argv[1] + path, data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/json", "Authorization": "Bearer preflight-token-server-admin-4444"})
    return json.load(urllib.request.urlopen(request, timeout=30))
folder = post("/api/folders", {"title": "Reports"})
post("/api/dashboards/db", {"dashboard": {"uid": "reportops-report-deliveries", "title": "Report deliveries"},
                            "folderUid": folder["uid"], "overwrite": False})
PY
run "dashboard, installed in its folder" preflight preflight-token-dashboards-7777 "$dashboard_args"
status permissions:dashboard ok

echo "== issue 31: an unreachable Grafana is one check, and the read-only pre-flight does not say 'nothing was sent'"
SIM_URL=http://127.0.0.1:9 run_failing "unreachable" preflight preflight-token-full-1111 "$delivery, \"ledger\": \"grafana\"}"
contains "Grafana could not be read, so nothing else was checked: Could not connect to http://127.0.0.1:9"
equals "checks of an unreachable Grafana" "$(grep -cE '"status": "(ok|warn|fail|skipped)"' "$output")" 1
if grep -qi "nothing was sent" "$output"; then fail "the read-only pre-flight says nothing was sent"; fi

echo "== invalid deliveries fail before any request, with the delivery module's words"
sim POST /_sim/reset '{}' >/dev/null
run_failing "invalid delivery" preflight preflight-token-full-1111 '{"deliveries": [{"name": "x", "report": "Weekly SLO"}]}'
contains "delivery 'x': emails: set exactly one of emails and use_emails_from_report: true"
equals "requests" "$(sim GET /_sim/requests | "$python" -c 'import json, sys; print(len(json.load(sys.stdin)))')" 0

echo "grafana_report_preflight: all checks passed"
