# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: controller-side code shared by its filters. Not a public API, may
# change without notice.

"""The role report_delivery's deliveries and definitions as its filters read them: the role's own keys
(environments, schedule, state) checked, the rest by the modules' own checks, and which apply to an environment."""

from __future__ import annotations


from ansible.errors import AnsibleFilterError

from ansible_collections.reportops.grafana.plugins.module_utils._delivery import (
    DeliveryError,
    checked_deliveries,
    checked_name,
    nearest,
)
from ansible_collections.reportops.grafana.plugins.module_utils._cron import CronError, parse_cron
from ansible_collections.reportops.grafana.plugins.module_utils._overdue import OverdueError, expectation

# Keys of report_delivery_deliveries that only the role knows (the rest are grafana_report_deliver's suboptions);
# their values are checked by checked_role_deliveries, so the argument spec only lets them through.
ROLE_ARGUMENT_SPEC = dict(environments=dict(type="raw"), schedule=dict(type="raw"), state=dict(type="raw"),
                          every=dict(type="raw"), grace=dict(type="raw"))
ROLE_OPTIONS = tuple(ROLE_ARGUMENT_SPEC)


def names_list(value, field):
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return list(value)
    raise DeliveryError("%s must be a list of names, got %r." % (field, value))


def environment_names(options, where):
    """The set of inventory host and group names in the `environments` of a role's delivery or definition, or
    None when it has none (every environment); DeliveryError when it is not a non-empty list of names."""
    if options.get("environments") is None:
        return None
    try:
        names = names_list(options["environments"], "environments")
    except DeliveryError:
        names = []
    if not names:
        raise DeliveryError("%s: environments must be a non-empty list of inventory host or group names, got %r."
                            % (where, options["environments"]))
    return set(names)


def checked_role_deliveries(deliveries, problems):
    """(options, checked options without the role's keys) for each delivery of the role's list (absent ones too), problems appended."""
    if deliveries is None:
        deliveries = []
    if not isinstance(deliveries, (list, tuple)):
        problems.append("report_delivery_deliveries must be a list of dictionaries.")
        return []
    for index, options in enumerate(deliveries):
        if not isinstance(options, dict):
            continue  # checked_deliveries names it
        where = "delivery '%s'" % options["name"] if options.get("name") else "delivery #%d" % (index + 1)
        if options.get("state", "present") not in ("present", "absent"):
            problems.append("%s: state must be present or absent, got %r." % (where, options.get("state")))
        try:
            environment_names(options, where)
        except DeliveryError as exc:
            problems.append(str(exc))
        if options.get("schedule"):
            try:
                parse_cron(options["schedule"])
            except (CronError, TypeError) as exc:
                problems.append("%s: schedule: %s" % (where, exc))
                continue
        try:
            expectation(options, where)
        except OverdueError as exc:
            problems.append(str(exc))
    try:
        checked = checked_deliveries(deliveries, extra_spec=ROLE_ARGUMENT_SPEC)
    except DeliveryError as exc:
        problems.append(str(exc))
        return []
    return list(zip(deliveries, checked))


def present(checked):
    return [(options, delivery) for options, delivery in checked if options.get("state", "present") == "present"]


def problem_text(problems, variable="report_delivery_deliveries"):
    """One sentence for the problems of one role variable, naming it."""
    return "Invalid %s: %s" % (variable, " ".join(problems))


def raise_problems(problems, variable="report_delivery_deliveries"):
    """AnsibleFilterError with the problems of `variable` (None: each problem names its variable already)."""
    if problems:
        raise AnsibleFilterError(" ".join(problems) if variable is None else problem_text(problems, variable))


def unknown_name_problem(name, known):
    """The sentence for a name of report_delivery_only that no delivery has, with the nearest one when there is one."""
    guess = nearest(name, known)
    return "no delivery is named %s%s (known: %s)." % (
        name, "; did you mean %s?" % guess if guess else "", ", ".join(known) or "none")


def _applies(environments, names):
    """Whether a delivery whose `environments` are these (None: every one) applies to an environment of these names."""
    return names is None or environments is None or bool(names.intersection(names_list(environments, "environments")))


def selected_deliveries(deliveries, environments=None, only=None):
    """(options, checked options) of the present deliveries that apply to an environment known by these names.

    Every delivery is checked (by the same code as the modules), not only those selected, so that a
    mistake fails every environment alike and before anything is sent. Without `environments`,
    deliveries are not filtered by environment.
    """
    problems, only_problems = [], []
    checked = checked_role_deliveries(deliveries, problems)
    try:
        wanted = [checked_name(name, "report_delivery_only") for name in names_list(only, "report_delivery_only")]
    except DeliveryError as exc:
        only_problems.append(str(exc))
        wanted = []
    known = sorted(delivery["name"] for options, delivery in checked)
    if not problems:
        only_problems.extend(unknown_name_problem(name, known) for name in wanted if name not in known)
    raise_problems(([problem_text(problems)] if problems else [])
                   + ([problem_text(only_problems, "report_delivery_only")] if only_problems else []), variable=None)
    names = None if environments is None else set(names_list(environments, "environments"))
    return [(options, delivery) for options, delivery in present(checked)
            if (not wanted or delivery["name"] in wanted) and _applies(options.get("environments"), names)]
