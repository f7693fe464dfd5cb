# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils import _annotation_record
from ansible_collections.reportops.grafana.plugins.modules.grafana_report_history import main
from ansible_collections.reportops.grafana.plugins.modules.grafana_report_send import main as send_main

TOKEN = "glsa_history_unit_token_0123456789"


def annotation(annotation_id, outcome, delivery, minutes_ago, message="m", report_id="3"):
    fields = dict(v=1, outcome=outcome, report="Weekly SLO", report_id=report_id, delivery=delivery, delivery_key=None,
                  recipients=1, attempts=1, elapsed=0.5, message=message, runner="r", job=None)
    end = int((time.time() - minutes_ago * 60) * 1000)
    return {"id": annotation_id, "time": end - 500, "timeEnd": end, "text": _annotation_record.record_text(fields),
            "tags": _annotation_record.record_tags(fields, "0" * 64)}


@pytest.fixture
def history(run_module, fetch):
    def run(check_mode=False, **overrides):
        outcome = run_module(main, dict(dict(url="http://grafana.test:3000", token=TOKEN), **overrides), check_mode=check_mode)
        assert TOKEN not in json.dumps(outcome.result) + json.dumps(outcome.warnings)
        return outcome
    return run


def test_lists_counts_and_asks_grafana_for_the_window(history, fetch):
    fetch.reply(200, [annotation(3, "sent", "a", 5), annotation(2, "failed", "a", 10), annotation(1, "failed", "b", 20),
                      {"id": 9, "time": 1, "timeEnd": 1, "tags": ["deploy"], "text": "deploy"}])
    outcome = history(since="24h")
    assert not outcome.failed and not outcome.result["changed"]
    assert [record["id"] for record in outcome.result["records"]] == [3, 2, 1]
    assert outcome.result["counts"] == {"sent": 1, "failed": 2, "skipped": 0, "uncertain": 0, "overdue": 0}
    assert [record["id"] for record in outcome.result["unrecovered"]] == [1]
    query = parse_qs(urlsplit(fetch.calls[0]["url"]).query)
    assert query["tags"] == ["reportops.grafana"] and query["type"] == ["annotation"] and query["limit"] == ["1000"]
    assert 86390 * 1000 <= int(query["to"][0]) - int(query["from"][0]) <= 86410 * 1000


def test_fail_on_failed_fails_only_without_a_later_send(history, fetch):
    fetch.reply(200, [annotation(3, "sent", "a", 5), annotation(2, "failed", "a", 10)])
    assert not history(fail_on_failed=True).failed
    fetch.reply(200, [annotation(3, "failed", "a", 5, message="Grafana failed"), annotation(2, "sent", "a", 10)])
    outcome = history(fail_on_failed=True)
    assert outcome.failed and outcome.result["msg"].startswith("1 delivery failed in the window and was not sent since: a at ")
    assert outcome.result["msg"].endswith(": Grafana failed") and outcome.result["counts"]["failed"] == 1


def test_filters(history, fetch):
    fetch.reply(200, [annotation(3, "sent", "a", 5), annotation(2, "failed", "b", 10, report_id="4")])
    assert [record["id"] for record in history(delivery="b").result["records"]] == [2]
    fetch.reply(200, [annotation(3, "sent", "a", 5), annotation(2, "failed", "b", 10, report_id="4")])
    assert [record["id"] for record in history(outcome=["sent"], report="3").result["records"]] == [3]


@pytest.mark.parametrize("overrides, expected", [
    (dict(since="yesterday"), "since must be a duration"),
    (dict(until="2026-02-30"), "until must be a duration"),
    (dict(since="1h", until="2h"), "must be before until"),
    (dict(limit=0), "limit must be at least 1"),
])
def test_bad_input_fails_with_no_request(history, fetch, overrides, expected):
    outcome = history(**overrides)
    assert outcome.failed and expected in outcome.result["msg"] and fetch.calls == []


