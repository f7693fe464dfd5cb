#!/usr/bin/env bash
# shellcheck disable=SC2154  # work, output, python and urls are set by helpers.sh
# Role reportops.grafana.report_delivery, entry point main (playbook reportops.grafana.deliver),
# against three simulated Grafana environments: dev, staging and prod.
# No `set -x`: it would print the credentials that these checks look for.
set -eu
source ./files/helpers.sh
start_environments

deliver=(ansible-playbook -i "$work/inventory" reportops.grafana.deliver)

echo "== deliver to the three environments"
run "deliver" "${deliver[@]}" -vvv
contains '"dev: 3 sent"'
contains '"staging: 2 sent"'
contains '"prod: 3 sent"'
equals "dev outbox" "$(sim dev outbox)" "1 lead@example.com,sre-dev@example.com
2 capacity@example.com,ops@example.com
3 dev@example.com"
equals "staging outbox" "$(sim staging outbox)" "5 lead@example.com,sre-staging@example.com
6 capacity@example.com,ops@example.com"
equals "prod outbox" "$(sim prod outbox)" "10 capacity@example.com,ops@example.com
9 lead@example.com,sre-prod@example.com
9 oncall@example.com"
no_secrets "$work/ledger.json"
# Without report_delivery_archive_dir, no archive task is even listed (one include, skipped once per environment).
if grep -q "Plan the files of this run" "$output"; then fail "archive tasks ran without an archive"; fi
# The three environments are on this controller: one grafana_report_fleet run sent them all.
equals "fleet module runs" "$(module_runs grafana_report_fleet)" 1
equals "per-environment module runs" "$(module_runs grafana_report_deliver)" 0
# Each still has its own result: changed in the recap, and its records for AWX/AAP in their 0.1.0 shape.
for env in dev staging prod; do grep -Eq "^$env +: .*changed=1 .*failed=0" "$output" || fail "$env is not changed in the recap"; done
contains '"report_delivery": {'
contains '"status": "sent"'
contains '"error": ""'

echo "== deliver again: the ledger skips every delivery"
run "re-deliver" "${deliver[@]}"
contains '"dev: 3 skipped"'
contains '"staging: 2 skipped"'
contains '"prod: 3 skipped"'
equals "dev sends" "$(sim dev sends)" 3
equals "staging sends" "$(sim staging sends)" 2
equals "prod sends" "$(sim prod sends)" 3

for env in dev staging prod; do sim $env reset; done
fresh_ledger=(-e "report_delivery_ledger_path=$work/ledger-2.json")

echo "== --limit prod and report_delivery_only"
run "limit prod" "${deliver[@]}" "${fresh_ledger[@]}" --limit prod -e report_delivery_only=prod-oncall
contains '"prod: 1 sent"'
if grep -q '"dev: ' "$output"; then fail "dev is in the summary of a run limited to prod"; fi
equals "prod outbox" "$(sim prod outbox)" "9 oncall@example.com"
equals "dev sends" "$(sim dev sends)" 0
equals "staging sends" "$(sim staging sends)" 0

run "only two deliveries" "${deliver[@]}" "${fresh_ledger[@]}" -e report_delivery_only=weekly-slo,dev-exec
contains '"dev: 2 sent"'
contains '"staging: 1 sent"'
contains '"prod: 1 sent"'

run_failing "an unknown name in report_delivery_only" "${deliver[@]}" -e report_delivery_only=weekly-sloo
contains "Invalid report_delivery_only: no delivery is named weekly-sloo; did you mean weekly-slo?"
if grep -q "Invalid report_delivery_deliveries" "$output"; then fail "report_delivery_deliveries is blamed for report_delivery_only"; fi

for env in dev staging prod; do sim $env reset; done

echo "== check mode sends nothing, and says what would go to whom"
run "check mode" "${deliver[@]}" -e "report_delivery_ledger_path=$work/ledger-3.json" --check
contains '"dev: 3 checked"'
contains '"staging: 2 checked"'
contains '"prod: 3 checked"'
contains '"dev weekly-slo: would send report '"'Weekly SLO'"' (id 1) to its saved recipients (sre-dev@example.com, lead@example.com)"'
contains '"dev capacity: would send report '"'Daily Capacity'"' (id 2) to ops@example.com, capacity@example.com"'
contains '"prod prod-oncall: would send report '"'Weekly SLO'"' (id 9) to oncall@example.com"'
contains '"dev dev-exec: would send report id 3 to dev@example.com"'
for env in dev staging prod; do equals "$env sends in check mode" "$(sim $env sends)" 0; done

