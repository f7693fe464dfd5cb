# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the delivery model shared by both send modules and the role's filters."""

from __future__ import annotations

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils._delivery import (
    Delivery,
    DeliveryError,
    checked_deliveries,
    checked_delivery,
    plain,
    checked_emails,
    checked_interval,
    checked_report_id,
    deliver,
    resolve_report_names,
)
from ansible_collections.reportops.grafana.plugins.module_utils._ledger import FileLedger, LedgerError


@pytest.mark.parametrize("value, expected", [(3, "3"), ("007", "7"), (" 12 ", "12")])
def test_report_id(value, expected):
    assert checked_report_id(value) == expected


@pytest.mark.parametrize("value", [0, -1, "x1", "\u00b2", "1.5", True, None, [1], "٣"])
def test_report_id_invalid(value):
    with pytest.raises(DeliveryError, match="report_id must be a positive integer"):
        checked_report_id(value)


def test_emails_split_deduplicated_in_order():
    assert checked_emails(["b@example.com; a@example.com", "B@EXAMPLE.com\nc@example.com"]) == [
        "b@example.com", "a@example.com", "c@example.com"]
    assert checked_emails("x@example.com,y@example.com") == ["x@example.com", "y@example.com"]


@pytest.mark.parametrize("value, expected", [
    ("", "emails is empty"), ([" ; "], "emails is empty"), ({"a": 1}, "must be a list of addresses"), ([1], "must be a list"),
    ("Ops <ops@example.com>", "invalid address"), ("ops@localhost", "invalid address"), ("a@b@example.com", "invalid address"),
])
def test_emails_invalid(value, expected):
    with pytest.raises(DeliveryError, match=expected):
        checked_emails(value)


@pytest.mark.parametrize("value, expected", [("90s", 90), ("30m", 1800), ("1h30m", 5400), ("3600", 3600), (None, None), (60, 60)])
def test_interval(value, expected):
    assert checked_interval(value) == expected


@pytest.mark.parametrize("value", ["12x", "0", "", "1h30", True, 1.5])
def test_interval_invalid(value):
    with pytest.raises(DeliveryError, match="min_interval must be a positive duration"):
        checked_interval(value)


# Booleans are Ansible's (ArgumentSpecValidator with the module's spec), as in a module option: t and f too.
@pytest.mark.parametrize("value, expected", [(True, True), ("yes", True), ("0", False), (0, False), ("off", False),
                                             ("t", True), ("f", False)])
def test_bool(value, expected):
    options = {"name": "a", "report_id": 1, "use_emails_from_report": value}
    if not expected:
        options["emails"] = "a@example.com"
    assert (Delivery.of(checked_delivery(options)).recipients is None) is expected


def test_bool_invalid():
    with pytest.raises(DeliveryError, match="use_emails_from_report must be a boolean, got 'maybe'"):
        checked_delivery({"name": "a", "report_id": 1, "use_emails_from_report": "maybe"})


def test_checked_delivery_options_and_its_delivery():
    options = checked_delivery({"name": "a", "report": "Weekly", "use_emails_from_report": "yes", "min_interval": " 12h "})
    delivery = Delivery.of(options)
    assert (delivery.report, delivery.report_id, delivery.recipients, delivery.min_interval) == ("Weekly", None, None, 43200)
    assert delivery.uses_ledger
    assert options == {"name": "a", "report": "Weekly", "use_emails_from_report": True, "min_interval": "12h"}
    resolved = delivery.resolved("5")
    assert resolved.report_id == "5" and resolved.report == "Weekly" and "report_id" not in options
    by_id = checked_delivery({"name": "b", "report_id": 4, "emails": "x@example.com", "delivery_key": "k"})
    assert by_id == {"name": "b", "report_id": "4", "emails": ["x@example.com"], "delivery_key": "k"}
    # The checked options are checked again unchanged: the module takes what the role's early check gives it.
    assert checked_delivery(by_id) == by_id and checked_delivery(options) == options