def test_a_full_or_empty_listing_warns(history, fetch):
    fetch.reply(200, [annotation(1, "sent", "a", 5)])
    assert "as many as limit" in history(limit=1).warnings[0]
    fetch.reply(200, [])
    assert "annotations:read with scope annotations:type:organization" in history().warnings[0]


def test_check_mode_reads_as_well(history, fetch):
    fetch.reply(200, [annotation(1, "sent", "a", 5)])
    assert history(check_mode=True).result["counts"]["sent"] == 1


def test_send_with_history_writes_one_record_and_a_refused_record_is_a_warning(run_module, fetch, tmp_path):
    args = dict(url="http://grafana.test:3000", token=TOKEN, report_id=3, emails=["a@example.com"], history="grafana",
                history_job={"id": 4711, "template": "Deliver"}, render_backoff=0, ledger_path=str(tmp_path / "l.json"))
    fetch.reply(500, {"message": "Failed to generate PDF"}).reply(200, {"message": "Report was sent"}).reply(200, {"id": 1})
    outcome = run_module(send_main, args)
    assert outcome.result["sent"] and outcome.result["attempts"] == 2 and outcome.warnings == []
    record = fetch.bodies()[2]
    assert fetch.calls[2]["url"].endswith("/api/annotations")
    fields = json.loads(record["text"].split("\n")[1])
    assert fields["outcome"] == "sent" and fields["attempts"] == 2 and fields["job"] == {"id": 4711, "template": "Deliver"}
    assert "a@example.com" not in record["text"] and "outcome:sent" in record["tags"] and "report:3" in record["tags"]
    del fetch.calls[:]
    fetch.reply(200, {"message": "Report was sent"}).reply(403, {"message": "Access denied to this dashboard"})
    outcome = run_module(send_main, args)
    assert not outcome.failed and outcome.result["sent"]
    assert len(outcome.warnings) == 1 and "the annotations:create (scope annotations:type:organization) permission" in outcome.warnings[0]


def test_a_failed_send_is_recorded_and_still_fails(run_module, fetch, tmp_path):
    args = dict(url="http://grafana.test:3000", token=TOKEN, report_id=3, emails=["a@example.com"], history="grafana",
                render_retries=0)
    fetch.reply(-1, msg="The read operation timed out").reply(200, {"id": 1})
    outcome = run_module(send_main, args)
    assert outcome.failed and outcome.result["attempts"] == 1
    fields = json.loads(fetch.bodies()[1]["text"].split("\n")[1])
    assert fields["outcome"] == "failed" and "may still render and send" in fields["message"]


def test_check_mode_writes_no_record(run_module, fetch):
    args = dict(url="http://grafana.test:3000", token=TOKEN, report_id=3, emails=["a@example.com"], history="grafana")
    fetch.reply(200, {"id": 3, "name": "Weekly SLO"})
    run_module(send_main, args, check_mode=True)
    assert [call["method"] for call in fetch.calls] == ["GET"]


def test_a_skip_of_the_ledger_is_recorded_as_skipped(run_module, fetch, tmp_path):
    args = dict(url="http://grafana.test:3000", token=TOKEN, report_id=3, emails=["a@example.com"], history="grafana",
                delivery_key="k1", ledger_path=str(tmp_path / "l.json"))
    fetch.reply(200, {"message": "Report was sent"}).reply(200, {"id": 1}).reply(200, {"id": 2})
    run_module(send_main, args)
    outcome = run_module(send_main, args)
    assert not outcome.result["sent"] and [call["method"] for call in fetch.calls] == ["POST", "POST", "POST"]
    fields = json.loads(fetch.bodies()[2]["text"].split("\n")[1])
    assert fields["outcome"] == "skipped" and fields["attempts"] == 0 and "already sent" in fields["message"]
    assert "outcome:skipped" in fetch.bodies()[2]["tags"]


