# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""Overdue deliveries: a delivery that says how often it must go out (`every`, or its cron `schedule`) and has no
confirmed send within its period plus its grace. The one place that decides it, for grafana_report_history, the role's
history entry point and the event source reportops.grafana.report_deliveries.

- The period: `every` (an interval such as 7d), else the shortest gap between two times of `schedule` (a daily
  schedule's is one day, '0 7 * * mon-fri' too). Cron times are taken in UTC.
- The grace: `grace`, else DEFAULT_GRACE_FRACTION of the period (a quarter: 6h for a daily delivery, 42h for a weekly
  one, 15m for an hourly one). A quarter covers what delays a run that did happen (an AWX/AAP job waiting for
  capacity, a catch-up after a reboot, retries, a slow render, a schedule host a few hours off UTC) and still names a
  missed delivery long before its next one is due.
- Due: `every` after the last confirmed send; with a schedule, the first time of the schedule after the last
  confirmed send (a send up to the grace, at most half a period, before a time counts for it: a manual run at 05:00
  serves the 06:00 time that the ledger then skips).
- A delivery with no confirmed send is treated as first expected at `first_expected`: the start of the history
  window read (the module's and the role's `since`; the event source's start less its `since`); once an overdue
  record of it exists (grafana_report_history's record_overdue), at the due time that record says, so that a
  window moving with each run does not move its periods. A send before it
  could only make the delivery overdue sooner, so a window never invents an overdue delivery; but it must be longer
  than the period plus the grace to see one that never ran.
- Overdue once `now` is past due plus grace; `missed` counts the periods missed since, and `period_due` is the due
  time of the newest one (the event source emits one event per missed period).
"""

from __future__ import annotations

import calendar
import datetime
import time

from ansible_collections.reportops.grafana.plugins.module_utils._annotation_record import OVERDUE
from ansible_collections.reportops.grafana.plugins.module_utils._cron import CronError, parse_cron
from ansible_collections.reportops.grafana.plugins.module_utils._delivery import parse_interval

# The grace when a delivery gives none, as a fraction of its period.
DEFAULT_GRACE_FRACTION = 0.25
# The keys of a delivery's expectation (the role's deliveries carry them among their other keys).
EXPECTATION_KEYS = ("every", "schedule", "grace")
# Most missed periods counted (a delivery dead for years still costs a bounded loop).
MAX_MISSED = 10000


class OverdueError(ValueError):
    """An invalid expectation; the message names the delivery and the key."""


def utc_text(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration_text(seconds):
    """7d, 1d18h, 6h, 15m, 90s: the largest units first, no zero parts."""
    seconds, parts = int(round(seconds)), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append("%d%s" % (seconds // size, unit))
            seconds %= size
    return "".join(parts) or "0s"


class Expectation:
    """How often one delivery must go out: `period` and `grace` in seconds, and `schedule` (a CronSchedule) or None."""

    def __init__(self, name, period, grace, every=None, schedule=None):
        self.name = name
        self.period = period
        self.grace = grace
        self.every = every
        self.schedule = schedule

    @property
    def how(self):
        """How the delivery says its period, for messages: every 7d, or schedule '0 6 * * *'."""
        return "every %s" % self.every if self.every else "schedule '%s'" % self.schedule.expression

    def due_after(self, moment):
        """When the delivery is due after a send (or first expectation) at `moment`."""
        if self.schedule is None:
            return moment + self.period
        return self.schedule.next_time(moment + min(self.grace, self.period / 2.0))

    def next_due(self, due):
        """The due time of the period after the one due at `due`."""
        return due + self.period if self.schedule is None else self.schedule.next_time(due)


def expectation(options, where=None):
    """The Expectation of a delivery's options ({name, every | schedule, grace}), or None when it gives neither
    `every` nor `schedule` (it is not expected at any time). OverdueError names the delivery and the key."""
    name = options.get("name")
    where = where or ("delivery '%s'" % name if name else "a delivery")
    every, schedule, grace = options.get("every"), options.get("schedule"), options.get("grace")
    if every not in (None, "") and schedule not in (None, ""):
        raise OverdueError("%s: give every or schedule, not both (every %s, schedule %r)." % (where, every, schedule))
    parsed = None
    if every not in (None, ""):
        period = parse_interval(every) if isinstance(every, (str, int)) and not isinstance(every, bool) else None
        if period is None:
            raise OverdueError("%s: every must be an interval such as 90s, 30m, 12h, 7d or 1h30m, got %r." % (where, every))
    elif schedule not in (None, ""):
        try:
            parsed = parse_cron(schedule)
        except CronError as exc:
            raise OverdueError("%s: schedule: %s" % (where, exc))
        period = parsed.shortest_gap()
        if period is None:
            raise OverdueError("%s: schedule %r has no two times within eight years." % (where, schedule))
    else:
        if grace not in (None, ""):
            raise OverdueError("%s: grace needs every or schedule (how often the delivery must go out)." % where)
        return None
    if grace in (None, ""):
        seconds = period * DEFAULT_GRACE_FRACTION
    else:
        seconds = parse_interval(grace) if isinstance(grace, (str, int)) and not isinstance(grace, bool) else None
        if seconds is None:
            raise OverdueError("%s: grace must be an interval such as 30m, 6h or 1d, got %r." % (where, grace))
    return Expectation(name, period, seconds, every=str(every) if parsed is None else None, schedule=parsed)


def overdue(expected, last_sent, first_expected, now, recorded_due=None):
    """The overdue entry of one delivery, or None when it is not overdue.

    `last_sent`: epoch of its newest confirmed send, or None; `first_expected`: from when it was expected, used
    when it has none (the start of the window read); `recorded_due`: when it has none, the due time (epoch) that an
    overdue record of it says, which keeps its periods where the run that first found it put them, since the start
    of a window moves with every run. The entry: delivery, due and overdue_since (UTC text, and epochs *_epoch),
    last_sent (text or None), missed, period_due (text and epoch), period, grace, how, message.
    """
    if last_sent is None and recorded_due is not None:
        due = recorded_due
    else:
        due = expected.due_after(last_sent if last_sent is not None else first_expected)
    if due is None or now <= due + expected.grace:
        return None
    missed, newest = 1, due
    while missed < MAX_MISSED:
        following = expected.next_due(newest)
        if following is None or following + expected.grace >= now:
            break
        missed, newest = missed + 1, following
    if last_sent is not None:
        since = "no confirmed send since %s" % utc_text(last_sent)
    elif recorded_due is not None:
        since = "no confirmed send in the window, as recorded when it first became overdue"
    else:
        since = "no confirmed send since it was first expected at %s (the start of the window)" % utc_text(first_expected)
    message = "%s; due at %s (%s, grace %s), overdue since %s%s." % (
        since, utc_text(due), expected.how, duration_text(expected.grace), utc_text(due + expected.grace),
        ", %d periods missed" % missed if missed > 1 else "")
    return dict(delivery=expected.name, outcome=OVERDUE, due=utc_text(due), due_epoch=due,
                overdue_since=utc_text(due + expected.grace), overdue_since_epoch=due + expected.grace,
                last_sent=utc_text(last_sent) if last_sent is not None else None, missed=missed,
                period_due=utc_text(newest), period_due_epoch=newest, period=duration_text(expected.period),
                grace=duration_text(expected.grace), how=expected.how, message=message)


def last_confirmed(records, name):
    """Epoch of the newest record with outcome sent of the delivery `name` (its name or its delivery key), or None.
    `records` as parse_record gives them."""
    times = [record["epoch"] for record in records
             if record.get("outcome") == "sent" and name in (record.get("delivery"), record.get("delivery_key"))]
    return max(times) if times else None


def recorded_due(records, name):
    """Epoch of the due time that the newest overdue record of the delivery `name` says, or None. Every record of one
    run of missed periods says the same (the due time of the first)."""
    found = [record for record in records if record.get("outcome") == OVERDUE and record.get("delivery") == name
             and record.get("due")]
    return due_of_record(max(found, key=lambda record: record["epoch"])) if found else None


def due_of_record(record):
    """Epoch of the due time an overdue record says, or None when it says none readable."""
    try:
        return calendar.timegm(time.strptime(record.get("due"), "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return None  # not one of ours


def overdue_deliveries(expectations, records, first_expected, now):
    """The overdue entries of `expectations` (Expectation or None each) judged on `records` (parse_record's, of one
    Grafana: confirmed sends, and the overdue records of earlier runs), oldest overdue first."""
    found = []
    for expected in expectations:
        if expected is None:
            continue
        entry = overdue(expected, last_confirmed(records, expected.name), first_expected, now,
                        recorded_due(records, expected.name))
        if entry is not None:
            found.append(entry)
    return sorted(found, key=lambda entry: (entry["overdue_since_epoch"], entry["delivery"] or ""))


def period_key(delivery, period_due):
    """What makes an overdue period the same in an overdue entry and an overdue record: the delivery and the due
    time (UTC text) of the missed period."""
    return (delivery, period_due)


def period_overdue_epoch(entry):
    """When the newest missed period of an entry became overdue (its due time plus the grace): its record's time."""
    return entry["period_due_epoch"] + entry["overdue_since_epoch"] - entry["due_epoch"]


def public(entry):
    """An overdue entry without its epochs, as the module returns it."""
    return dict((key, value) for key, value in entry.items() if not key.endswith("_epoch"))
