# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils._annotation_record import claim_text
from ansible_collections.reportops.grafana.plugins.modules.grafana_report_send import main

TOKEN = "glsa_unit_test_token_value_0123456789"
REPORT = {"id": 3, "uid": "r3", "name": "Weekly SLO", "recipients": "sre@example.com;lead@example.com", "state": "scheduled"}


@pytest.fixture
def args(tmp_path):
    return dict(url="http://grafana.test:3000", token=TOKEN, report_id=3, ledger_path=str(tmp_path / "ledger.json"))


@pytest.fixture
def send(run_module, fetch, args):
    """Run the module with the base args plus overrides; asserts the token never shows in the result."""

    def run(check_mode=False, **overrides):
        outcome = run_module(main, dict(args, **overrides), check_mode=check_mode)
        assert TOKEN not in json.dumps(outcome.result) + json.dumps(outcome.warnings)
        return outcome

    return run


def test_send_to_emails(send, fetch):
    fetch.reply(200, {"message": "Report was sent"})
    outcome = send(emails=["b@example.com, a@example.com", "B@example.com"], report_id="3")
    assert not outcome.failed
    result = outcome.result
    assert (result["changed"], result["sent"], result["status"], result["attempts"]) == (True, True, 200, 1)
    assert result["message"] == "Report was sent" and result["report_id"] == "3"
    assert result["recipients"] == ["b@example.com", "a@example.com"] and result["recipients_source"] == "emails"
    assert result["elapsed"] >= 0 and "report" not in result and "skipped_reason" not in result
    assert fetch.bodies() == [{"id": "3", "emails": "b@example.com,a@example.com"}]


def test_send_to_saved_recipients_reads_the_report_first(send, fetch):
    fetch.reply(200, REPORT).reply(200, {"message": "Report was sent"})
    result = send(use_emails_from_report=True, id="3").result
    assert [call["method"] for call in fetch.calls] == ["GET", "POST"]
    assert fetch.calls[0]["url"].endswith("/api/reports/3")
    assert fetch.bodies()[1] == {"id": "3", "useEmailsFromReport": True}
    assert result["recipients"] == ["sre@example.com", "lead@example.com"] and result["recipients_source"] == "report"
    assert result["report"]["name"] == "Weekly SLO" and result["sent"]


def test_saved_recipients_unreadable_still_sends_with_a_warning(send, fetch):
    fetch.reply(403, {"message": "Permission denied"}).reply(200, {"message": "Report was sent"})
    outcome = send(use_emails_from_report=True)
    assert outcome.result["sent"] and outcome.result["recipients"] == []
    assert any("reports:read" in warning for warning in outcome.warnings)


def test_missing_report_fails_before_the_send(send, fetch):
    fetch.reply(404, {"message": "Report not found"})
    outcome = send(use_emails_from_report=True)
    assert outcome.failed and "Report 3 was not found" in outcome.result["msg"]
    assert outcome.result["status"] == 404 and outcome.result["attempts"] == 0 and len(fetch.calls) == 1


def test_check_mode_reads_and_predicts_without_sending(send, fetch):
    fetch.reply(200, REPORT)
    result = send(check_mode=True, emails=["ops@example.com"]).result
    assert (result["changed"], result["sent"], result["status"], result["attempts"]) == (True, False, 200, 0)
    assert "would be sent to ops@example.com" in result["message"] and "Weekly SLO" in result["message"]
    assert [call["method"] for call in fetch.calls] == ["GET"]


def test_check_mode_with_saved_recipients_predicts_them(send, fetch):
    fetch.reply(200, REPORT)
    result = send(check_mode=True, use_emails_from_report=True).result
    assert result["recipients"] == ["sre@example.com", "lead@example.com"] and result["changed"]


@pytest.mark.parametrize("status, body, fails, text", [
    (404, {"message": "Report not found"}, True, "was not found"),
    (401, {"message": "Invalid API key"}, True, "check the token"),
    (403, {"message": "Permission denied"}, False, "reports:read"),
])
def test_check_mode_failures_match_a_real_run(send, fetch, status, body, fails, text):
    fetch.reply(status, body)
    outcome = send(check_mode=True, emails=["ops@example.com"])
    assert outcome.failed is fails
    assert text in (outcome.result.get("msg", "") + " ".join(outcome.warnings))
    assert [call["method"] for call in fetch.calls] == ["GET"]


