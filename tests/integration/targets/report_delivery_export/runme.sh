#!/usr/bin/env bash
# shellcheck disable=SC2154  # work and python are set by simulator.sh
# Copy reports between environments: the playbook reportops.grafana.export_definitions writes the
# reports of a simulated staging Grafana (one made in the UI, with a variable as a string, as
# Grafana's reporting docs show it) as report_delivery_definitions; reportops.grafana.definitions
# applies them to staging (no write) and to an empty prod (equal reports, read back and exported
# again); a second apply writes nothing. Then the round trip of one field, a Grafana 10.2 that
# does not keep a field, Grafana 13's settings, and bad input that sends no request.
# No `set -x`: it would print the credentials that these checks look for.
set -eu
source ../setup_simulator/files/simulator.sh
source ../setup_simulator/files/checks.sh
# shellcheck disable=SC2034  # read by checks.sh
output="$work/output.log"
# shellcheck disable=SC2034  # read by checks.sh
secrets=(staging-export-token-2222 prod-export-token-3333 old-export-token-4444 new-export-token-5555)

declare -A urls tokens
for env in staging prod old grafana13; do
    start_simulator "$env" --config "files/$env.json"
    urls[$env]="$SIM_URL"
done
tokens=([staging]=staging-export-token-2222 [prod]=prod-export-token-3333 [old]=old-export-token-4444 [grafana13]=new-export-token-5555)

mkdir -p "$work/inventory"
cat >"$work/inventory/hosts.yml" <<INVENTORY
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: $python
  hosts:
    staging:
      report_delivery_url: ${urls[staging]}
      report_delivery_token: ${tokens[staging]}
    prod:
      report_delivery_url: ${urls[prod]}
      report_delivery_token: ${tokens[prod]}
INVENTORY

api() {  # api ENV METHOD PATH [JSON BODY]: prints Grafana's JSON answer
    "$python" -c 'import json, sys, urllib.request
data = sys.argv[4].encode() if len(sys.argv) > 4 else None
request = urllib.request.Request(sys.argv[1] + sys.argv[3], method=sys.argv[2], data=data,
                                 headers={"Authorization": "Bearer " + sys.argv[5], "Content-Type": "application/json"})
print(json.dumps(json.load(urllib.request.urlopen(request, timeout=30)), sort_keys=True))' \
        "${urls[$1]}" "$2" "$3" "${4:-}" "${tokens[$1]}"
}

stat() {  # stat ENV writes|requests: the POST, PUT and DELETE requests (or all requests) the simulator of ENV received
    "$python" -c 'import json, sys, urllib.request
stats = json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/stats", timeout=30))
print(stats["requests"] if sys.argv[2] == "requests" else
      sum(count for route, count in stats["by_route"].items() if route.split()[0] in ("POST", "PUT", "DELETE")))' "${urls[$1]}" "$2"
}

adhoc() {  # adhoc ENV MODULE JSON-ARGS: one module run against ENV, connection from the environment
    GRAFANA_URL="${urls[$1]}" GRAFANA_TOKEN="${tokens[$1]}" \
        ansible localhost -e "ansible_python_interpreter=$python" -m "reportops.grafana.$2" -a "$3"
}

export_definitions() {  # export_definitions ENV FILE
    ansible-playbook -i "$work/inventory" reportops.grafana.export_definitions --limit "$1" -e "report_delivery_export_path=$2"
}

apply=(ansible-playbook -i "$work/inventory" reportops.grafana.definitions)

echo "== export staging: reads only"
run "export staging" export_definitions staging "$work/staging.yml"
equals "staging writes after the export" "$(stat staging writes)" 0
"$python" - "$work/staging.yml" <<'CHECK' || fail "the exported file is not the definitions expected"
import sys, yaml
definitions = yaml.safe_load(open(sys.argv[1]))["report_delivery_definitions"]
assert [item["name"] for item in definitions] == ["Report 2", "Capacity every 2 weeks", "Month end"], definitions
ui, capacity, month = definitions
assert ui["dashboards"] == [{"uid": "7MeksYbmk", "time_range": {"from": "", "to": ""}, "variables": {"namefilter": ["TestData"]}}], ui
assert ui["schedule"] == {"frequency": "once", "start": "2022-10-02T00:00:00+02:00", "time_zone": "Europe/Warsaw"}, ui
assert capacity["reply_to"] == ["noc@example.com", "sre@example.com"] and capacity["paused"] is True, capacity
assert capacity["schedule"] == {"frequency": "custom", "start": "2030-01-06T03:00:00-05:00", "end": "2031-01-06T03:00:00-05:00",
                                "time_zone": "America/New_York", "interval_amount": 2, "interval_unit": "weeks"}, capacity
