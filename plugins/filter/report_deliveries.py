# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filter report_deliveries (documented in report_deliveries.yml), used by the role report_delivery."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.common.collections import is_sequence

from ansible_collections.reportops.grafana.plugins.filter.cron import CronError, parse_cron

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
KEYS = ("name", "report", "report_id", "emails", "use_emails_from_report", "environments", "schedule",
        "min_interval", "delivery_key", "state")


def _is_set(value):
    return value is not None and value != "" and value != []


def _as_list(value):
    if value is None:
        return None
    if isinstance(value, str):
        return [to_text(value)]
    if is_sequence(value):
        return [to_text(item) for item in value]
    return None


def _bool(value):
    if isinstance(value, bool):
        return value
    text = to_text(value).strip().lower()
    if text in ("yes", "on", "1", "true", "y"):
        return True
    if text in ("no", "off", "0", "false", "n", "", "none"):
        return False
    raise ValueError(text)


def _normalize(index, delivery, problems):
    where = "delivery #%d" % (index + 1)
    if not isinstance(delivery, dict):
        problems.append("%s is not a dictionary" % where)
        return None
    name = delivery.get("name")
    if not _is_set(name) or not isinstance(name, str):
        problems.append("%s has no name" % where)
        name = None
    else:
        name = to_text(name)
        where = "delivery '%s'" % name
        if not NAME.match(name):
            problems.append("%s: the name may hold only letters, digits, '.', '_' and '-' (at most 64, starting with a "
                            "letter or digit), as it names files and timers" % where)
    unknown = sorted(set(delivery) - set(KEYS))
    if unknown:
        problems.append("%s: unknown option(s) %s; expected %s" % (where, ", ".join(unknown), ", ".join(KEYS)))

    result = dict((key, None) for key in KEYS)
    result["name"] = name
    report, report_id = delivery.get("report"), delivery.get("report_id")
    if _is_set(report) == _is_set(report_id):
        problems.append("%s: set exactly one of report (a report name) and report_id" % where)
    elif _is_set(report):
        result["report"] = to_text(report)
    else:
        text = to_text(report_id).strip()
        if not text.isdigit() or int(text) < 1 or isinstance(report_id, bool):
            problems.append("%s: report_id must be a positive integer, got '%s'" % (where, text))
        else:
            result["report_id"] = str(int(text))

    try:
        use_report = _bool(delivery.get("use_emails_from_report") or False)
    except ValueError:
        problems.append("%s: use_emails_from_report must be a boolean" % where)
        use_report = False
    emails = delivery.get("emails")
    if _is_set(emails) == use_report:
        problems.append("%s: set exactly one of emails and use_emails_from_report: true" % where)
    elif _is_set(emails):
        result["emails"] = _as_list(emails)
        if result["emails"] is None:
            problems.append("%s: emails must be a list of addresses or a string" % where)
    result["use_emails_from_report"] = use_report

    environments = delivery.get("environments")
    if environments is not None:
        result["environments"] = _as_list(environments)
        if not result["environments"]:
            problems.append("%s: environments must be a non-empty list of inventory host or group names" % where)

    schedule = delivery.get("schedule")
    if _is_set(schedule):
        try:
            parse_cron(schedule)
            result["schedule"] = " ".join(to_text(schedule).split())
        except CronError as error:
            problems.append("%s: %s" % (where, error))

    for key in ("min_interval", "delivery_key"):
        if _is_set(delivery.get(key)):
            result[key] = to_text(delivery[key])
    state = delivery.get("state") or "present"
    if state not in ("present", "absent"):
        problems.append("%s: state must be present or absent, got '%s'" % (where, state))
    result["state"] = state
    return result


def _resolve(delivery, reports, problems):
    if delivery["report"] is None:
        return delivery
    ids = [to_text(report.get("id")) for report in reports if report.get("name") == delivery["report"]]
    if not ids:
        names = sorted(set(to_text(report.get("name")) for report in reports))
        problems.append("delivery '%s': report '%s' does not exist in this environment (its reports: %s)"
                        % (delivery["name"], delivery["report"], ", ".join(names) or "none"))
        return delivery
    if len(ids) > 1:
        problems.append("delivery '%s': report name '%s' matches %d reports in this environment (ids %s); rename "
                        "one in Grafana or give report_id for this environment"
                        % (delivery["name"], delivery["report"], len(ids), ", ".join(ids)))
        return delivery
    resolved = dict(delivery)
    resolved["report_id"] = ids[0]
    return resolved


def report_deliveries(deliveries, environments=None, only=None, reports=None):
    """Validate the deliveries and return the present ones that apply, normalized (every key set, None if unset)."""
    if deliveries is None:
        deliveries = []
    if not is_sequence(deliveries) or isinstance(deliveries, dict):
        raise AnsibleFilterError("report_delivery_deliveries must be a list of dictionaries")
    problems = []
    normalized = [_normalize(index, delivery, problems) for index, delivery in enumerate(deliveries)]
    normalized = [delivery for delivery in normalized if delivery is not None]
    seen = set()
    for delivery in normalized:
        if delivery["name"] is not None and delivery["name"] in seen:
            problems.append("delivery '%s' is defined more than once; names must be unique" % delivery["name"])
        seen.add(delivery["name"])

    wanted = None
    if only:
        wanted = [name.strip() for name in only.split(",")] if isinstance(only, str) else _as_list(only)
        if wanted is None:
            problems.append("report_delivery_only must be a list of delivery names")
        else:
            missing = [name for name in wanted if name not in seen]
            if missing:
                problems.append("report_delivery_only names unknown deliveries: %s (known: %s)"
                                % (", ".join(missing), ", ".join(sorted(name for name in seen if name)) or "none"))
    if problems:
        raise AnsibleFilterError("Invalid report_delivery_deliveries: " + "; ".join(problems))

    names = None if environments is None else set(_as_list(environments) or [])
    selected = []
    for delivery in normalized:
        if delivery["state"] != "present":
            continue
        if wanted is not None and delivery["name"] not in wanted:
            continue
        if names is not None and delivery["environments"] is not None and not names.intersection(delivery["environments"]):
            continue
        selected.append(delivery)

    if reports is not None:
        selected = [_resolve(delivery, reports, problems) for delivery in selected]
        if problems:
            raise AnsibleFilterError("; ".join(problems))
    return selected


class FilterModule(object):
    """Delivery list filters for the role report_delivery."""

    def filters(self):
        return {"report_deliveries": report_deliveries}
