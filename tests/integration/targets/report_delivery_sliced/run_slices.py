# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the deliver playbook as an AAP sliced job does: one ansible-runner job per slice, all at once.

    python run_slices.py WORK SLICES [--overlap]

WORK holds environments.json ({name: url}) and deliveries.json. AAP gives slice k of n (1-based) the hosts
hosts[k-1::n] of the inventory sorted by name; each slice job sees only its own hosts. With --overlap, a job over the
whole inventory runs at the same time as the slices (a second template, a relaunch of an unsliced job). Prints, as
JSON, each job's rc, status, the hosts of its recap and its statistics (set_stats, what AAP shows as the job's
artifacts), and each environment's sends and mails.
"""

import json
import os
import shutil
import subprocess
import sys
import urllib.request

import ansible_runner

HERE = os.path.dirname(os.path.abspath(__file__))


def inventory(hosts, environments, deliveries, python):
    lines = ["all:", "  vars:", "    ansible_connection: local", "    ansible_python_interpreter: %s" % python,
             "    report_delivery_token: sim-token-sender", "    report_delivery_ledger: grafana",
             "    report_delivery_deliveries: %s" % json.dumps(deliveries), "  hosts:"]
    for host in hosts:
        lines += ["    %s:" % host, "      report_delivery_url: %s" % environments[host]]
    return "\n".join(lines) + "\n"


def job(work, name, hosts, environments, deliveries):
    """One job (run in a process of its own, as AAP runs each slice in its own container); its result as JSON."""
    private = os.path.join(work, "jobs", name)
    shutil.copytree(os.path.join(HERE, "project"), os.path.join(private, "project"))
    os.makedirs(os.path.join(private, "inventory"))
    with open(os.path.join(private, "inventory", "hosts.yml"), "w", encoding="utf-8") as stream:
        stream.write(inventory(hosts, environments, deliveries, sys.executable))
    runner = ansible_runner.run(
        private_data_dir=private, playbook="deliver.yml", quiet=True,
        # Each job its own state folder, as in AAP's fresh execution environments: only the Grafana ledger is shared.
        envvars={"XDG_STATE_HOME": os.path.join(private, "state"), "ANSIBLE_FORCE_COLOR": "0"},
    )
    stats = {}
    for event in runner.events:
        if event.get("event") == "playbook_on_stats":
            stats = event["event_data"].get("artifact_data") or {}
    result = dict(rc=runner.rc, status=runner.status, hosts=sorted((runner.stats or {}).get("processed", {})),
                  failed=sorted((runner.stats or {}).get("failures", {})), stats=stats)
    with open(os.path.join(private, "result.json"), "w", encoding="utf-8") as stream:
        json.dump(result, stream)


def simulator(url, what):
    with urllib.request.urlopen(url + "/_sim/" + what, timeout=30) as answer:
        return json.loads(answer.read().decode("utf-8"))


def main():
    work = sys.argv[1]
    with open(os.path.join(work, "environments.json"), encoding="utf-8") as stream:
        environments = json.load(stream)
    with open(os.path.join(work, "deliveries.json"), encoding="utf-8") as stream:
        deliveries = json.load(stream)
    if sys.argv[2] == "--job":
        job(work, sys.argv[3], sys.argv[4:], environments, deliveries)
        return
    count = int(sys.argv[2])
    hosts = sorted(environments)
    jobs = dict(("slice-%d" % number, hosts[number - 1::count]) for number in range(1, count + 1))
    if "--overlap" in sys.argv:
        jobs["unsliced"] = hosts
    shutil.rmtree(os.path.join(work, "jobs"), ignore_errors=True)
    processes = [subprocess.Popen([sys.executable, __file__, work, "--job", name] + part) for name, part in jobs.items()]
    for process in processes:
        process.wait()
    results = {}
    for name in jobs:
        with open(os.path.join(work, "jobs", name, "result.json"), encoding="utf-8") as stream:
            results[name] = json.load(stream)
    mails = {}
    for host, url in environments.items():
        mails[host] = sorted("%s %s" % (mail["report_id"], ",".join(sorted(mail["to"]))) for mail in simulator(url, "outbox"))
    sends = dict((host, simulator(url, "stats")["sends"]) for host, url in environments.items())
    print(json.dumps(dict(jobs=results, slices=jobs, mails=mails, sends=sends), sort_keys=True))


if __name__ == "__main__":
    main()
