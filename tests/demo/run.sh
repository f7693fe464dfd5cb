#!/usr/bin/env bash
# `make demo`: build and install the collection, start the bundled simulator, run the main job
# (tests/demo/demo.yml) from the installed copy, and show the mail that arrived.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# DEMO_VENV: a venv with ansible-core (the nox session `demo` that `make demo` runs passes its own).
venv="${DEMO_VENV:?run me through make demo}"
demo=build/demo
rm -rf "$demo"
mkdir -p "$demo/collections"

echo "== Build and install the collection"
"$venv/bin/ansible-galaxy" collection build --force --output-path "$demo" . >/dev/null
"$venv/bin/ansible-galaxy" collection install --force -p "$demo/collections" "$demo"/reportops-grafana-*.tar.gz >/dev/null
ls "$demo"/reportops-grafana-*.tar.gz
# The job must use the installed copy, not this source tree. (With pipefail, `grep -q` made this
# fail at random: it exits at the first match and ansible-galaxy dies writing to the closed pipe.)
ANSIBLE_COLLECTIONS_PATH="$PWD/$demo/collections" "$venv/bin/ansible-galaxy" collection list reportops.grafana 2>/dev/null \
    | grep "^# $PWD/$demo/collections/ansible_collections" >/dev/null

echo "== Start the Grafana reporting simulator"
"$venv/bin/python" tests/simulator/grafana_sim.py serve --background --state-dir "$demo/simulator" --lifetime 600 >"$demo/simulator.json"
trap '"$venv/bin/python" tests/simulator/grafana_sim.py stop --state-dir "$demo/simulator" >/dev/null' EXIT
url="$("$venv/bin/python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' "$demo/simulator.json")"
echo "simulator at $url (outbox: $demo/simulator/outbox)"

echo "== Run the job, with the connection in the environment as AWX would set it"
GRAFANA_URL="$url" GRAFANA_TOKEN=sim-token-sender ANSIBLE_COLLECTIONS_PATH="$PWD/$demo/collections" \
    ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_NOCOLOR=1 \
    "$venv/bin/ansible-playbook" tests/demo/demo.yml -e demo_ledger_path="$PWD/$demo/ledger.json"

echo "== The mail that arrived"
"$venv/bin/python" - "$demo/simulator/outbox" <<'PY'
import email
import email.policy
import glob
import os
import sys

for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.eml"))):
    with open(path, "rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    print(path)
    for header in ("From", "To", "Subject", "Date", "X-Grafana-Report-Id"):
        print("  %s: %s" % (header, message[header]))
    for part in message.iter_attachments():
        print("  attachment: %s (%s, %d bytes)" % (part.get_filename(), part.get_content_type(), len(part.get_content())))
PY
