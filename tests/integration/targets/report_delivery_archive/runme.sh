#!/usr/bin/env bash
# shellcheck disable=SC2154  # work and python are set by ../setup_simulator/files/simulator.sh
# Role reportops.grafana.report_delivery, entry point main, with report_delivery_archive_dir and
# report_delivery_archive_keep, against two simulated environments (staging and prod: the same report
# names with other ids and other variables). No `set -x`: it would print the credentials.
set -eu
# $python, $work (removed at exit with the simulators) and start_simulator.
source ../setup_simulator/files/simulator.sh
output="$work/output.log"
secrets=(staging-secret-token-4444 prod-secret-token-5555)
declare -A urls

fail() {
    echo "FAILED: $*" >&2
    grep -E '^(fatal|failed|ERROR)' "$output" | cut -c1-1500 >&2 || true
    tail -n 40 "$output" >&2
    exit 1
}

no_secrets() {  # no_secrets FILE...: no credential in these files
    local secret file
    for file in "$@"; do
        for secret in "${secrets[@]}"; do
            if grep -aq -- "$secret" "$file"; then fail "a credential appears in $file"; fi
        done
    done
}

renders() {  # renders ENV: how many renders ENV's simulator answered
    "$python" -c 'import json, sys, urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/stats"))["renders"])' "${urls[$1]}"
}

for env in staging prod; do
    start_simulator "sim-$env" --config "files/$env.json"
    urls[$env]="$SIM_URL"
done
mkdir -p "$work/inventory/group_vars/all"
cat >"$work/inventory/hosts.yml" <<INVENTORY
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: $python
    report_delivery_ledger_path: $work/ledger.json
  hosts:
    staging:
      report_delivery_url: ${urls[staging]}
      report_delivery_token: staging-secret-token-4444
    prod:
      report_delivery_url: ${urls[prod]}
      report_delivery_token: prod-secret-token-5555
INVENTORY
cat >"$work/inventory/group_vars/all/deliveries.yml" <<'DELIVERIES'
report_delivery_deliveries:
  - name: weekly-slo
    report: Weekly SLO
    emails: sre@example.com
  - name: capacity
    report: Daily Capacity
    use_emails_from_report: true
  - name: staging-only
    report: Weekly SLO
    emails: qa@example.com
    environments: [staging]
DELIVERIES
deliver=(ansible-playbook -i "$work/inventory" reportops.grafana.deliver -e "report_delivery_archive_dir=$work/archive"
         -e report_delivery_archive_keep=2)

echo "== three runs, one second apart, keeping two reports per delivery"
for run in 1 2 3; do
    # -vvv: module arguments and results are printed, and must not hold a credential.
    "${deliver[@]}" -vvv >"$output" 2>&1 || fail "run $run (exit $?)"
    no_secrets "$output"
    sleep 1.1
done
grep -qF '"staging: 3 sent"' "$output" || fail "staging did not send its three deliveries"
grep -qF '"prod: 2 sent"' "$output" || fail "prod did not send its two deliveries"
[ "$(renders staging)" = 9 ] || fail "staging rendered $(renders staging) times, expected 9 (3 deliveries x 3 runs)"
[ "$(renders prod)" = 6 ] || fail "prod rendered $(renders prod) times, expected 6"
for folder in staging/weekly-slo staging/capacity staging/staging-only prod/weekly-slo prod/capacity; do
    count="$(find "$work/archive/$folder" -name '*.pdf' | wc -l)"
    [ "$count" = 2 ] || fail "$folder holds $count reports, expected 2 (report_delivery_archive_keep)"
    newest="$(find "$work/archive/$folder" -name '*.pdf' | sort | tail -n 1)"
    [[ "$(basename "$newest")" =~ ^[0-9]{8}T[0-9]{6}Z\.pdf$ ]] || fail "unexpected file name $newest"
    grep -qF -- "$folder -> $newest (1 pages," "$output" \
        || grep -qF -- "${folder%%/*}: ${folder#*/} -> $newest (1 pages," "$output" || fail "the summary does not name $newest"
    [ "$(stat -c %a "$newest")" = 640 ] || fail "$newest is not 0640"
    no_secrets "$newest"
done
[ ! -e "$work/archive/prod/staging-only" ] || fail "prod archived a delivery it does not send"
grep -aqF "Variable env = prod" "$(find "$work/archive/prod/weekly-slo" -name '*.pdf' | sort | tail -n 1)" \
    || fail "prod's archive does not hold prod's report"
grep -aqF "Variable env = staging" "$(find "$work/archive/staging/weekly-slo" -name '*.pdf' | sort | tail -n 1)" \
    || fail "staging's archive does not hold staging's report"
[ "$(stat -c %a "$work/archive/prod")" = 750 ] || fail "the archive's folders are not 0750"
touch "$work/archive/prod/capacity/notes.txt"

echo "== check mode archives nothing"
before="$(find "$work/archive" -type f | sort)"
"${deliver[@]}" --check >"$output" 2>&1 || fail "check mode (exit $?)"
[ "$(find "$work/archive" -type f | sort)" = "$before" ] || fail "check mode changed the archive"

echo "== renders that fail after the sends fail the environment, and the sends still count"
# Only the archive's renders fail (a renderer gone between the sends and the renders): Grafana's own 500 of a render.
fault='{"path": "/api/reports/render/pdfs", "mode": "status", "status": 500, "message": "Failed to render report: rendering plugin not available"}'
"$python" -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/_sim/faults", data=sys.argv[2].encode(), method="POST", headers={"Content-Type": "application/json"}))' "${urls[prod]}" "$fault"
if "${deliver[@]}" >"$output" 2>&1; then fail "a run without renderer succeeded"; fi
no_secrets "$output"
grep -qF '"prod: 2 sent"' "$output" || fail "prod's sends are not in the summary"
grep -qF "prod: weekly-slo not archived: Grafana could not render" "$output" || fail "the summary does not say why prod kept nothing"
grep -Eq '^staging +: .*failed=0' "$output" || fail "staging failed"
[ -e "$work/archive/prod/capacity/notes.txt" ] || fail "pruning removed a file that is not an archived report"

echo "report_delivery_archive: all checks passed"
