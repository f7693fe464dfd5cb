# Copyright (c) reportops.grafana contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os

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
    (dict(scale_factor=3, reply_to=["boss@example.com"]), ["reply_to", "scale_factor"]),
])
def test_differences_are_named(options, fields):
    assert sorted(changes(**options)) == fields


def test_grafana_defaults_count_as_set():
    # A report saved before Grafana filled its defaults answers empty values.
    bare = dict(SAVED, formats=[], scaleFactor=0, options={})
    assert changes(bare, formats=["pdf"], layout="grid", orientation="landscape", scale_factor=2) == []


def test_update_body_is_the_whole_definition_with_the_changes():
    wanted = rd.wanted_view(definition(recipients=["new@example.com"], paused=True, schedule=dict(frequency="monthly", last_day_of_month=True)), SAVED)
    body = rd.report_body(wanted, SAVED)
    assert body["recipients"] == "new@example.com" and body["state"] == "paused"
    assert body["schedule"]["frequency"] == "monthly" and body["schedule"]["dayOfMonth"] == "last"
    # Everything else goes back as Grafana gave it, the dashboard's id and name included.
    unchanged = dict((key, value) for key, value in SAVED.items() if key not in ("recipients", "state", "schedule"))
    assert dict((key, body[key]) for key in unchanged) == unchanged
    assert dict(body["schedule"], frequency="weekly", dayOfMonth="") == SAVED["schedule"]


def test_changing_frequency_clears_the_fields_of_the_old_one():
    custom = dict(SAVED, schedule=dict(SAVED["schedule"], frequency="custom", intervalFrequency="weeks", intervalAmount=2))
    wanted = rd.wanted_view(definition(schedule=dict(frequency="weekly")), custom)
    schedule = rd.report_body(wanted, custom)["schedule"]
    assert (schedule["intervalFrequency"], schedule["intervalAmount"], schedule["workdaysOnly"]) == ("", 0, False)


def test_naive_start_is_sent_with_the_zone_offset():
    wanted = rd.wanted_view(definition(schedule=dict(start="2030-01-06 09:00", end="2030-07-01", time_zone="Europe/Warsaw")))
    schedule = rd.report_body(wanted)["schedule"]
    assert (schedule["startDate"], schedule["endDate"]) == ("2030-01-06T09:00:00+01:00", "2030-07-01T00:00:00+02:00")
    assert schedule["timeZone"] == "Europe/Warsaw"


def test_computed_state_is_not_sent_back():
    wanted = rd.wanted_view(definition(subject="x"), SAVED)
    assert "state" not in rd.report_body(wanted, dict(SAVED, state="expired"))
    assert rd.report_body(wanted, dict(SAVED, state="paused"))["state"] == "paused"


# -- the round trip (issue 16) -----------------------------------------------------------------


def test_round_trip_changes_only_the_paths_given():
    saved = {"a": {"b": 1, "keep": [1]}, "unknown": {"x": "y"}}
    expected = {"a": {"b": 2, "keep": [1]}, "unknown": {"x": "y"}, "new": {"c": 3}}
    assert rd.round_trip(saved, {("a", "b"): 2, ("new", "c"): 3}) == expected
    assert saved == {"a": {"b": 1, "keep": [1]}, "unknown": {"x": "y"}}


@pytest.mark.parametrize("value, values", [("TestData", ["TestData"]), (["a", "b"], ["a", "b"]), ([], []), (None, []), (3, ["3"])])
def test_variable_values_reads_both_forms(value, values):
    assert rd.variable_values(value) == values


def test_string_variables_are_not_split_and_keep_their_form():
    ui_report = dict(SAVED, dashboards=[dict(SAVED["dashboards"][0], reportVariables={"namefilter": "TestData", "env": ["prod"]})],
                     unknownField={"kept": True})
    assert rd.report_view(ui_report)["dashboards"][0]["variables"] == {"namefilter": ["TestData"], "env": ["prod"]}
    wanted = rd.wanted_view(definition(recipients=["new@example.com"]), ui_report)
    body = rd.report_body(wanted, ui_report)
    assert body == dict(ui_report, recipients="new@example.com")
    # Setting the variables to what they are changes nothing; a changed one is sent as a list.
    assert changes(ui_report, dashboards=[dict(uid="slo", variables=dict(namefilter="TestData", env=["prod"]))]) == []
    wanted = rd.wanted_view(definition(dashboards=[dict(uid="slo", variables=dict(namefilter="TestData", env="dev"))]), ui_report)
    assert rd.report_body(wanted, ui_report)["dashboards"][0]["reportVariables"] == {"namefilter": "TestData", "env": ["dev"]}


def test_report_time_range_fills_the_dashboards_without_one():
    two = dict(SAVED, dashboards=[SAVED["dashboards"][0], {"dashboard": {"uid": "cap"}, "timeRange": {"from": "", "to": ""}}])
    wanted = rd.wanted_view(definition(time_range={"from": "now-30d", "to": "now"}), two)
    assert "time_range" not in wanted
    body = rd.report_body(wanted, two)
    assert [item["timeRange"] for item in body["dashboards"]] == [{"from": "now-7d", "to": "now"}, {"from": "now-30d", "to": "now"}]
    assert body["options"] == SAVED["options"]