def test_a_name_finds_the_records_of_sends_made_by_id_and_fails_on_them(history, fetch):
    # Issue 25: a send by report_id writes no name; one listing turns the name into this Grafana's id.
    by_id, other = annotation(5, "failed", None, 5, message="HTTP 500"), annotation(6, "sent", "x", 6, report_id="4")
    for record, name in ((by_id, None), (other, "Other")):
        fields = dict(_annotation_record.json_fields(record["text"]), report=name)
        record["text"] = _annotation_record.record_text(fields)
    fetch.reply(200, [{"id": 3, "name": "Weekly SLO"}, {"id": 4, "name": "Other"}]).reply(200, [by_id, other])
    outcome = history(report="Weekly SLO", fail_on_failed=True)
    assert outcome.failed and "HTTP 500" in outcome.result["msg"]
    assert [record["id"] for record in outcome.result["records"]] == [5]
    assert [urlsplit(call["url"]).path for call in fetch.calls] == ["/api/reports", "/api/annotations"]


def test_a_name_without_reports_read_warns_and_matches_names_only(history, fetch):
    fetch.reply(403, {"message": "Permission denied"}).reply(200, [annotation(5, "sent", "a", 5)])
    outcome = history(report="Weekly SLO")
    assert not outcome.failed and outcome.result["counts"]["sent"] == 1
    assert any("only records that carry its name" in warning for warning in outcome.warnings)


def test_a_row_listed_twice_counts_once(history, fetch):
    rows = [annotation(2, "sent", "a", 5), annotation(1, "failed", "b", 9)]
    fetch.reply(200, rows + rows)
    outcome = history()
    assert outcome.result["counts"] == {"sent": 1, "failed": 1, "skipped": 0, "uncertain": 0, "overdue": 0}
    assert [record["id"] for record in outcome.result["records"]] == [2, 1]


# -- Issue 31: a send that may have been sent is recorded as uncertain, held by the ledger, and counts as unrecovered ---

def test_an_uncertain_send_is_recorded_then_held_with_a_warning_then_sent_with_resend_uncertain(run_module, fetch, tmp_path):
    args = dict(url="http://grafana.test:3000", token=TOKEN, report_id=3, emails=["a@example.com"], history="grafana",
                delivery_key="k1", ledger_path=str(tmp_path / "l.json"))
    fetch.reply(504, "<html>504 Gateway Time-out</html>").reply(200, {"id": 1})
    outcome = run_module(send_main, args)
    assert outcome.failed and "may still have sent report 3, so it was not retried" in outcome.result["msg"]
    assert "The delivery ledger remembers this send as uncertain (ledger file %s, entry " % args["ledger_path"] in outcome.result["msg"]
    assert outcome.result["msg"].endswith("no later run sends it again (delivery key 'k1' is sent once) unless it runs with"
                                          " resend_uncertain: true.")
    record = fetch.bodies()[1]
    fields = json.loads(record["text"].split("\n")[1])
    assert fields["outcome"] == "uncertain" and "outcome:uncertain" in record["tags"] and "outcome:failed" not in record["tags"]
    assert "may still have sent report 3" in fields["message"]
    del fetch.calls[:]
    # A plain re-run (a timer, a relaunched job): held, no send, a warning, a skipped record that says when it was held.
    fetch.reply(200, {"id": 2})
    outcome = run_module(send_main, args)
    assert not outcome.failed and not outcome.result["sent"] and not outcome.result["changed"]
    assert [call["url"].rsplit("/api", 1)[1] for call in fetch.calls] == ["/annotations"]
    assert "may have reached Grafana" in outcome.result["skipped_reason"] and "resend_uncertain: true" in outcome.result["message"]
    assert "delete the entry" in outcome.result["skipped_reason"] and args["ledger_path"] in outcome.result["skipped_reason"]
    assert len(outcome.warnings) == 1 and outcome.warnings[0].startswith("report 3 was not sent: this delivery's send at ")
    skipped = json.loads(fetch.bodies()[0]["text"].split("\n")[1])
    assert skipped["outcome"] == "skipped" and skipped["last_uncertain"].endswith("Z") and "last_sent" not in skipped
    # Check mode predicts the hold and writes nothing.
    del fetch.calls[:]
    fetch.reply(200, {"id": 3, "name": "Weekly SLO"})
    outcome = run_module(send_main, args, check_mode=True)
    assert not outcome.result["changed"] and "may have reached Grafana" in outcome.result["skipped_reason"]
    assert [call["method"] for call in fetch.calls] == ["GET"] and len(outcome.warnings) == 1
    # Sent anyway: confirmed, and the next plain run is skipped as already sent, saying when.
    del fetch.calls[:]
    fetch.reply(200, {"message": "Report was sent"}).reply(200, {"id": 4})
    outcome = run_module(send_main, dict(args, resend_uncertain=True))
    assert outcome.result["sent"] and outcome.warnings == []
    assert json.loads(fetch.bodies()[1]["text"].split("\n")[1])["outcome"] == "sent"
    del fetch.calls[:]
    fetch.reply(200, {"id": 5})
    outcome = run_module(send_main, args)
    skipped = json.loads(fetch.bodies()[0]["text"].split("\n")[1])
    assert "already sent" in outcome.result["skipped_reason"] and outcome.warnings == []
    assert skipped["last_sent"].endswith("Z") and "last_uncertain" not in skipped
    assert fetch.bodies()[0]["text"].splitlines()[0].startswith(
        "reportops.grafana: report 3 skipped (last sent at %s) (0 attempts" % skipped["last_sent"])


