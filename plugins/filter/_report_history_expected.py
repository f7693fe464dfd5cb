# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: the role report_delivery's history entry point calls this filter.
# Not a public API, may change without notice.

"""How often each delivery of an environment must go out, for grafana_report_history's `deliveries` (overdue)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.reportops.grafana.plugins.module_utils._overdue import EXPECTATION_KEYS
from ansible_collections.reportops.grafana.plugins.plugin_utils._role_deliveries import selected_deliveries


def report_delivery_expected(deliveries, names, only=None):
    """[{name, report, every | schedule, grace}] of the present deliveries that apply to an environment known by `names` (its
    host and group names) and say how often they must go out. [] when the deliveries are invalid: the history entry
    point reads the records anyway, and `main` says what is wrong with them."""
    try:
        selected = selected_deliveries(deliveries, names, only)
    except AnsibleFilterError:
        return []
    expected = []
    for options, delivery in selected:
        if options.get("every") or options.get("schedule"):
            # Its report too, for the overdue record of a delivery with no record in the window.
            entry = dict(name=delivery["name"], report=str(options.get("report") or options.get("report_id")))
            entry.update((key, str(options[key])) for key in EXPECTATION_KEYS if options.get(key) not in (None, ""))
            expected.append(entry)
    return expected


class FilterModule(object):
    """The role's deliveries as grafana_report_history's deliveries."""

    def filters(self):
        return {"_report_delivery_expected": report_delivery_expected}