def test_failed_send_reports_status_and_attempts(send, fetch):
    fetch.reply(500, {"message": "SMTP not configured, check your grafana.ini config file's [smtp] section"})
    outcome = send(emails=["ops@example.com"], render_retries=0)
    result = outcome.result
    assert outcome.failed and result["status"] == 500 and result["attempts"] == 1 and not result["sent"]
    assert "SMTP not configured" in result["msg"] and "may not have been sent" in result["msg"]


@pytest.mark.parametrize("overrides, field", [
    (dict(report_id="abc", emails=["a@example.com"]), "report_id"),
    (dict(report_id="3/../x", emails=["a@example.com"]), "report_id"),
    (dict(report_id=-1, emails=["a@example.com"]), "report_id"),
    (dict(report_id=0, emails=["a@example.com"]), "report_id"),
    (dict(report_id="dashboard-uid-7MeksYbmk", emails=["a@example.com"]), "report_id"),
    (dict(emails=[]), "emails is empty"),
    (dict(emails=[" , ;"]), "emails is empty"),
    (dict(emails=["not-an-address"]), "invalid address"),
    (dict(emails=["Ops Team <ops@example.com>"]), "invalid address"),
    (dict(emails=["ops@example.com\r\nBcc: all@example.com"]), "invalid address"),
    (dict(emails=["ops@@example.com"]), "invalid address"),
    (dict(emails=["ops@example"]), "invalid address"),
    (dict(emails=["ops @example.com"]), "invalid address"),
    (dict(), "one of emails or use_emails_from_report"),
    (dict(use_emails_from_report=False), "one of emails or use_emails_from_report"),
    (dict(emails=["a@example.com"], use_emails_from_report=True), "mutually exclusive"),
    (dict(emails=["a@example.com"], min_interval="soon"), "min_interval"),
    (dict(emails=["a@example.com"], min_interval="0s"), "min_interval"),
    (dict(emails=["a@example.com"], delivery_key="  "), "delivery_key"),
    (dict(emails=["a@example.com"], retries=-1), "retries"),
    (dict(emails=["a@example.com"], retries=100), "retries"),
    (dict(emails=["a@example.com"], ledger="redis"), "ledger"),
    (dict(emails=["a@example.com"], url="https://admin:hunter2@grafana.test"), "url must not embed credentials"),
    (dict(emails=["a@example.com"], timeout=-5), "timeout"),
])
def test_invalid_input_fails_before_any_request(send, fetch, overrides, field):
    outcome = send(**overrides)
    assert outcome.failed and field in outcome.result["msg"]
    assert fetch.calls == []
    assert "hunter2" not in outcome.result["msg"]


def test_delivery_key_sends_once(send, fetch, args):
    fetch.reply(200, {"message": "Report was sent"})
    first = send(emails=["ops@example.com"], delivery_key="weekly-2026-W48").result
    second = send(emails=["ops@example.com"], delivery_key="weekly-2026-W48").result
    assert first["sent"] and first["changed"]
    assert not second["sent"] and not second["changed"] and second["attempts"] == 0
    assert "delivery key 'weekly-2026-W48' was already sent" in second["skipped_reason"]
    assert len(fetch.calls) == 1
    assert os.stat(args["ledger_path"]).st_mode & 0o777 == 0o600
    assert TOKEN not in open(args["ledger_path"]).read()


def test_check_mode_predicts_the_skip_and_records_nothing(send, fetch, args):
    fetch.reply(200, REPORT)
    predicted = send(check_mode=True, emails=["ops@example.com"], min_interval="1h").result
    assert predicted["changed"] and not os.path.exists(args["ledger_path"])
    fetch.reply(200, {"message": "Report was sent"})
    send(emails=["ops@example.com"], min_interval="1h")
    fetch.reply(200, REPORT)
    predicted = send(check_mode=True, emails=["ops@example.com"], min_interval="1h").result
    assert not predicted["changed"] and "within min_interval (3600s)" in predicted["skipped_reason"]