assert capacity["dashboards"][0]["variables"] == {"region": ["eu", "us"], "cluster": ["main"]}, capacity
assert month["schedule"]["last_day_of_month"] is True, month
CHECK

echo "== apply the export to staging itself: nothing changes, nothing is written"
run "apply to staging" "${apply[@]}" --limit staging -e "@$work/staging.yml"
contains '"staging: 3 unchanged"'
equals "staging writes" "$(stat staging writes)" 0

echo "== apply it to prod: equal reports"
run "apply to prod" "${apply[@]}" --limit prod -e "@$work/staging.yml"
contains '"prod: 3 created"'
equals "prod writes" "$(stat prod writes)" 3
run "export prod" export_definitions prod "$work/prod.yml"
diff "$work/staging.yml" "$work/prod.yml" >&2 || fail "prod's reports, read back and exported, differ from staging's"

echo "== apply again: nothing is written"
run "apply to prod again" "${apply[@]}" --limit prod -e "@$work/staging.yml"
contains '"prod: 3 unchanged"'
equals "prod writes after the second apply" "$(stat prod writes)" 3

echo "== a report made in the UI, updated in one field, keeps every other field in Grafana's form"
before="$(api staging GET /api/reports/2)"
run "update one field" adhoc staging grafana_report '{"name": "Report 2", "recipients": ["new@example.com"]}'
contains '"changed_fields": ['
after="$(api staging GET /api/reports/2)"
sent="$("$python" -c 'import json, sys, urllib.request
log = json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/requests", timeout=30))
print(json.dumps([record["body"] for record in log if record["method"] == "PUT"]))' "${urls[staging]}")"
"$python" - "$before" "$sent" "$after" <<'CHECK' || fail "the update changed more than the recipients"
import json, sys
before, sent, after = (json.loads(text) for text in sys.argv[1:])
# The one PUT is the report as Grafana gave it, with only the recipients changed.
assert sent == [dict(before, recipients="new@example.com")], (before, sent)
assert after["recipients"] == "new@example.com" and after["dashboards"][0]["reportVariables"] == {"namefilter": "TestData"}, after
CHECK
run "the same again" adhoc staging grafana_report '{"name": "Report 2", "recipients": ["new@example.com"]}'
contains '"changed": false'
equals "staging writes after the update" "$(stat staging writes)" 1

echo "== a field this Grafana does not keep fails the task, naming the field and the version"
run_failing "subject on Grafana 10.2" adhoc old grafana_report \
    '{"name": "Old one", "recipients": ["a@example.com"], "dashboards": [{"uid": "d"}], "subject": "Weekly"}'
contains "Grafana 10.2.0 did not keep what the report 'Old one' (id 1) was created with: subject: asked for 'Weekly', Grafana kept ''"
run "the other fields stuck" adhoc old grafana_report '{"name": "Old one", "recipients": ["a@example.com"], "dashboards": [{"uid": "d"}]}'
contains '"changed": false'

echo "== Grafana 13 settings the module does not manage are kept"
api grafana13 POST /api/reports/settings "$(cat ../../../simulator/fixtures/grafana_docs/settings_grafana13.json)" >/dev/null
settings13() {
    api grafana13 GET /api/reports/settings | "$python" -c 'import json, sys
settings = json.load(sys.stdin)
print(json.dumps([settings[key] for key in ("pdfHeaderEnabled", "pdfTimeRangeEnabled", "pdfDashboardTitleEnabled", "footerFontFamily", "footerItems")]))'
}
kept="$(settings13)"
run "change the footer text" adhoc grafana13 grafana_report_settings '{"email_footer_text": "Sent by SRE"}'
contains '"changed": true'
equals "Grafana 13 fields after the change" "$(settings13)" "$kept"
run "the same again" adhoc grafana13 grafana_report_settings '{"email_footer_text": "Sent by SRE"}'
contains '"changed": false'
equals "grafana13 writes" "$(stat grafana13 writes)" 2

echo "== bad input for the new options fails before any request"
requests="$(stat prod requests)"
run_failing "bad test_email_recipients" adhoc prod grafana_report \
    '{"name": "Report 2", "send_test_email": true, "test_email_recipients": ["nope"]}'
contains "test_email_recipients has 1 invalid address(es): 'nope'"
run_failing "bad reply_to" adhoc prod grafana_report '{"name": "Report 2", "reply_to": ["a@example.com", "nope"]}'
contains "reply_to has 1 invalid address(es): 'nope'"
run_failing "test_email_recipients without send_test_email" adhoc prod grafana_report \
    '{"name": "Report 2", "test_email_recipients": ["me@example.com"]}'
contains "test_email_recipients needs send_test_email=true"
equals "prod requests after bad input" "$(stat prod requests)" "$requests"

echo "report_delivery_export: all checks passed"