echo "== a failing environment does not stop the others"
sim staging fault '{"path": "/api/reports/email", "mode": "status", "status": 500, "count": 1}'
run_failing "failures" "${deliver[@]}" -e @files/deliveries-failing.yml -e report_delivery_render_retries=0
contains "dev: nothing sent | FAILED: Nothing was sent: delivery 'quarterly': report 'Quarterly Review' does not exist in this Grafana"
contains '"staging: 1 sent, 1 failed | '
contains 'FAILED: Grafana failed on report'
contains '"prod: 2 sent"'
recap dev 1
recap staging 1
recap prod 0
# One line on each failing environment's host, without Ansible's internals; the reason once, in the summary.
contains "fatal: [staging]: FAILED! => {\"changed\": false, \"msg\": \"staging: 1 delivery failed ("
contains "fatal: [dev]: FAILED! => {\"changed\": false, \"msg\": \"dev: nothing was sent; the summary says why.\"}"
if grep -qE '"assertion"|evaluated_to|failed_when_result' "$output"; then fail "a failure shows Ansible's internals"; fi
equals "lines with the reason of staging's failure" "$(count "FAILED: Grafana failed on report")" 1
equals "dev sends" "$(sim dev sends)" 0
equals "prod sends" "$(sim prod sends)" 2

echo "== a report name that exists twice fails before sending"
sim prod reset
run_failing "ambiguous name" "${deliver[@]}" --limit prod \
    -e '{"report_delivery_deliveries": [{"name": "exec", "report": "Exec Summary", "emails": "board@example.com"}]}'
contains "report name 'Exec Summary' matches 2 reports in this Grafana (ids 11, 12)"
equals "prod sends" "$(sim prod sends)" 0

echo "== invalid deliveries fail before sending"
run_failing "invalid deliveries" "${deliver[@]}" --limit dev \
    -e '{"report_delivery_deliveries": [{"name": "bad name", "report": "Weekly SLO", "report_id": 1, "emails": "a@example.com", "schedule": "0 25 * * *"}]}'
contains "the hour field (2nd) has 25, outside 0-23"
contains "report: set exactly one of report (a report name) and report_id"
contains "delivery 'bad name': name must be 1 to 64 letters"

echo "== invalid deliveries, checked once for the run, fail every environment in the recap"
run_failing "invalid deliveries everywhere" "${deliver[@]}" \
    -e '{"report_delivery_deliveries": [{"name": "bad name", "report_id": 1, "emails": "a@example.com"}]}'
for env in dev staging prod; do
    grep -Eq "^$env +: .*failed=1" "$output" || fail "$env is not failed in the recap"
    contains "$env: nothing sent | FAILED: Invalid report_delivery_deliveries: delivery 'bad name': name must be 1 to 64 letters"
done

echo "== a typo in one environment's own deliveries fails that environment alone"
for env in dev staging prod; do sim $env reset; done
cat >"$work/inventory/host_vars/staging.yml" <<VARS
report_delivery_deliveries:
  - name: staging-only
    report: Weekly SLO
    emial: [qa@example.com]
VARS
run_failing "a typo in staging's deliveries" env ANSIBLE_SHOW_CUSTOM_STATS=true "${deliver[@]}" -e "report_delivery_ledger_path=$work/ledger-typo.json"
rm "$work/inventory/host_vars/staging.yml"
recap staging 1
recap dev 0
recap prod 0
contains '"dev: 3 sent"'
contains '"prod: 3 sent"'
contains "\"staging: nothing sent | FAILED: Invalid report_delivery_deliveries: delivery 'staging-only': unknown key emial: did you mean emails?"
# AWX/AAP workflows read `error`: it says why.
contains "\"error\": \"Invalid report_delivery_deliveries: delivery 'staging-only': unknown key emial: did you mean emails?"
equals "staging sends" "$(sim staging sends)" 0

