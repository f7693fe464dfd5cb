# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Overdue deliveries: the period (every or schedule), the default grace, due times, never-sent deliveries and the
periods missed; and the cron times they rest on."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils import _overdue
from ansible_collections.reportops.grafana.plugins.module_utils._cron import parse_cron


def at(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M").replace(tzinfo=datetime.timezone.utc).timestamp()


HOUR, DAY = 3600, 86400


def sent(delivery, when, key=None, outcome="sent"):
    return dict(outcome=outcome, delivery=delivery, delivery_key=key, epoch=at(when))


@pytest.mark.parametrize("expression, after, expected", [
    ("0 6 * * *", "2026-12-01T05:59", "2026-12-01T06:00"),
    ("0 6 * * *", "2026-12-01T06:00", "2026-12-02T06:00"),
    ("0 7 * * mon-fri", "2026-12-04T08:00", "2026-12-07T07:00"),  # Friday to Monday
    ("*/15 * * * *", "2026-12-01T06:01", "2026-12-01T06:15"),
    ("@monthly", "2026-12-15T00:00", "2027-01-01T00:00"),
    ("0 6 1 * mon", "2026-12-02T00:00", "2026-12-07T06:00"),  # both day fields restricted: either matches
    ("0 0 29 2 *", "2026-03-01T00:00", "2028-02-29T00:00"),
])
def test_cron_next_time(expression, after, expected):
    assert parse_cron(expression).next_time(at(after)) == at(expected)


@pytest.mark.parametrize("expression, gap", [
    ("0 6 * * *", DAY), ("0 7 * * mon-fri", DAY), ("0 6 * * 1", 7 * DAY), ("*/15 * * * *", 900), ("0 7,8 * * *", HOUR),
    ("@monthly", 28 * DAY),
])
def test_the_period_of_a_schedule_is_its_shortest_gap(expression, gap):
    assert parse_cron(expression).shortest_gap() == gap


def test_default_grace_is_a_quarter_of_the_period():
    assert _overdue.DEFAULT_GRACE_FRACTION == 0.25
    assert _overdue.expectation(dict(name="w", every="7d")).grace == 42 * HOUR
    assert _overdue.expectation(dict(name="d", schedule="0 6 * * *")).grace == 6 * HOUR
    assert _overdue.expectation(dict(name="d", schedule="0 6 * * *", grace="1h")).grace == HOUR


def test_no_period_is_no_expectation():
    assert _overdue.expectation(dict(name="adhoc")) is None


@pytest.mark.parametrize("options, words", [
    (dict(name="x", every="7 days"), "delivery 'x': every must be an interval"),
    (dict(name="x", every="7d", schedule="0 6 * * *"), "give every or schedule, not both"),
    (dict(name="x", schedule="0 25 * * *"), "delivery 'x': schedule: Invalid cron expression '0 25 * * *': the hour"),
    (dict(name="x", every="1d", grace="soon"), "grace must be an interval"),
    (dict(name="x", grace="1h"), "grace needs every or schedule"),
    (dict(name="x", every=True), "every must be an interval"),
])
def test_invalid_expectations_name_the_delivery_and_key(options, words):
    with pytest.raises(_overdue.OverdueError, match=words.replace("(", r"\(").replace("*", r"\*")):
        _overdue.expectation(options)


def test_every_is_due_a_period_after_the_last_confirmed_send():
    weekly = _overdue.expectation(dict(name="weekly", every="7d"))
    records = [sent("weekly", "2026-11-23T06:00"), sent("weekly", "2026-11-30T06:00", outcome="failed"),
               sent("other", "2026-12-06T06:00")]
    start = at("2026-11-20T00:00")
    # Due 2026-11-30T06:00, grace 42h: overdue from 2026-12-01T24:00 on.
    assert _overdue.overdue_deliveries([weekly], records, start, at("2026-12-01T23:59")) == []
    entry, = _overdue.overdue_deliveries([weekly], records, start, at("2026-12-02T00:01"))
    assert entry["delivery"] == "weekly" and entry["outcome"] == "overdue" and entry["missed"] == 1
    assert (entry["last_sent"], entry["due"], entry["overdue_since"]) == (
        "2026-11-23T06:00:00Z", "2026-11-30T06:00:00Z", "2026-12-02T00:00:00Z")
    assert entry["message"] == ("no confirmed send since 2026-11-23T06:00:00Z; due at 2026-11-30T06:00:00Z (every 7d, "
                                "grace 1d18h), overdue since 2026-12-02T00:00:00Z.")
    # A later send, found by its delivery key, ends it.
    records.append(sent(None, "2026-12-01T06:00", key="weekly"))
    assert _overdue.overdue_deliveries([weekly], records, start, at("2026-12-02T00:01")) == []


def test_a_schedule_is_due_at_its_first_time_after_the_send():
    daily = _overdue.expectation(dict(name="daily", schedule="0 6 * * *"))
    records = [sent("daily", "2026-11-30T06:00")]
    start = at("2026-11-29T00:00")
    assert _overdue.overdue_deliveries([daily], records, start, at("2026-12-01T12:00")) == []
    entry, = _overdue.overdue_deliveries([daily], records, start, at("2026-12-01T12:01"))
    assert (entry["due"], entry["overdue_since"], entry["how"]) == (
        "2026-12-01T06:00:00Z", "2026-12-01T12:00:00Z", "schedule '0 6 * * *'")


def test_a_send_within_the_grace_before_a_time_counts_for_it():
    daily = _overdue.expectation(dict(name="daily", schedule="0 6 * * *"))
    # Sent by hand at 01:00; the 06:00 run was skipped by the ledger: the next due time is tomorrow's.
    records = [sent("daily", "2026-12-01T01:00"), sent("daily", "2026-12-01T06:00", outcome="skipped")]
    assert _overdue.overdue_deliveries([daily], records, at("2026-11-30T00:00"), at("2026-12-01T23:00")) == []


def test_a_delivery_never_sent_is_overdue_a_period_after_the_start_of_the_window():
    weekly = _overdue.expectation(dict(name="weekly", every="7d", grace="1d"))
    start = at("2026-11-20T00:00")
    assert _overdue.overdue_deliveries([weekly], [], start, at("2026-11-27T23:59")) == []
    entry, = _overdue.overdue_deliveries([weekly], [], start, at("2026-11-28T00:01"))
    assert entry["last_sent"] is None and entry["due"] == "2026-11-27T00:00:00Z"
    assert "first expected at 2026-11-20T00:00:00Z (the start of the window)" in entry["message"]
    # Failed attempts are no confirmed send.
    records = [sent("weekly", "2026-11-21T00:00", outcome="failed"), sent("weekly", "2026-11-22T00:00", outcome="uncertain")]
    assert len(_overdue.overdue_deliveries([weekly], records, start, at("2026-11-28T00:01"))) == 1


def test_an_overdue_record_keeps_the_periods_of_a_delivery_never_sent_where_they_were_found():
    hourly = _overdue.expectation(dict(name="hourly", every="1h"))
    # Found by a run whose 2h window began at 04:00: due 05:00, overdue since 05:15.
    first, = _overdue.overdue_deliveries([hourly], [], at("2026-12-01T04:00"), at("2026-12-01T06:10"))
    assert (first["due"], first["period_due"], first["missed"]) == ("2026-12-01T05:00:00Z", "2026-12-01T05:00:00Z", 1)
    # A run 20 minutes later: its window begins at 04:20, but the record written for 05:00 keeps the periods there.
    record = dict(outcome="overdue", delivery="hourly", due=first["due"], period_due=first["period_due"], epoch=at("2026-12-01T05:15"))
    again, = _overdue.overdue_deliveries([hourly], [record], at("2026-12-01T04:20"), at("2026-12-01T06:30"))
    assert (again["due"], again["period_due"], again["missed"]) == ("2026-12-01T05:00:00Z", "2026-12-01T06:00:00Z", 2)
    assert again["message"].startswith("no confirmed send in the window, as recorded when it first became overdue; due at 2026-12-01T05:00:00Z")
    # Without the record, the moving window would have moved the periods.
    moved, = _overdue.overdue_deliveries([hourly], [], at("2026-12-01T04:20"), at("2026-12-01T06:30"))
    assert moved["due"] == "2026-12-01T05:20:00Z"
    # A confirmed send ends the run of missed periods: the next is due after it.
    assert _overdue.overdue_deliveries([hourly], [record, sent("hourly", "2026-12-01T06:25")], at("2026-12-01T04:20"),
                                       at("2026-12-01T06:30")) == []


def test_each_missed_period_is_counted_and_the_newest_named():
    hourly = _overdue.expectation(dict(name="hourly", schedule="0 * * * *"))
    records = [sent("hourly", "2026-12-01T06:00")]
    entry, = _overdue.overdue_deliveries([hourly], records, at("2026-12-01T00:00"), at("2026-12-01T09:20"))
    # Due 07:00, 08:00, 09:00, each with 15m of grace: three missed, the newest due at 09:00.
    assert (entry["due"], entry["missed"], entry["period_due"]) == ("2026-12-01T07:00:00Z", 3, "2026-12-01T09:00:00Z")
    assert entry["message"].endswith(", 3 periods missed.")


def test_overdue_entries_are_oldest_first_and_public_drops_epochs():
    a = _overdue.expectation(dict(name="a", every="1d"))
    b = _overdue.expectation(dict(name="b", every="2d"))
    found = _overdue.overdue_deliveries([b, a, None], [], at("2026-11-01T00:00"), at("2026-12-01T00:00"))
    assert [entry["delivery"] for entry in found] == ["a", "b"]
    assert not [key for key in _overdue.public(found[0]) if key.endswith("_epoch")]


def test_duration_text():
    assert [_overdue.duration_text(s) for s in (42 * HOUR, 6 * HOUR, 900, 90, 0)] == ["1d18h", "6h", "15m", "1m30s", "0s"]