def test_without_a_ledger_a_send_that_may_have_been_sent_stays_a_failure(run_module, fetch):
    args = dict(url="http://grafana.test:3000", token=TOKEN, report_id=3, emails=["a@example.com"], history="grafana")
    fetch.reply(504, "<html>504 Gateway Time-out</html>").reply(200, {"id": 1})
    outcome = run_module(send_main, args)
    assert outcome.failed and "uncertain" not in outcome.result["msg"]
    assert json.loads(fetch.bodies()[1]["text"].split("\n")[1])["outcome"] == "failed"


def test_an_uncertain_record_is_listed_and_counts_until_a_later_send(history, fetch):
    rows = [annotation(3, "skipped", "a", 2), annotation(2, "uncertain", "a", 5, message="HTTP 504"),
            annotation(1, "sent", "a", 30)]
    fetch.reply(200, rows)
    outcome = history(fail_on_failed=True)
    assert outcome.failed and outcome.result["counts"] == {"sent": 1, "failed": 0, "skipped": 1, "uncertain": 1, "overdue": 0}
    assert [record["id"] for record in outcome.result["unrecovered"]] == [2]
    assert outcome.result["msg"].startswith("1 delivery failed in the window (uncertain: it may have been sent, so the ledger"
                                            " holds it) and was not sent since: a at ")
    assert outcome.result["msg"].endswith(" (uncertain): HTTP 504")
    fetch.reply(200, [annotation(4, "sent", "a", 1)] + rows)
    outcome = history(fail_on_failed=True)
    assert not outcome.failed and outcome.result["unrecovered"] == []
    fetch.reply(200, rows)
    assert [record["id"] for record in history(outcome=["uncertain"]).result["records"]] == [2]


def test_a_skipped_record_says_when_the_delivery_was_last_sent(history, fetch):
    row = annotation(3, "skipped", "a", 2)
    fields = dict(_annotation_record.json_fields(row["text"]), last_sent="2026-12-01T06:00:03Z")
    row["text"] = _annotation_record.record_text(fields)
    fetch.reply(200, [row, annotation(2, "sent", "b", 3)])
    records = history().result["records"]
    assert records[0]["last_sent"] == "2026-12-01T06:00:03Z" and records[0]["last_uncertain"] is None
    assert records[1]["last_sent"] is None


