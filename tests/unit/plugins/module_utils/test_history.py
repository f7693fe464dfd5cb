# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Outcome records: their format, reading them back, the window and the "failed, then recovered" rule."""

from __future__ import annotations

import datetime
import json

from ansible_collections.reportops.grafana.plugins.module_utils import _history
from ansible_collections.reportops.grafana.plugins.module_utils._delivery import Delivery

NOW = datetime.datetime(2026, 12, 1, 6, 0, tzinfo=datetime.timezone.utc).timestamp()
OUTCOME = dict(name="weekly-slo", report="Weekly SLO", report_id="3", recipients=["a@example.com", "b@example.com"],
               recipients_source="emails", outcome="failed", attempts=3, elapsed=31.2,
               message="Grafana failed on report 3 (HTTP 500: Failed to generate PDF).")
JOB = {"id": 4711, "template": "Deliver reports"}


def test_job_of():
    assert _history.job_of(None) is None and _history.job_of({"id": None, "template": None}) is None
    assert _history.job_of({"id": 7, "template": None}) == {"id": 7, "template": None}


def record(outcome, delivery, minutes, key=None):
    return dict(outcome=outcome, delivery=delivery, delivery_key=key, report_id="3", epoch=NOW + minutes * 60)


def test_failed_then_recovered_is_no_failure():
    records = [record("failed", "a", 0), record("sent", "a", 5)]
    assert _history.unrecovered(records) == []


def test_an_uncertain_send_counts_until_a_later_send():
    records = [record("sent", "a", 0), record("uncertain", "a", 5), record("skipped", "a", 10)]
    assert _history.unrecovered(records) == [records[1]]
    assert _history.unrecovered(records + [record("sent", "a", 15)]) == []


def test_recovered_then_failed_again_is_a_failure():
    records = [record("sent", "a", 0), record("failed", "a", 5), record("skipped", "a", 10)]
    assert _history.unrecovered(records) == [records[1]]


def test_a_send_of_another_delivery_recovers_nothing():
    records = [record("failed", "a", 0), record("sent", "b", 5), record("failed", None, 1, key="k"), record("sent", None, 2, key="k")]
    assert _history.unrecovered(records) == [records[0]]


def test_counts_and_filters():
    records = [dict(record("sent", "a", 0), report="Weekly SLO"), dict(record("failed", "b", 1), report="Other", report_id="4")]
    assert _history.counts(records) == {"sent": 1, "failed": 1, "skipped": 0, "uncertain": 0, "overdue": 0}
    assert _history.selected(records, report="Weekly SLO") == records[:1]
    assert _history.selected(records, report="4") == records[1:]
    assert _history.selected(records, delivery="b", outcomes=["failed"]) == records[1:]
    assert _history.selected(records, outcomes=["skipped"]) == []


def test_history_write_warns_naming_the_permission(fetch, make_client):
    client = make_client(url="https://grafana.example.com", token="glsa_secret_token_for_the_warning")
    warnings = []
    history = _history.History(client, JOB, False, warnings.append)
    delivery = Delivery(report_id="3", recipients=["a@example.com"], name="weekly-slo")
    fetch.reply(403, {"message": "You'll need additional permissions to perform this action. Permissions needed: annotations:create"})
    fields = history.fields(dict(OUTCOME, outcome="sent"), delivery, "Weekly SLO")
    assert history.write(fields, delivery, NOW, NOW + 2) is False
    assert warnings == ["Delivery 'weekly-slo': report 3 was sent, but Grafana did not store its outcome record (history: grafana):"
                        " Access to the outcome record was denied (HTTP 403: You'll need additional permissions to perform this"
                        " action. Permissions needed: annotations:create); the credentials need the annotations:create"
                        " (scope annotations:type:organization) permission."]
    body = fetch.bodies()[0]
    assert body["time"] == int(NOW * 1000) and body["timeEnd"] == int((NOW + 2) * 1000)
    assert "outcome:sent" in body["tags"] and json.loads(body["text"].split("\n")[1])["job"] == JOB


class RecordingClaim(object):
    skip_reason = None
    uncertain = False

    def __init__(self):
        self.details = None

    def sent(self, details):
        self.details = details

    def failed(self, may_have_acted, details=None):
        self.details = details
        self.uncertain = may_have_acted
        return None


def test_with_the_grafana_ledger_its_record_of_the_send_is_the_outcome_record(fetch, make_client, monkeypatch):
    import contextlib

    from ansible_collections.reportops.grafana.plugins.module_utils import _ledger
    from ansible_collections.reportops.grafana.plugins.module_utils._delivery import deliver

    client = make_client(url="https://grafana.example.com", token="glsa_x")
    ledger = _ledger.GrafanaLedger(client, None, runner="r1")
    claim = RecordingClaim()
    monkeypatch.setattr(ledger, "prepare", lambda: None)
    monkeypatch.setattr(ledger, "reserve", lambda *args, **kwargs: contextlib.nullcontext(claim))
    history = _history.History(client, JOB, False, None)
    delivery = Delivery(report_id="3", recipients=["a@example.com"], delivery_key="k1", name="weekly-slo", report="Weekly SLO")
    fetch.reply(200, {"message": "Report was sent"})
    outcome = deliver(client, ledger, "", delivery, 0, False, None, None, history)
    assert outcome["outcome"] == "sent" and len(fetch.calls) == 1  # the send, no annotation of its own
    assert claim.details["outcome"] == "sent" and claim.details["report_id"] == "3" and claim.details["delivery_key"] == "k1"
    assert claim.details["delivery"] == "weekly-slo" and claim.details["job"] == JOB and claim.details["attempts"] == 1


def test_with_the_grafana_ledger_its_record_of_an_uncertain_send_is_the_outcome_record(fetch, make_client, monkeypatch):
    import contextlib

    from ansible_collections.reportops.grafana.plugins.module_utils import _ledger
    from ansible_collections.reportops.grafana.plugins.module_utils._delivery import deliver

    client = make_client(url="https://grafana.example.com", token="glsa_x")
    ledger = _ledger.GrafanaLedger(client, None, runner="r1")
    claim = RecordingClaim()
    monkeypatch.setattr(ledger, "prepare", lambda: None)
    monkeypatch.setattr(ledger, "reserve", lambda *args, **kwargs: contextlib.nullcontext(claim))
    history = _history.History(client, JOB, False, None)
    delivery = Delivery(report_id="3", recipients=["a@example.com"], delivery_key="k1", name="weekly-slo", report="Weekly SLO")
    fetch.reply(504, "<html>504 Gateway Time-out</html>")
    outcome = deliver(client, ledger, "", delivery, 0, False, None, None, history)
    assert outcome["outcome"] == "failed" and len(fetch.calls) == 1  # the send, no annotation of its own
    assert claim.details["outcome"] == "uncertain" and claim.details["delivery"] == "weekly-slo" and claim.details["job"] == JOB
    assert "may still have sent report 3" in claim.details["message"] and claim.details["attempts"] == 1
