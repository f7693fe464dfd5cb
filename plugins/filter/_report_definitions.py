# -*- coding: utf-8 -*-
# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the reportops.grafana collection: the logic of the role report_delivery's `definitions`
# entry point, which calls these filters. Not a public API, may change without notice.

"""Filters of the role report_delivery's `definitions` entry point: which report definitions an
environment applies (all of them checked first, by grafana_report's own checks), and the summary."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.reportops.grafana.plugins.module_utils._delivery import DeliveryError
from ansible_collections.reportops.grafana.plugins.module_utils._report_definition import (
    DefinitionError,
    checked_definition,
    validated_options,
)
from ansible_collections.reportops.grafana.plugins.plugin_utils._role_deliveries import environment_names, names_list

ACTIONS = ("created", "updated", "deleted", "unchanged")
# Ansible's own words around a filter's error; the summary keeps only the role's sentence.
_ERROR_PREFIX = re.compile(r"^.*?(?=Invalid report_delivery_definitions)", re.DOTALL)


def checked_definitions(definitions):
    """(options without `environments`, environment names or None) of each definition, all checked at once."""
    if definitions is None:
        definitions = []
    if not isinstance(definitions, (list, tuple)):
        raise AnsibleFilterError("Invalid report_delivery_definitions: it must be a list of dictionaries of "
                                 "grafana_report options, got %r." % (definitions,))
    problems, checked = [], []
    for index, options in enumerate(definitions):
        if not isinstance(options, dict):
            problems.append("definition #%d must be a dictionary of grafana_report options, got %r." % (index + 1, options))
            continue
        where = "definition '%s'" % options["name"] if isinstance(options.get("name"), str) and options["name"] else "definition #%d" % (index + 1)
        try:
            environments = environment_names(options, where)
        except DeliveryError as exc:
            environments = set()
            problems.append(str(exc))
        module_options = dict((key, value) for key, value in options.items() if key != "environments")
        try:
            checked_definition(validated_options(module_options))
        except DefinitionError as exc:
            problems.append("%s: %s" % (where, exc))
            continue
        checked.append((module_options, environments))
    # One name, one report: two definitions of a name for one environment would undo each other.
    for index, (options, environments) in enumerate(checked):
        for other, other_environments in checked[:index]:
            if other["name"].strip() == options["name"].strip() and (
                    environments is None or other_environments is None or environments & other_environments):
                problems.append("definition '%s' is given twice for the same environments; give each report once, or "
                                "give the copies environments that do not overlap." % options["name"])
                break
    if problems:
        raise AnsibleFilterError("Invalid report_delivery_definitions: " + " ".join(problems))
    return checked


def report_definitions_plan(definitions, environments):
    """The grafana_report options of the definitions that apply to an environment known by these names."""
    names = set(names_list(environments, "environments"))
    return [options for options, wanted in checked_definitions(definitions) if wanted is None or wanted & names]


def _line(host, run, check_mode):
    if run is None:
        return "%s: FAILED before applying (invalid variables or an earlier task, see above)" % host
    results = run.get("results")
    if results is None:
        error = _ERROR_PREFIX.sub("", str(run.get("msg") or "the task failed"), count=1) if run.get("failed") else ""
        return "%s: %s" % (host, "FAILED: %s" % error if error else "no definitions")
    counts = ["%d %s" % (count, action) for action, count in
              ((action, sum(1 for result in results if result.get("action") == action and not result.get("failed")))
               for action in ACTIONS) if count]
    failed = [result for result in results if result.get("failed")]
    if failed:
        counts.append("%d failed" % len(failed))
    line = "%s: %s%s" % (host, ", ".join(counts) or "no definitions", " (check mode)" if check_mode and counts else "")
    return line + "".join(" | %s FAILED: %s" % ((result.get("item") or {}).get("name"), result.get("msg")) for result in failed)


def report_definitions_summary(hosts, hostvars, check_mode=False):
    """One line per environment of the play, such as `dev: 1 created, 2 unchanged`."""
    return [_line(host, hostvars[host].get("_report_delivery_definitions_run"), check_mode) for host in hosts]


class FilterModule(object):
    """Internal filters of the role report_delivery's `definitions` entry point."""

    def filters(self):
        return {
            "_report_definitions_plan": report_definitions_plan,
            "_report_definitions_summary": report_definitions_summary,
        }
