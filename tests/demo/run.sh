#!/usr/bin/env bash
# `make demo`: day one of the main job. Build and install the collection, start three simulated Grafanas (dev,
# staging, prod), run the pre-flight (staging's token cannot read reports: one finding), fix staging's token, send
# across the environments with the role, run it again (the ledger skips every delivery), show the history.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# DEMO_VENV: a venv with ansible-core (the nox session `demo` that `make demo` runs passes its own).
venv="${DEMO_VENV:?run me through make demo}"
demo=build/demo
rm -rf "$demo"
mkdir -p "$demo/collections"

echo "== Build and install the collection"
"$venv/bin/ansible-galaxy" collection build --force --output-path "$demo" . >/dev/null
ANSIBLE_COLLECTIONS_PATH="$PWD/$demo/collections" \
    "$venv/bin/ansible-galaxy" collection install --force -p "$demo/collections" "$demo"/reportops-grafana-*.tar.gz >/dev/null
ls "$demo"/reportops-grafana-*.tar.gz
# The job must use the installed copy, not this source tree. (With pipefail, `grep -q` made this
# fail at random: it exits at the first match and ansible-galaxy dies writing to the closed pipe.)
ANSIBLE_COLLECTIONS_PATH="$PWD/$demo/collections" "$venv/bin/ansible-galaxy" collection list reportops.grafana 2>/dev/null \
    | grep "^# $PWD/$demo/collections/ansible_collections" >/dev/null

echo "== Start three Grafana environments (simulated): dev, staging, prod"
environments=(dev staging prod)
stop() {
    local env
    for env in "${environments[@]}"; do
        "$venv/bin/python" tests/simulator/grafana_sim.py stop --state-dir "$demo/$env" >/dev/null 2>&1 || true
    done
}
trap stop EXIT
cp -r tests/demo/inventory "$demo/inventory"
mkdir -p "$demo/inventory/host_vars"
for env in "${environments[@]}"; do
    "$venv/bin/python" tests/simulator/grafana_sim.py serve --background --state-dir "$demo/$env" --lifetime 600 >"$demo/$env.json"
    url="$("$venv/bin/python" -c 'import json, sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["url"])' "$demo/$env.json")"
    # A token that can send, read reports and write outcome records; staging was given one that can only send.
    token=sim-token-sender
    [ "$env" = staging ] && token=sim-token-send-only
    printf 'report_delivery_url: %s\nreport_delivery_token: %s\n' "$url" "$token" >"$demo/inventory/host_vars/$env.yml"
    printf 'all:\n  vars:\n    ansible_connection: local\n    ansible_python_interpreter: %s\n    report_delivery_ledger_path: %s\n  hosts:\n' \
        "$venv/bin/python" "$PWD/$demo/ledger.json" >"$demo/inventory/hosts.yml"
    echo "$env: $url"
done
for env in "${environments[@]}"; do printf '    %s:\n' "$env" >>"$demo/inventory/hosts.yml"; done

playbook() {  # playbook NAME [ARGS...]: a playbook of the installed collection against the three environments
    ANSIBLE_COLLECTIONS_PATH="$PWD/$demo/collections" ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_NOCOLOR=1 \
        ANSIBLE_DISPLAY_SKIPPED_HOSTS=false "$venv/bin/ansible-playbook" -i "$demo/inventory" -f 3 "reportops.grafana.$1" "${@:2}"
}

echo "== Pre-flight: what would the first run meet? (reads only; staging has a finding, so the play fails there)"
if playbook preflight; then echo "the pre-flight found nothing in staging" >&2; exit 1; fi

echo "== Fix staging: give it a token with reports:read and the annotation permissions, and check again"
sed -i 's/sim-token-send-only/sim-token-sender/' "$demo/inventory/host_vars/staging.yml"
playbook preflight --limit staging

echo "== Send across the environments (the role's entry point main)"
playbook deliver

echo "== Run it again: the ledger skips what went out within min_interval"
playbook deliver

echo "== Did every report go out? (entry point history)"
playbook history

echo "== Mails in each environment's outbox"
for env in "${environments[@]}"; do
    printf '%s: %d\n' "$env" "$(find "$demo/$env/outbox" -name '*.eml' | wc -l)"
done
