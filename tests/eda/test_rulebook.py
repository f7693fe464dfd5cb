# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event source reportops.grafana.report_deliveries through a real ansible-rulebook (nox session `eda`).

The collection is built and installed into a collections path of its own, so the rulebook uses the source from the
installed collection, as a decision environment would. Two simulated Grafanas hold outcome records that the
collection's modules wrote (a failed send in dev, a send that may have gone out in staging, a sent one), a third
environment cannot be reached, and two deliveries never ran: one the source is told about, one that only the history's
overdue record names. Each gives exactly one event over many polls.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
SIMULATOR = os.path.join(ROOT, "tests", "simulator", "grafana_sim.py")
BIN = os.path.dirname(sys.executable)
TOKEN = "sim-token-sender"
POLL = 2  # seconds between polls of the rulebook run


def tool(name):
    return os.path.join(BIN, name)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The collection built from this tree and installed; the environment that makes Ansible use that copy."""
    top = tmp_path_factory.mktemp("eda")
    subprocess.run([tool("ansible-galaxy"), "collection", "build", "--force", "--output-path", str(top), ROOT],
                   check=True, capture_output=True)
    tarball, = [name for name in os.listdir(top) if name.endswith(".tar.gz")]
    collections = top / "collections"
    subprocess.run([tool("ansible-galaxy"), "collection", "install", "--force", "-p", str(collections), str(top / tarball)],
                   check=True, capture_output=True)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(top / "tmp"),
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""), PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    listing = subprocess.run([tool("ansible-galaxy"), "collection", "list", "reportops.grafana"], env=env,
                             capture_output=True, text=True, check=True).stdout
    assert "# %s/ansible_collections" % collections in listing, listing
    return top, env


@pytest.fixture(scope="module")
def grafanas(installed):
    top = installed[0]
    urls = {}
    try:
        for name in ("dev", "staging"):
            ready = subprocess.run([sys.executable, SIMULATOR, "serve", "--background", "--lifetime", "600",
                                    "--state-dir", str(top / name)], check=True, capture_output=True, text=True).stdout
            urls[name] = json.loads(ready.strip().splitlines()[-1])["url"]
        yield urls
    finally:
        for name in urls:
            subprocess.run([sys.executable, SIMULATOR, "stop", "--state-dir", str(top / name)], capture_output=True, check=False)


def fault(url, **spec):
    request = urllib.request.Request(url + "/_sim/faults", data=json.dumps(spec).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()


def module(env, name, args):
    """(rc, result) of one module of the installed collection, run ad hoc as a user would: the token in GRAFANA_TOKEN,
    never in a process's arguments."""
    args = dict(args)
    env = dict(env, GRAFANA_TOKEN=args.pop("token"))
    run = subprocess.run([tool("ansible"), "localhost", "-c", "local", "-i", "localhost,", "-e",
                          "ansible_python_interpreter=%s" % sys.executable, "-m", "reportops.grafana.%s" % name,
                          "-a", json.dumps(args)], env=env, capture_output=True, text=True, timeout=120, check=False)
    # The ad-hoc callback (minimal): localhost | FAILED! => {...}
    assert " => " in run.stdout, run.stdout + run.stderr
    return run.returncode, json.JSONDecoder().raw_decode(run.stdout.split(" => ", 1)[1])[0]


def deliver(env, url, name, report_id, ledger=None):
    """One delivery by grafana_report_deliver (history: grafana): (rc, its outcome)."""
    args = dict(url=url, token=TOKEN, history="grafana", retries=0, render_retries=0,
                deliveries=[dict(name=name, report_id=report_id, emails="ops@example.com")])
    if ledger:  # with a ledger (and min_interval), a send that may have gone out is recorded as uncertain
        args.update(ledger="file", ledger_path=ledger)
        args["deliveries"][0]["min_interval"] = "1d"
    rc, result = module(env, "grafana_report_deliver", args)
    return rc, result["deliveries"][0]


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def records(installed, grafanas):
    """dev: daily-slo failed (Grafana's 500), weekly-ops sent; staging: capacity may have gone out (a proxy's 504)."""
    top, env = installed
    fault(grafanas["dev"], path="/api/reports/email", mode="status", status=500, count=1,
          message="Failed to generate PDF")
    rc, failed = deliver(env, grafanas["dev"], "daily-slo", 1)
    assert rc != 0 and failed["outcome"] == "failed" and "Failed to generate PDF" in failed["message"], failed
    rc, sent = deliver(env, grafanas["dev"], "weekly-ops", 2)
    assert rc == 0 and sent["outcome"] == "sent", sent
    fault(grafanas["staging"], path="/api/reports/email", mode="status", status=504, count=1)
    rc, uncertain = deliver(env, grafanas["staging"], "capacity", 2, ledger=str(top / "ledger.json"))
    assert rc != 0 and "Grafana may still have sent report 2" in uncertain["message"], uncertain
    return grafanas


def test_history_marks_the_never_run_delivery_overdue_and_fails_on_it(installed, records):
    env = installed[1]
    args = dict(url=records["dev"], token=TOKEN, since="2h", fail_on_failed=True,
                deliveries=[dict(name="monthly-capacity", every="1h"), dict(name="weekly-ops", every="1h")])
    rc, result = module(env, "grafana_report_history", args)
    assert rc != 0 and [entry["delivery"] for entry in result["overdue"]] == ["monthly-capacity"]
    assert "1 delivery is overdue (not sent on time): monthly-capacity: no confirmed send since it was first expected" \
        in result["msg"]
    assert result["msg"].startswith("1 delivery failed in the window and was not sent since: daily-slo at ")


