# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the filter report_deliveries."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.reportops.grafana.plugins.filter._deprecated_report_deliveries import FilterModule, report_deliveries

DELIVERIES = [
    {"name": "weekly-slo", "report": "Weekly SLO", "use_emails_from_report": True, "min_interval": "1h",
     "schedule": "0  7 * * mon-fri"},
    {"name": "capacity", "report": "Daily Capacity", "emails": "ops@example.com"},
    {"name": "prod-only", "report_id": 9, "emails": ["a@example.com", "b@example.com"], "environments": ["production"]},
    {"name": "dev-only", "report_id": "3", "emails": ["dev@example.com"], "environments": "dev", "delivery_key": "k"},
    {"name": "retired", "report": "Weekly SLO", "emails": "old@example.com", "state": "absent"},
]
REPORTS = [
    {"id": 5, "name": "Weekly SLO"}, {"id": 6, "name": "Daily Capacity"},
    {"id": 7, "name": "Exec Summary"}, {"id": 8, "name": "Exec Summary"},
]


def names(deliveries):
    return [delivery["name"] for delivery in deliveries]


def test_filter_names():
    assert list(FilterModule().filters()) == ["report_deliveries"]


def test_normalized():
    result = report_deliveries(DELIVERIES)
    assert names(result) == ["weekly-slo", "capacity", "prod-only", "dev-only"]
    assert result[0] == {
        "name": "weekly-slo", "report": "Weekly SLO", "report_id": None, "emails": None, "use_emails_from_report": True,
        "environments": None, "schedule": "0 7 * * mon-fri", "min_interval": "1h", "delivery_key": None, "state": "present",
        "every": None, "grace": None,
    }
    assert result[1]["emails"] == ["ops@example.com"]
    assert result[2]["report_id"] == "9"
    assert result[3]["environments"] == ["dev"]
    assert result[3]["delivery_key"] == "k"


@pytest.mark.parametrize("environments, expected", [
    (["dev", "grafana_environments"], ["weekly-slo", "capacity", "dev-only"]),
    (["prod", "grafana_environments", "production"], ["weekly-slo", "capacity", "prod-only"]),
    (["staging"], ["weekly-slo", "capacity"]),
    ("dev", ["weekly-slo", "capacity", "dev-only"]),
])
def test_environments(environments, expected):
    assert names(report_deliveries(DELIVERIES, environments=environments)) == expected


@pytest.mark.parametrize("only, expected", [
    (None, ["weekly-slo", "capacity", "dev-only"]),
    ([], ["weekly-slo", "capacity", "dev-only"]),
    ("", ["weekly-slo", "capacity", "dev-only"]),
    (["capacity"], ["capacity"]),
    ("capacity, dev-only", ["capacity", "dev-only"]),
    (["prod-only"], []),
    (["retired"], []),
])
def test_only(only, expected):
    assert names(report_deliveries(DELIVERIES, environments=["dev"], only=only)) == expected


def test_only_unknown():
    with pytest.raises(AnsibleFilterError, match="Invalid report_delivery_only: no delivery is named weekly-sloo; did you mean weekly-slo"):
        report_deliveries(DELIVERIES, only=["weekly-sloo"])


def test_resolve():
    result = report_deliveries(DELIVERIES, environments=["staging"], reports=REPORTS)
    assert [(delivery["name"], delivery["report_id"]) for delivery in result] == [("weekly-slo", "5"), ("capacity", "6")]


def test_resolve_keeps_report_id():
    result = report_deliveries(DELIVERIES, environments=["dev"], only=["dev-only"], reports=[])
    assert result[0]["report_id"] == "3"


def test_resolve_missing_and_duplicate():
    deliveries = [
        {"name": "a", "report": "Quarterly", "emails": "x@example.com"},
        {"name": "b", "report": "Exec Summary", "emails": "x@example.com"},
    ]
    with pytest.raises(AnsibleFilterError) as error:
        report_deliveries(deliveries, reports=REPORTS)
    message = str(error.value)
    assert "delivery 'a': report 'Quarterly' does not exist in this Grafana" in message
    assert "(its reports: Daily Capacity, Exec Summary, Weekly SLO)" in message
    assert "delivery 'b': report name 'Exec Summary' matches 2 reports in this Grafana (ids 7, 8)" in message


