# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the `definitions` entry point's private filters (plugins/filter/_report_definitions.py)."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.reportops.grafana.plugins.filter._report_definitions import (
    FilterModule,
    report_definitions_plan,
    report_definitions_summary,
)
from ansible_collections.reportops.grafana.plugins.module_utils._report_definition import REPORT_ARGUMENT_SPEC

WEEKLY = {"name": "Weekly SLO", "recipients": ["sre@example.com"], "dashboards": [{"uid": "slo"}],
          "schedule": {"frequency": "weekly", "time_zone": "Europe/Warsaw"}}
DEFINITIONS = [
    WEEKLY,
    {"name": "Prod only", "recipients": "oncall@example.com", "dashboards": [{"uid": "x"}], "environments": ["production"]},
    {"name": "Retired", "state": "absent", "environments": "dev, staging"},
]


def test_plan_picks_the_environment_and_drops_environments():
    assert [item["name"] for item in report_definitions_plan(DEFINITIONS, ["dev", "grafana"])] == ["Weekly SLO", "Retired"]
    prod = report_definitions_plan(DEFINITIONS, ["prod", "production"])
    assert [item["name"] for item in prod] == ["Weekly SLO", "Prod only"]
    assert prod[0] == WEEKLY and "environments" not in prod[1]
    assert report_definitions_plan([], ["dev"]) == [] and report_definitions_plan(None, ["dev"]) == []


def test_every_problem_is_named_at_once():
    bad = [
        {"name": "a", "recipients": ["nope"]},
        {"name": "b", "schedule": {"frequency": "custom"}},
        {"name": "c", "url": "https://grafana.example.com"},
        {"name": "d", "environments": []},
        "not a dict",
        {"recipients": ["x@example.com"]},
        dict(WEEKLY, environments=["dev"]),
    ]
    with pytest.raises(AnsibleFilterError) as raised:
        report_definitions_plan(bad + [WEEKLY], ["dev"])
    message = str(raised.value)
    for text in ("definition 'a': recipients has 1 invalid address", "definition 'b': schedule.frequency custom needs",
                 "definition 'c': unknown key url: known keys: ", "definition 'd': environments must be a non-empty list",
                 "definition #5 must be a dictionary", "definition #6: missing required arguments: name",
                 "definition 'Weekly SLO' is given twice"):
        assert text in message, text


def test_one_name_in_separate_environments_is_fine():
    copies = [dict(WEEKLY, environments=["dev"]), dict(WEEKLY, recipients=["prod@example.com"], environments=["prod"])]
    assert report_definitions_plan(copies, ["prod"])[0]["recipients"] == ["prod@example.com"]


def test_not_a_list():
    with pytest.raises(AnsibleFilterError, match="must be a list"):
        report_definitions_plan({"name": "x"}, ["dev"])


def test_summary_lines():
    hostvars = {
        "dev": {"_report_delivery_definitions_run": {"results": [
            {"item": {"name": "A"}, "action": "created", "changed": True},
            {"item": {"name": "B"}, "action": "unchanged"},
            {"item": {"name": "C"}, "action": "unchanged"}]}},
        "staging": {"_report_delivery_definitions_run": {"results": [
            {"item": {"name": "A"}, "action": "updated", "changed": True},
            {"item": {"name": "B"}, "failed": True, "msg": "report name 'B' matches 2 reports"}]}},
        "prod": {"_report_delivery_definitions_run": {"failed": True, "msg": "Unexpected templating type error: Invalid "
                                                                             "report_delivery_definitions: definition 'a': x"}},
        "qa": {"_report_delivery_definitions_run": {"results": []}},
        "lab": {},
    }
    assert report_definitions_summary(["dev", "staging", "prod", "qa", "lab"], hostvars) == [
        "dev: 1 created, 2 unchanged",
        "staging: 1 updated, 1 failed | B FAILED: report name 'B' matches 2 reports",
        "prod: FAILED: Invalid report_delivery_definitions: definition 'a': x",
        "qa: no definitions",
        "lab: FAILED before applying (invalid variables or an earlier task, see above)",
    ]
    assert report_definitions_summary(["dev"], hostvars, True) == ["dev: 1 created, 2 unchanged (check mode)"]


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {"_report_definitions_plan", "_report_definitions_summary"}


def test_role_argument_spec_mirrors_the_module():
    # The role documents and validates each definition with the module's options, plus environments.
    path = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "report_delivery", "meta", "argument_specs.yml")
    with open(path) as handle:
        spec = yaml.safe_load(handle)["argument_specs"]["definitions"]["options"]["report_delivery_definitions"]

    def names(options):
        return dict((name, names(value.get("options") or {})) for name, value in options.items())

    assert names(spec["options"]) == dict(names(REPORT_ARGUMENT_SPEC), environments={})