def test_checked_deliveries_lists_every_problem():
    with pytest.raises(DeliveryError) as error:
        checked_deliveries([{"name": "a", "report_id": 1}, "x", {"report_id": 1, "emails": "a@example.com"},
                            {"name": "a", "report_id": 2, "emails": "b@example.com", "extra": 1}])
    message = str(error.value)
    for text in ("delivery 'a': emails: set exactly one", "delivery #2 must be a dictionary", "delivery #3: name must be",
                 "delivery 'a': name: defined more than once", "delivery 'a': unknown key extra: known keys: name, report"):
        assert text in message


def test_resolve_report_names():
    deliveries = [Delivery.of(options) for options in checked_deliveries([{"name": "a", "report": "W", "emails": "a@example.com"},
                                                                         {"name": "b", "report_id": 9, "emails": "a@example.com"}])]
    assert [d.report_id for d in resolve_report_names(deliveries, [{"id": 5, "name": "W"}])] == ["5", "9"]
    with pytest.raises(DeliveryError, match="report 'W' does not exist in this Grafana \\(its reports: none\\)"):
        resolve_report_names(deliveries, [])


@pytest.fixture
def client(make_client):
    return make_client(url="http://grafana.test:3000", token="t0ken-value", timeout=60)


def test_deliver_sends_and_records_then_skips(client, fetch, tmp_path):
    ledger = FileLedger(str(tmp_path / "ledger.json"))
    delivery = Delivery("3", ["a@example.com"], delivery_key="once")
    fetch.reply(200, {"message": "Report was sent"})
    first = deliver(client, ledger, "scope", delivery, 0, False)
    assert (first["outcome"], first["sent"], first["changed"], first["attempts"]) == ("sent", True, True, 1)
    second = deliver(client, ledger, "scope", delivery, 0, False)
    assert second["outcome"] == "skipped" and "delivery key 'once' was already sent" in second["skipped_reason"]
    other_scope = deliver(client, ledger, "another Grafana", delivery, 0, True)
    assert other_scope["outcome"] == "checked"
    assert len(fetch.calls) == 1


def test_deliver_failure_is_an_outcome_not_an_exception(client, fetch, tmp_path):
    fetch.reply(404, {"message": "report not found"})
    outcome = deliver(client, FileLedger(str(tmp_path / "l.json")), "", Delivery("8", None, delivery_key="k"), 0, False)
    assert outcome["outcome"] == "failed" and outcome["http_status"] == 404 and "Report 8 was not found" in outcome["message"]
    assert outcome["recipients"] == [] and outcome["recipients_source"] == "report"
    # Nothing recorded: the next run tries again.
    fetch.reply(200, {"message": "Report was sent"})
    assert deliver(client, FileLedger(str(tmp_path / "l.json")), "", Delivery("8", None, delivery_key="k"), 0, False)["sent"]


def test_deliver_warns_when_the_ledger_cannot_record(client, fetch, tmp_path, monkeypatch):
    ledger = FileLedger(str(tmp_path / "l.json"))

    def broken(*args):
        raise LedgerError("disk full")

    monkeypatch.setattr(ledger, "record", broken)
    warnings = []
    fetch.reply(200, {"message": "Report was sent"})
    outcome = deliver(client, ledger, "", Delivery("3", ["a@example.com"], delivery_key="k", name="weekly"), 0, False,
                      warn=warnings.append)
    assert outcome["outcome"] == "sent"
    assert warnings == ["Delivery 'weekly': report 3 was sent, but the ledger could not record it, so a re-run may send it again: disk full"]


class _Lazy:
    """Stands for ansible-core 2.19+'s lazy template containers: deep-copying one instantiates template plugins again
    (a deprecation warning on 2.21), so the checks must never do it."""

    def __deepcopy__(self, memo):
        raise AssertionError("deep-copied")


class _LazyDict(_Lazy, dict):
    pass


class _LazyList(_Lazy, list):
    pass


def test_checks_never_deep_copy_the_containers_of_a_task():
    options = _LazyDict(name="a", report_id=1, emails=_LazyList(["a@example.com", "b@example.com"]))
    assert checked_delivery(options)["emails"] == ["a@example.com", "b@example.com"]
    assert plain(options).__class__ is dict and plain(options)["emails"].__class__ is list
