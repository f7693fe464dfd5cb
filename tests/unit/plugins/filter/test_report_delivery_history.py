# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's history entry point: lines per environment and delivery, summary, statistics, failures."""

from __future__ import annotations

from ansible_collections.reportops.grafana.plugins.filter._report_delivery import FilterModule, report_delivery_history

DELIVERIES = [
    {"name": "weekly-slo", "report": "Weekly SLO", "emails": "a@example.com"},
    {"name": "prod-only", "report_id": 9, "emails": "b@example.com", "environments": ["production"]},
]


def record(annotation_id, outcome, delivery, when, attempts=1, message="Report was sent"):
    return dict(id=annotation_id, outcome=outcome, delivery=delivery, delivery_key=None, report_id="3", time=when,
                attempts=attempts, message=message)


def host(records, unrecovered=(), groups=()):
    run = {"records": records, "unrecovered": list(unrecovered), "counts": {}, "window": {}}
    return {"_report_delivery_history": run, "report_delivery_deliveries": DELIVERIES, "group_names": list(groups)}


def test_lines_summary_and_failures():
    failed = record(5, "failed", "weekly-slo", "2026-12-01T06:00:09Z", 3, "Grafana failed on report 3 (HTTP 500: x).")
    hostvars = {
        "dev": host([record(2, "sent", "weekly-slo", "2026-12-01T06:00:04Z", 3)]),
        "staging": host([failed], unrecovered=[failed]),
        "prod": host([record(7, "sent", "weekly-slo", "2026-12-01T06:01:00Z"),
                      record(6, "failed", "weekly-slo", "2026-12-01T06:00:00Z", 3, "x")], groups=["production"]),
    }
    report = report_delivery_history(["dev", "staging", "prod"], hostvars)
    assert report["lines"] == [
        "dev weekly-slo: sent at 2026-12-01T06:00:04Z (3 attempts), 0 failed in the window",
        "staging weekly-slo: failed at 2026-12-01T06:00:09Z (3 attempts), 1 failed in the window"
        " | FAILED: Grafana failed on report 3 (HTTP 500: x).",
        "prod weekly-slo: sent at 2026-12-01T06:01:00Z (1 attempt), 1 failed in the window",
        "prod prod-only: no record in the window",
        "3 environments, 4 deliveries: 1 failed (staging weekly-slo)",
    ]
    assert report["failed"] == ["staging weekly-slo"]
    assert report["stats"]["prod"]["deliveries"]["prod-only"] == dict(last=None, time=None, failures=0, uncertain=0)
    assert report["stats"]["staging"]["deliveries"]["weekly-slo"]["last"] == "failed"


def test_a_failure_before_a_skip_still_counts():
    failed = record(5, "failed", "weekly-slo", "2026-12-01T06:00:00Z")
    records = [record(6, "skipped", "weekly-slo", "2026-12-01T07:00:00Z"), failed]
    report = report_delivery_history(["dev"], {"dev": host(records, unrecovered=[failed])})
    assert report["lines"][0].endswith("| FAILED earlier, not sent since") and report["failed"] == ["dev weekly-slo"]


def test_an_environment_whose_history_could_not_be_read():
    hostvars = {"dev": {"_report_delivery_history": {"failed": True, "msg": "Access to the outcome records was denied"}},
                "prod": {}}
    report = report_delivery_history(["dev", "prod"], hostvars)
    assert report["lines"] == ["dev: FAILED to read the history: Access to the outcome records was denied",
                               "prod: FAILED to read the history: did not run",
                               "2 environments, 0 deliveries: none failed; history not read in dev, prod"]
    assert report["failed"] == ["dev (history not read)", "prod (history not read)"]


def test_each_environment_fails_on_its_own_host_in_one_line():
    failed = record(5, "failed", "weekly-slo", "2026-12-01T06:00:09Z")
    hostvars = {"dev": host([record(2, "sent", "weekly-slo", "2026-12-01T06:00:04Z")]),
                "staging": host([failed], unrecovered=[failed]),
                "qa": host([failed], unrecovered=[failed]),
                # Registered with failed_when: false, as the role does: `msg` says why, `failed` is false.
                "prod": {"_report_delivery_history": {"failed": False, "msg": "Could not connect to http://prod.test"}}}
    hosts = ["dev", "staging", "qa", "prod"]
    # Not the host that gathered the report: each environment that failed, on its own line.
    assert report_delivery_history(hosts, hostvars, fail_on_failed=True)["failures"] == {
        "staging": "staging: 1 delivery failed and not sent since (weekly-slo); the lines above say why.",
        "qa": "qa: 1 delivery failed and not sent since (weekly-slo); the lines above say why.",
        "prod": "prod: its history could not be read; the lines above say why."}
    # Without fail_on_failed only an environment that could not be read fails.
    assert list(report_delivery_history(hosts, hostvars)["failures"]) == ["prod"]
    assert "prod: FAILED to read the history: Could not connect to http://prod.test" in report_delivery_history(hosts, hostvars)["lines"]


