# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.reportops.grafana.plugins.module_utils import _report_definition as rd

# A report as Grafana answers it: defaults filled in, dates in the schedule's time zone.
SAVED = {
    "id": 4, "uid": "abc", "orgId": 1, "userId": 1, "name": "Weekly SLO", "subject": "", "replyTo": "",
    "recipients": "Sre@example.com,lead@example.com", "message": "Hi",
    "schedule": {"startDate": "2030-05-06T09:00:00+02:00", "endDate": None, "frequency": "weekly", "intervalFrequency": "",
                 "intervalAmount": 0, "workdaysOnly": False, "dayOfMonth": "", "timeZone": "Europe/Warsaw"},
    "options": {"orientation": "landscape", "layout": "grid", "timeRange": {"from": "", "to": ""}},
    "enableDashboardUrl": True, "state": "scheduled",
    "dashboards": [{"dashboard": {"id": 463, "uid": "slo", "name": "SLOs"}, "timeRange": {"from": "now-7d", "to": "now"},
                    "reportVariables": {"env": ["prod", "eu"]}}],
    "formats": ["pdf"], "scaleFactor": 2, "created": "2024-01-01T00:00:00+00:00", "updated": "2024-01-01T00:00:00+00:00",
}


def definition(**options):
    return rd.checked_definition(rd.validated_options(dict(dict(name="Weekly SLO"), **options)))


def changes(current=None, **options):
    wanted = rd.wanted_view(definition(**options), current or SAVED)
    return rd.changed_fields(rd.current_view_of(wanted, current or SAVED), wanted)


def test_header_says_private():
    with open(rd.__file__) as handle:
        assert "Private to the reportops.grafana collection: not a public API, may change without notice." in handle.read()


def test_unset_options_stay_unset():
    checked = definition(subject="S")
    assert checked["subject"] == "S" and checked["recipients"] is None and checked["schedule"] is None
    assert rd.wanted_view(checked, SAVED) == {"subject": "S"}


@pytest.mark.parametrize("options", [
    dict(recipients=["lead@example.com", "SRE@example.com"]),
    dict(recipients=["lead@example.com;sre@example.com"]),
    dict(formats=["pdf"], orientation="landscape", layout="grid", scale_factor=2),
    dict(schedule=dict(start="2030-05-06 09:00")),  # naive: in the report's saved time zone
    dict(schedule=dict(start="2030-05-06T07:00:00Z", time_zone="Europe/Warsaw")),
    dict(schedule=dict(start="2030-05-06T03:00:00-04:00", frequency="weekly")),
    dict(dashboards=[dict(uid="slo")]),  # time range and variables kept from the saved one
    dict(dashboards=[dict(uid="slo", variables=dict(env=["eu", "prod"]), time_range={"from": "now - 7d", "to": "now"})]),
    dict(time_range={"from": "", "to": ""}, paused=False, include_dashboard_link=True, body="Hi"),
    dict(schedule=dict(end="")),
])
def test_equal_after_normalising(options):
    assert changes(**options) == []


@pytest.mark.parametrize("options, fields", [
    (dict(recipients=["lead@example.com"]), ["recipients"]),
    (dict(schedule=dict(start="2030-05-06 09:00", time_zone="UTC")), ["schedule.start", "schedule.time_zone"]),
    (dict(schedule=dict(frequency="daily", workdays_only=True)), ["schedule.frequency", "schedule.workdays_only"]),
    (dict(formats=["pdf", "csv"]), ["formats"]),
    (dict(paused=True), ["paused"]),
    (dict(dashboards=[dict(uid="slo", variables=dict(env="prod"))]), ["dashboards"]),
    (dict(dashboards=[dict(uid="slo"), dict(uid="capacity")]), ["dashboards"]),
    (dict(scale_factor=3, reply_to="boss@example.com"), ["reply_to", "scale_factor"]),
])
def test_differences_are_named(options, fields):
    assert sorted(changes(**options)) == fields


def test_grafana_defaults_count_as_set():
    # A report saved before Grafana filled its defaults answers empty values.
    bare = dict(SAVED, formats=[], scaleFactor=0, options={})
    assert changes(bare, formats=["pdf"], layout="grid", orientation="landscape", scale_factor=2) == []


def test_update_body_is_the_whole_definition_with_the_changes():
    wanted = rd.wanted_view(definition(recipients=["new@example.com"], paused=True, schedule=dict(frequency="monthly", last_day_of_month=True)), SAVED)
    body = rd.grafana_body(wanted, rd.definition_of(SAVED))
    assert body["recipients"] == "new@example.com" and body["state"] == "paused"
    assert body["schedule"]["frequency"] == "monthly" and body["schedule"]["dayOfMonth"] == "last"
    assert body["schedule"]["timeZone"] == "Europe/Warsaw" and body["message"] == "Hi"
    assert body["dashboards"] == [{"dashboard": {"uid": "slo"}, "timeRange": {"from": "now-7d", "to": "now"},
                                   "reportVariables": {"env": ["prod", "eu"]}}]
    assert not set(body) & {"id", "uid", "orgId", "userId", "created", "updated"}


