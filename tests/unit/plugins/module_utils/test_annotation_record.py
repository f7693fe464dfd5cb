# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The annotations' format, the ledger's and the history's: tags, text, reading them back."""

from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils import _annotation_record
from ansible_collections.reportops.grafana.plugins.module_utils._history import public

NOW = datetime.datetime(2026, 12, 1, 6, 0, tzinfo=datetime.timezone.utc).timestamp()
OUTCOME = dict(name="weekly-slo", report="Weekly SLO", report_id="3", recipients=["a@example.com", "b@example.com"],
               recipients_source="emails", outcome="failed", attempts=3, elapsed=31.2,
               message="Grafana failed on report 3 (HTTP 500: Failed to generate PDF).")
JOB = {"id": 4711, "template": "Deliver reports"}


def annotation(fields, tags, moment_ms, annotation_id=1):
    return {"id": annotation_id, "time": moment_ms - 1000, "timeEnd": moment_ms, "tags": tags,
            "text": _annotation_record.record_text(fields)}


def test_record_fields_and_text():
    fields = _annotation_record.record_fields(OUTCOME, "k1", "Weekly SLO", "runner-1", JOB, with_addresses=False)
    assert fields == dict(v=1, outcome="failed", report="Weekly SLO", report_id="3", delivery="weekly-slo",
                          delivery_key="k1", recipients=2, attempts=3, elapsed=31.2, message=OUTCOME["message"],
                          runner="runner-1", job=JOB)
    text = _annotation_record.record_text(fields)
    first, line = text.split("\n")
    assert first == ("reportops.grafana: report 'Weekly SLO' (3), delivery 'weekly-slo' failed (3 attempts, 31.2s): "
                     + OUTCOME["message"])
    assert json.loads(line) == fields
    assert "a@example.com" not in text


def test_addresses_only_when_asked():
    fields = _annotation_record.record_fields(OUTCOME, None, "Weekly SLO", "r", None, with_addresses=True)
    assert fields["addresses"] == ["a@example.com", "b@example.com"] and fields["job"] is None


def test_saved_recipients_that_were_not_read_are_an_unknown_number():
    outcome = dict(OUTCOME, recipients=[], recipients_source="report")
    assert _annotation_record.record_fields(outcome, None, None, "r", None, True)["recipients"] is None


def test_tags_follow_the_contract_with_the_ledger():
    fields = _annotation_record.record_fields(OUTCOME, None, "Weekly SLO", "r", None, False)
    assert _annotation_record.record_tags(fields, "ab" * 32) == [
        "reportops.grafana", "delivery:" + "ab" * 16, "outcome:failed", "report:3", "delivery-name:weekly-slo"]


def test_a_record_reads_back():
    fields = _annotation_record.record_fields(OUTCOME, "k1", "Weekly SLO", "runner-1", JOB, False)
    record = _annotation_record.parse_record(annotation(fields, _annotation_record.record_tags(fields, "0" * 64), int(NOW * 1000)))
    assert public(record) == dict(time="2026-12-01T06:00:00Z", outcome="failed", report="Weekly SLO", report_id="3",
                                  delivery="weekly-slo", delivery_key="k1", recipients=2, attempts=3, elapsed=31.2,
                                  message=OUTCOME["message"], runner="runner-1", job=JOB, id=1, last_sent=None,
                                  last_uncertain=None)


@pytest.mark.parametrize("text, tags, expected", [
    # The ledger's record of a send as 0.2 wrote it: state in the JSON line, no outcome tag.
    ('reportops.grafana: delivery sent by h\n{"state": "sent", "runner": "h", "report_id": "3", "v": 1, "lease": 1}',
     ["reportops.grafana", "delivery:ab", "report:3"], "sent"),
    # A live claim or a failed claim of the protocol is no outcome.
    ('x\n{"state": "claimed", "lease": 100, "v": 1, "runner": "h"}', ["reportops.grafana", "delivery:ab"], None),
    ('x\n{"state": "failed", "lease": 100, "v": 1, "runner": "h"}', ["reportops.grafana", "delivery:ab"], None),
    ('x\n{"v": 1, "runner": "h"}', ["reportops.grafana", "delivery:ab", "ledger:claim"], None),
    # Someone else's annotation.
    ('deploy 1.2.3', ["deploy"], None),
])
def test_what_counts_as_a_record(text, tags, expected):
    record = _annotation_record.parse_record({"id": 5, "time": 1, "timeEnd": 2, "tags": tags, "text": text})
    assert (record["outcome"] if record else None) == expected
    if record:
        assert record["report_id"] == "3"


@pytest.mark.parametrize("tags, counts", [
    (["reportops.grafana", "delivery:abc", "report:3"], True),                     # 0.2's record
    (["reportops.grafana", "delivery:abc", "outcome:sent", "report:3"], True),
    (["reportops.grafana", "delivery:abc", "outcome:failed", "report:3"], False),  # history of a failure
    (["reportops.grafana", "delivery:abc", "outcome:skipped", "report:3"], False),
    (["reportops.grafana", "delivery:abc", "ledger:claim", "report:3"], False),
])
def test_which_annotations_are_send_records(tags, counts):
    assert _annotation_record.is_send_record({"id": 1, "tags": tags}) is counts