echo "== a typo in a key of the shared deliveries: one short message per environment, summary and statistics still run"
run_failing "a typo in the shared deliveries" env ANSIBLE_SHOW_CUSTOM_STATS=true "${deliver[@]}" \
    -e '{"report_delivery_deliveries": [{"name": "weekly-slo", "report": "Weekly SLO", "use_emails_from_report": true, "min_intervall": "12h"}]}'
for env in dev staging prod; do
    recap $env 1
    contains "\"$env: nothing sent | FAILED: Invalid report_delivery_deliveries: delivery 'weekly-slo': unknown key min_intervall: did you mean min_interval?\""
done
contains '"report_delivery": {'
if grep -q "argument_spec_data\|Supported parameters include" "$output"; then fail "the role's argument spec is shown"; fi
# Once per environment in the summary, once in its statistics: no other copy.
equals "lines naming the wrong key" "$(count "unknown key min_intervall")" 6
[ "$(wc -c <"$output")" -lt 20000 ] || fail "the output of a typo is $(wc -c <"$output") bytes"

echo "== at most report_delivery_concurrency sends at once per environment"
sim dev reset
sim dev settings '{"render_seconds": 3, "render_limit": 10}'
run "concurrency 2" "${deliver[@]}" --limit dev -e @files/deliveries-many.yml -e report_delivery_concurrency=2
contains '"dev: 6 sent"'
equals "dev peak renders with concurrency 2" "$(sim dev peak)" 2
sim dev reset
sim dev settings '{"render_seconds": 3, "render_limit": 10}'
run "default concurrency" "${deliver[@]}" --limit dev -e @files/deliveries-many.yml
contains '"dev: 6 sent"'
peak="$(sim dev peak)"
[ "$peak" -le 4 ] || fail "dev peak renders with the default concurrency: $peak, expected at most 4"

echo "== an environment reached through another connection runs on its own; the others together"
for env in dev staging prod; do sim $env reset; done
printf 'all:\n  hosts:\n    prod:\n      ansible_connection: reportops_jump\n' >"$work/jump.yml"
jump=(ansible-playbook -i "$work/inventory" -i "$work/jump.yml" reportops.grafana.deliver -vvv
      -e "report_delivery_ledger_path=$work/ledger-jump.json")
run "prod through a jump host" env ANSIBLE_CONNECTION_PLUGINS="$PWD/files/connection_plugins" "${jump[@]}"
contains '"dev: 3 sent"'
contains '"staging: 2 sent"'
contains '"prod: 3 sent"'
equals "fleet module runs" "$(module_runs grafana_report_fleet)" 1
equals "per-environment module runs" "$(module_runs grafana_report_deliver)" 1
grep -q '^changed: \[prod\]' "$output" || fail "prod's own run is not changed"
equals "prod outbox through the jump host" "$(sim prod sends)" 3

echo "== report_delivery_fleet: false, one module run per environment"
for env in dev staging prod; do sim $env reset; done
run "no fleet" "${deliver[@]}" -vvv -e report_delivery_fleet=false -e "report_delivery_ledger_path=$work/ledger-nofleet.json"
contains '"dev: 3 sent"'
contains '"staging: 2 sent"'
contains '"prod: 3 sent"'
equals "fleet module runs" "$(module_runs grafana_report_fleet)" 0
equals "per-environment module runs" "$(module_runs grafana_report_deliver)" 3

echo "== HOME is not the passwd home (CI runners, containers, sudo keeping HOME)"
sim dev reset
mkdir -p "$work/elsewhere"
run "another HOME" env HOME="$work/elsewhere" "${deliver[@]}" --limit dev -e "report_delivery_ledger_path=$work/ledger-home.json"
contains '"dev: 3 sent"'
equals "dev sends with another HOME" "$(sim dev sends)" 3
run "another HOME, again" env HOME="$work/elsewhere" "${deliver[@]}" --limit dev -e "report_delivery_ledger_path=$work/ledger-home.json"
contains '"dev: 3 skipped"'

echo "report_delivery_main: all checks passed"