def test_create_sends_a_complete_schedule_and_the_dashboard_link():
    # As the UI (the reporting frontend's blankReport: enableDashboardUrl true, a schedule with timeZone) and the
    # Terraform provider (resource_report.go: include_dashboard_link Default true, a time zone default) create reports.
    wanted = rd.wanted_view(definition(recipients=["a@example.com"], dashboards=[dict(uid="slo")]))
    body = rd.report_body(dict(wanted, name="Weekly SLO"))
    assert body["enableDashboardUrl"] is True
    assert body["schedule"] == {"frequency": "never", "timeZone": "UTC", "intervalFrequency": "", "intervalAmount": 0,
                                "workdaysOnly": False, "dayOfMonth": "", "endDate": None}
    wanted = rd.wanted_view(definition(recipients=["a@example.com"], dashboards=[dict(uid="slo")], include_dashboard_link=False,
                                       schedule=dict(frequency="daily")))
    body = rd.report_body(wanted)
    assert (body["enableDashboardUrl"], body["schedule"]["frequency"], body["schedule"]["timeZone"]) == (False, "daily", "UTC")


def test_reply_to_is_a_list():
    assert definition(reply_to=["a@example.com", "b@example.com;c@example.com"])["reply_to"] == [
        "a@example.com", "b@example.com", "c@example.com"]
    assert definition(reply_to=[])["reply_to"] == [] and definition(reply_to=[""])["reply_to"] == []
    wanted = rd.wanted_view(definition(reply_to=["B@example.com", "a@example.com"]), dict(SAVED, replyTo="a@example.com,b@example.com"))
    assert rd.changed_fields(rd.current_view_of(wanted, dict(SAVED, replyTo="a@example.com,b@example.com")), wanted) == []
    assert rd.report_body(wanted, SAVED)["replyTo"] == "B@example.com,a@example.com"


def test_test_email_goes_to_the_test_recipients_only():
    checked = definition(send_test_email=True, test_email_recipients=["me@example.com"])
    assert rd.test_email_body(SAVED, checked) == dict(SAVED, recipients="me@example.com")
    assert rd.test_email_body(SAVED, definition(send_test_email=True)) == SAVED


def test_unkept_fields_names_what_grafana_dropped():
    wanted = rd.wanted_view(definition(subject="Weekly", formats=["pdf", "pdf-tables"], schedule=dict(frequency="weekly")), SAVED)
    assert rd.unkept_fields(wanted, SAVED) == [("subject", "Weekly", ""), ("formats", ["pdf", "pdf-tables"], ["pdf"])]
    assert rd.unkept_fields(wanted, dict(SAVED, subject="Weekly", formats=["pdf-tables", "pdf"])) == []


def test_definition_recreates_the_report():
    options = rd.definition_options(SAVED)
    checked = definition(**dict(options, name="ignored"))
    assert rd.changed_fields(rd.current_view_of(rd.wanted_view(checked, SAVED), SAVED), rd.wanted_view(checked, SAVED)) == []
    assert options["dashboards"] == [{"uid": "slo", "time_range": {"from": "now-7d", "to": "now"}, "variables": {"env": ["prod", "eu"]}}]
    assert options["schedule"] == {"frequency": "weekly", "start": "2030-05-06T09:00:00+02:00", "time_zone": "Europe/Warsaw"}
    assert "reply_to" not in options and "time_range" not in options


# -- Grafana's documented examples (tests/simulator/fixtures/grafana_docs, see its README) ------

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "simulator", "fixtures", "grafana_docs")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return json.load(handle)


def test_docs_get_report_is_read():
    report = fixture("get_report.json")
    view = rd.report_view(report)
    assert view["dashboards"] == [{"uid": "7MeksYbmk", "time_range": {"from": "", "to": ""}, "variables": {"namefilter": ["TestData"]}}]
    assert view["schedule"]["start"] == "2022-10-02T00:00:00+02:00" and view["formats"] == ["pdf", "csv"]
    options = rd.definition_options(report)
    checked = definition(**options)
    wanted = rd.wanted_view(checked, report)
    assert rd.changed_fields(rd.current_view_of(wanted, report), wanted) == []
    # One field changed: the rest, the variable as a string included, goes back as the docs show it.
    wanted = rd.wanted_view(definition(recipients=["new@example.com"]), report)
    assert rd.report_body(wanted, report) == dict(report, recipients="new@example.com")


@pytest.mark.parametrize("name", ["create_report.json", "update_report.json"])
def test_docs_request_bodies_are_read(name):
    body = fixture(name)
    view = rd.report_view(body)
    assert view["dashboards"][0]["variables"] in ({"variable1": ["Value1"]}, {"varibale1": ["Value1"]})
    definition(**rd.definition_options(body))


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
    (dict(reply_to=["a@example.com", "Ops <ops@example.com>"]), "reply_to"),
    (dict(send_test_email=True, test_email_recipients=["not-an-address"]), "test_email_recipients"),
    (dict(send_test_email=True, test_email_recipients=[]), "test_email_recipients"),
    (dict(test_email_recipients=["me@example.com"]), "test_email_recipients"),
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