RULEBOOK = """
- name: Report deliveries that need attention
  hosts: all
  sources:
    - name: report deliveries
      reportops.grafana.report_deliveries:
        interval: {poll}
        since: 2h
        environments: {environments}
        deliveries:
          - name: monthly-capacity
            every: 1h
            environments: [dev]
  rules:
    - name: Show each delivery event
      condition: event.delivery is defined
      action:
        print_event:
          pretty: false
"""


def events_of(output):
    """The delivery events print_event showed (one dict repr a line)."""
    found = []
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("{") and "'delivery'" in line:
            found.append(ast.literal_eval(line)["delivery"])
    return found


def test_a_real_rulebook_run_gives_each_event_once(installed, records, tmp_path):
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("ansible-rulebook needs a Java 17 runtime (Debian: openjdk-17-jre-headless)")
    env = installed[1]
    # staging's nightly-export never ran: the history records its missed period, and the source, which is not told
    # about nightly-export, reports it from that record.
    rc, history = module(env, "grafana_report_history", dict(url=records["staging"], token=TOKEN, since="2h", record_overdue=True,
                                                             deliveries=[dict(name="nightly-export", every="1h")]))
    assert rc == 0 and history["changed"] and isinstance(history["overdue"][0]["record"], int), history
    environments = [dict(name=name, url=url, token=TOKEN) for name, url in sorted(records.items())]
    environments.append(dict(name="qa", url="http://127.0.0.1:%d" % closed_port(), token="sim-token-qa-secret"))
    rulebook = tmp_path / "rulebook.yml"
    rulebook.write_text(RULEBOOK.format(poll=POLL, environments=json.dumps(environments)))
    (tmp_path / "inventory.yml").write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    process = subprocess.Popen([tool("ansible-rulebook"), "--rulebook", str(rulebook), "--inventory",
                                str(tmp_path / "inventory.yml"), "--verbose"], env=env, cwd=str(tmp_path),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        time.sleep(6 * POLL + 8)  # the JVM starts, then several polls
        # The others keep reporting while qa is down: a new failure in dev, once.
        fault(records["dev"], path="/api/reports/email", mode="status", status=500, count=1, message="SMTP down")
        assert deliver(env, records["dev"], "daily-slo", 1)[1]["outcome"] == "failed"
        time.sleep(5 * POLL)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            output = process.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output = process.communicate()[0]
    with open(os.path.join(ROOT, "build", "eda-rulebook-run.txt"), "w", encoding="utf-8") as shown:
        shown.write(output)
    events = events_of(output)
    seen = sorted((event["environment"], event["name"] or "-", event["outcome"]) for event in events)
    assert seen == [("dev", "daily-slo", "failed"), ("dev", "daily-slo", "failed"), ("dev", "monthly-capacity", "overdue"),
                    ("qa", "-", "unreadable"), ("staging", "capacity", "uncertain"), ("staging", "nightly-export", "overdue")], \
        output[-5000:]
    first, second = sorted((e for e in events if e["outcome"] == "failed"), key=lambda e: e["record"])
    assert "Failed to generate PDF" in first["message"] and "SMTP down" in second["message"]
    assert first["report_id"] == "1" and first["record"] != second["record"]
    overdue, recorded = sorted((e for e in events if e["outcome"] == "overdue"), key=lambda e: e["environment"])
    assert overdue["record"] is None and "first expected at" in overdue["message"]
    assert recorded["record"] == history["overdue"][0]["record"] and recorded["due"] == history["overdue"][0]["period_due"]
    unreadable, = [e for e in events if e["outcome"] == "unreadable"]
    assert "could not be read" in unreadable["message"]
    assert TOKEN not in output and "sim-token-qa-secret" not in output
    assert "reportops.grafana.report_deliveries" in output


def test_the_sample_rulebook_and_the_decision_environment(installed, tmp_path, monkeypatch):
    from ansible_rulebook import conf
    from ansible_rulebook.rules_parser import parse_rule_sets
    from ansible_rulebook.validators import Validate

    # The source's name resolves through ansible-galaxy and the installed collection, as in a decision environment.
    monkeypatch.setattr(conf.settings, "ansible_galaxy_path", tool("ansible-galaxy"))
    monkeypatch.setenv("ANSIBLE_COLLECTIONS_PATH", installed[1]["ANSIBLE_COLLECTIONS_PATH"])

    with open(os.path.join(ROOT, "extensions", "eda", "rulebooks", "report_deliveries.yml"), encoding="utf-8") as stream:
        data = yaml.safe_load(stream)
    Validate.rulebook(data)
    ruleset, = parse_rule_sets(data)
    assert [source.source_name for source in ruleset.sources] == ["reportops.grafana.report_deliveries"]
    actions = [action.action for rule in ruleset.rules for action in rule.actions]
    assert actions.count("run_job_template") == 2
    top = tmp_path / "de"
    shutil.copytree(os.path.join(ROOT, "extensions", "eda"), top)
    subprocess.run([tool("ansible-builder"), "create", "--file", "decision-environment.yml", "--context",
                    str(tmp_path / "context")], cwd=str(top), check=True, capture_output=True)
    # Named after the container runtime ansible-builder finds (Dockerfile without podman).
    containerfile, = [(tmp_path / "context" / name).read_text() for name in ("Containerfile", "Dockerfile")
                      if (tmp_path / "context" / name).exists()]
    assert "ansible-automation-platform-26/de-minimal-rhel9" in containerfile
