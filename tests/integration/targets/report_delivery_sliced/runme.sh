#!/usr/bin/env bash
# shellcheck disable=SC2154  # work and python are set by ../setup_simulator/files/simulator.sh
# AAP job slicing (issue 34): the deliver playbook run as three concurrent slices, each with its part of the
# inventory as a sliced job gives it (hosts[k-1::3] by name), with ledger: grafana. Six simulated Grafanas.
# Every environment's deliveries are sent once, the slices' statistics together cover every environment, a job over
# the whole inventory running at the same time sends nothing twice, and a relaunch sends nothing.
set -eu
# $python, $work (removed at exit with the simulators), start_simulator and fail.
source ../setup_simulator/files/simulator.sh
environments=(env-a env-b env-c env-d env-e env-f)

urls=()
for env in "${environments[@]}"; do
    start_simulator "sim-$env" --lifetime 900
    urls+=("$env=$SIM_URL")
done
"$python" - "$work" "${urls[@]}" <<'PY'
import json, sys
work = sys.argv[1]
json.dump(dict(pair.split("=", 1) for pair in sys.argv[2:]), open(work + "/environments.json", "w"))
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
