# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the filters cron_validate and cron_to_oncalendar."""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.reportops.grafana.plugins.filter.cron import (
    FilterModule,
    cron_to_oncalendar,
    cron_validate,
)
from ansible_collections.reportops.grafana.plugins.module_utils._cron import parse_cron


def test_filter_names():
    assert sorted(FilterModule().filters()) == ["cron_to_oncalendar", "cron_validate"]


@pytest.mark.parametrize("expression, normalized, calendars", [
    ("0 7 * * mon-fri", "0 7 * * 1-5", ["Mon..Fri *-*-* 07:00:00"]),
    ("0 7 * * MON-FRI", "0 7 * * 1-5", ["Mon..Fri *-*-* 07:00:00"]),
    ("*/15 * * * *", "*/15 * * * *", ["*-*-* *:00/15:00"]),
    ("5 4 * * sun", "5 4 * * 0", ["Sun *-*-* 04:05:00"]),
    ("5 4 * * 7", "5 4 * * 7", ["Sun *-*-* 04:05:00"]),
    ("0 0 * * 5-7", "0 0 * * 5-7", ["Fri..Sun *-*-* 00:00:00"]),
    ("0 0 * * 0,6", "0 0 * * 0,6", ["Sat,Sun *-*-* 00:00:00"]),
    ("0 0 * * 0-6", "0 0 * * 0-6", ["*-*-* 00:00:00"]),
    ("30 8-18/2 * * *", "30 8-18/2 * * *", ["*-*-* 08,10,12,14,16,18:30:00"]),
    ("0 0 1 jan,jul *", "0 0 1 1,7 *", ["*-01,07-01 00:00:00"]),
    ("0 12 */2 * *", "0 12 */2 * *", ["*-*-01/2 12:00:00"]),
    ("1,2,3,10-20 * * 2-11 *", "1,2,3,10-20 * * 2-11 *", ["*-02..11-* *:01..03,10..20:00"]),
    ("0 0 29 2 *", "0 0 29 2 *", ["*-02-29 00:00:00"]),
    ("  0   7  *  *  1  ", "0 7 * * 1", ["Mon *-*-* 07:00:00"]),
    # Both day fields restricted: cron fires on either, systemd needs two expressions.
    ("0 9 1-7 * mon", "0 9 1-7 * 1", ["Mon *-*-* 09:00:00", "*-*-01..07 09:00:00"]),
    ("0 9 1 * 0-6", "0 9 1 * 0-6", ["*-*-* 09:00:00"]),
    # A day field that starts with '*' makes cron require both.
    ("0 9 */2 * mon", "0 9 */2 * 1", ["Mon *-*-01/2 09:00:00"]),
    ("@daily", "0 0 * * *", ["*-*-* 00:00:00"]),
    ("@midnight", "0 0 * * *", ["*-*-* 00:00:00"]),
    ("@HOURLY", "0 * * * *", ["*-*-* *:00:00"]),
    ("@weekly", "0 0 * * 0", ["Sun *-*-* 00:00:00"]),
    ("@monthly", "0 0 1 * *", ["*-*-01 00:00:00"]),
    ("@yearly", "0 0 1 1 *", ["*-01-01 00:00:00"]),
    ("@annually", "0 0 1 1 *", ["*-01-01 00:00:00"]),
])
def test_valid(expression, normalized, calendars):
    assert cron_validate(expression) == normalized
    assert cron_to_oncalendar(expression) == calendars


