# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filter report_deliveries (documented in report_deliveries.yml): public since 0.1.0, deprecated (meta/runtime.yml),
removed in 1.0.0; nothing in the collection uses it.

The file is not named after the filter: Ansible looks a collection's filter up by loading every file of plugins/filter
and applies the routing of each file's name, so a file named report_deliveries.py printed the deprecation warning on
every use of any filter of the collection. Under this name, only a use of report_deliveries itself warns.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.reportops.grafana.plugins.module_utils._delivery import (
    DELIVERIES_SUBOPTIONS,
    Delivery,
    DeliveryError,
    resolve_report_names,
)
from ansible_collections.reportops.grafana.plugins.plugin_utils._role_deliveries import (
    ROLE_OPTIONS,
    names_list,
    selected_deliveries,
)


def report_deliveries(deliveries, environments=None, only=None, reports=None):
    """Validate the deliveries and return the present ones that apply, normalized (every key set, None if unset).

    The checks are those of grafana_report_deliver and of the role, in one place (module_utils/_delivery.py).
    """
    selected = selected_deliveries(deliveries, environments, only)
    resolved = [Delivery.of(checked) for options, checked in selected]
    if reports is not None:
        try:
            resolved = resolve_report_names(resolved, reports)
        except DeliveryError as exc:
            raise AnsibleFilterError(str(exc))
    normalized = []
    for (options, checked), delivery in zip(selected, resolved):
        entry = dict((key, None) for key in tuple(DELIVERIES_SUBOPTIONS) + ROLE_OPTIONS)
        entry.update(checked, report_id=delivery.report_id, use_emails_from_report=delivery.recipients is None, state="present",
                     environments=names_list(options["environments"], "environments") if options.get("environments") else None,
                     schedule=" ".join(options["schedule"].split()) if options.get("schedule") else None)
        normalized.append(entry)
    return normalized


class FilterModule(object):
    """The deprecated filter report_deliveries."""

    def filters(self):
        return {"report_deliveries": report_deliveries}