def test_a_failed_send_records_nothing_and_the_retry_sends(send, fetch):
    fetch.reply(500, {"message": "render failed"}).reply(200, {"message": "Report was sent"})
    assert send(emails=["ops@example.com"], delivery_key="k1", render_retries=0).failed
    assert send(emails=["ops@example.com"], delivery_key="k1").result["sent"]
    assert len(fetch.calls) == 2


def test_other_recipients_are_another_delivery(send, fetch):
    fetch.reply(200, {"message": "Report was sent"}).reply(200, {"message": "Report was sent"})
    assert send(emails=["a@example.com"], min_interval="1d").result["sent"]
    assert send(emails=["b@example.com"], min_interval="1d").result["sent"]


def test_corrupt_ledger_fails_without_sending(send, fetch, args):
    with open(args["ledger_path"], "w") as ledger:
        ledger.write("{oops")
    outcome = send(emails=["ops@example.com"], delivery_key="k1")
    assert outcome.failed and args["ledger_path"] in outcome.result["msg"] and fetch.calls == []


def own_claim(annotation_id, created=1_700_000_100_000):
    """This run's claim as Grafana lists it back."""
    return {"id": annotation_id, "time": created, "created": created, "updated": created, "tags": ["reportops.grafana"],
            "text": claim_text(dict(v=1, state="claimed", runner="unit", lease=80, delivery_key="k1"))}


def listings(fetch, claims, records=()):
    """One round of the ledger's listings answered: the claims, then the records (first round: 0.2's, then outcome:sent)."""
    fetch.reply(200, claims).reply(200, []).reply(200, list(records))


def test_grafana_ledger_claims_then_sends_then_records(send, fetch):
    fetch.reply(200, {"id": 5, "message": "Annotation added"})
    listings(fetch, [own_claim(5)])
    fetch.reply(200, [own_claim(5)]).reply(200, []).reply(200, [])  # settle round: claims, records, uncertain records
    fetch.reply(200, {"message": "Report was sent"}).reply(200, {"message": "Annotation patched"})
    result = send(emails=["ops@example.com"], delivery_key="k1", ledger="grafana").result
    assert result["sent"]
    assert [(call["method"], call["url"].split("?")[0].rsplit("/api", 1)[1]) for call in fetch.calls] == [
        ("POST", "/annotations")] + [("GET", "/annotations")] * 6 + [("POST", "/reports/email"), ("PATCH", "/annotations/5")]
    assert "tags=outcome%3Auncertain" in fetch.calls[6]["url"]
    record = fetch.bodies()[8]
    assert record["tags"][0] == "reportops.grafana" and record["tags"][2:] == ["outcome:sent", "report:3"]
    assert '"state": "sent"' in record["text"]


def test_grafana_ledger_skips_a_recorded_delivery(send, fetch):
    recorded = {"id": 7, "time": 1_700_000_000_000, "tags": ["reportops.grafana", "outcome:sent"],
                "text": "reportops.grafana sent report 3 (k1)"}
    fetch.reply(200, {"id": 8})
    listings(fetch, [own_claim(8)], [recorded])
    fetch.reply(200, {"message": "Annotation deleted"})
    result = send(emails=["ops@example.com"], delivery_key="k1", ledger="grafana").result
    assert not result["sent"] and "2023-11-14T22:13:20Z" in result["skipped_reason"]
    assert [call["method"] for call in fetch.calls] == ["POST", "GET", "GET", "GET", "DELETE"]


def test_a_send_the_ledger_cannot_record_still_counts_as_sent(send, fetch):
    fetch.reply(200, {"id": 5})
    listings(fetch, [own_claim(5)])
    fetch.reply(200, [own_claim(5)]).reply(200, []).reply(200, [])
    fetch.reply(200, {"message": "Report was sent"}).reply(403, {"message": "Permission denied"})
    outcome = send(emails=["ops@example.com"], delivery_key="k1", ledger="grafana")
    assert not outcome.failed and outcome.result["sent"]
    assert any("could not record" in warning and "annotations:write" in warning for warning in outcome.warnings)
