# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""Cron expressions: parsed, normalized and turned into systemd OnCalendar expressions (the filters cron_validate and
cron_to_oncalendar, and the role's schedule), and their times (when a delivery is due: _overdue, for the history
module, the role's history entry point and the event source). Pure Python, no dependency: modules use it too."""

from __future__ import annotations

import datetime
import re

from ansible.module_utils.common.text.converters import to_text

# (name, ordinal, lowest, highest, names)
FIELDS = (
    ("minute", "1st", 0, 59, None),
    ("hour", "2nd", 0, 23, None),
    ("day-of-month", "3rd", 1, 31, None),
    ("month", "4th", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    ("day-of-week", "5th", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

DAYS_IN_MONTH = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}
SYSTEMD_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")

_ITEM = re.compile(r"^(?P<range>\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>[0-9]+))?$")


class CronError(ValueError):
    """An invalid cron expression; the message names the field."""


class CronSchedule:
    """A parsed 5-field cron expression: one sorted tuple of values per field, and the star flags."""

    def __init__(self, expression, fields, values, dom_star, dow_star):
        self.expression = expression
        self.fields = fields
        self.values = values
        self.dom_star = dom_star
        self.dow_star = dow_star

    @property
    def normalized(self):
        """The expression with numbers only, one space between fields, macros expanded."""
        parts = []
        for index, text in enumerate(self.fields):
            parts.append(_normalize_field(text, FIELDS[index]))
        return " ".join(parts)

    def oncalendar(self):
        """systemd OnCalendar expressions that together fire when cron would."""
        minute, hour, dom, month, dow = self.values
        time = "%s:%s:00" % (_calendar_list(hour, 0, 23), _calendar_list(minute, 0, 59))
        months = _calendar_list(month, 1, 12)
        days = _calendar_list(dom, 1, 31)
        weekdays = _weekday_list(dow)
        if self.dom_star or self.dow_star:
            # cron ANDs the two day fields when either starts with '*'.
            prefix = "" if weekdays is None else weekdays + " "
            return ["%s*-%s-%s %s" % (prefix, months, days, time)]
        # Both restricted: cron fires when either day field matches.
        if weekdays is None:
            return ["*-%s-* %s" % (months, time)]
        calendars = ["%s *-%s-* %s" % (weekdays, months, time)]
        if min(dom) <= max(DAYS_IN_MONTH[number] for number in month):
            calendars.append("*-%s-%s %s" % (months, days, time))
        return calendars

    def matches_day(self, moment):
        """Whether cron fires on the day of `moment` (a datetime): when either day field starts with '*', both must
        match (the starred one matches every day); when both are restricted, either one."""
        dom_ok = moment.day in self.values[2]
        dow_ok = (moment.weekday() + 1) % 7 in self.values[4]
        if self.dom_star or self.dow_star:
            return dom_ok and dow_ok
        return dom_ok or dow_ok

    def next_time(self, after):
        """Epoch seconds of the first time after `after` (epoch seconds) at which cron fires, times taken in UTC;
        None when there is none within eight years (a 29th of February on a Monday comes within 28)."""
        minutes, hours, dummy, months, dummy = self.values
        moment = datetime.datetime.fromtimestamp(int(after) // 60 * 60, datetime.timezone.utc) + datetime.timedelta(minutes=1)
        end = moment + datetime.timedelta(days=366 * 8)
        while moment < end:
            if moment.month not in months:
                moment = (moment.replace(day=1, hour=0, minute=0) + datetime.timedelta(days=32)).replace(day=1)
            elif not self.matches_day(moment):
                moment = moment.replace(hour=0, minute=0) + datetime.timedelta(days=1)
            elif moment.hour not in hours:
                moment = moment.replace(minute=0) + datetime.timedelta(hours=1)
            elif moment.minute not in minutes:
                moment += datetime.timedelta(minutes=1)
            else:
                return moment.timestamp()
        return None

    def shortest_gap(self, start=1704067200, fires=1000):
        """Seconds of the shortest gap between two consecutive times of the schedule (its period: a daily schedule's
        is one day, '0 7 * * mon-fri' too), over `fires` times or eight years from `start` (2024-01-01, a leap year)."""
        gap, last = None, self.next_time(start - 60)
        for dummy in range(fires):
            following = self.next_time(last) if last is not None else None
            if following is None:
                break
            gap = following - last if gap is None else min(gap, following - last)
            last = following
        return gap


def _fail(expression, field, message):
    name, ordinal = field[0], field[1]
    raise CronError("Invalid cron expression '%s': the %s field (%s) %s" % (expression, name, ordinal, message))


def _number(token, field, expression):
    names = field[4]
    if token.isdigit():
        value = int(token)
    elif names and token in names:
        value = names.index(token) + (1 if field[0] == "month" else 0)
    else:
        allowed = " or a name %s..%s" % (names[0], names[-1]) if names else ""
        _fail(expression, field, "has '%s', which is not a number%s" % (token, allowed))
    if not field[2] <= value <= field[3]:
        _fail(expression, field, "has %s, outside %d-%d" % (token, field[2], field[3]))
    return value


def _parse_field(text, field, expression):
    lowest, highest = field[2], field[3]
    values = set()
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            _fail(expression, field, "has '%s', expected *, a number, a range a-b, a list a,b or a step */n or a-b/n" % (item or text))
        span, step = match.group("range"), match.group("step")
        if span == "*":
            first, last = lowest, highest
        elif "-" in span:
            first, last = (_number(token, field, expression) for token in span.split("-"))
            if first > last:
                _fail(expression, field, "has the range '%s', which runs backwards" % span)
        else:
            if step is not None:
                _fail(expression, field, "has '%s': a step needs a range or *, such as '%s-%d/%s'" % (item, span, highest, step))
            first = last = _number(span, field, expression)
        if step is not None:
            step = int(step)
            if step < 1 or step > highest - lowest + 1:
                _fail(expression, field, "has the step '/%d', expected 1-%d" % (step, highest - lowest + 1))
        values.update(range(first, last + 1, step or 1))
    if field[0] == "day-of-week" and 7 in values:
        values.discard(7)
        values.add(0)
    return tuple(sorted(values))


def parse_cron(expression):
    """Parse a 5-field cron expression or a macro such as @daily; raise CronError if it is invalid."""
    if not isinstance(expression, str):
        raise CronError("Invalid cron expression %r: expected a string such as '0 7 * * mon-fri'" % (expression,))
    original = to_text(expression).strip()
    text = original.lower()
    if text.startswith("@"):
        if text not in MACROS:
            raise CronError("Invalid cron expression '%s': unknown macro, expected one of %s (@reboot is not a time)"
                            % (original, ", ".join(sorted(MACROS))))
        text = MACROS[text]
    fields = text.split()
    if len(fields) != 5:
        raise CronError("Invalid cron expression '%s': expected 5 fields (minute hour day-of-month month day-of-week) "
                        "or a macro such as @daily, got %d" % (original, len(fields)))
    values = tuple(_parse_field(fields[index], FIELDS[index], original) for index in range(5))
    dom_star, dow_star = fields[2].startswith("*"), fields[4].startswith("*")
    if dow_star:
        longest = max(DAYS_IN_MONTH[month] for month in values[3])
        if min(values[2]) > longest:
            _fail(original, FIELDS[2], "never matches a day of the months in the month field")
    return CronSchedule(original, fields, values, dom_star, dow_star)


def _normalize_field(text, field):
    items = []
    for item in text.split(","):
        match = _ITEM.match(item)
        span, step = match.group("range"), match.group("step")
        if span != "*":
            numbers = []
            for token in span.split("-"):
                value = int(token) if token.isdigit() else field[4].index(token) + (1 if field[0] == "month" else 0)
                numbers.append(str(value))
            span = "-".join(numbers)
        items.append(span if step is None else "%s/%s" % (span, step))
    return ",".join(items)


def _runs(values):
    runs = []
    for value in values:
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    return runs


def _calendar_list(values, lowest, highest):
    """One OnCalendar component: '*', 'a/n', or a list of values and ranges 'a..b', two digits each."""
    if values == tuple(range(lowest, highest + 1)):
        return "*"
    if len(values) > 2:
        step = values[1] - values[0]
        if step > 1 and values == tuple(range(values[0], highest + 1, step)):
            return "%02d/%d" % (values[0], step)
    parts = []
    for first, last in _runs(values):
        if last - first >= 2:
            parts.append("%02d..%02d" % (first, last))
        else:
            parts.extend("%02d" % value for value in range(first, last + 1))
    return ",".join(parts)


def _weekday_list(values):
    """The weekday component in Monday-first order, or None for every day."""
    if values == tuple(range(7)):
        return None
    monday_first = sorted((value - 1) % 7 for value in values)
    parts = []
    for first, last in _runs(monday_first):
        names = [SYSTEMD_DAYS[(index + 1) % 7] for index in range(first, last + 1)]
        parts.append("%s..%s" % (names[0], names[-1]) if len(names) > 2 else ",".join(names))
    return ",".join(parts)
