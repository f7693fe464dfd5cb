# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run send_report through ansible-runner as AWX would: credentials only in the environment.

    python run_job.py PRIVATE_DATA_DIR GRAFANA_URL EXTRAVARS_JSON

Prints {"rc", "status", "sent", "skipped"} as JSON; the token is read from GRAFANA_TOKEN.
"""

import json
import os
import shutil
import sys

import ansible_runner


def main():
    private_data_dir, url, extravars = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    shutil.copytree(os.path.join(os.path.dirname(os.path.abspath(__file__)), "project"), os.path.join(private_data_dir, "project"))
    runner = ansible_runner.run(
        private_data_dir=private_data_dir,
        playbook="send_report.yml",
        inventory="localhost ansible_connection=local ansible_python_interpreter=%s" % sys.executable,
        extravars=extravars,
        # What the Grafana credential type injects; nothing else carries the secret. Each job gets a state
        # folder of its own, as in AWX's fresh containers: only the Grafana ledger can make a relaunch skip.
        envvars={"GRAFANA_URL": url, "GRAFANA_TOKEN": os.environ["GRAFANA_TOKEN"],
                 "XDG_STATE_HOME": os.path.join(private_data_dir, "state")},
        quiet=True,
    )
    results = [event["event_data"]["res"] for event in runner.events
               if event.get("event") == "runner_on_ok" and event["event_data"].get("task_action", "").endswith("grafana_report_send")]
    print(json.dumps({"rc": runner.rc, "status": runner.status,
                      "sent": [result.get("sent") for result in results],
                      "skipped": [result.get("skipped_reason") for result in results]}))


if __name__ == "__main__":
    main()