def test_overdue_deliveries_are_listed_and_fail_on_failed(history, fetch):
    # a: sent 30 minutes ago, every 1h (grace 15m): not overdue. b: sent 3 hours ago, every 1h: due 2h ago, overdue.
    # c: never sent in the 24h window, every 12h: overdue since the window began 24h ago plus 15h.
    # d: failed 10 minutes ago only, every 1d: first expected 24h ago, due now, within its grace (6h).
    deliveries = [dict(name="a", every="1h"), dict(name="b", every="1h"), dict(name="c", every="12h", grace="3h"),
                  dict(name="d", every="1d")]
    fetch.reply(200, [annotation(4, "failed", "d", 10), annotation(3, "sent", "a", 30), annotation(2, "sent", "b", 180)])
    outcome = history(since="24h", deliveries=deliveries)
    assert not outcome.failed
    assert [entry["delivery"] for entry in outcome.result["overdue"]] == ["c", "b"]
    c, b = outcome.result["overdue"]
    assert c["last_sent"] is None and "first expected at" in c["message"] and c["missed"] == 1
    assert b["last_sent"] == outcome.result["records"][2]["time"] and b["missed"] == 2 and b["grace"] == "15m"
    assert not [key for key in b if key.endswith("_epoch")]
    fetch.reply(200, [annotation(4, "failed", "d", 10), annotation(3, "sent", "a", 30), annotation(2, "sent", "b", 180)])
    outcome = history(since="24h", deliveries=deliveries, fail_on_failed=True)
    assert outcome.failed and outcome.result["msg"].startswith("1 delivery failed in the window and was not sent since: d at ")
    assert "; 2 deliveries are overdue (not sent on time): c: no confirmed send since it was first expected" in outcome.result["msg"]
    # Only an overdue one fails too; a filter on outcome does not hide the sends that overdue reads.
    fetch.reply(200, [annotation(3, "sent", "a", 30)])
    outcome = history(since="24h", deliveries=[dict(name="a", every="10m")], outcome=["failed"], fail_on_failed=True)
    assert outcome.failed and outcome.result["msg"].startswith("1 delivery is overdue (not sent on time): a: no confirmed send since ")


def test_an_invalid_expectation_fails_before_any_request(history, fetch):
    outcome = history(deliveries=[dict(name="w", every="weekly")])
    assert outcome.failed and fetch.calls == []
    assert outcome.result["msg"] == "deliveries[0] ('w'): every must be an interval such as 90s, 30m, 12h, 7d or 1h30m, got 'weekly'."


def test_record_overdue_writes_each_missed_period_once(history, fetch):
    # b: sent 3 hours ago, every 1h (grace 15m): two periods missed, the newer due 1h ago, overdue since 45 minutes.
    listing = [annotation(2, "sent", "b", 180)]
    fetch.reply(200, listing).reply(200, {"id": 50, "message": "Annotation added"})
    outcome = history(deliveries=[dict(name="b", every="1h")], record_overdue=True)
    assert not outcome.failed and outcome.result["changed"] and outcome.result["overdue"][0]["record"] == 50
    entry, posted = outcome.result["overdue"][0], fetch.bodies()[1]
    assert fetch.calls[1]["method"] == "POST" and fetch.calls[1]["url"].endswith("/api/annotations")
    assert posted["tags"] == ["reportops.grafana", "outcome:overdue", "report:3", "delivery-name:b"]
    # At the time the newest missed period became overdue: its due time plus the grace.
    assert posted["time"] == posted["timeEnd"] and _annotation_record.utc_iso(posted["time"] / 1000.0 - 900) == entry["period_due"]
    first_line, json_line = posted["text"].split("\n")
    assert first_line == "reportops.grafana: report 'Weekly SLO' (3), delivery 'b' overdue: %s" % entry["message"]
    assert json.loads(json_line)["missed"] == 2 and json.loads(json_line)["last_sent"] == entry["last_sent"]
    # The next run reads that record back: the period is recorded, nothing is written, the record is listed as overdue.
    fetch.calls.clear()
    fetch.reply(200, [dict(posted, id=50)] + listing)
    outcome = history(deliveries=[dict(name="b", every="1h")], record_overdue=True)
    assert not outcome.result["changed"] and outcome.result["overdue"][0]["record"] == 50 and len(fetch.calls) == 1
    record = outcome.result["records"][0]
    assert (record["outcome"], record["delivery"], record["period_due"], record["missed"]) == ("overdue", "b", entry["period_due"], 2)
    assert outcome.result["counts"]["overdue"] == 1 and outcome.result["unrecovered"] == []


