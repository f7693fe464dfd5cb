# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json

import pytest

from ansible_collections.reportops.grafana.plugins.modules.grafana_report_deliver import main

TOKEN = "glsa_unit_test_token_value_0123456789"
REPORTS = [
    {"id": 3, "name": "Weekly SLO", "recipients": "sre@example.com;lead@example.com"},
    {"id": 4, "name": "Daily Capacity", "recipients": "ops@example.com"},
    {"id": 5, "name": "Exec"}, {"id": 6, "name": "Exec"},
]
SENT = {"message": "Report was sent"}


@pytest.fixture
def deliver(run_module, fetch, tmp_path):
    """Run the module (one send at a time, so that scripted answers come in order)."""

    def run(deliveries, check_mode=False, **overrides):
        args = dict(url="http://grafana.test:3000", token=TOKEN, deliveries=deliveries, concurrency=1,
                    ledger_path=str(tmp_path / "ledger.json"))
        outcome = run_module(main, dict(args, **overrides), check_mode=check_mode)
        assert TOKEN not in json.dumps(outcome.result) + json.dumps(outcome.warnings)
        return outcome

    return run


def requests(fetch):
    return ["%s %s" % (call["method"], call["url"].split(":3000")[1]) for call in fetch.calls]


def test_names_resolved_with_one_listing_before_any_send(deliver, fetch):
    fetch.reply(200, REPORTS).reply(200, SENT).reply(200, SENT).reply(200, SENT)
    outcome = deliver([
        {"name": "slo", "report": "Weekly SLO", "use_emails_from_report": True},
        {"name": "capacity", "report": "Daily Capacity", "emails": ["b@example.com", "a@example.com"]},
        {"name": "by-id", "report_id": "4", "emails": ["c@example.com"]},
    ])
    assert not outcome.failed and outcome.result["changed"]
    assert requests(fetch) == ["GET /api/reports"] + ["POST /api/reports/email"] * 3
    assert fetch.bodies()[1:] == [{"id": "3", "useEmailsFromReport": True}, {"id": "4", "emails": "b@example.com,a@example.com"},
                                  {"id": "4", "emails": "c@example.com"}]
    records = outcome.result["deliveries"]
    assert [(r["name"], r["report"], r["report_id"], r["outcome"], r["attempts"]) for r in records] == [
        ("slo", "Weekly SLO", "3", "sent", 1), ("capacity", "Daily Capacity", "4", "sent", 1), ("by-id", None, "4", "sent", 1)]
    assert records[0]["recipients"] == ["sre@example.com", "lead@example.com"]
    assert set(records[0]) == {"name", "report", "report_id", "outcome", "message", "recipients", "recipients_source", "attempts", "elapsed"}


def test_report_ids_and_emails_only_need_no_listing(deliver, fetch):
    fetch.reply(200, SENT)
    outcome = deliver([{"name": "a", "report_id": 9, "emails": "x@example.com"}])
    assert requests(fetch) == ["POST /api/reports/email"] and outcome.result["deliveries"][0]["outcome"] == "sent"


@pytest.mark.parametrize("deliveries, expected", [
    ([{"name": "a", "report": "Quarterly", "emails": "x@example.com"}], "delivery 'a': report 'Quarterly' does not exist in this Grafana"),
    ([{"name": "a", "report": "Exec", "emails": "x@example.com"}], "delivery 'a': report name 'Exec' matches 2 reports in this Grafana (ids 5, 6)"),
    ([{"name": "a", "report": "Weekly SLO", "emails": "x@example.com"}, {"name": "b", "report_id": 77, "emails": "x@example.com"}],
     "delivery 'b': report 77 does not exist in this Grafana"),
])
def test_unknown_reports_fail_before_any_send(deliver, fetch, deliveries, expected):
    fetch.reply(200, REPORTS)
    outcome = deliver(deliveries)
    assert outcome.failed and expected in outcome.result["msg"] and outcome.result["msg"].startswith("Nothing was sent: ")
    assert requests(fetch) == ["GET /api/reports"]


@pytest.mark.parametrize("deliveries, expected", [
    ([{"name": "a b", "report_id": 1, "emails": "x@example.com"}], ["delivery 'a b': name must be"]),
    ([{"name": "a", "report_id": 1, "report": "X", "emails": "x@example.com"}], ["delivery 'a': report: set exactly one"]),
    ([{"name": "a", "report_id": 1}], ["delivery 'a': emails: set exactly one of emails and use_emails_from_report"]),
    ([{"name": "a", "report_id": "x", "emails": "bad"}], ["delivery 'a': report_id must be a positive integer",
                                                          "delivery 'a': emails has 1 invalid address(es): 'bad'"]),
    ([{"name": "a", "report_id": 1, "emails": "x@example.com", "min_interval": "12x", "delivery_key": " "}],
     ["delivery 'a': min_interval must be", "delivery 'a': delivery_key must be a non-empty string"]),
    ([{"name": "a", "report_id": 1, "emails": "x@example.com"}, {"name": "a", "report_id": 2, "emails": "y@example.com"}],
     ["delivery 'a': name: defined more than once"]),
])
def test_invalid_deliveries_fail_naming_every_problem_with_no_request(deliver, fetch, deliveries, expected):
    outcome = deliver(deliveries)
    assert outcome.failed and fetch.calls == []
    for text in expected:
        assert text in outcome.result["msg"]


