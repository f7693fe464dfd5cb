#!/usr/bin/env bash
# shellcheck disable=SC2154  # work and python are set by simulator.sh
# Issue 31, "a send that may have been sent is sent again by the next run": role reportops.grafana.report_delivery,
# entry point main, over three simulated environments (dev, staging, qa). qa answers its sends with 504 (a proxy gave
# up; Grafana may still mail the report). The ledger remembers those sends as uncertain: a plain re-run after the
# fault is cleared holds them (no second mail), says when and why with a warning, and
# -e report_delivery_resend_uncertain=true sends them. History lists them as uncertain and fail_on_failed fails on
# them until they are sent. Deliveries without a ledger are sent as before. With ledger: file, then ledger: grafana.
# No `set -x`: it would print the credentials that these checks look for.
set -eu
source ../setup_simulator/files/simulator.sh
source ../setup_simulator/files/checks.sh
output="$work/output.log"
# shellcheck disable=SC2034  # read by checks.sh
secrets=(dev-uncertain-token-1111 staging-uncertain-token-2222 qa-uncertain-token-3333)

declare -A urls tokens=([dev]=dev-uncertain-token-1111 [staging]=staging-uncertain-token-2222 [qa]=qa-uncertain-token-3333)
for env in dev staging qa; do
    sed -e "s/TOKEN/${tokens[$env]}/" files/grafana.json >"$work/$env.json"
    start_simulator "$env" --config "$work/$env.json"
    urls[$env]="$SIM_URL"
done

mkdir -p "$work/inventory/group_vars/all"
cp files/deliveries.yml "$work/inventory/group_vars/all/deliveries.yml"
{
    printf 'all:\n  vars:\n    ansible_connection: local\n    ansible_python_interpreter: %s\n' "$python"
    printf '    report_delivery_ledger_path: %s/ledger.json\n  hosts:\n' "$work"
    for env in dev staging qa; do
        printf '    %s:\n      report_delivery_url: %s\n      report_delivery_token: %s\n' "$env" "${urls[$env]}" "${tokens[$env]}"
    done
} >"$work/inventory/hosts.yml"

sim() {  # sim ENV METHOD PATH [BODY]: a control request of the simulator; prints the JSON answer
    "$python" -c 'import json, sys, urllib.request
data = sys.argv[4].encode() if len(sys.argv) > 4 else None
request = urllib.request.Request(sys.argv[1] + sys.argv[3], data=data, method=sys.argv[2], headers={"Content-Type": "application/json"})
print(json.dumps(json.load(urllib.request.urlopen(request, timeout=30))))' "${urls[$1]}" "${@:2}"
}

mails_to() {  # mails_to ENV ADDRESS: how many mails ENV's outbox holds for ADDRESS
    sim "$1" GET /_sim/outbox | "$python" -c 'import json, sys
print(sum(1 for mail in json.load(sys.stdin) if sys.argv[1] in mail["to"]))' "$2"
}

warns() {  # warns TEXT: a warning says TEXT (Ansible wraps warnings at 80 columns)
    tr -s ' \n' ' ' <"$output" | grep -qF -- "$1" || { tail -n 60 "$output" >&2; fail "no warning says: $1"; }
}

history_of() {  # history_of run|run_failing ENV ARGS...: grafana_report_history ad hoc on ENV, the last hour
    "$1" "history of $2: ${*:3}" env GRAFANA_TOKEN="${tokens[$2]}" ansible localhost -m reportops.grafana.grafana_report_history \
        -a "url=${urls[$2]} since=1h ${*:3}"
}

deliver=(ansible-playbook -i "$work/inventory" reportops.grafana.deliver)
history=(ansible-playbook -i "$work/inventory" reportops.grafana.history)
gateway_timeout='{"path": "/api/reports/email", "mode": "status", "status": 504, "message": "upstream request timeout"}'

