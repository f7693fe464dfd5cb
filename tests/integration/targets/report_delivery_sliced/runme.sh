#!/usr/bin/env bash
# AAP job slicing (issue 34): the deliver playbook run as three concurrent slices, each with its part of the
# inventory as a sliced job gives it (hosts[k-1::3] by name), with ledger: grafana. Six simulated Grafanas.
# Every environment's deliveries are sent once, the slices' statistics together cover every environment, a job over
# the whole inventory running at the same time sends nothing twice, and a relaunch sends nothing.
set -eu
python="${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}"
simulator="../../../simulator/grafana_sim.py"
work="$(mktemp -d)"
environments=(env-a env-b env-c env-d env-e env-f)
cleanup() {
    local env
    for env in "${environments[@]}"; do
        "$python" "$simulator" stop --state-dir "$work/sim-$env" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }

for env in "${environments[@]}"; do
    "$python" "$simulator" serve --background --state-dir "$work/sim-$env" --lifetime 900 >"$work/$env.ready"
done
"$python" - "$work" "${environments[@]}" <<'PY'
import json, sys
work, names = sys.argv[1], sys.argv[2:]
urls = dict((name, json.loads(open("%s/%s.ready" % (work, name)).read().splitlines()[-1])["url"]) for name in names)
json.dump(urls, open(work + "/environments.json", "w"))
json.dump([{"name": "weekly-slo", "report": "Weekly SLO", "emails": "sre@example.com", "min_interval": "1h"},
           {"name": "capacity", "report": "Daily Capacity", "use_emails_from_report": True, "min_interval": "1h"}],
          open(work + "/deliveries.json", "w"))
PY

echo "== three slices and an unsliced job at the same time"
"$python" run_slices.py "$work" 3 --overlap >"$work/first.json"
"$python" check_slices.py "$work/first.json" first
echo "== the sliced job relaunched: the ledger skips every delivery"
"$python" run_slices.py "$work" 3 >"$work/relaunch.json"
"$python" check_slices.py "$work/relaunch.json" relaunch
echo "report_delivery_sliced: all checks passed"
