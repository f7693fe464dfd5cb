# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The window of grafana_report_history: since and until."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils._history_window import HistoryError, window, window_bound

NOW = datetime.datetime(2026, 12, 1, 6, 0, tzinfo=datetime.timezone.utc).timestamp()


@pytest.mark.parametrize("value, expected", [
    ("24h", NOW - 86400), ("7d", NOW - 7 * 86400), ("1h30m", NOW - 5400), ("90", NOW - 90), ("now", NOW),
    ("2026-11-30", datetime.datetime(2026, 11, 30, tzinfo=datetime.timezone.utc).timestamp()),
    ("2026-11-30T06:30", datetime.datetime(2026, 11, 30, 6, 30, tzinfo=datetime.timezone.utc).timestamp()),
    ("2026-11-30T06:30:00Z", datetime.datetime(2026, 11, 30, 6, 30, tzinfo=datetime.timezone.utc).timestamp()),
    ("2026-11-30 07:30:00+01:00", datetime.datetime(2026, 11, 30, 6, 30, tzinfo=datetime.timezone.utc).timestamp()),
])
def test_parse_moment(value, expected):
    assert window_bound(value, NOW, "since") == expected


@pytest.mark.parametrize("value", ["", "yesterday", "24x", "1h30", "2026-13-01", "2026-11-30T25:00", "-1h", True, None, "0"])
def test_parse_moment_rejects(value):
    with pytest.raises(HistoryError, match="^since must be a duration"):
        window_bound(value, NOW, "since")


def test_window_must_not_be_empty():
    assert window("24h", "now", NOW) == (NOW - 86400, NOW)
    with pytest.raises(HistoryError, match="since .* must be before until"):
        window("1h", "2h", NOW)
