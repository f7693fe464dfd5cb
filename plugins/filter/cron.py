# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters cron_validate and cron_to_oncalendar (documented in cron_validate.yml and cron_to_oncalendar.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.reportops.grafana.plugins.module_utils._cron import CronError, parse_cron


def cron_validate(expression):
    """Return the expression in numeric form (macros expanded), or fail naming the invalid field."""
    try:
        return parse_cron(expression).normalized
    except CronError as error:
        raise AnsibleFilterError(to_text(error))


def cron_to_oncalendar(expression):
    """Return the list of systemd OnCalendar expressions equivalent to the cron expression."""
    try:
        return parse_cron(expression).oncalendar()
    except CronError as error:
        raise AnsibleFilterError(to_text(error))


class FilterModule(object):
    """Cron expression filters."""

    def filters(self):
        return {
            "cron_validate": cron_validate,
            "cron_to_oncalendar": cron_to_oncalendar,
        }