@pytest.mark.parametrize("delivery, message", [
    ({"report": "X", "emails": "a@example.com"}, "delivery #1: name must be 1 to 64 letters"),
    ({"name": "a b", "report": "X", "emails": "a@example.com"}, "delivery 'a b': name must be 1 to 64 letters"),
    ({"name": "-a", "report": "X", "emails": "a@example.com"}, "name must be 1 to 64 letters"),
    ({"name": "a" * 65, "report": "X", "emails": "a@example.com"}, "name must be 1 to 64 letters"),
    ({"name": "a", "emails": "a@example.com"}, "delivery 'a': report: set exactly one of report (a report name) and report_id"),
    ({"name": "a", "report": "X", "report_id": 1, "emails": "a@example.com"}, "set exactly one of report"),
    ({"name": "a", "report_id": "x1", "emails": "a@example.com"}, "report_id must be a positive integer (the report's id, not a dashboard uid), got 'x1'"),
    ({"name": "a", "report_id": 0, "emails": "a@example.com"}, "report_id must be a positive integer"),
    ({"name": "a", "report": "X"}, "set exactly one of emails and use_emails_from_report: true"),
    ({"name": "a", "report": "X", "emails": "a@example.com", "use_emails_from_report": True}, "set exactly one of emails"),
    ({"name": "a", "report": "X", "use_emails_from_report": "maybe"}, "use_emails_from_report must be a boolean"),
    ({"name": "a", "report": "X", "emails": {"a": 1}}, "emails must be a list of addresses or a string"),
    ({"name": "a", "report": "X", "emails": "a@example.com", "environments": []}, "environments must be a non-empty list"),
    ({"name": "a", "report": "X", "emails": "a@example.com", "schedule": "0 7 * * moon"},
     "delivery 'a': schedule: Invalid cron expression '0 7 * * moon': the day-of-week field (5th)"),
    ({"name": "a", "report": "X", "emails": "a@example.com", "state": "gone"}, "state must be present or absent, got 'gone'"),
    ({"name": "a", "report": "X", "emial": "a@example.com"}, "unknown key emial: did you mean emails?"),
    ("a", "delivery #1 must be a dictionary"),
])
def test_invalid(delivery, message):
    with pytest.raises(AnsibleFilterError) as error:
        report_deliveries([delivery])
    assert message in str(error.value)
    assert str(error.value).startswith("Invalid report_delivery_deliveries: ")


def test_every_problem_at_once():
    deliveries = [
        {"name": "a", "report": "X"},
        {"name": "a", "report": "X", "emails": "a@example.com", "schedule": "61 * * * *"},
    ]
    with pytest.raises(AnsibleFilterError) as error:
        report_deliveries(deliveries)
    message = str(error.value)
    assert "set exactly one of emails" in message
    assert "the minute field (1st) has 61" in message
    assert "delivery 'a': name: defined more than once" in message


@pytest.mark.parametrize("value", [{"name": "a"}, "weekly"])
def test_not_a_list(value):
    with pytest.raises(AnsibleFilterError, match="must be a list of dictionaries"):
        report_deliveries(value)


@pytest.mark.parametrize("delivery, message", [
    # Refused here as the module would refuse them at send time: one validation for a value.
    ({"name": "a", "report": "X", "emails": "not-an-address"}, "emails has 1 invalid address(es): 'not-an-address'"),
    ({"name": "a", "report": "X", "emails": "a@example.com", "min_interval": "12x"}, "min_interval must be a positive duration"),
    ({"name": "a", "report": "X", "emails": "a@example.com", "delivery_key": "  "}, "delivery_key must be a non-empty string"),
    ({"name": "a", "report_id": "\u00b2", "emails": "a@example.com"}, "report_id must be a positive integer"),
    ({"name": "a", "report_id": True, "emails": "a@example.com"}, "report_id must be a positive integer"),
])
def test_invalid_as_the_module_says(delivery, message):
    with pytest.raises(AnsibleFilterError) as error:
        report_deliveries([delivery])
    assert message in str(error.value)


def test_empty():
    assert report_deliveries(None) == []
    assert report_deliveries([]) == []