@pytest.mark.parametrize("overrides, expected", [
    (dict(concurrency=0), "concurrency must be at least 1, got 0."),
    (dict(retries=11), "retries must be between 0 and 10, got 11."),
])
def test_invalid_settings(deliver, fetch, overrides, expected):
    outcome = deliver([{"name": "a", "report_id": 1, "emails": "x@example.com"}], **overrides)
    assert outcome.failed and outcome.result["msg"] == expected and fetch.calls == []


def test_a_failure_does_not_stop_the_others_and_fails_at_the_end(deliver, fetch):
    fetch.reply(500, {"message": "Failed to send report"}).reply(200, SENT)
    outcome = deliver([{"name": "first", "report_id": 3, "emails": "x@example.com"},
                       {"name": "second", "report_id": 4, "emails": "y@example.com"}], retries=0, render_retries=0)
    assert outcome.failed and outcome.result["changed"]
    assert outcome.result["msg"].startswith("1 of 2 deliveries failed: first: Grafana failed on report 3 (HTTP 500: Failed to send report)")
    assert [record["outcome"] for record in outcome.result["deliveries"]] == ["failed", "sent"]
    assert len(fetch.calls) == 2


def test_check_mode_lists_once_and_sends_nothing(deliver, fetch):
    fetch.reply(200, REPORTS)
    outcome = deliver([{"name": "slo", "report": "Weekly SLO", "use_emails_from_report": True},
                       {"name": "by-id", "report_id": 4, "emails": "c@example.com"}], check_mode=True)
    assert not outcome.failed and outcome.result["changed"]
    assert requests(fetch) == ["GET /api/reports"]
    records = outcome.result["deliveries"]
    assert [record["outcome"] for record in records] == ["checked", "checked"]
    assert records[0]["message"] == "Check mode: report 3 (Weekly SLO) would be sent to sre@example.com, lead@example.com."


def test_check_mode_with_an_unreadable_listing_warns(deliver, fetch):
    fetch.reply(403, {"message": "Permission denied"})
    outcome = deliver([{"name": "by-id", "report_id": 4, "emails": "c@example.com"}], check_mode=True)
    assert not outcome.failed and outcome.result["deliveries"][0]["outcome"] == "checked"
    assert any("listing needs reports:read" in warning for warning in outcome.warnings)


def test_an_unreadable_listing_fails_when_names_must_be_resolved(deliver, fetch):
    fetch.reply(403, {"message": "Permission denied"})
    outcome = deliver([{"name": "slo", "report": "Weekly SLO", "emails": "c@example.com"}])
    assert outcome.failed and "reports:read" in outcome.result["msg"] and len(fetch.calls) == 1


def test_the_ledger_skips_a_delivery_sent_before(deliver, fetch):
    delivery = [{"name": "once", "report_id": 3, "emails": "x@example.com", "delivery_key": "weekly-2026-W48"}]
    fetch.reply(200, SENT)
    assert deliver(delivery).result["deliveries"][0]["outcome"] == "sent"
    outcome = deliver(delivery)
    record = outcome.result["deliveries"][0]
    assert not outcome.result["changed"] and record["outcome"] == "skipped" and record["attempts"] == 0
    assert "delivery key 'weekly-2026-W48' was already sent" in record["message"]
    assert len(fetch.calls) == 1
    fetch.reply(200, REPORTS)
    check = deliver(delivery, check_mode=True)
    assert check.result["deliveries"][0]["outcome"] == "skipped" and not check.result["changed"]


def test_empty_list_changes_nothing(deliver, fetch):
    outcome = deliver([])
    assert not outcome.failed and outcome.result["deliveries"] == [] and not outcome.result["changed"] and fetch.calls == []


def test_render_retries_keep_their_slot_so_concurrency_holds(deliver, fetch):
    failed = {"message": "Failed to generate PDF"}
    fetch.reply(500, failed).reply(500, failed).reply(200, SENT).reply(200, SENT)
    outcome = deliver([{"name": "first", "report_id": 3, "emails": "x@example.com"},
                       {"name": "second", "report_id": 4, "emails": "y@example.com"}], render_backoff=4)
    assert not outcome.failed
    assert [record["attempts"] for record in outcome.result["deliveries"]] == [3, 1]
    # With concurrency 1 the second delivery starts only after the first one's retries.
    assert [json.loads(call["data"])["id"] for call in fetch.calls] == ["3", "3", "3", "4"]
    assert len(fetch.sleeps) == 2 and 2 <= fetch.sleeps[0] <= 4 and 4 <= fetch.sleeps[1] <= 8


@pytest.mark.parametrize("overrides, expected", [
    (dict(render_retries=11), "render_retries must be between 0 and 10, got 11."),
    (dict(render_retries=-1), "render_retries must be between 0 and 10, got -1."),
    (dict(render_backoff=301), "render_backoff must be between 0 and 300 seconds, got 301.0."),
])
def test_invalid_render_retries_fail_with_no_request(deliver, fetch, overrides, expected):
    outcome = deliver([{"name": "first", "report_id": 3, "emails": "x@example.com"}], **overrides)
    assert outcome.failed and outcome.result["msg"] == expected and fetch.calls == []