def test_record_overdue_in_check_mode_writes_nothing_and_a_refusal_is_a_warning(history, fetch):
    fetch.reply(200, [])
    outcome = history(check_mode=True, since="24h", deliveries=[dict(name="never", every="12h")], record_overdue=True)
    assert outcome.result["changed"] and outcome.result["overdue"][0]["record"] is None and len(fetch.calls) == 1
    fetch.calls.clear()
    fetch.reply(200, []).reply(403, {"message": "You'll need additional permissions to perform this action."})
    outcome = history(since="24h", deliveries=[dict(name="never", every="12h")], record_overdue=True)
    assert not outcome.failed and not outcome.result["changed"] and outcome.result["overdue"][0]["record"] is None
    # A delivery with no record in the window: no report to tag it with.
    assert fetch.bodies()[1]["tags"] == ["reportops.grafana", "outcome:overdue", "delivery-name:never"]
    assert fetch.bodies()[1]["text"].startswith("reportops.grafana: delivery 'never' overdue: no confirmed send since it was first")
    assert any("Delivery 'never' is overdue, but Grafana did not store its overdue record" in warning
               and "annotations:create" in warning for warning in outcome.warnings)
    # The delivery's report, by name: one listing of the reports gives its id for the tag (only when a record needs it).
    fetch.calls.clear()
    fetch.reply(200, []).reply(200, [{"id": 4, "name": "Other"}, {"id": 7, "name": "Nightly export"}]).reply(200, {"id": 60})
    outcome = history(since="24h", deliveries=[dict(name="never", every="12h", report="Nightly export")], record_overdue=True)
    posted = fetch.bodies()[2]
    assert fetch.calls[1]["url"].endswith("/api/reports") and outcome.result["overdue"][0]["record"] == 60
    assert posted["tags"] == ["reportops.grafana", "outcome:overdue", "report:7", "delivery-name:never"]
    assert posted["text"].startswith("reportops.grafana: report 'Nightly export' (7), delivery 'never' overdue: ")
    # By id: no listing. Without reports:read: the record goes without the tag.
    fetch.calls.clear()
    fetch.reply(200, []).reply(200, {"id": 61})
    history(since="24h", deliveries=[dict(name="never", every="12h", report="7")], record_overdue=True)
    assert len(fetch.calls) == 2 and "report:7" in fetch.bodies()[1]["tags"]
    fetch.calls.clear()
    fetch.reply(200, []).reply(403, {"message": "denied"}).reply(200, {"id": 62})
    outcome = history(since="24h", deliveries=[dict(name="never", every="12h", report="Nightly export")], record_overdue=True)
    assert outcome.result["overdue"][0]["record"] == 62
    assert fetch.bodies()[2]["tags"] == ["reportops.grafana", "outcome:overdue", "delivery-name:never"]
    assert fetch.bodies()[2]["text"].startswith("reportops.grafana: report 'Nightly export', delivery 'never' overdue: ")
    # Without record_overdue, only the read.
    fetch.calls.clear()
    fetch.reply(200, [])
    outcome = history(since="24h", deliveries=[dict(name="never", every="12h")])
    assert len(fetch.calls) == 1 and outcome.result["overdue"][0]["record"] is None and not outcome.result["changed"]
