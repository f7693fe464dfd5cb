# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: not a public API, may change without notice.

"""Report ids and recipients as Grafana takes them, and a report found by its name in a listing."""

from __future__ import annotations

import re

from ansible.module_utils.common.text.converters import to_text

_REPORT_ID = re.compile(r"^[0-9]+$")
# Grafana keeps recipients in one string; its UI accepts commas or semicolons.
_RECIPIENT_SEPARATORS = re.compile(r"[,;\r\n]+")


def normalize_report_id(value):
    """The report id as a string of digits, or None when it is not a positive integer."""
    if isinstance(value, bool):
        return None
    text = to_text(value).strip() if isinstance(value, (int, str)) else ""
    if not _REPORT_ID.match(text) or int(text) < 1:
        return None
    return str(int(text))


def report_ids_by_name(name, reports):
    """The ids of the reports of the listing `reports` called `name` (none, one, or several)."""
    return [to_text(report.get("id")) for report in reports if report.get("name") == name]


def one_report_id(name, reports, error, when_several):
    """The id of the one report of the listing `reports` called `name`, or None when there is none; `error` (an
    exception class) when there are several, its message ending with `when_several` (what to do)."""
    ids = report_ids_by_name(name, reports)
    if len(ids) > 1:
        raise error("report name '%s' matches %d reports in this Grafana (ids %s); %s"
                    % (name, len(ids), ", ".join(ids), when_several))
    return ids[0] if ids else None


def split_recipients(values):
    """Addresses from strings separated by commas, semicolons or newlines, without duplicates (ignoring case)."""
    recipients, seen = [], set()
    for value in values:
        for address in _RECIPIENT_SEPARATORS.split(value or ""):
            address = address.strip()
            if address and address.lower() not in seen:
                seen.add(address.lower())
                recipients.append(address)
    return recipients
