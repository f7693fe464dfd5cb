# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""The window of grafana_report_history (since, until). Apart from _history so that the modules that send, which
write records but read no window, do not carry the definitions' date code."""

from __future__ import annotations

import time

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.reportops.grafana.plugins.module_utils._module import InputError
from ansible_collections.reportops.grafana.plugins.module_utils._annotation_record import utc_iso
from ansible_collections.reportops.grafana.plugins.module_utils._delivery import parse_interval
from ansible_collections.reportops.grafana.plugins.module_utils._report_definition import DefinitionError, instant


class HistoryError(InputError):
    """Invalid input to the history module; the message names the option."""


def window_bound(value, now, field):
    """Epoch seconds of `since` or `until`: a duration back from now ('24h', '7d', '1h30m') or a date or time in
    ISO 8601 ('2026-11-30', '2026-11-30T06:00', '2026-11-30T06:00:00+01:00'; UTC when no offset), or 'now'."""
    text = to_text(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if text.lower() == "now":
        return now
    try:
        return instant(text, "UTC", field).timestamp()
    except DefinitionError:
        pass
    seconds = parse_interval(text) if text else None
    if seconds is not None:
        return now - seconds
    raise HistoryError("%s must be a duration back from now such as 24h, 7d or 1h30m, a date or time such as 2026-11-30 "
                       "or 2026-11-30T06:00:00Z, or now; got %r." % (field, value))


def window(since, until, now=None):
    """(from, to) in epoch seconds; HistoryError when a bound is invalid or the window is empty."""
    now = time.time() if now is None else now
    start, end = window_bound(since, now, "since"), window_bound(until, now, "until")
    if start >= end:
        raise HistoryError("since (%s) must be before until (%s)." % (utc_iso(start), utc_iso(end)))
    return start, end
