#!/usr/bin/env bash
# shellcheck disable=SC2154  # work, python and fail come from ../setup_simulator/files/simulator.sh
# Invalid input for the role's main entry point: each case fails naming its field, and the
# Grafana (simulator) receives no request. No `set -x`: it would print the token.
set -eu

source ../setup_simulator/files/simulator.sh
start_simulator dev
cat >"$work/inventory.yml" <<INVENTORY
all:
  hosts:
    dev:
      ansible_connection: local
      ansible_python_interpreter: $python
      report_delivery_url: $SIM_URL
      report_delivery_token: sim-token-sender
INVENTORY

requests() {
    "$python" -c 'import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/stats"))["requests"])' "$SIM_URL"
}

cases=0
while IFS= read -r case; do
    field="$("$python" -c 'import json, sys; print(json.loads(sys.argv[1])["field"])' "$case")"
    "$python" -c 'import json, sys; print(json.dumps(json.loads(sys.argv[1])["vars"]))' "$case" >"$work/vars.json"
    if ansible-playbook -i "$work/inventory.yml" reportops.grafana.deliver -e "@$work/vars.json" >"$work/out.log" 2>&1; then
        fail "$field: the invalid input was accepted: $(cat "$work/vars.json")"
    fi
    grep -q -- "$field" "$work/out.log" || fail "$field: not named in the output: $(grep -E 'fatal|FAILED|ERROR' "$work/out.log" | head -n 5)"
    [ "$(requests)" = 0 ] || fail "$field: the simulator received a request for $(cat "$work/vars.json")"
    cases=$((cases + 1))
done <files/cases.jsonl
[ "$cases" -ge 20 ] || fail "only $cases cases ran"
echo "report_delivery_bad_input: all $cases cases failed naming their field, with no request"
