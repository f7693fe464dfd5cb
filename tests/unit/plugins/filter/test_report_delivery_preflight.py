# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's preflight entry point: one line per environment and check that is not ok, summary, statistics."""

from __future__ import annotations

from ansible_collections.reportops.grafana.plugins.filter._report_delivery import FilterModule, report_delivery_preflight


def check(name, status="ok", message="Fine."):
    return dict(name=name, status=status, message=message)


def host(*checks, failed=False):
    return {"_report_delivery_preflight": dict(checks=list(checks), grafana={"edition": "Enterprise"}, failed=failed,
                                               msg="1 of 2 checks failed" if failed else None)}


def test_lines_summary_stats():
    hostvars = {
        "dev": host(check("connection"), check("renderer")),
        "staging": host(check("connection"), check("report:weekly", "fail", "Report 'Weekly' does not exist."), failed=True),
        "prod": host(check("connection"), check("licence", "warn", "Expires in 5 days.")),
    }
    report = report_delivery_preflight(["dev", "staging", "prod"], hostvars)
    assert report["lines"] == [
        "staging report:weekly: FAIL: Report 'Weekly' does not exist.",
        "prod licence: WARN: Expires in 5 days.",
        "3 environments: 2 ready for a first run (with warnings: prod); fix staging first",
    ]
    assert report["failed"] == ["staging"]
    assert report["stats"]["dev"] == {"error": "", "grafana": {"edition": "Enterprise"},
                                      "checks": hostvars["dev"]["_report_delivery_preflight"]["checks"]}


def test_an_environment_that_did_not_check():
    hostvars = {"dev": {"_report_delivery_preflight": {"failed": True, "msg": "Invalid report_delivery_deliveries: x"}},
                "prod": {}}
    report = report_delivery_preflight(["dev", "prod"], hostvars)
    assert report["lines"] == ["dev: FAILED before its checks: Invalid report_delivery_deliveries: x",
                               "prod: FAILED before its checks: did not run",
                               "2 environments: 0 ready for a first run; fix dev, prod first"]
    assert report["stats"]["prod"]["error"] == "did not run"


def test_each_failing_environment_fails_on_its_own_host_in_one_line():
    hostvars = {
        "dev": host(check("connection"), check("licence", "skipped", "Only Grafana Enterprise has a licence.")),
        "staging": host(check("connection"), check("renderer", "fail", "No renderer."), check("smtp", "fail", "Off."),
                        failed=True),
        # Registered with failed_when: false: `msg` says why, `failed` is false.
        "prod": {"_report_delivery_preflight": {"failed": False, "msg": "Could not connect to http://prod.test"}},
    }
    report = report_delivery_preflight(["dev", "staging", "prod"], hostvars)
    assert report["failures"] == {"staging": "staging: 2 checks failed (renderer, smtp); the findings above say why.",
                                  "prod": "prod: its checks could not run; the findings above say why."}
    # A skipped check is no finding, and no warning.
    assert not any(line.startswith("dev") for line in report["lines"])
    assert report["lines"][-1] == "3 environments: 1 ready for a first run; fix staging, prod first"
    assert "prod: FAILED before its checks: Could not connect to http://prod.test" in report["lines"]


def test_registered():
    assert FilterModule().filters()["_report_delivery_preflight"] is report_delivery_preflight