@pytest.mark.parametrize("expression, message", [
    ("0 25 * * *", "the hour field (2nd) has 25, outside 0-23"),
    ("60 * * * *", "the minute field (1st) has 60, outside 0-59"),
    ("0 0 0 * *", "the day-of-month field (3rd) has 0, outside 1-31"),
    ("0 0 * 13 *", "the month field (4th) has 13, outside 1-12"),
    ("0 0 * * 8", "the day-of-week field (5th) has 8, outside 0-7"),
    ("0 0 * jab *", "the month field (4th) has 'jab', which is not a number or a name jan..dec"),
    ("0 0 * * monday", "the day-of-week field (5th) has 'monday', which is not a number or a name sun..sat"),
    ("a * * * *", "the minute field (1st) has 'a', which is not a number"),
    ("0 0 * * mon-", "the day-of-week field (5th) has 'mon-'"),
    ("1,,2 * * * *", "the minute field (1st) has '1,,2'"),
    ("10-5 * * * *", "the minute field (1st) has the range '10-5', which runs backwards"),
    ("*/0 * * * *", "the minute field (1st) has the step '/0'"),
    ("5/10 * * * *", "a step needs a range or *, such as '5-59/10'"),
    ("0 0 31 2 *", "the day-of-month field (3rd) never matches a day of the months in the month field"),
    ("0 0 31 4,6 *", "never matches"),
    ("* * *", "expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @daily, got 3"),
    ("* * * * * *", "got 6"),
    ("", "got 0"),
    ("@reboot", "unknown macro"),
    ("@often", "unknown macro"),
    (None, "expected a string"),
    (7, "expected a string"),
])
def test_invalid(expression, message):
    for function in (cron_validate, cron_to_oncalendar):
        with pytest.raises(AnsibleFilterError) as error:
            function(expression)
        assert message in str(error.value)
        assert "Invalid cron expression" in str(error.value)


def test_day_31_with_dow_is_valid():
    # cron ORs the day fields, so this fires on Mondays of February.
    assert cron_to_oncalendar("0 0 31 2 mon") == ["Mon *-02-* 00:00:00"]
    assert cron_to_oncalendar("0 0 31 1,2 mon") == ["Mon *-01,02-* 00:00:00", "*-01,02-31 00:00:00"]


# The conversion checked against systemd itself: the next fire times that systemd-analyze computes
# for the OnCalendar expressions must be the ones cron's rules give.
EQUIVALENCE = [
    "0 7 * * mon-fri", "*/15 9-10 * * *", "30 8-18/2 1,15 * *", "0 9 1-7 * mon", "0 9 */2 * mon",
    "0 0 * * 5-7", "5 4 * * sun", "0 12 */3 2-4 *", "1,2,3,10-20 6 * 2-11 0,6", "0 0 29 2 *",
    "@weekly", "@monthly", "45 23 28-31 * *", "0 0 31 1,2 mon",
]
BASE = datetime.datetime(2024, 1, 1, 0, 0, 30)
ITERATIONS = 12


def cron_times(expression, count):
    """The next `count` times after BASE at which cron fires, by cron's rules."""
    schedule = parse_cron(expression)
    minutes, hours, days, months, weekdays = (set(values) for values in schedule.values)
    day = BASE.date()
    found = []
    while len(found) < count and day.year < 2100:
        dom_match, dow_match = day.day in days, (day.isoweekday() % 7) in weekdays
        if schedule.dom_star or schedule.dow_star:
            day_match = dom_match and dow_match
        else:
            day_match = dom_match or dow_match
        if day.month in months and day_match:
            for hour in sorted(hours):
                for minute in sorted(minutes):
                    moment = datetime.datetime(day.year, day.month, day.day, hour, minute)
                    if moment > BASE and len(found) < count:
                        found.append(moment)
        day += datetime.timedelta(days=1)
    return found


def systemd_times(calendars, count):
    """The next `count` times after BASE at which systemd fires, merged over the expressions."""
    command = ["systemd-analyze", "calendar", "--iterations=%d" % count,
               "--base-time=%s UTC" % BASE.strftime("%Y-%m-%d %H:%M:%S")] + calendars
    result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, TZ="UTC"), check=False)
    if result.returncode != 0:
        if "base-time" in result.stderr:
            pytest.skip("this systemd-analyze has no --base-time")
        raise AssertionError("systemd-analyze rejects %s: %s" % (calendars, result.stderr))
    times = set()
    for match in re.finditer(r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", result.stdout):
        times.add(datetime.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S"))
    return sorted(times)[:count]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("expression", EQUIVALENCE)
def test_systemd_fires_when_cron_would(expression):
    expected = cron_times(expression, ITERATIONS)
    assert len(expected) == ITERATIONS
    assert systemd_times(cron_to_oncalendar(expression), ITERATIONS) == expected