def test_changing_frequency_clears_the_fields_of_the_old_one():
    custom = dict(SAVED, schedule=dict(SAVED["schedule"], frequency="custom", intervalFrequency="weeks", intervalAmount=2))
    wanted = rd.wanted_view(definition(schedule=dict(frequency="weekly")), custom)
    schedule = rd.grafana_body(wanted, rd.definition_of(custom))["schedule"]
    assert (schedule["intervalFrequency"], schedule["intervalAmount"], schedule["workdaysOnly"]) == ("", 0, False)


def test_naive_start_is_sent_with_the_zone_offset():
    wanted = rd.wanted_view(definition(schedule=dict(start="2030-01-06 09:00", end="2030-07-01", time_zone="Europe/Warsaw")))
    schedule = rd.grafana_body(wanted, {"name": "x"})["schedule"]
    assert (schedule["startDate"], schedule["endDate"]) == ("2030-01-06T09:00:00+01:00", "2030-07-01T00:00:00+02:00")
    assert schedule["timeZone"] == "Europe/Warsaw"


def test_computed_state_is_not_sent_back():
    assert "state" not in rd.definition_of(dict(SAVED, state="expired"))
    assert rd.definition_of(dict(SAVED, state="paused"))["state"] == "paused"


def test_legacy_single_dashboard_is_read():
    legacy = dict(SAVED, dashboards=None, dashboardUid="old")
    assert [item["uid"] for item in rd.report_view(legacy)["dashboards"]] == ["old"]


def test_end_before_saved_start_fails_before_writing():
    with pytest.raises(rd.DefinitionError, match=r"schedule.end .* must be after the start"):
        rd.wanted_view(definition(schedule=dict(end="2030-05-01 00:00")), SAVED)


BAD = [
    (dict(name=""), "name"),
    (dict(name="   "), "name"),
    (dict(state="gone"), "state"),
    (dict(recipients=[]), "recipients"),
    (dict(recipients=["not-an-address"]), "recipients"),
    (dict(recipients=["Ops <ops@example.com>"]), "recipients"),
    (dict(reply_to="nobody"), "reply_to"),
    (dict(reply_to="a@example.com,b@example.com"), "reply_to"),
    (dict(formats=["pdf", "docx"]), "formats"),
    (dict(formats=[]), "formats"),
    (dict(orientation="sideways"), "orientation"),
    (dict(layout="tiles"), "layout"),
    (dict(scale_factor=0), "scale_factor"),
    (dict(scale_factor=11), "scale_factor"),
    (dict(dashboards=[]), "dashboards"),
    (dict(dashboards=[dict(uid="")]), "dashboards[0].uid"),
    (dict(dashboards=[dict(time_range={"from": "now-1h", "to": "now"})]), "uid"),
    (dict(dashboards=[dict(uid="x", variables=dict(env=dict(a=1)))]), "dashboards[0].variables.env"),
    (dict(dashboards=[dict(uid="x", time_range={"from": "yesterday", "to": "now"})]), "dashboards[0].time_range.from"),
    (dict(time_range={"from": "now-7d"}), "time_range"),
    (dict(schedule=dict(frequency="fortnightly")), "frequency"),
    (dict(schedule=dict(frequency="custom")), "schedule.interval_amount"),
    (dict(schedule=dict(frequency="custom", interval_amount=0, interval_unit="days")), "schedule.interval_amount"),
    (dict(schedule=dict(frequency="weekly", interval_unit="days")), "schedule.interval_unit"),
    (dict(schedule=dict(frequency="custom", interval_amount=2, interval_unit="years")), "interval_unit"),
    (dict(schedule=dict(frequency="weekly", workdays_only=True)), "schedule.workdays_only"),
    (dict(schedule=dict(frequency="daily", last_day_of_month=True)), "schedule.last_day_of_month"),
    (dict(schedule=dict(start="next monday")), "schedule.start"),
    (dict(schedule=dict(start="2030-02-30 09:00")), "schedule.start"),
    (dict(schedule=dict(start="2030-05-06", end="2030-05-01")), "schedule.end"),
    (dict(schedule=dict(time_zone="Mars/Olympus")), "schedule.time_zone"),
    (dict(schedule=dict(cron="0 9 * * 1")), "cron"),
    (dict(colour="blue"), "colour"),
    (dict(state="absent", send_test_email=True), "send_test_email"),
]


@pytest.mark.parametrize("options, field", BAD)
def test_bad_input_names_the_field(options, field):
    with pytest.raises(rd.DefinitionError) as raised:
        definition(**options)
    assert field in str(raised.value)