def test_a_skip_says_when_the_delivery_was_last_sent_or_why_it_is_held():
    sent = dict(record(2, "skipped", "weekly-slo", "2026-12-01T07:00:00Z", 0), last_sent="2026-12-01T06:00:04Z")
    assert report_delivery_history(["dev"], {"dev": host([sent])})["lines"][0] == (
        "dev weekly-slo: skipped at 2026-12-01T07:00:00Z (last sent at 2026-12-01T06:00:04Z), 0 failed in the window")
    uncertain = record(5, "uncertain", "weekly-slo", "2026-12-01T06:00:00Z", 1, "Grafana or a proxy failed (HTTP 504).")
    held = dict(record(6, "skipped", "weekly-slo", "2026-12-01T07:00:00Z", 0), last_uncertain="2026-12-01T06:00:00Z")
    report = report_delivery_history(["qa"], {"qa": host([held, uncertain], unrecovered=[uncertain])}, fail_on_failed=True)
    assert report["lines"][0] == (
        "qa weekly-slo: skipped at 2026-12-01T07:00:00Z (held: its send at 2026-12-01T06:00:00Z may have gone out), 0 failed,"
        " 1 uncertain in the window | UNCERTAIN at 2026-12-01T06:00:00Z, not confirmed sent since")
    assert report["failed"] == ["qa weekly-slo"] and list(report["failures"]) == ["qa"]
    # The uncertain run itself.
    assert report_delivery_history(["qa"], {"qa": host([uncertain], unrecovered=[uncertain])})["lines"][0].endswith(
        "| UNCERTAIN, may have gone out: Grafana or a proxy failed (HTTP 504).")


def test_the_filter_is_registered():
    assert FilterModule().filters()["_report_delivery_history"] is report_delivery_history


def overdue(delivery, message="no confirmed send since 2026-11-23T06:00:00Z; due at ..."):
    return dict(delivery=delivery, outcome="overdue", overdue_since="2026-12-02T00:00:00Z", message=message)


def test_an_overdue_delivery_fails_its_own_environment_with_fail_on_failed():
    never = host([])
    never["_report_delivery_history"]["overdue"] = [overdue("weekly-slo", "no confirmed send since it was first expected")]
    late = host([record(2, "sent", "weekly-slo", "2026-11-23T06:00:00Z")])
    late["_report_delivery_history"]["overdue"] = [overdue("weekly-slo")]
    hostvars = {"dev": host([record(3, "sent", "weekly-slo", "2026-12-01T06:00:00Z")]), "staging": never, "qa": late}
    report = report_delivery_history(["dev", "staging", "qa"], hostvars)
    assert report["lines"] == [
        "dev weekly-slo: sent at 2026-12-01T06:00:00Z (1 attempt), 0 failed in the window",
        "staging weekly-slo: no record in the window | OVERDUE: no confirmed send since it was first expected",
        "qa weekly-slo: sent at 2026-11-23T06:00:00Z (1 attempt), 0 failed in the window"
        " | OVERDUE: no confirmed send since 2026-11-23T06:00:00Z; due at ...",
        "3 environments, 3 deliveries: 2 failed (staging weekly-slo, qa weekly-slo)",
    ]
    assert report["stats"]["staging"]["overdue"] == ["weekly-slo"]
    assert report["stats"]["qa"]["deliveries"]["weekly-slo"]["overdue"] == "2026-12-02T00:00:00Z"
    assert report["failures"] == {}
    failures = report_delivery_history(["dev", "staging", "qa"], hostvars, True)["failures"]
    assert sorted(failures) == ["qa", "staging"]
    assert failures["qa"] == "qa: 1 delivery failed or overdue, and not sent since (weekly-slo); the lines above say why."


def test_the_role_passes_each_environment_its_deliveries_with_a_period():
    from ansible_collections.reportops.grafana.plugins.filter._report_history_expected import report_delivery_expected
    deliveries = [
        {"name": "weekly-slo", "report": "Weekly SLO", "emails": "a@example.com", "every": "7d"},
        {"name": "prod-daily", "report_id": 9, "emails": "b@example.com", "environments": ["production"],
         "schedule": "0 6 * * *", "grace": "2h"},
        {"name": "adhoc", "report_id": 9, "emails": "b@example.com"},
        {"name": "gone", "report_id": 9, "emails": "b@example.com", "every": "1d", "state": "absent"},
    ]
    weekly = {"name": "weekly-slo", "report": "Weekly SLO", "every": "7d"}
    daily = {"name": "prod-daily", "report": "9", "schedule": "0 6 * * *", "grace": "2h"}
    assert report_delivery_expected(deliveries, ["dev"]) == [weekly]
    assert report_delivery_expected(deliveries, ["prod", "production"], []) == [weekly, daily]
    assert report_delivery_expected(deliveries, ["prod", "production"], "prod-daily") == [daily]
    assert report_delivery_expected(deliveries + [{"name": "bad", "every": "often"}], ["dev"]) == []