scenario() {  # scenario LEDGER: the whole story with report_delivery_ledger=LEDGER
    local ledger="$1" held_by
    local with_ledger=(-e "report_delivery_ledger=$ledger" -e "report_delivery_ledger_path=$work/ledger-$ledger.json")
    if [ "$ledger" = file ]; then held_by="from the ledger file $work/ledger-file.json"; else held_by="(tagged outcome:uncertain) in Grafana"; fi

    echo "== ledger: $ledger: qa's proxy answers every send with 504"
    sim qa POST /_sim/faults "$gateway_timeout" >/dev/null
    run_failing "deliver, qa 504" "${deliver[@]}" "${with_ledger[@]}"
    cp "$output" "$work/run-504-$ledger.log"
    contains '"dev: 3 sent"'
    contains '"staging: 3 sent"'
    recap dev 0
    recap qa 1
    contains 'Grafana may still have sent report 1, so it was not retried.'
    # The run that met it fails as before, and says what the ledger remembered and what the next run will do.
    contains 'The delivery ledger remembers this send as uncertain ('
    contains 'no run sends it again before '
    contains '(min_interval 6d from this attempt) unless it runs with resend_uncertain: true.'
    contains "no later run sends it again (delivery key 'capacity-2026-w49' is sent once) unless it runs with resend_uncertain: true."
    equals "qa mails after the 504s" "$(sim qa GET /_sim/outbox | "$python" -c 'import json, sys; print(len(json.load(sys.stdin)))')" 0

    echo "== ledger: $ledger: history lists the uncertain sends, and fail_on_failed fails on qa"
    history_of run_failing qa fail_on_failed=true
    contains '"uncertain": 2'
    contains '"failed": 1'
    contains '3 deliveries failed in the window (2 of them uncertain: they may have been sent, so the ledger holds them)'
    contains 'weekly-slo at '
    contains ' (uncertain): Grafana or a proxy in front of it failed on report 1 (HTTP 504'
    run_failing "history entry point, fail_on_failed" "${history[@]}" -e report_delivery_history_fail_on_failed=true
    contains "qa weekly-slo"
    contains "qa capacity"
    recap qa 1

    echo "== ledger: $ledger: the fault is cleared; a plain re-run (a timer, a relaunch) holds both, sends the plain one"
    sim qa DELETE /_sim/faults >/dev/null
    run "plain re-run" env ANSIBLE_FORCE_COLOR=0 "${deliver[@]}" "${with_ledger[@]}"
    cp "$output" "$work/run-held-$ledger.log"
    recap qa 0
    contains '"qa: 1 sent, 2 skipped'
    contains '"dev: 1 sent, 2 skipped'
    equals "qa mails of weekly-slo after the re-run" "$(mails_to qa slo@example.com)" 0
    equals "qa mails of capacity after the re-run" "$(mails_to qa capacity@example.com)" 0
    equals "qa mails of the delivery without a ledger" "$(mails_to qa plain@example.com)" 1
    # Held: a warning naming the environment, when and why, how to send anyway, what to delete by hand.
    warns "[WARNING]: qa: Delivery 'weekly-slo': report 1 was not sent: this delivery's send at "
    warns "may have reached Grafana (Grafana or a proxy in front of it failed on report 1 (HTTP 504: upstream request timeout)); it is held"
    warns "it is held within min_interval (6d) of that attempt, until "
    warns "[WARNING]: qa: Delivery 'capacity': report 2 was not sent: "
    warns "a delivery key is sent once, so delivery key 'capacity-2026-w49' stays held"
    warns "To send it anyway, run with resend_uncertain: true (the role: -e report_delivery_resend_uncertain=true), or delete"
    warns "$held_by"
    if grep -q "WARNING\]: \(dev\|staging\):" "$output"; then fail "an environment without uncertain sends warns"; fi

    echo "== ledger: $ledger: history of the held run says when the delivery was last sent"
    run_failing "history entry point after the held run" "${history[@]}" -e report_delivery_history_fail_on_failed=true
    cp "$output" "$work/history-held-$ledger.log"
    recap qa 1
    recap dev 0
    # Each delivery's line says when a skipped one was last sent, or why it is held.
    contains '"dev weekly-slo: skipped at '
    contains ' (last sent at 20'
    contains '"qa weekly-slo: skipped at '
    contains ' (held: its send at 20'
    contains ' | UNCERTAIN at 20'
    history_of run dev "delivery=weekly-slo outcome=skipped"
    contains '"last_sent": "20'
    history_of run qa "delivery=weekly-slo outcome=skipped"
    contains '"last_uncertain": "20'
    contains '"last_sent": null'

    echo "== ledger: $ledger: sent anyway with report_delivery_resend_uncertain, once"
    run "resend uncertain" "${deliver[@]}" "${with_ledger[@]}" --limit qa -e report_delivery_resend_uncertain=true
    contains '"qa: 3 sent"'
    equals "qa mails of weekly-slo after the resend" "$(mails_to qa slo@example.com)" 1
    equals "qa mails of capacity after the resend" "$(mails_to qa capacity@example.com)" 1
    run "after the resend" "${deliver[@]}" "${with_ledger[@]}" --limit qa -e report_delivery_resend_uncertain=true
    contains '"qa: 1 sent, 2 skipped'
    equals "qa mails of weekly-slo, confirmed once" "$(mails_to qa slo@example.com)" 1
    history_of run qa fail_on_failed=true
    contains '"unrecovered": []'
}

scenario file
no_secrets

echo "== ledger: grafana, from the start"
for env in dev staging qa; do sim $env POST /_sim/reset '{}' >/dev/null; done
scenario grafana

show() {  # show LOG: what a user sees of a run: failures, warnings, the summary, the recap
    awk '/^\[WARNING\]|^fatal:/ {shown = 1} /^(TASK|PLAY|ok:|changed:|skipping:)/ {shown = 0}
         /^TASK .*Summary of every environment/ {summary = 1} summary && /^$/ {summary = 0}
         /^PLAY RECAP/ {recap = 1} shown || summary || recap' "$1" | cut -c1-1200
}
echo "== what a user sees of the run after a 504 (ledger: file)"
show "$work/run-504-file.log"
echo "== what a user sees of the plain re-run that holds (ledger: file)"
show "$work/run-held-file.log"
echo "== what the history entry point says after the held run (ledger: file)"
awk '/^TASK .*History of every environment/ {shown = 1} shown && /^$/ {shown = 0} /^PLAY RECAP/ {recap = 1} shown || recap' \
    "$work/history-held-file.log" | cut -c1-600
echo "report_delivery_uncertain: all checks passed"
